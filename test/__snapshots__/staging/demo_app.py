# Rendered from templates/app/demo_app.py by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# The demo WSGI app: the architecture's patterns in one module, on distribution packages only.
#
#   GET  /healthz        200 while this process can serve; no database or cache round trip (the LB's check)
#   GET  /readyz         200 once the database answers and the release step made the schema (the deep check)
#   POST /items          write on the primary engine (PgBouncer), JSON {"body": "..."}
#   GET  /items/<id>     read on a replica engine, falling back to the primary
#   GET  /cached/<id>    cache-aside through the Redis protocol with a TTL; the database when the cache is down
#   GET  /io?seconds=N   wait N seconds in gevent (capped by IO_MAX_SECONDS), for load tests
#   GET  /metrics        Prometheus; Nginx serves it on its local-only port
#
# Configuration comes from the environment (the unit's EnvironmentFile). Gunicorn's post_fork hook
# makes psycopg2 cooperative (psycogreen); gunicorn's gevent worker has monkey-patched sockets for redis.
#
# The schema is the release step's job (`python3 -m demo_app release`, run once per release across the
# fleet by app-release.service), never the import's: a worker boot must not wait on the database.
import fcntl
import json
import logging
import os
import re
import time
from urllib.parse import parse_qs

import gevent
import psycopg2
import redis
import sqlalchemy
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("demo_app")


def _required(name):
    value = os.environ.get(name, "")
    if not value:
        # Fail at import: Gunicorn logs this and systemd keeps retrying, visibly, instead of serving errors.
        raise RuntimeError(f"environment variable {name} is required (see /etc/app/app.env)")
    return value


DATABASE_URL = _required("DATABASE_URL")
REPLICA_URLS = [u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()]
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_TTL_SECONDS = int(_required("CACHE_TTL_SECONDS"))
IO_MAX_SECONDS = float(_required("IO_MAX_SECONDS"))
# A cache or replica that failed is skipped for this long, so an outage costs one timeout, not one per request.
RETRY_AFTER_SECONDS = float(os.environ.get("BACKEND_RETRY_AFTER_SECONDS", "5"))
CACHE_TIMEOUT_SECONDS = float(_required("CACHE_TIMEOUT_SECONDS"))
CACHE_MAX_CONNECTIONS = int(_required("CACHE_MAX_CONNECTIONS"))

# Every database connection is bounded, so a dependency that hangs costs a request its timeout, never a
# worker: connecting, an idle connection to a dead peer (keepalive), and a query sent into a black hole
# (tcp_user_timeout: unacknowledged data). The statement timeout is the role's (set by the release step):
# PgBouncer refuses libpq's `options` startup parameter.
DB_CONNECT_TIMEOUT_SECONDS = int(_required("DB_CONNECT_TIMEOUT_SECONDS"))
DB_CONNECT_ARGS = {
    "connect_timeout": DB_CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": int(_required("DB_KEEPALIVE_IDLE_SECONDS")),
    "keepalives_interval": int(_required("DB_KEEPALIVE_INTERVAL_SECONDS")),
    "keepalives_count": int(_required("DB_KEEPALIVE_COUNT")),
    "tcp_user_timeout": int(float(_required("DB_TCP_USER_TIMEOUT_SECONDS")) * 1000),
    "application_name": "app",
}


def _engine(url, prefix):
    # Pool sizes and timeouts per process come from the capacity plan, through the env file. Creating an
    # engine opens no connection: nothing here touches the database at import.
    engine = sqlalchemy.create_engine(
        url,
        pool_size=int(_required(f"{prefix}_POOL_SIZE")),
        max_overflow=int(_required(f"{prefix}_MAX_OVERFLOW")),
        pool_recycle=int(_required("DB_POOL_RECYCLE_SECONDS")),
        # A request waits this long for a pooled connection, then answers 503.
        pool_timeout=float(_required("DB_POOL_TIMEOUT_SECONDS")),
        # A connection PgBouncer or a failover closed is replaced before use, not failed on.
        pool_pre_ping=True,
        connect_args=DB_CONNECT_ARGS,
        future=True,
    )
    event.listen(engine, "do_connect", _bounded_connect)
    return engine


