#!/usr/bin/env bash
# Static checks: gofmt, go vet and staticcheck, with and without the
# integration build tag; and that third_party/gopdf is upstream gopdf plus
# its patch files. third_party/ keeps its upstream formatting.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go' | grep -v '^third_party/'))
if [ -n "$unformatted" ]; then
	echo "not gofmt'd:"; echo "$unformatted"; exit 1
fi
./scripts/gopdf-patches.sh check
go vet ./...
go vet -tags integration ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags integration ./...
