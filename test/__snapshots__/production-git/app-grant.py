#!/usr/bin/python3
# Rendered from templates/app/grant-step.py by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# app-grant: as the cluster's admin, grant the app user USAGE and CREATE on schema public of its database,
# nothing more, before the release step (README "Database roles"). DigitalOcean's database belongs to doadmin
# and PostgreSQL 15+ lets only the owner create in public. Running it again changes nothing.
import os
import sys

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import parse_dsn


def log(message):
    print(f"app-grant: {message}", flush=True)


def fail(message):
    log(message)
    sys.exit(1)


def main():
    admin_url = os.environ.get("DATABASE_ADMIN_URL", "")
    app_url = os.environ.get("DATABASE_DIRECT_URL", "")
    if not admin_url or not app_url:
        fail("DATABASE_ADMIN_URL (admin env file) and DATABASE_DIRECT_URL (app env file) must both be set")
    try:
        app = parse_dsn(app_url)
    except psycopg2.ProgrammingError as error:
        fail(f"DATABASE_DIRECT_URL is not a connection string: {str(error).strip()}")
    app_user, database = app.get("user"), app.get("dbname")
    if not app_user or not database:
        fail("DATABASE_DIRECT_URL must name the app's user and database")
    try:
        conn = psycopg2.connect(admin_url, dbname=database, connect_timeout=5, keepalives=1, keepalives_idle=5,
                                keepalives_interval=2, keepalives_count=3, application_name="app-grant")
    except psycopg2.Error as error:
        fail(f"cannot connect to the primary as the admin: {str(error).strip()}")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = %s", (app_user,))
            row = cur.fetchone()
            if row is None:
                fail(f"no database user {app_user} (the stack creates it)")
            if row[0] == app_user:
                fail(f"the admin URL logs in as the app user {app_user}: give the cluster's admin URL")
            if row[1]:
                fail(f"the app user {app_user} is a superuser: the app must run with the default grants only")
            cur.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(app_user)))
            cur.execute("SELECT has_schema_privilege(%s, 'public', 'USAGE,CREATE')", (app_user,))
            if not cur.fetchone()[0]:
                fail(f"{app_user} still lacks USAGE, CREATE on schema public of {database} after the grant")
            log(f"{app_user} may use and create in schema public of {database}")
    except psycopg2.Error as error:
        fail(f"database error: {str(error).strip()}")
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
