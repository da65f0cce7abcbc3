#!/usr/bin/env bash
# Saves errored.tfstate to the environment's state bucket after a failed apply.
#
#   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... bash .github/scripts/save-errored-state.sh <stack folder>
#
# When Terraform cannot upload the state after an apply (the store refused it, the network dropped), it
# writes errored.tfstate in the stack folder: the only record of what it just created. On a CI runner that
# folder disappears with the job, so this copies it beside the state, as
# s3://<bucket>/<state key>.errored-<run id>-<attempt>, private. Never as a workflow artifact: the state holds
# every secret of the stack. docs/operations.md (half-finished apply) says how to push it back.
set -euo pipefail
dir=${1:?usage: save-errored-state.sh <stack folder>}
cd "$dir"
if [ ! -f errored.tfstate ]; then
  echo "No errored.tfstate in $dir: Terraform saved the state it had (or the apply never started)."
  exit 0
fi
# node, not jq: the apply job sets up Node for the rollout gate anyway. (The ${...} are JavaScript's.)
# shellcheck disable=SC2016
read -r bucket key endpoint < <(node -e '
  const s3 = JSON.parse(require("fs").readFileSync("cdk.tf.json", "utf8")).terraform?.backend?.s3;
  console.log(s3 ? `${s3.bucket} ${s3.key} ${s3.endpoints?.s3}` : "");
' || true)
if [ -z "${bucket:-}" ]; then
  echo "::error::errored.tfstate exists but $dir/cdk.tf.json has no S3 backend; nowhere to save it."
  exit 1
fi
dest="s3://$bucket/$key.errored-${GITHUB_RUN_ID:-local}-${GITHUB_RUN_ATTEMPT:-1}"
for attempt in 1 2 3 4 5; do
  if aws s3 cp errored.tfstate "$dest" --endpoint-url "$endpoint" --region us-east-1 --only-show-errors; then
    echo "::error::The apply could not save its state. errored.tfstate is at $dest: push it back (docs/operations.md, half-finished apply) before anything else runs against this environment."
    exit 0
  fi
  wait=$((attempt * ${SAVE_ERRORED_RETRY_SECONDS:-10}))
  echo "upload attempt $attempt failed; retrying in $wait s"
  sleep "$wait"
done
echo "::error::errored.tfstate could NOT be saved to $dest. The state of this apply is lost with this runner: stop deploys to this environment and follow docs/operations.md (half-finished apply, state lost)."
exit 1
