#!/bin/sh
# Rendered from templates/lifecycle/droplet-drain.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# droplet-drain: take this droplet out of the load balancer without failing a request (README
# "Readiness contract"). Nginx answers the health check with 503 while the draining file exists; after
# LB_DETECT_SECONDS (check interval x unhealthy threshold + response timeout) the load balancer has marked
# the droplet down and sends nothing new; then Gunicorn finishes what it has (graceful_timeout) and stops,
# and Nginx stops last.
#
#   droplet-drain             drain now and stop the app, then Nginx (an operator taking the droplet out)
#   droplet-drain --resume    undo: start Nginx and the app, ready again once the deep check passes
#   droplet-drain --shutdown  what droplet-drain.service runs at shutdown, poweroff or reboot: fail the
#                             checks and wait for the load balancer; systemd then stops app.service and,
#                             after it, nginx.service (nginx.service starts before app.service, so it stops after)
set -eu

RUN_DIR=/run/droplet
DRAINING=/run/droplet/draining
LB_DETECT_SECONDS=35

fail_checks_and_wait() {
    mkdir -p "$RUN_DIR"
    chmod 0755 "$RUN_DIR"
    # Already draining (an operator ran droplet-drain before a poweroff): wait only what is left.
    if [ -e "$DRAINING" ]; then
        since=$(($(date +%s) - $(stat -c %Y "$DRAINING")))
    else
        touch "$DRAINING"
        since=0
    fi
    left=$((LB_DETECT_SECONDS - since))
    if [ "$left" -gt 0 ]; then
        echo "droplet-drain: draining: health checks answer 503 from now; waiting $left s for the load balancer to stop sending"
        sleep "$left"
    fi
    echo "droplet-drain: drained: the load balancer has stopped sending ($LB_DETECT_SECONDS s since the checks began failing)"
}

mode=""
if [ $# -gt 0 ]; then mode=$1; fi
case "$mode" in
    --shutdown)
        fail_checks_and_wait
        ;;
    "")
        fail_checks_and_wait
        # The socket too: with it listening, a local request (a metrics scrape) would start the app again.
        echo "droplet-drain: stopping the app (Gunicorn finishes its requests first)"
        systemctl stop app.socket app.service
        echo "droplet-drain: stopping Nginx"
        systemctl stop nginx.service
        echo "droplet-drain: done; this droplet serves nothing until 'droplet-drain --resume'"
        ;;
    --resume)
        rm -f "$DRAINING"
        systemctl start nginx.service app.socket app.service
        echo "droplet-drain: resumed; waiting for the deep check (droplet-ready.service)"
        systemctl restart droplet-ready.service
        echo "droplet-drain: ready: the load balancer sends again after its healthy threshold"
        ;;
    *)
        echo "usage: droplet-drain [--resume | --shutdown]" >&2
        exit 2
        ;;
esac
