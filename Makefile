# Quire's developer entry points; each is a thin wrapper over a script or go
# command, so nothing needs make.
GO ?= go

.PHONY: all build test unit check bench demo fonts clean

all: build

build:
	$(GO) build ./...

## test: set up RabbitMQ and MinIO from nothing, then run unit and integration tests.
test:
	./scripts/test.sh

## unit: fast tests only, no services needed.
unit:
	$(GO) test ./...

## check: formatting, vet and staticcheck.
check:
	./scripts/check.sh

## bench: the render benchmark and Quire's own work per envelope on the pipeline path (figures in README.md and docs/).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./renderer/...
	$(GO) test -run '^$$' -bench WorkerEnvelope -benchmem -cpu 1 ./cmd/quire

## demo: Quire's main job on its embedded defaults: in-process queue, files under ./quire-data.
demo:
	$(GO) run ./cmd/quire demo

## fonts: rebuild fonts/*.ttf from Debian's Noto fonts (needs fonts-noto-core, fonts-noto-extra, fonts-noto-cjk and fonttools; about 15 minutes).
fonts:
	/usr/bin/python3 fonts/build/build.py fonts

clean:
	rm -rf quire-data out .test-env
