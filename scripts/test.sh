#!/usr/bin/env bash
# Runs every Quire test on a fresh Debian machine with Go: installs and
# starts what the tests need (scripts/test-services.sh), runs unit and
# integration tests against real RabbitMQ and MinIO, then stops MinIO.
#
#   ./scripts/test.sh            # everything
#   ./scripts/test.sh ./renderer/...   # some packages
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/test-services.sh
# shellcheck source=/dev/null
. ./.test-env
trap ./scripts/stop-minio.sh EXIT

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
# -p 1: some integration tests restart RabbitMQ, which would disturb
# another package's tests running at the same moment.
go test -tags integration -count=1 -p 1 -timeout 45m "${pkgs[@]}"
