#!/usr/bin/env bash
# Build (or find) the asconform mautrix-python sample application service
# image without any container registry.
#
#   bash ci/images/mautrix-sample/build.sh
#
# Builds localhost/asconform/mautrix-sample:<mautrix version> (+ :latest):
# Debian sid + the Debian package python3-mautrix + sample_as.py from this
# directory. Labels: org.asconform.recipe=<sha256 of this directory +
# ../lib.sh>, org.asconform.mautrix-version=<mautrix.__version__> (the tag) and
# org.asconform.python3-mautrix-deb=<Debian package version>. If an image with
# the same recipe hash exists, nothing is built. The last line on stdout is the
# image reference; progress goes to stderr. Building needs root (debootstrap,
# chroot) and the Debian mirror; finding an existing image needs only Docker.
# Set ASCONFORM_REBUILD=1 to rebuild anyway (e.g. to pick up a newer sid).
#
# The base image (rootfs with the packages) is keyed by a hash of the package
# list and lib.sh only, so editing sample_as.py or the Dockerfile rebuilds
# just the thin final image (seconds), not the rootfs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASC_IMAGE_NAME=mautrix-sample # used by lib.sh's log prefix
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$HERE/../lib.sh"

REPO=localhost/asconform/mautrix-sample
SUITE=sid
# python3-mautrix pulls in aiohttp, attrs and yarl; python3-yaml reads the
# registration file.
PACKAGES=(python3-mautrix python3-yaml)
VERSION_LABEL=org.asconform.mautrix-version
DEB_LABEL=org.asconform.python3-mautrix-deb

asc_step check "recipe hash and existing image"
asc_require_docker
HASH=$(asc_recipe_hash "$HERE")
BASE_HASH=$({
	printf 'lib.sh\0'
	sha256sum <"$ASC_LIB_DIR/lib.sh"
	printf 'suite=%s\0packages=%s\0' "$SUITE" "${PACKAGES[*]}"
} | sha256sum | cut -c1-64)
asc_log "recipe hash $HASH (base $BASE_HASH)"

asc_exit_if_built mautrix-sample
asc_log "building (cache dir $ASC_CACHE)"

# Base image: debootstrap + apt-get install + clean + docker import.
asc_build_base mautrix-sample "$BASE_HASH" "$SUITE" "${PACKAGES[@]}"

asc_step version "read the mautrix version"
# shellcheck disable=SC2016 # dpkg-query format, not shell
VERSIONS=$(docker run --rm --network none --entrypoint /bin/sh "$ASC_BASE_REF" -c \
	'python3 -c "import mautrix; print(mautrix.__version__)" &&
	 dpkg-query -W -f="\${Version}\n" python3-mautrix') ||
	asc_die "could not import mautrix in $ASC_BASE_REF"
VERSION=$(sed -n 1p <<<"$VERSIONS")
DEB_VERSION=$(sed -n 2p <<<"$VERSIONS")
asc_set_version "$VERSION" mautrix
asc_log "mautrix $VERSION (Debian python3-mautrix $DEB_VERSION)"

asc_step docker-build "$REF (includes a start-up self-test)"
asc_docker_build "$HERE" "$REF" "$REPO:latest" -- \
	--network none \
	--build-arg "BASE_IMAGE=$ASC_BASE_REF" \
	--build-arg "RECIPE_HASH=$HASH" \
	--build-arg "MAUTRIX_VERSION=$VERSION" \
	--build-arg "MAUTRIX_DEB_VERSION=$DEB_VERSION"

asc_step verify "labels"
[[ $(asc_image_label "$REF" "$DEB_LABEL") == "$DEB_VERSION" ]] ||
	asc_die "built image $REF lacks label $DEB_LABEL=$DEB_VERSION"
asc_finish_image "$REF" "$OLD_ID" "$HASH"
asc_prune_base mautrix-sample "$BASE_HASH"
printf '%s\n' "$REF"
