#!/usr/bin/env bash
# Stops the MinIO server that scripts/test-services.sh started in this run,
# if it started one (QUIRE_TEST_MINIO_PID, from .test-env). A MinIO that was
# already running is left alone.
if [ -n "${QUIRE_TEST_MINIO_PID:-}" ]; then
	kill "$QUIRE_TEST_MINIO_PID" 2>/dev/null || true
fi
