#!/bin/sh
# Rendered from templates/app/release-command.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# This release's one-off step, run by app-release (app-release.service) at most once per release across
# the fleet, as the app user with the app's environment (DATABASE_DIRECT_URL reaches the primary directly;
# APP_RELEASE_ID names the release). Exit non-zero to keep the release from serving.
set -eu
cd '/opt/app/demo'
# Debian's python3 and packages, as the app runs.
exec /usr/bin/python3 -m demo_app release
