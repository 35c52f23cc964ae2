#!/usr/bin/env bash
# Build (or find) the asconform Synapse image without any container registry.
#
#   bash ci/images/synapse/build.sh
#
# Builds localhost/asconform/synapse:<synapse-version> (+ :latest), labelled
# org.asconform.recipe=<sha256 of this directory + ../lib.sh> and
# org.asconform.synapse-version=<version>. If an image with the same recipe
# hash exists, nothing is built. The last line on stdout is the image
# reference; progress goes to stderr. Building needs root (debootstrap,
# chroot) and the Debian mirror; finding an existing image needs only Docker.
# Set ASCONFORM_REBUILD=1 to rebuild anyway (e.g. to pick up a newer sid).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASC_IMAGE_NAME=synapse # used by lib.sh's log prefix
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$HERE/../lib.sh"

REPO=localhost/asconform/synapse
SUITE=sid
PACKAGES=(matrix-synapse)
VERSION_LABEL=org.asconform.synapse-version

asc_step check "recipe hash and existing image"
asc_require_docker
HASH=$(asc_recipe_hash "$HERE")
asc_log "recipe hash $HASH"

asc_exit_if_built synapse
asc_log "building (cache dir $ASC_CACHE)"

# Base image: debootstrap + apt-get install + clean + docker import.
asc_build_base synapse "$HASH" "$SUITE" "${PACKAGES[@]}"

asc_step version "read the Synapse version"
VERSION=$(docker run --rm --network none --entrypoint python3 "$ASC_BASE_REF" \
	-c 'import synapse; print(synapse.__version__)') ||
	asc_die "could not import synapse in $ASC_BASE_REF"
asc_set_version "$VERSION" Synapse
asc_log "Synapse $VERSION"

asc_step docker-build "$REF (includes warm-up start of Synapse)"
asc_docker_build "$HERE" "$REF" "$REPO:latest" -- \
	--network none \
	--build-arg "BASE_IMAGE=$ASC_BASE_REF" \
	--build-arg "RECIPE_HASH=$HASH" \
	--build-arg "SYNAPSE_VERSION=$VERSION"

asc_step verify "labels"
asc_finish_image "$REF" "$OLD_ID" "$HASH"
asc_prune_base synapse "$HASH"
printf '%s\n' "$REF"
