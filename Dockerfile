# syntax=docker/dockerfile:1
# Quire's container image: the static quire binary, the public CA
# certificates and a non-root user, nothing else (no shell, no libc).
#
#   docker build -t quire .
#   docker run --rm -p 127.0.0.1:8080:8080 quire     # embedded defaults
#
# The build stage runs scripts/image-root.sh, which also builds the files
# the image test (deploy/image_integration_test.go) runs in a chroot: keep
# every build setting in that script.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party/gopdf/go.mod third_party/gopdf/go.mod
RUN go mod download
COPY . .
RUN ./scripts/image-root.sh /out

FROM scratch
COPY --from=build /out/rootfs/ /
# The filesystem store of the embedded defaults; with S3 nothing is
# written here. A read-only root filesystem needs a volume on it (and on
# /tmp).
COPY --from=build --chown=65532:65532 /out/data/ /data/
USER 65532:65532
WORKDIR /data
ENV QUIRE_LISTEN=0.0.0.0:8080 \
    QUIRE_DATA_DIR=/data \
    QUIRE_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/quire"]
CMD ["serve"]
