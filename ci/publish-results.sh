#!/usr/bin/env bash
# Regenerates results/: runs asconform against every flavor (asconform list
# flavors: each side's implementations, then its reference), then writes the
# conformance matrix over those runs. A new flavor is published with no edit
# here.
#
#   ci/publish-results.sh            run all, then write results/
#   ci/publish-results.sh synapse    rerun only the named ones (the others'
#                                    last runs under .publish/ are reused)
set -euo pipefail
cd "$(dirname "$0")/.."

work=.publish # raw runs, not committed
mkdir -p "$work"
go build -ldflags "-X main.version=$(git describe --always --dirty)" -o "$work/asconform" ./cmd/asconform

# name | arguments of asconform run (the image's tag is the version shown),
# one per flavor in the order of asconform list flavors (the matrix's
# columns). The mautrix-sample flavor is published as mautrix-python.
RUNS=()
while IFS=$'\t' read -r flavor about; do
  name=$flavor
  [[ $flavor == mautrix-sample ]] && name=mautrix-python
  case $about in
  "homeserver side"*) RUNS+=("$name|--side homeserver --flavor $flavor") ;;
  "appservice side"*) RUNS+=("$name|--side appservice --as-flavor $flavor") ;;
  esac
done < <("$work/asconform" list flavors)

args=()
for entry in "${RUNS[@]}"; do
  name=${entry%%|*}
  run=${entry#*|}
  if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then
    echo "== $name: asconform run $run"
    # A run whose outcome differs from its baseline still publishes: the
    # matrix shows what happened.
    # shellcheck disable=SC2086
    procs=()
    # --procs shares one homeserver: the homeserver side only.
    [[ $run == *"--side homeserver"* ]] && procs=(--procs "${PROCS:-1}")
    "$work/asconform" run $run "${procs[@]}" --out "$work/$name" || echo "   (outcome differs from the expectations; published as is)"
  fi
  if [ -e "$work/$name/results.json" ]; then
    args+=("$name=$work/$name")
  else
    echo "   $name: no results.json, left out" >&2
  fi
done

rm -rf results
"$work/asconform" matrix --json=false --out results "${args[@]}"

# The README's screenshots: the matrix, and the IRC walkthrough's diagram.
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1000 \
    --screenshot="$PWD/docs/matrix.png" "file://$PWD/results/index.html" 2>/dev/null
  ASCONFORM_SCREENSHOTS="$PWD/docs" go test -count=1 -run TestPagesInBrowser ./reports >/dev/null
fi
echo "results/ regenerated $(date -u +%Y-%m-%dT%H:%MZ) by $("$work/asconform" version)"
