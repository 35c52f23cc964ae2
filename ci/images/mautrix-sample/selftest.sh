#!/bin/bash
# Runs once at image build time (Dockerfile RUN, --network none): byte-compiles
# the Python modules the AS imports (a missing .pyc would be compiled again on
# every container start, because the image layer is never updated), then
# starts sample_as.py on loopback with a throwaway registration, checks that
# the framework answers, and reports how long the start took.
set -euo pipefail

log() { printf '[selftest %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

app=/usr/local/lib/asconform/sample_as.py
work=/tmp/asconform-selftest
port=29333

log "$(python3 -V 2>&1); mautrix $(python3 -c 'import mautrix; print(mautrix.__version__, mautrix.__file__)')"
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
python3 -m compileall -q -j0 /usr/lib/python3/dist-packages "$stdlib" "$(dirname "$app")" \
	>/tmp/compileall.log 2>&1 ||
	log "compileall reported errors (non-fatal): $(head -c 300 /tmp/compileall.log)"
rm -f /tmp/compileall.log

rm -rf "$work"
mkdir -p "$work"
cat >"$work/registration.yaml" <<-'REG'
	id: selftest
	url: http://127.0.0.1:29333
	as_token: selftest_as_token
	hs_token: selftest_hs_token
	sender_localpart: samplebot
	namespaces:
	  users: [{exclusive: true, regex: '@sample_.*:selftest.invalid'}]
	  aliases: [{exclusive: true, regex: '#sample_.*:selftest.invalid'}]
	  rooms: []
	rate_limited: false
REG

# The homeserver URL points at a closed loopback port: nothing here needs it.
ASCONFORM_HS_URL=http://127.0.0.1:9 ASCONFORM_HS_DOMAIN=selftest.invalid \
	ASCONFORM_REGISTRATION=$work/registration.yaml \
	python3 "$app" >"$work/as.log" 2>&1 &
pid=$!
rc=0
python3 - "$port" "$pid" <<-'PY' || rc=$?
	import json, os, sys, time, urllib.error, urllib.request
	port, pid = int(sys.argv[1]), int(sys.argv[2])
	base = "http://127.0.0.1:%d" % port
	def req(method, path, body=None, token=None):
	    r = urllib.request.Request(base + path, method=method,
	        data=None if body is None else json.dumps(body).encode(),
	        headers={"Content-Type": "application/json",
	                 **({"Authorization": "Bearer " + token} if token else {})})
	    try:
	        with urllib.request.urlopen(r, timeout=5) as resp:
	            return resp.status, resp.read()
	    except urllib.error.HTTPError as e:
	        return e.code, e.read()
	t0 = time.monotonic()
	while True:
	    try:
	        os.kill(pid, 0)
	    except ProcessLookupError:
	        sys.exit("sample_as.py exited before answering")
	    try:
	        if req("GET", "/_matrix/mau/ready")[0] == 200:
	            break
	    except OSError:
	        pass
	    if time.monotonic() - t0 > 60:
	        sys.exit("no 200 from /_matrix/mau/ready within 60 s")
	    time.sleep(0.05)
	print("ready after %.2f s" % (time.monotonic() - t0), file=sys.stderr)
	checks = [
	    (("GET", "/_matrix/mau/live"), 200),
	    (("PUT", "/_matrix/app/v1/transactions/1", {"events": []}, "selftest_hs_token"), 200),
	    (("PUT", "/_matrix/app/v1/transactions/2", {"events": []}, "wrong"), 401),
	    (("POST", "/_matrix/app/v1/ping", {}, "selftest_hs_token"), 200),
	    (("GET", "/_matrix/app/v1/users/%40nobody%3Aselftest.invalid", None, "selftest_hs_token"), 404),
	]
	for args, want in checks:
	    got, body = req(*args)
	    print("%s %s -> %d %s" % (args[0], args[1], got, body.decode()[:100]), file=sys.stderr)
	    if got != want:
	        sys.exit("expected %d" % want)
PY
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if ((rc != 0)); then
	log "FAILED; sample_as.py output:"
	cat "$work/as.log" >&2
	exit 1
fi
log "sample_as.py output:"
sed 's/^/    /' "$work/as.log" >&2
rm -rf "$work" /root/.cache
log "done"
