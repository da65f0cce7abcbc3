#!/bin/sh
# droplet-id: put this droplet's id into every health-check response (X-Droplet-Id), so a rollout gate
# polling the load balancer can tell a new droplet's answers from the old ones'. Runs at every boot before
# Nginx (droplet-id.service): the snippet lives on tmpfs, so a droplet booted from a snapshot of another
# never answers with the other's id.
#
# The id is cloud-init's instance id. On DigitalOcean it is the droplet ID (cloud-init's DigitalOcean
# datasource sets instance-id from the metadata's droplet_id), the number Terraform knows as the droplet's id.
set -eu

SNIPPET={{snippet}}
RUN_DIR={{runDir}}

id=$(cloud-init query v1.instance_id)
# The id goes into Nginx's configuration: accept only what an id looks like, never a quote or a semicolon.
case "$id" in
    "" | *[!A-Za-z0-9._-]*)
        echo "droplet-id: cloud-init's instance id '$id' is empty or not [A-Za-z0-9._-]; Nginx would not start with it" >&2
        exit 1
        ;;
esac

mkdir -p "$RUN_DIR"
chmod 0755 "$RUN_DIR"
printf '# Written at boot by %s from cloud-init'"'"'s instance id (droplet-id.service).\nadd_header X-Droplet-Id "%s" always;\n' "$0" "$id" >"$SNIPPET.tmp"
mv "$SNIPPET.tmp" "$SNIPPET"
echo "droplet-id: health-check responses carry X-Droplet-Id: $id"
