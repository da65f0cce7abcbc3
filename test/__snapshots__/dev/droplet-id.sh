#!/bin/sh
# Rendered from templates/lifecycle/droplet-id.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.
# droplet-id: put this droplet's id into every health-check response (X-Droplet-Id), so a rollout gate
# polling the load balancer can tell a new droplet's answers from the old ones'. Runs at every boot before
# Nginx (droplet-id.service): the snippet lives on tmpfs, so a droplet booted from a snapshot of another
# never answers with the other's id.
#
# The id is the droplet ID Terraform knows (`digitalocean_droplet.x.id`), from DigitalOcean's metadata
# service (`GET /metadata/v1/id`, DigitalOcean docs "Droplet Properties"). Where there is no metadata service
# (the local box), cloud-init's instance id stands in; on DigitalOcean the two agree only with cloud-init's
# DigitalOcean datasource, which newer cloud-init replaces with ConfigDrive, hence the metadata first.
set -eu

SNIPPET=/run/droplet/nginx-droplet-id.conf
RUN_DIR=/run/droplet

id=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://169.254.169.254/metadata/v1/id", timeout=2).read().decode().strip())' 2>/dev/null) \
    || id=$(cloud-init query v1.instance_id)
# The id goes into Nginx's configuration: accept only what an id looks like, never a quote or a semicolon.
case "$id" in
    "" | *[!A-Za-z0-9._-]*)
        echo "droplet-id: the droplet id '$id' is empty or not [A-Za-z0-9._-]; Nginx would not start with it" >&2
        exit 1
        ;;
esac

mkdir -p "$RUN_DIR"
chmod 0755 "$RUN_DIR"
printf '# Written at boot by %s from the droplet id (droplet-id.service).\nadd_header X-Droplet-Id "%s" always;\n' "$0" "$id" >"$SNIPPET.tmp"
mv "$SNIPPET.tmp" "$SNIPPET"
echo "droplet-id: health-check responses carry X-Droplet-Id: $id"
