#!/usr/bin/env bash
# Build (or find) the asconform mautrix-go sample application service image
# without any container registry and without debootstrap.
#
#   bash ci/images/mautrix-go-sample/build.sh
#
# Builds localhost/asconform/mautrix-go-sample:<mautrix-go version> (+
# :latest): one static binary (builder/, a module of its own whose
# go.mod/go.sum pin maunium.net/go/mautrix) in an otherwise empty root
# filesystem, `docker import`ed. Labels: org.asconform.recipe=<sha256 of this
# directory + ../lib.sh> and org.asconform.mautrix-go-version=<version> (the
# tag). If an image with the same recipe hash exists, nothing is built. The
# last line on stdout is the image reference; progress goes to stderr.
# Building needs Go (the version builder/go.mod names) and the Go module
# proxy, or a module cache holding the pinned modules; finding an existing
# image needs only Docker. ASCONFORM_REBUILD=1 rebuilds anyway.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASC_IMAGE_NAME=mautrix-go-sample # used by lib.sh's log prefix
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$HERE/../lib.sh"

REPO=localhost/asconform/mautrix-go-sample
VERSION_LABEL=org.asconform.mautrix-go-version
BIN=/usr/local/bin/mautrix-go-sample

asc_step check "recipe hash and existing image"
asc_require_docker
HASH=$(asc_recipe_hash "$HERE")
asc_log "recipe hash $HASH"

asc_exit_if_built mautrix-go-sample
command -v go >/dev/null 2>&1 || asc_die "building the mautrix-go sample needs Go on PATH (see builder/go.mod for the version), or name a ready image (asconform run --as-image ...)"

VERSION=$(asc_gomod_version "$HERE/builder/go.mod" maunium.net/go/mautrix)
asc_set_version "$VERSION" "maunium.net/go/mautrix (in builder/go.mod)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asconform-mautrix-go.XXXXXX")
asc_on_exit "rm -rf '$WORK'"
ROOT=$WORK/rootfs
mkdir -p "$ROOT/usr/local/bin" "$ROOT/conf" "$ROOT/tmp"
chmod 1777 "$ROOT/tmp"

asc_step go-build "mautrix-go $VERSION, static binary"
# -mod=readonly: go.mod/go.sum are the pin; a build never edits them.
(cd "$HERE/builder" && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local \
	asc_run go build -trimpath -ldflags '-s -w' -o "$ROOT$BIN" .) ||
	asc_die "go build of builder/ failed (offline? the module cache or the Go module proxy must hold the modules go.sum pins)"

asc_step selftest "start the AS on loopback and probe it"
PORT=$(( 20000 + RANDOM % 20000 ))
cat >"$WORK/registration.yaml" <<-YAML
	id: selftest
	url: http://127.0.0.1:$PORT
	as_token: as_selftest
	hs_token: hs_selftest
	sender_localpart: samplebot
	namespaces:
	  users: [{exclusive: true, regex: '@sample_.*:selftest.invalid'}]
YAML
ASCONFORM_HS_URL=http://127.0.0.1:9 ASCONFORM_HS_DOMAIN=selftest.invalid \
	ASCONFORM_REGISTRATION=$WORK/registration.yaml ASCONFORM_AS_HOST=127.0.0.1 ASCONFORM_AS_PORT=$PORT \
	"$ROOT$BIN" 2>"$WORK/selftest.log" &
PID=$!
asc_on_exit "kill $PID 2>/dev/null || true"
ok=0
for _ in $(seq 50); do
	if [[ $(curl -fsS "http://127.0.0.1:$PORT/_matrix/mau/ready" 2>/dev/null) == "{}" ]]; then
		ok=1
		break
	fi
	sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://127.0.0.1:$PORT/_matrix/app/v1/ping") == 401 ]] || ok=0
kill "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
if ((ok != 1)); then
	asc_run cat "$WORK/selftest.log"
	asc_die "self-test failed: the AS did not answer /_matrix/mau/ready with {} and a tokenless ping with 401"
fi
asc_log "answered /_matrix/mau/ready and refused a tokenless ping"

asc_step import "docker import $REF"
id=$(tar --numeric-owner --owner=0 --group=0 -C "$ROOT" -cf - . |
	docker import \
		--change "ENTRYPOINT [\"$BIN\"]" \
		--change 'EXPOSE 29333' \
		--change 'WORKDIR /tmp' \
		--change "LABEL $ASC_RECIPE_LABEL=$HASH" \
		--change "LABEL $VERSION_LABEL=$VERSION" \
		--change 'LABEL org.opencontainers.image.title="asconform mautrix-go sample appservice"' \
		--message "asconform mautrix-go sample $VERSION" - "$REF") ||
	asc_die "docker import failed"
asc_log "imported ${id#sha256:}"
docker tag "$REF" "$REPO:latest"
asc_finish_image "$REF" "$OLD_ID" "$HASH"
printf '%s\n' "$REF"
