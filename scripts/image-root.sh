#!/bin/sh
# Builds what Quire's container image holds, under OUT:
#   OUT/rootfs  the static quire binary, CA certificates, the quire user
#               (uid 65532) and /tmp
#   OUT/data    the data directory, empty; the image gives it to the user
# The Dockerfile's build stage runs it; the image test (deploy/) runs it
# too, so the binary tried in a chroot is built exactly as the image's.
set -eu
out=${1:?usage: scripts/image-root.sh OUT}
cd "$(dirname "$0")/.."
rm -rf "$out/rootfs" "$out/data"
mkdir -p "$out/rootfs/usr/local/bin" "$out/rootfs/etc/ssl/certs" "$out/rootfs/tmp" "$out/data"
# Static (no libc to ship), with no build paths in the binary.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/rootfs/usr/local/bin/quire" ./cmd/quire
# TLS to S3, RabbitMQ (AMQPS) and anything else needs the public CAs.
cp /etc/ssl/certs/ca-certificates.crt "$out/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'quire:x:65532:65532:quire:/nonexistent:/sbin/nologin\n' >"$out/rootfs/etc/passwd"
printf 'quire:x:65532:\n' >"$out/rootfs/etc/group"
chmod 0755 "$out/rootfs/usr/local/bin/quire"
chmod 1777 "$out/rootfs/tmp"
