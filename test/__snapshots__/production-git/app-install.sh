#!/bin/sh
# Rendered from templates/app/install-git-app.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# Clone the app at its pinned ref into /opt/app/src and install it into the /opt/app/venv virtualenv.
# Safe to re-run: an existing checkout is moved to the ref, an existing virtualenv is reused.
set -eu

GIT_URL='https://github.com/example/shop.git'
GIT_REF='v1.4.2'
REQUIREMENTS='requirements/prod.txt'
SRC='/opt/app/src'
VENV='/opt/app/venv'

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
