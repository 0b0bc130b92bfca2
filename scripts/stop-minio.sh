#!/usr/bin/env bash
# Stops the MinIO server that test-services.sh started, if any.
CACHE=${QUIRE_CACHE:-$HOME/.cache/quire}
if [ -f "$CACHE/minio.pid" ]; then
	kill "$(cat "$CACHE/minio.pid")" 2>/dev/null || true
	rm -f "$CACHE/minio.pid"
fi
