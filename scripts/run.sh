#!/usr/bin/env bash
# Starts Hangar in the foreground on the embedded default and says how to use it.
# Usage: scripts/run.sh HANGAR_BINARY DATA_DIR HOST:PORT
set -euo pipefail
bin=${1:-build/hangar}
data=${2:-./hangar-data}
listen=${3:-127.0.0.1:9000}
mkdir -p "$data"
creds="$(cd "$data" && pwd)/root-credentials"
cat <<MSG
Starting Hangar (data in $data). In another shell:
  export AWS_SHARED_CREDENTIALS_FILE=$creds AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url http://$listen sts get-caller-identity
  aws --endpoint-url http://$listen kms create-key --description demo
Stop with Ctrl-C.
MSG
exec "$bin" serve --data-dir "$data" --listen "$listen"
