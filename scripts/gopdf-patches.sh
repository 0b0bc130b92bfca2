#!/usr/bin/env bash
# third_party/gopdf is upstream gopdf (library code only) with Quire's
# patches applied in order: third_party/gopdf/patches/NNNN-*.patch, each
# described in third_party/gopdf/PATCHES.md. This script keeps the tree and
# the patches in step, so that moving to a newer upstream is a replay.
#
#   scripts/gopdf-patches.sh check       the tree is upstream plus the patches (scripts/check.sh runs this)
#   scripts/gopdf-patches.sh add NAME    write what the tree has beyond upstream plus the patches as the
#                                        next patch, patches/NNNN-NAME.patch (then describe it in PATCHES.md)
#   scripts/gopdf-patches.sh rebuild     make the tree upstream plus the patches again: after changing
#                                        VERSION below, or to throw away edits that are in no patch
#
# To change gopdf: edit third_party/gopdf, then `add` a patch for the edit
# (or fold the diff into the patch it belongs to by hand, and `check`).
# To upgrade: set VERSION, `rebuild`, and fix any patch that no longer
# applies. Upstream comes from the Go module cache (go mod download).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v0.33.0
MODULE=github.com/signintech/gopdf
TREE=third_party/gopdf
# Quire's own files in the tree, which come from neither upstream nor a patch.
OWN=(PATCHES.md patches)

# upstream DIR fills DIR with the library code of upstream VERSION: no
# examples, tests, test data, debug package, CI files or change log.
upstream() {
	local src
	src=$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src" ]; then
		echo "gopdf-patches: cannot download $MODULE@$VERSION" >&2
		exit 1
	fi
	(cd "$src" && find . -type f \
		! -path './.github/*' ! -path './test/*' ! -path './examples/*' ! -path './debug/*' \
		! -name '*_test.go' ! -path ./.gitignore ! -path ./Changelog.md ! -path ./README.md \
		! -path ./go.sum ! -path ./fontmaker/main.go -print0 |
		tar --null -T - -cf -) | tar -xf - -C "$1"
	chmod -R u+w "$1" # the module cache is read-only
}

# patched DIR fills DIR with upstream plus every patch, in order.
patched() {
	upstream "$1"
	local p
	for p in "$TREE"/patches/*.patch; do
		[ -e "$p" ] || continue
		if ! (cd "$1" && git apply -p1 --whitespace=nowarn) <"$p"; then
			echo "gopdf-patches: $p does not apply" >&2
			exit 1
		fi
	done
}

# tree DIR copies the tree without Quire's own files into DIR.
tree() {
	local excl=() f
	for f in "${OWN[@]}"; do excl+=(--exclude="./$f"); done
	(cd "$TREE" && tar "${excl[@]}" -cf - .) | tar -xf - -C "$1"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/a" "$work/b"

case "${1:-check}" in
check)
	patched "$work/a"
	tree "$work/b"
	if ! diff -r "$work/a" "$work/b" >"$work/diff"; then
		sed "s|$work/a|upstream+patches|g; s|$work/b|$TREE|g" "$work/diff" | head -50
		echo "gopdf-patches: $TREE is not $MODULE $VERSION plus $TREE/patches;" \
			"record an edit with: scripts/gopdf-patches.sh add NAME" >&2
		exit 1
	fi
	;;
add)
	name=${2:?usage: $0 add NAME}
	patched "$work/a"
	tree "$work/b"
	rc=0
	(cd "$work" && git diff --no-index --no-prefix --binary a b >"$work/new.patch") || rc=$?
	case $rc in
	0) echo "gopdf-patches: the tree is upstream plus the patches already; nothing to add" >&2; exit 1 ;;
	1) ;; # differences: the new patch
	*) exit "$rc" ;;
	esac
	last=$(find "$TREE/patches" -name '[0-9][0-9][0-9][0-9]-*.patch' | sed 's|.*/||' | sort | tail -1)
	n=$((10#${last:0:4} + 1))
	out=$(printf '%s/patches/%04d-%s.patch' "$TREE" "$n" "$name")
	{
		printf 'Quire patch %d: %s (third_party/gopdf/PATCHES.md, item %d).\n\n' "$n" "$name" "$n"
		cat "$work/new.patch"
	} >"$out"
	echo "$out"
	;;
rebuild)
	patched "$work/a"
	find "$TREE" -mindepth 1 -maxdepth 1 $(printf '! -name %s ' "${OWN[@]}") -exec rm -rf {} +
	cp -R "$work/a/." "$TREE/"
	;;
*)
	echo "usage: $0 [check | add NAME | rebuild]" >&2
	exit 2
	;;
esac
