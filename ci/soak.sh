#!/usr/bin/env bash
# Soak test: run the homeserver suite against a homeserver N times in a row
# and report, per spec, how often it passed and failed, to find flaky specs.
#
#   bash ci/soak.sh [N] [FLAVOR]   # N defaults to 5, FLAVOR to synapse
#   bash ci/soak.sh 5 dendrite
#
# Each run is `go test -count=1 -run '^TestHomeserver$' ./suites/homeserver`
# with ASCONFORM_OUT set to a fresh directory (SOAK_OUT/run-I, SOAK_OUT
# defaults to a new temporary directory, kept for inspection). The results
# of every run are read from its results.json.
#
# Outcomes per spec: "pass" counts the verdicts pass, unexpected-pass and
# informational (nothing the spec asks was missed); "fail" counts fail,
# error, non-strict, expected-failure and any verdict this script does not
# know; skipped verdicts are not counted as runs. A spec flaked if it passed
# in some runs and failed in others; its flake rate is the share of its runs
# that disagree with its majority outcome. A spec whose verdict changed
# within one outcome (e.g. fail, then error) is marked "varies".
#
# Exit status: 0 no spec flaked; 1 at least one spec flaked; 2 the soak
# could not run or is not valid (bad N, Docker unreachable, image missing, a
# run left no results.json, or the source changed between runs, as when
# someone edits a spec during the soak: runs of different code are not
# comparable). A spec that failed in every run is reported but is not a
# flake.
#
# Needs Docker and the flavor's image (e.g. bash ci/images/synapse/build.sh),
# and python3 to read the reports. Environment variables of the suite
# (README.md, "Configuration") are passed through; FLAVOR, if given, sets
# ASCONFORM_HS_FLAVOR, which defaults to synapse.
set -euo pipefail

