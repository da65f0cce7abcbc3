#!/bin/sh
# Clone the app at its pinned ref into /opt/app/src and install it into the /opt/app/venv virtualenv.
# Safe to re-run: an existing checkout is moved to the ref, an existing virtualenv is reused.
set -eu

GIT_URL={{gitUrl}}
GIT_REF={{gitRef}}
REQUIREMENTS={{requirementsFile}}
SRC={{srcDir}}
VENV={{venvDir}}

if [ ! -d "$SRC/.git" ]; then
    git init --quiet "$SRC"
    git -C "$SRC" remote add origin "$GIT_URL"
fi
git -C "$SRC" remote set-url origin "$GIT_URL"
# Fetch just the ref (tag, branch or commit): a pinned commit needs no history.
git -C "$SRC" fetch --quiet --depth 1 origin "$GIT_REF"
git -C "$SRC" checkout --quiet --force FETCH_HEAD

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Gunicorn and gevent run the app; psycogreen keeps psycopg2 from blocking the gevent loop.
"$VENV/bin/pip" install --quiet --requirement "$SRC/$REQUIREMENTS" gunicorn gevent psycogreen
