"""Simulate a droplet's metric files over recycled workers and time a /metrics scrape.

Usage: metrics-week.py <rendered gunicorn.conf.py> <dir> <hours> <workers> <fold: 1|0>
Each simulated hour every worker serves requests into the demo app's metrics, then exits and is replaced
(max_requests): child_exit from the rendered config runs for it when fold is 1, or only prometheus_client's
mark_process_dead when 0 (the old behaviour). Prints JSON: files left, scrape seconds (median of 15), and the
request count the scrape reports against the count served.
"""
import json
import os
import sys
import time
import types

conf_path, directory, hours, workers, fold = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values  # noqa: E402

conf = {}
with open(conf_path, encoding="utf-8") as f:
    exec(compile(f.read(), conf_path, "exec"), conf)

ROUTES = ["healthz", "readyz", "items", "cached", "io", "metrics", "unknown"]
STATUSES = ["200", "201", "404", "503"]
served = 0
next_pid = 100_000


def worker_life(pid):
    """One worker: the demo's metrics, a few requests per route and status, in files named by `pid`."""
    global served
    values.ValueClass = values.MultiProcessValue(lambda: pid)
    registry = CollectorRegistry()
    requests = Counter("app_requests_total", "Requests served", ["route", "status"], registry=registry)
    latency = Histogram("app_request_seconds", "Time to serve a request", ["route"], registry=registry)
    for route in ROUTES:
        for status in STATUSES:
            requests.labels(route, status).inc(3)
            served += 3
        latency.labels(route).observe(0.05)


def scrape_seconds():
    samples = []
    body = b""
    for _ in range(15):
        started = time.perf_counter()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, directory)
        body = generate_latest(registry)
        samples.append(time.perf_counter() - started)
    samples.sort()
    return samples[len(samples) // 2], body


for hour in range(hours):
    for _ in range(workers):
        next_pid += 1
        worker_life(next_pid)
        if fold:
            conf["child_exit"](None, types.SimpleNamespace(pid=next_pid))
        else:
            multiprocess.mark_process_dead(next_pid, directory)
# The workers alive now.
for _ in range(workers):
    next_pid += 1
    worker_life(next_pid)

seconds, body = scrape_seconds()
reported = sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines() if line.startswith("app_requests_total{"))
print(json.dumps({"files": len([f for f in os.listdir(directory) if f.endswith(".db")]), "scrapeSeconds": seconds, "served": served, "reported": reported}))