def _closing_on_timeout(wait):
    """Wrap psycogreen's wait callback: a connection whose wait a gevent.Timeout ended is closed at once.

    Otherwise its socket stays open until the garbage collector breaks the exception's reference cycle:
    during an outage that is one leaked file per attempt (measured: 138 sockets open where the pools allow 96).
    """
    def closing_wait(conn, timeout=None):
        try:
            return wait(conn, timeout)
        except gevent.Timeout:
            conn.close()
            raise

    return closing_wait


# Gunicorn's post_fork made psycopg2 green before this module loads in the worker.
if psycopg2.extensions.get_wait_callback() is not None:
    psycopg2.extensions.set_wait_callback(_closing_on_timeout(psycopg2.extensions.get_wait_callback()))


def _bounded_connect(dialect, connection_record, cargs, cparams):
    # libpq enforces connect_timeout only on blocking connects; with psycogreen's wait callback the connect
    # is asynchronous and waits on a silent peer for ever (tried: a listener that never answers). gevent bounds it.
    timeout = gevent.Timeout(DB_CONNECT_TIMEOUT_SECONDS)
    timeout.start()
    try:
        return dialect.connect(*cargs, **cparams)
    except gevent.Timeout as expired:
        if expired is not timeout:
            raise
        # SQLAlchemy turns this into its OperationalError: the request answers 503, the pool slot is freed.
        raise psycopg2.OperationalError(f"connecting timed out after {DB_CONNECT_TIMEOUT_SECONDS} s") from None
    finally:
        timeout.close()


primary = _engine(DATABASE_URL, "DB_PRIMARY")
# Each process reads from one replica, spread by pid; the plan budgets replica connections that way.
replica = _engine(REPLICA_URLS[os.getpid() % len(REPLICA_URLS)], "DB_REPLICA") if REPLICA_URLS else None
# A blocking pool: at most CACHE_MAX_CONNECTIONS per process (Redis.from_url's pool allows two billion, one TLS
# connection per waiting greenlet); a greenlet waits CACHE_TIMEOUT_SECONDS for one, then reads the database.
cache = (
    redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
        REDIS_URL, max_connections=CACHE_MAX_CONNECTIONS, timeout=CACHE_TIMEOUT_SECONDS,
        socket_timeout=CACHE_TIMEOUT_SECONDS, socket_connect_timeout=CACHE_TIMEOUT_SECONDS,
    ))
    if REDIS_URL
    else None
)

REQUESTS = Counter("app_requests_total", "Requests served", ["route", "status"])
LATENCY = Histogram("app_request_seconds", "Time to serve a request", ["route"])
FALLBACKS = Counter("app_fallbacks_total", "Reads served by a fallback", ["backend"])

CREATE_TABLE = sqlalchemy.text(
    "CREATE TABLE IF NOT EXISTS items (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
_down_until = {"replica": 0.0, "cache": 0.0}


def release():
    """The release step: the schema this version needs. Run once per release by app-release, never by a worker."""
    # Directly on the primary when the platform gives a direct URL (DDL and session work stay off PgBouncer).
    engine = sqlalchemy.create_engine(os.environ.get("DATABASE_DIRECT_URL") or DATABASE_URL, poolclass=sqlalchemy.pool.NullPool, future=True)
    with engine.begin() as conn:
        conn.execute(CREATE_TABLE)
    print("demo_app release: table items ready", flush=True)


def _available(backend):
    return time.monotonic() >= _down_until[backend]


def _mark_down(backend, error):
    log.warning("%s unavailable for %ss: %s", backend, RETRY_AFTER_SECONDS, error)
    _down_until[backend] = time.monotonic() + RETRY_AFTER_SECONDS
    FALLBACKS.labels(backend).inc()


def _select_item(engine, item_id):
    with engine.connect() as conn:
        row = conn.execute(sqlalchemy.text("SELECT id, body FROM items WHERE id = :id"), {"id": item_id}).first()
    return {"id": row.id, "body": row.body} if row else None


def read_item(item_id):
    """Read on the replica; on the primary when there is none or it fails (lag or outage)."""
    if replica is not None and _available("replica"):
        try:
            item = _select_item(replica, item_id)
            if item is not None:
                return item
        except SQLAlchemyError as error:
            _mark_down("replica", error)
    return _select_item(primary, item_id)


def cached_item(item_id):
    """Cache-aside: the cache first, the database on a miss (then fill the cache with a TTL)."""
    key = f"item:{item_id}"
    use_cache = cache is not None and _available("cache")
    if use_cache:
        try:
            hit = cache.get(key)
            if hit is not None:
                return json.loads(hit), "hit"
        except redis.RedisError as error:
            _mark_down("cache", error)
            use_cache = False
    item = read_item(item_id)
    if item is not None and use_cache:
        try:
            cache.setex(key, CACHE_TTL_SECONDS, json.dumps(item))
        except redis.RedisError as error:
            _mark_down("cache", error)
    return item, "miss" if use_cache else "bypass"


def _json(start_response, status, payload, headers=()):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]


