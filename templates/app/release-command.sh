#!/bin/sh
# This release's one-off step, run by app-release (app-release.service) at most once per release across
# the fleet, as the app user with the app's environment (DATABASE_DIRECT_URL reaches the primary directly;
# APP_RELEASE_ID names the release). Exit non-zero to keep the release from serving.
set -eu
cd {{workDir}}
{{pathLine}}
{{command}}
