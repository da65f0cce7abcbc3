#!/bin/sh
# Rendered from templates/app/install-git-app.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# Clone the app at its pinned commit into /opt/app/src and install its locked dependencies into the
# /opt/app/venv virtualenv; write the release id (the commit SHA) for the release step.
#
# Repeatable: the same ref gives the same code and the same packages on a droplet booted a week later.
# - The ref is a commit SHA in production (config rule): tags and branches move.
# - The app's dependencies come from a hashed lock file only (pip --require-hashes: every package pinned
#   with ==, every file checked against its sha256; an unpinned or unhashed line fails the install).
# - Gunicorn, gevent, psycopg2 and psycogreen are Debian's packages, the versions the rendered files are
#   tested against, seen through --system-site-packages; a lock that pins its own copy overrides them.
# Safe to re-run with another ref (a release or a rollback by hand): the checkout moves to the ref and the
# virtualenv is rebuilt from that ref's lock, so it never keeps packages of the previous release.
set -eu

GIT_URL='https://github.com/example/shop.git'
GIT_REF='3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39'
LOCK_FILE='requirements/prod.lock'
SRC='/opt/app/src'
VENV='/opt/app/venv'
RELEASE_ID_FILE='/opt/app/release-id'

if [ ! -d "$SRC/.git" ]; then
    git init --quiet "$SRC"
    git -C "$SRC" remote add origin "$GIT_URL"
fi
git -C "$SRC" remote set-url origin "$GIT_URL"
# Fetch just the ref (commit, tag or branch): a pinned commit needs no history.
git -C "$SRC" fetch --quiet --depth 1 origin "$GIT_REF"
git -C "$SRC" checkout --quiet --force FETCH_HEAD
COMMIT=$(git -C "$SRC" rev-parse HEAD)
# A ref written as a full commit SHA must be exactly what was checked out.
case "$GIT_REF" in
    *[!0-9a-f]*) ;;
    *)
        if [ "$(printf %s "$GIT_REF" | wc -c)" -eq "$(printf %s "$COMMIT" | wc -c)" ] && [ "$COMMIT" != "$GIT_REF" ]; then
            echo "app-install: asked for commit $GIT_REF, checked out $COMMIT" >&2
            exit 1
        fi
        ;;
esac

if [ ! -f "$SRC/$LOCK_FILE" ]; then
    echo "app-install: $LOCK_FILE not found in $GIT_URL at $COMMIT (app.requirementsFile: a lock file with hashes, e.g. pip-compile --generate-hashes)" >&2
    exit 1
fi
# Debian's pip (seen through --system-site-packages) installs into the virtualenv: no pip copied into it
# (ensurepip takes longer than the whole install).
python3 -m venv --clear --system-site-packages --without-pip "$VENV"
"$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --no-input --require-hashes --requirement "$SRC/$LOCK_FILE"
printf '%s\n' "$COMMIT" >"$RELEASE_ID_FILE"
echo "app-install: release $COMMIT installed in $VENV"
