# shellcheck shell=bash
# shellcheck disable=SC2034 # ASC_* variables are set here for the caller
# Reusable helpers for building asconform test images without a container
# registry: a Debian minbase rootfs is made with debootstrap, packages are
# installed into it with apt-get via chroot, and the result is `docker import`ed
# as a base image that an image's Dockerfile builds FROM.
#
# Source this file from an image's build.sh (which must `set -euo pipefail`).
# All progress goes to stderr; stdout is left for the build script's result.
#
# Environment knobs:
#   ASCONFORM_CACHE          cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/asconform)
#   ASCONFORM_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   ASCONFORM_REBUILD=1      ignore an existing image with the same recipe hash
#   ASCONFORM_KEEP_ROOTFS=1  keep the rootfs directory after a successful import

ASC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASC_CACHE=${ASCONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/asconform}
ASC_MIRROR=${ASCONFORM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ASC_RECIPE_LABEL=org.asconform.recipe
ASC_BASE_LABEL=org.asconform.base-recipe
# apt options used inside the rootfs: the mirror may serve a frozen snapshot
# whose Release file is past its Valid-Until date.
ASC_APT_OPTS=(-q -y -o Acquire::Check-Valid-Until=false -o Dpkg::Progress-Fancy=0
	-o APT::Install-Recommends=false -o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold)

ASC_STEP=${ASC_STEP:-init}
ASC_T0=${SECONDS}
ASC_IMAGE_NAME=${ASC_IMAGE_NAME:-image}

# ---------------------------------------------------------------- logging ---

# asc_log MSG...: timestamped progress line on stderr.
asc_log() {
	printf '%(%H:%M:%S)T +%3ds [%s:%s] %s\n' -1 "$((SECONDS - ASC_T0))" \
		"$ASC_IMAGE_NAME" "$ASC_STEP" "$*" >&2
}

# asc_step NAME: start a named step (shown in every following log line).
asc_step() {
	ASC_STEP=$1
	shift
	asc_log "== ${*:-start}"
}

# asc_die MSG...: print a clear error and exit non-zero.
asc_die() {
	printf '%(%H:%M:%S)T +%3ds [%s:%s] ERROR: %s\n' -1 "$((SECONDS - ASC_T0))" \
		"$ASC_IMAGE_NAME" "$ASC_STEP" "$*" >&2
	exit 1
}

# asc_run CMD...: run a command with stdout+stderr prefixed like asc_log, on
# stderr. Returns the command's exit status.
asc_run() {
	local rc=0
	# (sed drops colour escapes, e.g. the classic builder's RUN stderr.)
	"$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*[A-Za-z]//g' | asc__prefix || rc=$?
	return "$rc"
}

asc__prefix() {
	local line
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line//$'\r'/}
		printf '%(%H:%M:%S)T +%3ds [%s:%s]   %s\n' -1 "$((SECONDS - ASC_T0))" \
			"$ASC_IMAGE_NAME" "$ASC_STEP" "$line" >&2
	done
}

# ------------------------------------------------------- cleanup handling ---

ASC_CLEANUPS=()

# asc_on_exit CMD: run CMD (a string, eval'd) on exit, last registered first.
asc_on_exit() {
	ASC_CLEANUPS+=("$1")
}

asc__run_cleanups() {
	local i
	for ((i = ${#ASC_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${ASC_CLEANUPS[i]}" || true
	done
	ASC_CLEANUPS=()
}

asc__on_exit() {
	local rc=$?
	trap - ERR
	asc__run_cleanups
	if ((rc != 0)); then
		printf '%(%H:%M:%S)T +%3ds [%s:%s] FAILED (exit %d); see messages above\n' -1 \
			"$((SECONDS - ASC_T0))" "$ASC_IMAGE_NAME" "$ASC_STEP" "$rc" >&2
	fi
	exit "$rc"
}

asc__on_err() {
	local rc=$? cmd=$1 line=$2 src=$3
	printf '%(%H:%M:%S)T +%3ds [%s:%s] ERROR: command failed (exit %d) at %s:%s: %s\n' -1 \
		"$((SECONDS - ASC_T0))" "$ASC_IMAGE_NAME" "$ASC_STEP" "$rc" "$src" "$line" "$cmd" >&2
}

set -E
trap 'asc__on_exit' EXIT
trap 'asc__on_err "$BASH_COMMAND" "$LINENO" "${BASH_SOURCE[0]##*/}"' ERR
trap 'asc_log "interrupted"; exit 130' INT
trap 'asc_log "terminated"; exit 143' TERM

# ----------------------------------------------------------------- checks ---

# asc_require_docker: fail clearly if the Docker daemon is unreachable.
asc_require_docker() {
	command -v docker >/dev/null 2>&1 || asc_die "docker CLI not found on PATH"
	local out
	if ! out=$(docker version --format '{{.Server.Version}}' 2>&1); then
		out=${out//$'\n'/ }
		asc_die "Docker daemon unreachable: ${out#"${out%%[! ]*}"}"
	fi
}

# asc_require_root: debootstrap, mount and chroot need root. A missing
# debootstrap is installed when we are root and have apt-get (as .ci/run
# does); otherwise one error says what to install.
asc_require_root() {
	local how="or name a ready image (asconform run --image ...)"
	if ! command -v debootstrap >/dev/null 2>&1; then
		((EUID == 0)) && command -v apt-get >/dev/null 2>&1 ||
			asc_die "building the $ASC_IMAGE_NAME image needs debootstrap and root: run 'sudo apt-get install debootstrap' and run again as root, $how"
		asc_log "installing debootstrap with apt-get (needed to build the rootfs)"
		asc_run apt-get update -qq && DEBIAN_FRONTEND=noninteractive asc_run apt-get install -y -qq debootstrap ||
			asc_die "apt-get install debootstrap failed; install it by hand, $how"
	fi
	((EUID == 0)) || asc_die "building the $ASC_IMAGE_NAME image needs root (debootstrap, mount, chroot): run again as root (sudo -E), $how"
	local t
	for t in debootstrap chroot mount umount tar flock sha256sum; do
		command -v "$t" >/dev/null 2>&1 || asc_die "building the $ASC_IMAGE_NAME image needs $t, which is not installed"
	done
}

# ------------------------------------------------------------ recipe hash ---

# asc_recipe_hash DIR: sha256 over every file under DIR plus lib.sh (names
# and contents), printed on stdout.
asc_recipe_hash() {
	local dir=$1 f
	{
		printf 'lib.sh\0'
		sha256sum <"$ASC_LIB_DIR/lib.sh"
		while IFS= read -r -d '' f; do
			printf '%s\0' "${f#"$dir"/}"
			sha256sum <"$f"
		done < <(find "$dir" -type f ! -name '*~' ! -name '.*.sw?' ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z)
	} | sha256sum | cut -c1-64
}

# asc_find_image REPO HASH: print the ID of an image in REPO carrying label
# org.asconform.recipe=HASH (empty output if none).
asc_find_image() {
	local repo=$1 hash=$2
	docker images --no-trunc --filter "label=$ASC_RECIPE_LABEL=$hash" \
		--format '{{.ID}}' "$repo" | head -n1
}

# asc_image_label IMAGE LABEL: print a label's value.
asc_image_label() {
	docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1"
}

# asc_find_existing: set REF to the image in $REPO built from recipe $HASH,
# if any, named by its $VERSION_LABEL, and make sure that version tag and
# :latest point at it. Returns 1 when there is none.
# shellcheck disable=SC2153 # REPO, HASH and VERSION_LABEL are set by build.sh
asc_find_existing() {
	local id version
	id=$(asc_find_image "$REPO" "$HASH")
	[[ -n $id ]] || return 1
	version=$(asc_image_label "$id" "$VERSION_LABEL")
	[[ -n $version && $version != "<no value>" ]] || return 1
	REF=$REPO:$version
	if [[ $(docker image inspect --format '{{.Id}}' "$REF" 2>/dev/null) != "$id" ]]; then
		docker tag "$id" "$REF"
	fi
	if [[ $(docker image inspect --format '{{.Id}}' "$REPO:latest" 2>/dev/null) != "$id" ]]; then
		docker tag "$id" "$REPO:latest"
	fi
}

# asc_image_exists REF
asc_image_exists() {
	docker image inspect "$1" >/dev/null 2>&1
}

# ------------------------------------------------------------------ rootfs ---

# asc_unmount_under DIR: unmount everything mounted at or below DIR (deepest
# first). Used on exit and before deleting a rootfs left by a killed build, so
# that rm never reaches into a bind-mounted host /dev.
asc_unmount_under() {
	local dir mp
	dir=$(realpath -m "$1")
	local mps=()
	while IFS= read -r mp; do
		mps+=("$mp")
	done < <(awk -v d="$dir" '{ mp = $5; gsub(/\\040/, " ", mp);
		if (mp == d || index(mp, d "/") == 1) print mp }' /proc/self/mountinfo | sort -r)
	for mp in "${mps[@]}"; do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null ||
			asc_log "warning: could not unmount $mp"
	done
}

# asc_remove_rootfs DIR: safely delete a rootfs directory.
asc_remove_rootfs() {
	local dir=$1
	[[ -e $dir ]] || return 0
	asc_unmount_under "$dir"
	if grep -qF " $(realpath -m "$dir")/" /proc/self/mountinfo; then
		asc_die "refusing to delete $dir: something is still mounted below it"
	fi
	rm -rf --one-file-system "$dir"
}

# asc_debootstrap DIR [SUITE]: debootstrap a minbase rootfs into DIR
# (default suite sid). Downloaded .debs are kept in $ASC_CACHE/debs.
asc_debootstrap() {
	local dir=$1 suite=${2:-sid}
	mkdir -p "$ASC_CACHE/debs"
	asc_remove_rootfs "$dir"
	mkdir -p "$(dirname "$dir")"
	asc_log "debootstrap --variant=minbase $suite into $dir from $ASC_MIRROR"
	if ! asc_run debootstrap --variant=minbase --cache-dir="$ASC_CACHE/debs" \
		"$suite" "$dir" "$ASC_MIRROR"; then
		[[ -f $dir/debootstrap/debootstrap.log ]] &&
			asc_run tail -n 30 "$dir/debootstrap/debootstrap.log"
		asc_die "debootstrap of $suite from $ASC_MIRROR failed"
	fi
	# No service may start inside the chroot or the image.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	# Leave out docs, man pages and translations from packages installed later.
	cat >"$dir/etc/dpkg/dpkg.cfg.d/01-asconform-nodoc" <<-'EOF'
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
	EOF
}

# asc_chroot_mount DIR: mount /proc, /sys, /dev, /dev/pts and the .deb cache
# into DIR; they are unmounted by asc_chroot_umount and, whatever happens, on
# exit.
asc_chroot_mount() {
	local dir
	dir=$(realpath "$1")
	asc_on_exit "asc_unmount_under '$dir'"
	mkdir -p "$dir/proc" "$dir/sys" "$dir/dev" "$dir/var/cache/apt/archives" "$ASC_CACHE/debs"
	mount -t proc proc "$dir/proc"
	mount -t sysfs -o ro sysfs "$dir/sys"
	mount --bind /dev "$dir/dev"
	mkdir -p "$dir/dev/pts"
	mount --bind /dev/pts "$dir/dev/pts"
	mount --bind "$ASC_CACHE/debs" "$dir/var/cache/apt/archives"
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
}

asc_chroot_umount() {
	asc_unmount_under "$1"
}

# asc_chroot DIR CMD...: run CMD inside the rootfs (must be mounted).
asc_chroot() {
	local dir=$1
	shift
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
		chroot "$dir" "$@"
}

# asc_apt_install DIR PKG...: apt-get update + install (no recommends) inside
# the rootfs.
asc_apt_install() {
	local dir=$1
	shift
	asc_chroot_mount "$dir"
	asc_log "apt-get update"
	asc_run asc_chroot "$dir" apt-get "${ASC_APT_OPTS[@]}" update ||
		asc_die "apt-get update inside the rootfs failed (mirror $ASC_MIRROR)"
	asc_log "apt-get install $*"
	asc_run asc_chroot "$dir" apt-get "${ASC_APT_OPTS[@]}" install "$@" ||
		asc_die "apt-get install $* inside the rootfs failed"
	# Everything must end up configured (debootstrap --include once left
	# python3-cryptography unconfigured).
	local broken
	# shellcheck disable=SC2016 # dpkg-query format, not shell
	broken=$(asc_chroot "$dir" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' |
		awk '$1 != "ii" && $1 != "rc" { print $2 }')
	[[ -z $broken ]] || asc_die "packages not fully installed: ${broken//$'\n'/ }"
	asc_chroot_umount "$dir"
}

# asc_clean_rootfs DIR: drop apt caches and lists, docs, logs and host files.
asc_clean_rootfs() {
	local dir=$1
	[[ -n $dir && $dir != / ]] || asc_die "asc_clean_rootfs: bad dir '$dir'"
	if grep -qF " $(realpath -m "$dir")/" /proc/self/mountinfo; then
		asc_die "asc_clean_rootfs: $dir still has mounts"
	fi
	rm -rf "$dir"/var/cache/apt/archives/* "$dir"/var/cache/apt/*.bin \
		"$dir"/var/lib/apt/lists/* "$dir"/var/cache/debconf/*-old \
		"$dir"/var/log/apt/* "$dir"/var/log/dpkg.log "$dir"/var/log/alternatives.log \
		"$dir"/var/log/bootstrap.log "$dir"/tmp/* "$dir"/var/tmp/* "$dir"/root/.cache
	mkdir -p "$dir/var/lib/apt/lists/partial" "$dir/var/cache/apt/archives/partial"
	find "$dir/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
	find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/*
	find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias \
		-exec rm -rf {} + 2>/dev/null || true
	# Docker provides these at run time; don't leak the host's.
	: >"$dir/etc/resolv.conf"
	printf 'localhost\n' >"$dir/etc/hostname"
	: >"$dir/etc/machine-id" 2>/dev/null || true
}

# asc_import DIR REF HASH: `docker import` the rootfs as image REF, labelled
# org.asconform.base-recipe=HASH.
asc_import() {
	local dir=$1 ref=$2 hash=$3
	asc_log "docker import $dir as $ref"
	local id rc=0
	id=$(tar --numeric-owner --xattrs --one-file-system -C "$dir" -cf - . |
		docker import --change "LABEL $ASC_BASE_LABEL=$hash" \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'ENV LANG=C.UTF-8' \
			--change 'CMD ["/bin/bash"]' \
			--message "asconform rootfs $hash" - "$ref") || rc=$?
	((rc == 0)) || asc_die "docker import of $dir failed (exit $rc)"
	asc_log "imported $ref (${id#sha256:})"
}

# asc_build_base NAME HASH SUITE PKG...: make sure the base image
# localhost/asconform/NAME-base:HASH exists (debootstrap + apt + clean +
# import, reusing it if already there) and set ASC_BASE_REF to its reference.
# (Not meant for $(...): cleanup traps must run in the main shell.)
asc_build_base() {
	local name=$1 hash=$2 suite=$3
	shift 3
	local ref=localhost/asconform/$name-base:$hash
	if [[ ${ASCONFORM_REBUILD:-0} != 1 ]] && asc_image_exists "$ref"; then
		asc_log "base image $ref already exists, reusing it"
		ASC_BASE_REF=$ref
		return 0
	fi
	asc_require_root
	local root=$ASC_CACHE/rootfs/$name-$hash
	mkdir -p "$ASC_CACHE/rootfs"

	asc_step debootstrap "minbase $suite rootfs"
	asc_debootstrap "$root" "$suite"

	asc_step apt "install $*"
	asc_apt_install "$root" "$@"

	asc_step clean "apt caches, docs, logs"
	asc_clean_rootfs "$root"
	asc_log "rootfs size: $(du -sh --one-file-system "$root" | cut -f1)"

	asc_step import "docker import"
	asc_import "$root" "$ref" "$hash"
	if [[ ${ASCONFORM_KEEP_ROOTFS:-0} != 1 ]]; then
		asc_remove_rootfs "$root"
	fi
	ASC_BASE_REF=$ref
}

# asc_docker_build CONTEXT_DIR REF... -- [docker build args...]: classic
# builder (works with local-only base images and no registry), output on
# stderr; every REF is tagged.
asc_docker_build() {
	local ctx=$1
	shift
	local tags=()
	while (($#)) && [[ $1 != -- ]]; do
		tags+=(-t "$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	DOCKER_BUILDKIT=0 asc_run docker build --pull=false --rm --force-rm \
		"${tags[@]}" "$@" "$ctx" || asc_die "docker build in $ctx failed"
}

# asc_prune_base NAME HASH: untag base images of NAME built from other
# recipes (their layers stay while a final image still uses them).
asc_prune_base() {
	local repo=localhost/asconform/$1-base hash=$2 tag
	while IFS= read -r tag; do
		[[ -n $tag && $tag != "$hash" ]] || continue
		asc_log "untagging superseded base image $repo:$tag"
		docker rmi "$repo:$tag" >/dev/null 2>&1 || true
	done < <(docker images --format '{{.Tag}}' "$repo")
}

# asc_finish_image REF OLD_ID HASH: check the built image carries the
# recipe label, remove the image REF named before the build (OLD_ID, may be
# empty) if the build replaced it, and log the result.
asc_finish_image() {
	local ref=$1 old_id=$2 hash=$3 new_id
	[[ $(asc_image_label "$ref" "$ASC_RECIPE_LABEL") == "$hash" ]] ||
		asc_die "built image $ref lacks label $ASC_RECIPE_LABEL=$hash"
	new_id=$(docker image inspect --format '{{.Id}}' "$ref")
	if [[ -n $old_id && $old_id != "$new_id" ]]; then
		asc_log "removing superseded image ${old_id#sha256:}"
		docker rmi "$old_id" >/dev/null 2>&1 || true
	fi
	asc_log "done: $ref (${new_id#sha256:}, $(docker image inspect --format '{{.Size}}' "$ref" |
		awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# asc_exit_if_built NAME: with REPO, HASH and VERSION_LABEL set, print the
# image already built from this recipe and exit; else take NAME's build
# lock and look again (a concurrent build may have finished meanwhile).
# ASCONFORM_REBUILD=1 builds anyway.
asc_exit_if_built() {
	if [[ ${ASCONFORM_REBUILD:-0} != 1 ]] && asc_find_existing; then
		asc_log "image for this recipe exists: $REF; skipping build"
		printf '%s\n' "$REF"
		exit 0
	fi
	asc_lock "$1"
	if [[ ${ASCONFORM_REBUILD:-0} != 1 ]] && asc_find_existing; then
		asc_log "image for this recipe was built meanwhile: $REF"
		printf '%s\n' "$REF"
		exit 0
	fi
}

# asc_set_version VERSION WHAT: check that VERSION (of WHAT) can be a tag,
# then set REF to $REPO:VERSION and OLD_ID to the image REF names before
# the build (empty if none), for asc_finish_image.
asc_set_version() {
	[[ $1 =~ ^[0-9A-Za-z][0-9A-Za-z._-]*$ ]] || asc_die "unexpected $2 version '$1'"
	REF=$REPO:$1
	OLD_ID=$(docker image inspect --format '{{.Id}}' "$REF" 2>/dev/null || true)
}

# asc_gomod_version GOMOD MODULE: the version (without "v") GOMOD pins
# MODULE at; go.sum makes it exact.
asc_gomod_version() {
	local v
	v=$(awk -v m="$2" '$1 == m { print $2 }' "$1" | head -n1)
	printf '%s\n' "${v#v}"
}

# asc_lock NAME: serialise concurrent builds of the same image.
asc_lock() {
	mkdir -p "$ASC_CACHE"
	exec {ASC_LOCK_FD}>"$ASC_CACHE/$1.lock"
	if ! flock -n "$ASC_LOCK_FD"; then
		asc_log "another build of $1 is running; waiting for its lock"
		flock "$ASC_LOCK_FD"
	fi
}
