# Rendered from templates/gunicorn/gunicorn.conf.py by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# Gunicorn settings of a web droplet. Numbers come from the capacity plan (config/capacity.ts).
# Gunicorn reads this file with exec(); every top-level name must be a Gunicorn setting or a module.

wsgi_app = "demo_app:application"
chdir = "/opt/app/demo"
proc_name = "app-production"

# Nginx is the only client, over a unix socket. Under systemd, app.socket holds it and Gunicorn takes it
# over (LISTEN_FDS), so bind and backlog apply only when Gunicorn runs without the socket unit.
bind = ["unix:/run/gunicorn-app.sock"]
backlog = 4096
# Owner and group (www-data) may connect: Nginx's workers run as www-data.
umask = 0o007

worker_class = "gevent"
workers = 16
# Simultaneous requests per worker: one greenlet each.
worker_connections = 1221
# Longer than Nginx's upstream keepalive_timeout, so Nginx always closes an idle connection first.
keepalive = 65
# A worker whose event loop is blocked this long is killed and replaced.
timeout = 30
# On stop or reload, requests in flight get this long to finish.
graceful_timeout = 60
# Restart each worker after about this many requests, staggered, to bound slow leaks.
max_requests = 3515625
max_requests_jitter = 351563
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
    """Drop a dead worker's live gauges from the shared Prometheus directory."""
    import os

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
