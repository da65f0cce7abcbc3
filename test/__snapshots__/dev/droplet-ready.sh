#!/bin/sh
# Rendered from templates/lifecycle/droplet-ready.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# droplet-ready: mark this droplet ready for the load balancer (README "Readiness contract"). Until the
# ready file exists Nginx answers the load balancer's health check with 503 itself; this creates it once
# Gunicorn and Nginx run and the app's deep check answers 2xx through Gunicorn's socket (for the demo app
# a route that queries the database; for a git app its health-check path). Runs as droplet-ready.service
# after app.service and nginx.service; waits as long as it takes (a droplet that never gets ready never
# receives traffic, and the rollout gate fails the apply).
set -eu

RUN_DIR=/run/droplet
READY=/run/droplet/ready
SOCKET=/run/gunicorn-app.sock
CHECK_PATH=/readyz

mkdir -p "$RUN_DIR"
chmod 0755 "$RUN_DIR"
rm -f "$READY"
said=""
say() {
    # One line per change of reason, not one every two seconds.
    if [ "$1" != "$said" ]; then echo "droplet-ready: not ready yet: $1"; said=$1; fi
}
while :; do
    # Touch the socket only while the app runs: a connection would otherwise make systemd start app.service
    # (socket activation), and with it a release step that failed, again and again.
    if ! systemctl is-active --quiet app.service; then
        say "app.service is $(systemctl is-active app.service || true)"
    elif ! systemctl is-active --quiet nginx.service; then
        say "nginx.service is $(systemctl is-active nginx.service || true)"
    elif out=$(curl --silent --show-error --fail --max-time 5 --unix-socket "$SOCKET" -H 'Host: localhost' \
        -o /dev/null "http://localhost$CHECK_PATH" 2>&1); then
        touch "$READY"
        echo "droplet-ready: ready: GET $CHECK_PATH answered 2xx through $SOCKET; $READY created"
        exit 0
    else
        say "GET $CHECK_PATH through $SOCKET: $out"
    fi
    sleep 2
done
