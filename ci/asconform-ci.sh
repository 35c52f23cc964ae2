#!/usr/bin/env bash
# asconform-ci.sh: run the asconform conformance suite in any CI.
#
# For implementers of a homeserver or an application service (bridge): it
# builds asconform from a checkout, optionally builds your image, runs
# `asconform run` against it, leaves the reports in one directory and exits
# with asconform's exit code. See ci/README.md.
#
# Inputs (environment variables; all optional):
#
#   ASCONFORM_SIDE          homeserver | appservice | both      (default homeserver)
#   ASCONFORM_FLAVOR        homeserver flavor (`asconform list flavors`; default synapse)
#   ASCONFORM_AS_FLAVOR     application-service flavor (default mautrix-sample)
#   ASCONFORM_IMAGE         your image: the homeserver's for --side homeserver or
#                           both, the AS's for --side appservice (default: the
#                           flavor's own image, built from asconform's ci/images)
#   ASCONFORM_AS_IMAGE      the AS image when ASCONFORM_SIDE=both
#   ASCONFORM_BUILD         shell command that builds your image first, run with
#                           bash in the current directory, e.g.
#                           "docker build -t localhost/my-hs:ci ."
#   ASCONFORM_EXPECTATIONS  your baseline of known failures (YAML; see
#                           ci/README.md). Default: asconform's
#                           expectations/<flavor>.yaml. "none": no baseline.
#   ASCONFORM_FOCUS         requirement IDs or areas, comma separated (HS-NS,HS-TXN-01)
#   ASCONFORM_SPEC          target an older spec release (e.g. v1.16)
#   ASCONFORM_OUT           report directory (default ./asconform-report)
#   ASCONFORM_REF           path to the asconform checkout to use (default: the
#                           repository this script lives in)
#   ASCONFORM_CLEAN         all (default): run `asconform clean` at the end, which
#                           removes what ended asconform runs left on this
#                           Docker host (this one included); run: remove only
#                           this run's containers and networks; none
#   GITHUB_STEP_SUMMARY     when set (GitHub Actions), summary.md is appended to it
#
# Other ASCONFORM_* variables (README.md, "Configuration") reach asconform
# unchanged; give paths in them as absolute paths.
#
# Exit codes (asconform's): 0 the outcome matches the expectations; 1 it does
# not (a new failure, or an unexpected pass: tighten the baseline); 2 the suite
# could not run (missing Go or Docker, a failed build, bad input, ...).
#
# The reports (results.json, summary.md, junit.xml, report.html) are always
# left in ASCONFORM_OUT; if asconform could not write them, summary.md says why.

set -uo pipefail

readonly me=asconform-ci

say() { printf '%s: %s\n' "$me" "$*" >&2; }

on_github() { [ "${GITHUB_ACTIONS:-}" = true ]; }

group() { if on_github; then echo "::group::$*"; else say "$*"; fi; }
endgroup() { if on_github; then echo "::endgroup::"; fi; }

# abs PATH: PATH made absolute against the directory the script was started in.
abs() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$start_dir" "${1#./}" ;;
	esac
}

start_dir=$(pwd -P)
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

side=${ASCONFORM_SIDE:-homeserver}
out=$(abs "${ASCONFORM_OUT:-asconform-report}")
ref=$(abs "${ASCONFORM_REF:-$script_dir/..}")
clean_mode=${ASCONFORM_CLEAN:-all}

work=""
asc=""
asc_pid=""
status=2
reason=""

# fail REASON: stop before or around the run; exit code 2 ("could not run").
fail() {
	reason=$1
	exit 2 # cleanup prints the reason
}

