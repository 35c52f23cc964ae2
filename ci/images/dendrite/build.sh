#!/usr/bin/env bash
# Build (or find) the asconform Dendrite image without any container
# registry and without debootstrap.
#
#   bash ci/images/dendrite/build.sh
#
# Builds localhost/asconform/dendrite:<dendrite version> (+ :latest): static
# binaries (CGO_ENABLED=0, so Dendrite uses its pure-Go SQLite) of Dendrite,
# its generate-config and generate-keys, and the entrypoint in builder/ (a
# module of its own whose go.mod/go.sum pin github.com/matrix-org/dendrite as
# Go `tool`s), in an otherwise empty root filesystem, `docker import`ed.
# Labels: org.asconform.recipe=<sha256 of this directory + ../lib.sh> and
# org.asconform.dendrite-version=<version> (the tag). If an image with the
# same recipe hash exists, nothing is built. The last line on stdout is the
# image reference; progress goes to stderr. Building needs Go (the version
# builder/go.mod names) and the Go module proxy, or a module cache holding
# the pinned modules; finding an existing image needs only Docker.
# ASCONFORM_REBUILD=1 rebuilds anyway.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASC_IMAGE_NAME=dendrite # used by lib.sh's log prefix
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$HERE/../lib.sh"

REPO=localhost/asconform/dendrite
VERSION_LABEL=org.asconform.dendrite-version
BINDIR=/usr/local/bin
MODULE=github.com/matrix-org/dendrite

asc_step check "recipe hash and existing image"
asc_require_docker
HASH=$(asc_recipe_hash "$HERE")
asc_log "recipe hash $HASH"

asc_exit_if_built dendrite
command -v go >/dev/null 2>&1 || asc_die "building Dendrite needs Go on PATH (see builder/go.mod for the version), or name a ready image (asconform run --image ...)"

VERSION=$(asc_gomod_version "$HERE/builder/go.mod" "$MODULE")
asc_set_version "$VERSION" "$MODULE (in builder/go.mod)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asconform-dendrite.XXXXXX")
asc_on_exit "rm -rf '$WORK'"
ROOT=$WORK/rootfs
mkdir -p "$ROOT$BINDIR" "$ROOT/conf" "$ROOT/data" "$ROOT/tmp"
chmod 1777 "$ROOT/tmp"

asc_step go-build "Dendrite $VERSION, static binaries"
# -mod=readonly: go.mod/go.sum are the pin; a build never edits them.
(cd "$HERE/builder" && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local \
	asc_run go build -trimpath -ldflags '-s -w' -o "$ROOT$BINDIR/" . \
	"$MODULE/cmd/dendrite" "$MODULE/cmd/generate-config" "$MODULE/cmd/generate-keys") ||
	asc_die "go build of builder/ failed (offline? the module cache or the Go module proxy must hold the modules go.sum pins)"
for b in asconform-dendrite dendrite generate-config generate-keys; do
	[[ -x $ROOT$BINDIR/$b ]] || asc_die "go build made no $b"
done

asc_step selftest "the binaries run and the config generates"
got=$("$ROOT$BINDIR/dendrite" -version 2>&1) || asc_die "dendrite -version failed: $got"
[[ $got == *"$VERSION"* ]] || asc_die "dendrite -version says '$got', not $VERSION"
"$ROOT$BINDIR/generate-config" -dir /data -server selftest.invalid | grep -q 'server_name: selftest.invalid' ||
	asc_die "generate-config did not produce a config for selftest.invalid"
"$ROOT$BINDIR/generate-keys" -private-key "$WORK/key.pem" >/dev/null && grep -q 'MATRIX PRIVATE KEY' "$WORK/key.pem" ||
	asc_die "generate-keys did not write a signing key"
asc_log "dendrite $got; generate-config and generate-keys work"

asc_step import "docker import $REF"
id=$(tar --numeric-owner --owner=0 --group=0 -C "$ROOT" -cf - . |
	docker import \
		--change "ENTRYPOINT [\"$BINDIR/asconform-dendrite\"]" \
		--change 'EXPOSE 8008' \
		--change 'WORKDIR /data' \
		--change "LABEL $ASC_RECIPE_LABEL=$HASH" \
		--change "LABEL $VERSION_LABEL=$VERSION" \
		--change 'LABEL org.opencontainers.image.title="asconform Dendrite homeserver"' \
		--message "asconform Dendrite $VERSION" - "$REF") ||
	asc_die "docker import failed"
asc_log "imported ${id#sha256:}"
docker tag "$REF" "$REPO:latest"
asc_finish_image "$REF" "$OLD_ID" "$HASH"
printf '%s\n' "$REF"
