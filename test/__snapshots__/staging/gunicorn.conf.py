# Rendered from templates/gunicorn/gunicorn.conf.py by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# Gunicorn settings of a web droplet. Numbers come from the capacity plan (config/capacity.ts).
# Gunicorn reads this file with exec(); every top-level name must be a Gunicorn setting or a module.

wsgi_app = "demo_app:application"
chdir = "/opt/app/demo"
proc_name = "app-staging"

# Nginx is the only client, over a unix socket. Under systemd, app.socket holds it and Gunicorn takes it
# over (LISTEN_FDS), so bind and backlog apply only when Gunicorn runs without the socket unit.
bind = ["unix:/run/gunicorn-app.sock"]
backlog = 4096
# Owner and group (www-data) may connect: Nginx's workers run as www-data.
umask = 0o007

worker_class = "gevent"
workers = 4
# Simultaneous requests per worker: one greenlet each.
worker_connections = 1313
# Longer than Nginx's upstream keepalive_timeout, so Nginx always closes an idle connection first.
keepalive = 65
# A worker whose event loop is blocked this long is killed and replaced.
timeout = 30
# On stop or reload, requests in flight get this long to finish.
graceful_timeout = 8
# Restart each worker after about this many requests, staggered, to bound slow leaks.
max_requests = 3780000
max_requests_jitter = 378000
# The heartbeat file lives on tmpfs: a heartbeat must never wait on a disk.
worker_tmp_dir = "/run/app"

# On a unix socket Gunicorn trusts X-Forwarded-* from its peer whatever this says; it names the only
# proxy that may speak for clients should the bind ever become TCP.
forwarded_allow_ips = "127.0.0.1"

# Errors to stdout: systemd hands them to journald. No access log here: Nginx logs every request already
# (buffered, with Gunicorn's time as $upstream_response_time). A second line per request through journald
# cost a third of the droplet's throughput in the box (bench/README.md: 2,414 -> 4,225 req/s, journald at 20% CPU).
accesslog = None
errorlog = "-"
loglevel = "info"


def post_fork(server, worker):
    """Make psycopg2 wait in gevent: without this every query blocks the worker's whole event loop."""
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:
        server.log.warning("psycogreen is not installed: psycopg2 queries will block the gevent loop")
        return
    patch_psycopg()


def child_exit(server, worker):
    """Fold a dead worker's metric files into one file per type, so a scrape reads a bounded number of files.

    Workers recycle about hourly (max_requests). prometheus_client's mark_process_dead removes only live-gauge
    files; counter and histogram files of dead workers would pile up (two per recycle) and every /metrics
    scrape, inside a gevent worker, would parse all of them. Here the master sums the dead worker's values
    into <type>_merged.db and deletes its files. Scrapes hold compact.lock shared, this holds it exclusive,
    so no scrape sees a value twice or not at all. Gauges in modes other than live* keep their per-pid files.
    """
    import os

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    try:
        from prometheus_client import multiprocess
        from prometheus_client.mmap_dict import MmapedDict
    except ImportError:
        return
    import fcntl

    multiprocess.mark_process_dead(worker.pid, path)
    with open(os.path.join(path, "compact.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in ("counter", "histogram", "summary"):
            dead = os.path.join(path, f"{kind}_{worker.pid}.db")
            if not os.path.exists(dead):
                continue
            merged = os.path.join(path, f"{kind}_merged.db")
            totals = {}
            for part in (merged, dead):
                if os.path.exists(part):
                    for key, value, _pos in MmapedDict.read_all_values_from_file(part):
                        totals[key] = totals.get(key, 0.0) + value
            # Written aside (not *.db, so no scrape reads it half-done), then swapped in.
            staged = merged + ".new"
            if os.path.exists(staged):
                os.remove(staged)
            out = MmapedDict(staged)
            for key, value in totals.items():
                out.write_value(key, value)
            out.close()
            os.replace(staged, merged)
            os.remove(dead)
