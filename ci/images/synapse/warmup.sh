#!/bin/bash
# Runs once at image build time (Dockerfile RUN): does Synapse's first-start
# work so that a container answers /_matrix/client/versions within seconds.
#   1. byte-compile every Python module (a missing .pyc is compiled on each
#      container start, because the image layer is never updated);
#   2. start Synapse twice on a throwaway config (fresh SQLite database each
#      time) and wait for /versions to answer 200, timing both starts;
#   3. delete the throwaway config, keys, database and logs.
set -euo pipefail

log() { printf '[warmup %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

work=/tmp/asconform-warmup
port=8008
timeout=120

log "python: $(command -v python3) -> $(readlink -f "$(command -v python3)"), $(python3 -V 2>&1)"
log "synapse $(python3 -c 'import synapse; print(synapse.__version__, synapse.__file__)')"

# 1. Bytecode. compileall skips modules whose .pyc is already up to date.
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
before=$(find /usr/lib/python3 "$stdlib" -name '*.pyc' | wc -l)
start=$(date +%s.%N)
python3 -m compileall -q -j0 /usr/lib/python3/dist-packages "$stdlib" >/tmp/compileall.log 2>&1 ||
	log "compileall reported errors (non-fatal): $(grep -c . /tmp/compileall.log) lines, e.g. $(head -c 300 /tmp/compileall.log)"
after=$(find /usr/lib/python3 "$stdlib" -name '*.pyc' | wc -l)
log "compileall: $before -> $after .pyc files in $(python3 -c "print(round($(date +%s.%N)-$start,1))") s"
rm -f /tmp/compileall.log

# 2. Throwaway homeserver on loopback only.
rm -rf "$work"
mkdir -p "$work"
SYNAPSE_DATA_DIR=$work SYNAPSE_SERVER_NAME=warmup.invalid SYNAPSE_BIND_ADDRESS=127.0.0.1 \
	SYNAPSE_HTTP_PORT=$port /usr/local/bin/asconform-synapse-entrypoint --generate-only

touch /tmp/asconform-warmup.stamp
sleep 1

start_once() {
	local n=$1 pid rc=0
	rm -f "$work/homeserver.db"*
	python3 -m synapse.app.homeserver --config-path "$work/homeserver.yaml" \
		>"$work/synapse-$n.log" 2>&1 &
	pid=$!
	python3 - "$port" "$timeout" "$pid" <<-'EOF' || rc=$?
		import os, sys, time, urllib.request
		port, timeout, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
		url = "http://127.0.0.1:%d/_matrix/client/versions" % port
		t0 = time.monotonic()
		while time.monotonic() - t0 < timeout:
		    try:
		        os.kill(pid, 0)
		    except ProcessLookupError:
		        print("synapse exited before answering", file=sys.stderr)
		        sys.exit(2)
		    try:
		        with urllib.request.urlopen(url, timeout=2) as r:
		            if r.status == 200:
		                print("%.2f" % (time.monotonic() - t0))
		                sys.exit(0)
		    except Exception:
		        pass
		    time.sleep(0.1)
		print("no 200 from %s within %ds" % (url, timeout), file=sys.stderr)
		sys.exit(1)
	EOF
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if ((rc != 0)); then
		log "start $n FAILED; synapse output:"
		tail -n 60 "$work/synapse-$n.log" >&2
		exit 1
	fi
}

for n in 1 2; do
	secs=$(start_once "$n")
	log "start $n: /versions answered 200 after ${secs} s"
done

# What did the first starts leave behind outside the throwaway directory?
log "files written by the warm-up starts outside $work:"
find / -xdev -newer /tmp/asconform-warmup.stamp -type f \
	! -path "$work/*" ! -path '/proc/*' ! -path '/sys/*' ! -path '/dev/*' 2>/dev/null |
	head -n 20 | sed 's/^/    /' >&2

# 3. Clean up (keep bytecode).
rm -rf "$work" /tmp/asconform-warmup.stamp /homeserver.log /data/* /root/.cache
find / -xdev -name 'homeserver.log*' ! -path '/proc/*' -print -delete 2>/dev/null || true
log "done"