def healthz(environ, start_response):
    import psycopg2.extensions

    green = psycopg2.extensions.get_wait_callback() is not None
    # No process ids or versions: the health path is public, through the load balancer.
    return _json(start_response, "200 OK", {"status": "ok", "greenPsycopg": green})


def readyz(environ, start_response):
    # The deep check droplet-ready runs through Gunicorn's socket before the droplet takes traffic: the
    # primary answers and the release step has made the schema. A database error answers 503 (application).
    with primary.connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1 FROM items LIMIT 1")).all()
    return _json(start_response, "200 OK", {"status": "ready"})


def create_item(environ, start_response):
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"null")["body"]
        if not isinstance(body, str):
            raise TypeError("body must be a string")
    except (ValueError, KeyError, TypeError) as error:
        return _json(start_response, "400 Bad Request", {"error": f"expected a JSON object with a string body: {error}"})
    with primary.begin() as conn:
        item_id = conn.execute(sqlalchemy.text("INSERT INTO items (body) VALUES (:body) RETURNING id"), {"body": body}).scalar()
    return _json(start_response, "201 Created", {"id": item_id, "body": body}, [("Location", f"/items/{item_id}")])


def get_item(environ, start_response, item_id):
    item = read_item(item_id)
    if item is None:
        return _json(start_response, "404 Not Found", {"error": f"no item {item_id}"})
    return _json(start_response, "200 OK", item)


def get_cached(environ, start_response, item_id):
    item, cache_state = cached_item(item_id)
    if item is None:
        return _json(start_response, "404 Not Found", {"error": f"no item {item_id}"}, [("X-Cache", cache_state)])
    return _json(start_response, "200 OK", item, [("X-Cache", cache_state)])


def io_wait(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        seconds = float(query.get("seconds", ["0"])[0])
        if not 0 <= seconds <= IO_MAX_SECONDS:
            raise ValueError(f"must be between 0 and {IO_MAX_SECONDS}")
    except ValueError as error:
        return _json(start_response, "400 Bad Request", {"error": f"seconds: {error}"})
    gevent.sleep(seconds)
    return _json(start_response, "200 OK", {"slept": seconds})


def metrics(environ, start_response):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        # Every worker writes its own files; this sums them, whichever worker answers. The shared lock keeps
        # the master's folding of a dead worker's files (gunicorn.conf.py, child_exit) out of the read.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        with open(os.path.join(directory, "compact.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


ROUTES = [
    ("GET", re.compile(r"/healthz"), "healthz", healthz),
    ("GET", re.compile(r"/readyz"), "readyz", readyz),
    ("POST", re.compile(r"/items"), "items", create_item),
    ("GET", re.compile(r"/items/(\d+)"), "items", get_item),
    ("GET", re.compile(r"/cached/(\d+)"), "cached", get_cached),
    ("GET", re.compile(r"/io"), "io", io_wait),
    ("GET", re.compile(r"/metrics"), "metrics", metrics),
]


def application(environ, start_response):
    """The WSGI entry point Gunicorn loads (demo_app:application)."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    for route_method, pattern, name, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            break
    else:
        return _json(start_response, "404 Not Found", {"error": f"no route {method} {path}"})
    started = time.perf_counter()
    status = "500"

    def recording_start_response(status_line, headers, exc_info=None):
        nonlocal status
        status = status_line.split(" ", 1)[0]
        return start_response(status_line, headers, exc_info)

    try:
        return handler(environ, recording_start_response, *(int(g) for g in match.groups()))
    except SQLAlchemyError as error:
        log.error("database error on %s %s: %s", method, path, error)
        return _json(recording_start_response, "503 Service Unavailable", {"error": "database unavailable"})
    finally:
        REQUESTS.labels(name, status).inc()
        LATENCY.labels(name).observe(time.perf_counter() - started)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["release"]:
        sys.exit("usage: python3 -m demo_app release")
    release()