# cleanup runs on every exit: removes what the run left in Docker, makes sure
# there is a summary, hands it to GitHub, and exits with the run's status.
# shellcheck disable=SC2317 # invoked by trap
cleanup() {
	local rc=$status
	trap - EXIT INT TERM
	if [ -n "$asc_pid" ] && kill -0 "$asc_pid" 2>/dev/null; then
		kill -TERM "$asc_pid" 2>/dev/null
		wait "$asc_pid" 2>/dev/null
	fi
	clean_docker
	if [ -n "$out" ] && mkdir -p "$out" 2>/dev/null && [ ! -s "$out/summary.md" ]; then
		{
			echo "# asconform: could not run"
			echo
			echo "asconform-ci.sh exited with code $rc before asconform wrote its reports: ${reason:-see the job log}."
		} >"$out/summary.md"
	fi
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$out/summary.md" ]; then
		{ cat "$out/summary.md"; echo; } >>"$GITHUB_STEP_SUMMARY" ||
			say "warning: could not append the summary to GITHUB_STEP_SUMMARY ($GITHUB_STEP_SUMMARY)"
	fi
	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
	case $rc in
	0) say "OK: the outcome matches the expectations (reports in $out)" ;;
	1)
		say "FAIL: results differ from the expectations: see $out/summary.md or report.html"
		if on_github; then echo "::error title=asconform::results differ from the expectations (exit 1): see the job summary and the asconform-report artifact"; fi
		;;
	*)
		say "ERROR: the suite could not run (exit $rc)${reason:+: $reason}"
		if on_github; then echo "::error title=asconform::the suite could not run (exit $rc)${reason:+: $reason}"; fi
		;;
	esac
	exit "$rc"
}

# clean_docker removes asconform's containers and networks per ASCONFORM_CLEAN.
# shellcheck disable=SC2317 # invoked by trap
clean_docker() {
	case $clean_mode in
	none) return ;;
	run)
		[ -n "$asc_pid" ] || return
		local ids nets
		ids=$(docker ps -aq --filter label=org.asconform.managed=true --filter "label=org.asconform.owner-pid=$asc_pid" 2>/dev/null)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086 # one ID per word
			docker rm -f -v $ids >/dev/null || say "warning: could not remove containers $ids"
		fi
		nets=$(docker network ls -q --filter label=org.asconform.managed=true --filter "label=org.asconform.owner-pid=$asc_pid" 2>/dev/null)
		if [ -n "$nets" ]; then
			# shellcheck disable=SC2086
			docker network rm $nets >/dev/null || say "warning: could not remove networks $nets"
		fi
		;;
	*)
		[ -n "$asc" ] || return
		(cd "$ref" && "$asc" clean) >&2 || say "warning: asconform clean failed"
		;;
	esac
}

# Forward Ctrl-C and job cancellation to asconform, which then cleans up.
# shellcheck disable=SC2317 # invoked by trap
on_signal() {
	reason="interrupted by SIG$1"
	if [ -n "$asc_pid" ]; then
		kill -"$1" "$asc_pid" 2>/dev/null
	else
		exit 2
	fi
}

trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# --- check the input and the tools -------------------------------------------

case $side in
homeserver | appservice | both) ;;
*) fail "ASCONFORM_SIDE=$side: want homeserver, appservice or both" ;;
esac
case $clean_mode in
all | run | none) ;;
*) fail "ASCONFORM_CLEAN=$clean_mode: want all, run or none" ;;
esac
if [ ! -f "$ref/go.mod" ] || [ ! -d "$ref/cmd/asconform" ]; then
	fail "ASCONFORM_REF=$ref is not an asconform checkout (no go.mod and cmd/asconform there)"
fi
ref=$(cd "$ref" && pwd -P)
if ! command -v go >/dev/null 2>&1; then
	fail "Go is not installed or not on PATH: asconform is built from source; install Go $(sed -n 's/^go //p' "$ref/go.mod") or later (GitHub: actions/setup-go with go-version-file: <asconform checkout>/go.mod)"
fi
if ! command -v docker >/dev/null 2>&1; then
	fail "the docker CLI is not on PATH: asconform runs the implementation under test in Docker; install Docker Engine (GitHub's ubuntu runners have it)"
fi
if ! docker_err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
	fail "Docker is not reachable (is the daemon running, may this user use it, is DOCKER_HOST right?): $(printf '%s' "$docker_err" | tail -n 1)"
fi

expectations=${ASCONFORM_EXPECTATIONS:-}
case $expectations in
"") ;;
none) ;; # written below, once the work directory exists
*)
	expectations=$(abs "$expectations")
	[ -r "$expectations" ] || fail "ASCONFORM_EXPECTATIONS=$ASCONFORM_EXPECTATIONS: no such file ($expectations)"
	;;
esac

mkdir -p "$out" || fail "cannot create the report directory $out"
# Reports of an earlier run must not pass for this one's.
rm -f "$out/results.json" "$out/summary.md" "$out/junit.xml" "$out/report.html"
work=$(mktemp -d "${TMPDIR:-/tmp}/asconform-ci.XXXXXX") || fail "mktemp failed"

# --- build asconform and the image under test ----------------------------------

