#!/usr/bin/python3
# Rendered from templates/app/release-step.py by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# app-release: run this release's one-off step (schema migrations, grants) before the app starts, at most
# once per release across the whole fleet (app-release.service; README "Releases").
#
# Every droplet that boots a release runs this; the first runs the step, the others skip it:
# - a session advisory lock on a DIRECT connection to the primary (DATABASE_DIRECT_URL) serializes the
#   droplets. Not through PgBouncer's transaction pool: it hands each transaction to whichever server
#   connection is free, so a session lock taken there is held by a connection nobody owns any more;
# - the table platform_releases records every release whose step succeeded; a droplet booting the same
#   release later (scale-out, replacement, reboot) finds its id there and skips.
# A step that fails exits non-zero: nothing is recorded, the app does not start (app.service requires
# this unit), the droplet never becomes ready, and the next boot tries again.
import argparse
import os
import socket
import subprocess
import sys
import time

import psycopg2
from psycopg2 import sql

# The one advisory lock of release steps: "platform" in ASCII, a bigint no app is likely to pick.
LOCK_KEY = 0x706C6174666F726D

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS platform_releases (
    release_id text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL,
    step_seconds double precision NOT NULL
)"""


def log(message):
    print(f"app-release: {message}", flush=True)


def fail(message):
    log(message)
    sys.exit(1)


def set_role_timeout(cur):
    """The app role's statement_timeout in this database, from the plan (DB_STATEMENT_TIMEOUT_SECONDS).

    Set on the role because the app connects through PgBouncer, which refuses libpq's `options` startup
    parameter; every new server session of the role (pool, replicas, direct) starts with it. An ordinary
    role may set its own defaults. Every boot sets it, so a release that changes the plan's value applies it.
    """
    seconds = os.environ.get("DB_STATEMENT_TIMEOUT_SECONDS", "")
    if not seconds:
        return
    milliseconds = int(float(seconds) * 1000)
    cur.execute("SELECT current_database()")
    database = cur.fetchone()[0]
    cur.execute(sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET statement_timeout = {}").format(
        sql.Identifier(database), sql.Literal(f"{milliseconds}ms")))
    log(f"statement_timeout of this role in {database}: {milliseconds} ms")


def main():
    parser = argparse.ArgumentParser(description="Run the release's one-off step once per release across the fleet.")
    parser.add_argument("--release-id-file", required=True, help="file holding the release id (commit SHA or demo hash)")
    parser.add_argument("--command", help="executable that runs the step; the environment is passed on (none: only the role's timeout)")
    args = parser.parse_args()

    try:
        with open(args.release_id_file, encoding="utf-8") as f:
            # The id is the first line that is not a comment.
            ids = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    except OSError as error:
        fail(f"cannot read the release id: {error}")
    if not ids:
        fail(f"{args.release_id_file} holds no release id")
    release_id = ids[0]
    url = os.environ.get("DATABASE_DIRECT_URL", "")
    if not url:
        fail("DATABASE_DIRECT_URL is not set (the env file): the release lock needs a direct connection to the primary")

    try:
        # Keepalives: a dead connection loses the lock; notice it within seconds, not the kernel's minutes.
        conn = psycopg2.connect(url, connect_timeout=5, keepalives=1, keepalives_idle=5, keepalives_interval=2,
                                keepalives_count=3, application_name="app-release")
    except psycopg2.Error as error:
        fail(f"cannot connect to the primary: {str(error).strip()}")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            # This session waits on the lock and may run long DDL: no statement timeout here, whatever the role has.
            cur.execute("SET statement_timeout = 0")
            log(f"release {release_id}: taking the release lock (another droplet may hold it while it runs the step)")
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            # Under the lock: two droplets altering the role at once would collide ("tuple concurrently updated").
            set_role_timeout(cur)
            if args.command is None:
                log(f"release {release_id}: this app has no release command; nothing else to do")
                return 0
            cur.execute(CREATE_TABLE)
            cur.execute("SELECT applied_by, applied_at FROM platform_releases WHERE release_id = %s", (release_id,))
            done = cur.fetchone()
            if done:
                log(f"release {release_id}: step already ran on {done[0]} at {done[1].isoformat()}; skipping")
                return 0
            log(f"release {release_id}: running {args.command}")
            started = time.monotonic()
            # The step's own sessions on DATABASE_DIRECT_URL run without the role's statement timeout (libpq
            # reads PGOPTIONS; a migration may take minutes). PgBouncer would refuse it: steps connect directly.
            env = {**os.environ, "APP_RELEASE_ID": release_id, "PGOPTIONS": "-c statement_timeout=0"}
            result = subprocess.run([args.command], env=env, check=False)
            seconds = time.monotonic() - started
            if result.returncode != 0:
                fail(f"release {release_id}: step failed (exit {result.returncode}) after {seconds:.1f} s; "
                     "nothing recorded, the app stays stopped; fix the release and boot new droplets")
            cur.execute(
                "INSERT INTO platform_releases (release_id, applied_by, step_seconds) VALUES (%s, %s, %s)",
                (release_id, socket.gethostname(), seconds),
            )
            log(f"release {release_id}: step done in {seconds:.1f} s and recorded")
    except psycopg2.Error as error:
        fail(f"release {release_id}: database error: {str(error).strip()}")
    finally:
        # Closing the session releases the lock.
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