N=${1:-5}
if ! [[ $N =~ ^[1-9][0-9]*$ ]] || (($# > 2)); then
	echo "usage: $0 [N] [FLAVOR]   (N: number of runs, a positive integer; got '$N')" >&2
	exit 2
fi
if (($# == 2)); then
	export ASCONFORM_HS_FLAVOR=$2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() {
	echo "soak: $*" >&2
	exit 2
}

command -v go >/dev/null || die "go not found in PATH"
command -v python3 >/dev/null || die "python3 not found in PATH (needed to read results.json)"
export ASCONFORM_HS_FLAVOR=${ASCONFORM_HS_FLAVOR:-synapse}

FLAVOR=$ASCONFORM_HS_FLAVOR
if [[ $FLAVOR != fakehs && -z ${ASCONFORM_HS_URL:-} && -d ci/images/$FLAVOR ]]; then
	command -v docker >/dev/null || die "docker not found in PATH"
	docker info >/dev/null 2>&1 || die "the Docker Engine is not reachable (docker info failed)"
	if [[ -z ${ASCONFORM_HS_IMAGE:-} ]]; then
		# The suite would otherwise build the image inside the first run
		# (minutes), which also distorts that run's wall time: insist that it
		# exists, built from the current recipe.
		hash=$(bash -c 'set -euo pipefail; source ci/images/lib.sh; asc_recipe_hash "ci/images/$1"' _ "$FLAVOR" 2>/dev/null) ||
			die "could not hash the recipe ci/images/$FLAVOR"
		[[ -n $(docker images -q --filter "label=org.asconform.recipe=$hash" "localhost/asconform/$FLAVOR") ]] ||
			die "no $FLAVOR image built from the current recipe: run 'bash ci/images/$FLAVOR/build.sh' first"
	fi
fi
if [[ -n ${ASCONFORM_MUTANT:-} ]]; then
	echo "soak: warning: ASCONFORM_MUTANT=$ASCONFORM_MUTANT is set: the SUT is broken on purpose" >&2
fi

OUT=${SOAK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/asconform-soak.XXXXXX")}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUNS="$OUT/runs.tsv"
printf 'run\texit\twall_s\tdir\tsource_before\tsource_after\n' >"$RUNS"

# fingerprint identifies the source a run is built from: the commit, the
# uncommitted changes and the untracked files.
fingerprint() {
	{
		git rev-parse HEAD
		git diff HEAD --binary
		git ls-files -z --others --exclude-standard | xargs -0 -r sha256sum
	} 2>/dev/null | sha256sum | cut -c1-12
}

echo "soak: $N run(s) of the homeserver suite against $ASCONFORM_HS_FLAVOR; reports under $OUT" >&2
# Build the test binary once so that the first run's wall time is the suite's.
go test -count=1 -run '^$' ./suites/homeserver >/dev/null

for ((i = 1; i <= N; i++)); do
	dir="$OUT/run-$i"
	rm -rf "$dir"
	mkdir -p "$dir"
	before=$(fingerprint)
	start=$(date +%s.%N)
	set +e
	ASCONFORM_OUT="$dir" go test -count=1 -run '^TestHomeserver$' ./suites/homeserver >"$dir/go-test.log" 2>&1
	rc=$?
	set -e
	end=$(date +%s.%N)
	after=$(fingerprint)
	wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$end")
	printf '%d\t%d\t%s\t%s\t%s\t%s\n' "$i" "$rc" "$wall" "$dir" "$before" "$after" >>"$RUNS"
	echo "soak: run $i/$N: go test exit $rc in ${wall}s ($dir/go-test.log)" >&2
done

python3 - "$RUNS" <<'PY'
import json, os, re, sys

PASS = {"pass", "unexpected-pass", "informational"}
SKIP = {"skipped"}

runs, sources = [], []
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        i, rc, wall, d, before, after = line.rstrip("\n").split("\t")
        runs.append((int(i), int(rc), float(wall), d))
        sources.append((int(i), before, after))

broken = []
specs = {}   # (side, spec) -> list of (run, verdict, message)
per_run = []
for i, rc, wall, d in runs:
    path = os.path.join(d, "results.json")
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        broken.append(f"run {i}: no readable results.json ({e}); see {d}/go-test.log")
        per_run.append((i, rc, wall, None))
        continue
    counts = {}
    for res in rep.get("results") or []:
        v = res.get("verdict", "?")
        counts[v] = counts.get(v, 0) + 1
        key = (res.get("side", ""), res.get("spec", ""))
        specs.setdefault(key, []).append((i, v, res.get("message", "")))
    per_run.append((i, rc, wall, counts))

src = dict((i, (b, a)) for i, b, a in sources)
print(f"\nRuns ({len(runs)}):")
print(f"  {'run':>3}  {'exit':>4}  {'wall':>8}  {'source':<12}  verdicts")
for i, rc, wall, counts in per_run:
    verdicts = "no results.json" if counts is None else ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))
    b, a = src[i]
    print(f"  {i:>3}  {rc:>4}  {wall:>7.1f}s  {b if b == a else b + '>' + a:<12}  {verdicts}")
walls = [w for _, _, w, _ in per_run]
if walls:
    print(f"  total {sum(walls):.1f}s, mean {sum(walls) / len(walls):.1f}s, min {min(walls):.1f}s, max {max(walls):.1f}s")

rows, flaky = [], []
for (side, spec), seen in specs.items():
    p = sum(1 for _, v, _ in seen if v in PASS)
    f = sum(1 for _, v, _ in seen if v not in PASS and v not in SKIP)
    n = p + f
    rate = min(p, f) / n if n else 0.0
    verdicts = sorted({v for _, v, _ in seen if v not in SKIP} or {v for _, v, _ in seen})
    rows.append((side, spec, n, p, f, rate, verdicts, seen))
    if p and f:
        flaky.append(rows[-1])
rows.sort(key=lambda r: (-r[5], r[0], r[1]))

def short(s, n=96):
    return s if len(s) <= n else s[: n - 1] + "…"

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

def gist(msg, n=240):
    """The informative start of a failure message: Gomega's first line is
    often just "Unexpected error:"."""
    lines = [l.strip() for l in ANSI.sub("", msg or "").splitlines() if l.strip()]
    out = " / ".join(lines[:3])
    return short(out, n)

print(f"\nSpecs ({len(rows)}): runs, passes, failures, flake rate")
print(f"  {'runs':>4} {'pass':>4} {'fail':>4} {'flake':>6}  {'verdicts':<28} spec")
for side, spec, n, p, f, rate, verdicts, _ in rows:
    mark = "FLAKY " if p and f else "varies " if len(verdicts) > 1 else ""
    print(f"  {n:>4} {p:>4} {f:>4} {rate:>6.0%}  {'/'.join(verdicts):<28} {mark}[{side}] {short(spec)}")

if flaky:
    print(f"\nFlaky specs ({len(flaky)}):")
    for side, spec, n, p, f, rate, _, seen in flaky:
        print(f"  [{side}] {spec}")
        for run, v, msg in seen:
            print(f"    run {run}: {v}" + (f": {gist(msg)}" if msg else ""))
for b in broken:
    print("BROKEN " + b)
failed_runs = [str(i) for i, rc, _, c in per_run if rc != 0 and c is not None]
if failed_runs:
    print(f"note: go test failed in run(s) {', '.join(failed_runs)} (outcome not matching the expectations); see go-test.log")
changed = len({x for _, b, a in sources for x in (b, a)}) > 1
if changed:
    print("INVALID: the source changed during the soak (see the source column): runs built from different code "
          "are not comparable, so a difference between them is not necessarily a flake; rerun on a quiet tree")
print(f"\nsoak: {len(flaky)} flaky spec(s) in {len(runs)} run(s)")
sys.exit(2 if broken or changed else 1 if flaky else 0)
PY