group "build asconform from $ref"
version=$(git -C "$ref" describe --tags --always --dirty 2>/dev/null || echo ci)
if ! (cd "$ref" && go build -ldflags "-X main.version=$version" -o "$work/asconform" ./cmd/asconform); then
	endgroup
	fail "go build ./cmd/asconform failed in $ref (output above)"
fi
asc=$work/asconform
"$asc" version
endgroup

if [ -n "${ASCONFORM_BUILD:-}" ]; then
	group "build the image under test: $ASCONFORM_BUILD"
	if ! bash -c "$ASCONFORM_BUILD"; then
		endgroup
		fail "ASCONFORM_BUILD failed: $ASCONFORM_BUILD"
	fi
	endgroup
	if [ -z "${ASCONFORM_IMAGE:-}" ]; then
		say "warning: ASCONFORM_BUILD is set but ASCONFORM_IMAGE is not: the flavor's default image is tested, not the one just built"
	fi
fi

# An image that is missing would only show up as an error per spec: check now.
for image in "${ASCONFORM_IMAGE:-}" "${ASCONFORM_AS_IMAGE:-}"; do
	[ -n "$image" ] || continue
	if ! docker image inspect "$image" >/dev/null 2>&1; then
		say "image $image is not on this Docker host: pulling it"
		docker pull "$image" >&2 || fail "image $image is neither on this Docker host nor pullable (did ASCONFORM_BUILD tag it with that name?)"
	fi
done

# --- run -----------------------------------------------------------------------

args=(run --side "$side" --out "$out")
[ -n "${ASCONFORM_FLAVOR:-}" ] && args+=(--flavor "$ASCONFORM_FLAVOR")
[ -n "${ASCONFORM_AS_FLAVOR:-}" ] && args+=(--as-flavor "$ASCONFORM_AS_FLAVOR")
if [ -n "${ASCONFORM_IMAGE:-}" ]; then
	case $side in
	appservice) args+=(--as-image "${ASCONFORM_AS_IMAGE:-$ASCONFORM_IMAGE}") ;;
	*) args+=(--image "$ASCONFORM_IMAGE") ;;
	esac
fi
if [ -n "${ASCONFORM_AS_IMAGE:-}" ] && [ "$side" = both ]; then
	args+=(--as-image "$ASCONFORM_AS_IMAGE")
fi
if [ "$expectations" = none ]; then
	expectations=$work/no-expectations.yaml
	echo "expected_failures: []" >"$expectations"
fi
[ -n "$expectations" ] && args+=(--expectations "$expectations")
[ -n "${ASCONFORM_FOCUS:-}" ] && args+=(--focus "$ASCONFORM_FOCUS")
[ -n "${ASCONFORM_SPEC:-}" ] && args+=(--spec "$ASCONFORM_SPEC")

# asconform reads ASCONFORM_* from the environment too: keep the paths it may
# see there absolute, since it runs from the asconform checkout (so that it
# finds its image recipes and default expectations).
export ASCONFORM_OUT=$out ASCONFORM_ROOT=$ref
[ -n "$expectations" ] && export ASCONFORM_EXPECTATIONS=$expectations
for v in ASCONFORM_REGISTRATIONS ASCONFORM_AS_REGISTRATION; do
	if [ -n "${!v:-}" ]; then
		export "$v=$(abs "${!v}")"
	fi
done

say "asconform ${args[*]}"
cd "$ref" || fail "cannot enter $ref"
"$asc" "${args[@]}" </dev/null &
asc_pid=$!
say "asconform is process $asc_pid (label org.asconform.owner-pid=$asc_pid on its containers)"
wait "$asc_pid"
rc=$?
# A forwarded signal interrupts wait before asconform is done: wait again.
while kill -0 "$asc_pid" 2>/dev/null; do
	wait "$asc_pid"
	rc=$?
done
case $rc in
0 | 1 | 2) status=$rc ;;
*) status=2 ;;
esac
if [ "$status" != 2 ] && [ -n "$reason" ]; then
	status=2 # interrupted: the outcome is incomplete
fi
if [ "$status" = 1 ] && [ -r "$out/results.json" ]; then
	errors=$(grep -c '"verdict": "error"' "$out/results.json")
	if [ "$errors" -gt 0 ]; then
		say "note: $errors result(s) are harness errors (verdict error): the environment broke, not necessarily your implementation; the messages in summary.md say what happened"
	fi
fi
if [ "$status" = 2 ] && [ -z "$reason" ]; then
	reason="asconform ended with status $rc (its message is above)"
fi
exit "$status"
