#!/usr/bin/env bash
# End-to-end check of the mautrix-sample image against the asconform Synapse
# image, plus raw probes of the framework's AS API behaviour.
#
#   bash ci/images/mautrix-sample/e2e.sh
#
# Builds (or finds) both images, creates a private docker network, runs
# Synapse and the sample AS, each configured by its flavor (asconform
# container: harness/synapse.go, harness/mautrix.go), then drives them with curl from the host through
# ports published on 127.0.0.1. Checks print PASS/FAIL; probes print the raw
# status and body the AS returned. Exits non-zero if a check failed. Every
# container and network it made is removed on exit, failure or interrupt.
# Needs: docker, curl, jq, go. Knobs: SYNAPSE_IMAGE, AS_IMAGE (skip the builds),
# E2E_KEEP_LOGS=DIR (copy both container logs there).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for t in docker curl jq go; do
	command -v "$t" >/dev/null || { echo "e2e: $t is required" >&2; exit 2; }
done

log() { printf '[e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

SYN_REF=${SYNAPSE_IMAGE:-$(bash "$HERE/../synapse/build.sh" | tail -n1)}
AS_REF=${AS_IMAGE:-$(bash "$HERE/build.sh" | tail -n1)}
log "synapse image $SYN_REF, AS image $AS_REF"

id=asc-mxs-e2e-$$
net=$id hs=$id-hs as=$id-as
tmp=$(mktemp -d /tmp/asc-mxs-e2e.XXXXXX)
cleanup() {
	local rc=$?
	if [[ -n ${E2E_KEEP_LOGS:-} ]]; then
		mkdir -p "$E2E_KEEP_LOGS"
		docker logs "$hs" >"$E2E_KEEP_LOGS/synapse.log" 2>&1 || true
		docker logs "$as" >"$E2E_KEEP_LOGS/as.log" 2>&1 || true
	fi
	docker rm -f "$hs" "$as" >/dev/null 2>&1 || true
	docker network rm "$net" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DOMAIN=asconform.test

# ------------------------------------------------------------- configs ---
# Each flavor's own configuration (harness/synapse.go, harness/mautrix.go),
# written by `asconform container`; its JSON says how to start it.
ROOT=$(cd "$HERE/../../.." && pwd)
(cd "$ROOT" && go build -o "$tmp/asconform" ./cmd/asconform)
AS_SPEC=$("$tmp/asconform" container --flavor mautrix-sample --server-name "$DOMAIN" \
	--as-url "http://$as:29333" --hs-url "http://$hs:8008" "$tmp/as")
HS_SPEC=$("$tmp/asconform" container --flavor synapse --server-name "$DOMAIN" \
	--registrations "$tmp/as/conf/registration.yaml" "$tmp/hs")
AS_ID=$(jq -r '.registrations[0].id' <<<"$AS_SPEC")
AS_TOKEN=$(jq -r '.registrations[0].as_token' <<<"$AS_SPEC")
HS_TOKEN=$(jq -r '.registrations[0].hs_token' <<<"$AS_SPEC")
BOT=@$(jq -r '.registrations[0].sender_localpart' <<<"$AS_SPEC"):$DOMAIN
ECHO=@sample_echo:$DOMAIN
chmod -R a+rX "$tmp"

# create NAME IMAGE SPEC: a container as SPEC says, its port published on
# 127.0.0.1 (its files are copied in afterwards).
create() {
	local name=$1 image=$2 spec=$3 flags=() args=()
	mapfile -t flags < <(jq -r '(.entrypoint[0] // empty | "--entrypoint", .),
		(.env | to_entries[] | "-e", "\(.key)=\(.value)")' <<<"$spec")
	mapfile -t args < <(jq -r '.entrypoint[1:][], .cmd[]' <<<"$spec")
	docker create --pull never --name "$name" --network "$net" -p "127.0.0.1::$(jq -r .port <<<"$spec")" \
		"${flags[@]}" "$image" "${args[@]}" >/dev/null
}
# port NAME SPEC: where the host reaches the container's port.
port() { docker port "$1" "$(jq -r .port <<<"$2")/tcp" | head -n1; }

# ---------------------------------------------------------- containers ---
docker network create "$net" >/dev/null
create "$hs" "$SYN_REF" "$HS_SPEC"
docker cp "$tmp/hs/conf/." "$hs:/conf/"
create "$as" "$AS_REF" "$AS_SPEC"
docker cp "$tmp/as/conf/." "$as:/conf/"

docker start "$hs" >/dev/null
HS=http://$(port "$hs" "$HS_SPEC")

# Time from `docker start` to the first HTTP answer of the AS.
t0=$(date +%s%N)
docker start "$as" >/dev/null
AS=http://$(port "$as" "$AS_SPEC")
for ((i = 0; ; i++)); do
	if curl -fsS -o /dev/null --max-time 1 "$AS/_matrix/mau/ready" 2>/dev/null; then break; fi
	((i < 1500)) || { docker logs "$as" >&2; log "AS did not answer within 30 s"; exit 1; }
	sleep 0.02
done
AS_START_MS=$((($(date +%s%N) - t0) / 1000000))
log "AS answered /_matrix/mau/ready ${AS_START_MS} ms after docker start"

for ((i = 0; ; i++)); do
	if curl -fsS -o /dev/null --max-time 2 "$HS/_matrix/client/versions" 2>/dev/null; then break; fi
	((i < 600)) || { docker logs "$hs" 2>&1 | tail -n 40 >&2; log "Synapse did not start"; exit 1; }
	sleep 0.2
done
log "Synapse is up at $HS"

# ------------------------------------------------------------- helpers ---
# req METHOD URL [BODY] [TOKEN]: sets ST (status), CT (content type), BODY.
req() {
	local m=$1 url=$2 data=${3-} tok=${4-}
	local args=(-sS -X "$m" -o "$tmp/body" -w '%{http_code} %{content_type}' --max-time 60)
	[[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	case $tok in
	'') ;;
	raw:*) args+=(-H "Authorization: ${tok#raw:}") ;;
	*) args+=(-H "Authorization: Bearer $tok") ;;
	esac
	ST=$(curl "${args[@]}" "$url" 2>"$tmp/curlerr") || ST=000
	CT=${ST#* } ST=${ST%% *}
	BODY=$(cat "$tmp/body" 2>/dev/null || true)
	[[ $ST != 000 ]] || BODY="curl: $(cat "$tmp/curlerr")"
}
FAILS=0
check() { # check NAME CONDITION-STATUS DETAIL
	if [[ $2 == 0 ]]; then
		printf 'PASS  %s  (%s)\n' "$1" "$3"
	else
		printf 'FAIL  %s  (%s)\n' "$1" "$3"
		FAILS=$((FAILS + 1))
	fi
}
probe() { # probe LABEL METHOD PATH [BODY] [TOKEN]
	req "$2" "$AS$3" "${4-}" "${5-}"
	printf 'PROBE %-34s %-6s %s -> %s [%s] %s\n' "$1" "$2" "$3" "$ST" "${CT:-no content type}" "$BODY"
}
enc() { jq -rn --arg s "$1" '$s|@uri'; }
# wait_echo ROOM BODY: print origin_server_ts of the echo of BODY (or nothing).
wait_echo() {
	local room=$1 body=$2 i ts
	for ((i = 0; i < 100; i++)); do
		req GET "$HS/_matrix/client/v3/rooms/$(enc "$room")/messages?dir=b&limit=100" "" "$ALICE"
		ts=$(jq -r --arg s "$ECHO" --arg b "echo: $body" \
			'[.chunk[] | select(.sender == $s and .content.body == $b)] | .[0].origin_server_ts // empty' <<<"$BODY")
		[[ -z $ts ]] || { echo "$ts"; return 0; }
		sleep 0.2
	done
}
count_echoes() { # count_echoes ROOM BODY
	req GET "$HS/_matrix/client/v3/rooms/$(enc "$1")/messages?dir=b&limit=100" "" "$ALICE"
	jq -r --arg s "$ECHO" --arg b "echo: $2" '[.chunk[] | select(.sender == $s and .content.body == $b)] | length' <<<"$BODY"
}
as_log_has() { # (docker's log copier may lag behind a little)
	local i
	for ((i = 0; i < 25; i++)); do
		docker logs "$as" 2>&1 | grep -F -- "$1" >/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------- checks ---
req POST "$HS/_matrix/client/v3/register" \
	'{"username":"alice","password":"alice-e2e-pw","auth":{"type":"m.login.dummy"}}'
ALICE=$(jq -r '.access_token // empty' <<<"$BODY")
check "register normal user @alice" "$([[ $ST == 200 && -n $ALICE ]]; echo $?)" "$ST"
[[ -n $ALICE ]] || { echo "$BODY"; exit 1; }

# 1. Invite a not-yet-existing ghost -> user query -> registered -> invite ok.
req POST "$HS/_matrix/client/v3/createRoom" '{"preset":"private_chat","name":"e2e invite"}' "$ALICE"
ROOM1=$(jq -r .room_id <<<"$BODY")
req POST "$HS/_matrix/client/v3/rooms/$(enc "$ROOM1")/invite" \
	"{\"user_id\":\"@sample_bob:$DOMAIN\"}" "$ALICE"
check "invite @sample_bob (user query -> AS registers it)" \
	"$([[ $ST == 200 ]] && as_log_has "user query @sample_bob:$DOMAIN: registered -> 200"; echo $?)" "invite: $ST $BODY"
joined=1
for ((i = 0; i < 100; i++)); do
	req GET "$HS/_matrix/client/v3/rooms/$(enc "$ROOM1")/joined_members" "" "$ALICE"
	if jq -e --arg u "@sample_bob:$DOMAIN" '.joined | has($u)' <<<"$BODY" >/dev/null; then joined=0; break; fi
	sleep 0.2
done
check "ghost accepts the invite (joins)" "$joined" "$(jq -c '.joined | keys' <<<"$BODY")"
req GET "$HS/_matrix/client/v3/profile/$(enc "@sample_bob:$DOMAIN")/displayname" "" "$ALICE"
check "ghost displayname set" "$([[ $(jq -r .displayname <<<"$BODY") == "bob (sample)" ]]; echo $?)" "$BODY"

# 2. Join an alias in the namespace -> alias query -> room + alias created.
ALIAS="#sample_room:$DOMAIN"
req POST "$HS/_matrix/client/v3/join/$(enc "$ALIAS")" '{}' "$ALICE"
ROOM2=$(jq -r '.room_id // empty' <<<"$BODY")
check "join $ALIAS (alias query -> room created)" "$([[ $ST == 200 && -n $ROOM2 ]]; echo $?)" "$ST $BODY"
req GET "$HS/_matrix/client/v3/directory/room/$(enc "$ALIAS")" "" "$ALICE"
check "alias published to that room" "$([[ $(jq -r .room_id <<<"$BODY") == "$ROOM2" ]]; echo $?)" "$BODY"
req GET "$HS/_matrix/client/v3/rooms/$(enc "$ROOM2")/state/m.room.name" "" "$ALICE"
check "room name set" "$([[ $(jq -r .name <<<"$BODY") == "room (sample)" ]]; echo $?)" "$BODY"
req GET "$HS/_matrix/client/v3/rooms/$(enc "$ROOM2")/joined_members" "" "$ALICE"
check "room created by the bot" "$(jq -e --arg u "$BOT" '.joined | has($u)' <<<"$BODY" >/dev/null; echo $?)" \
	"$(jq -c '.joined | keys' <<<"$BODY")"

# 3. Messages -> echo from @sample_echo with ts = original + 1.
for i in 1 2; do
	if ((i == 1)); then room=$ROOM1 text="hello ghost room"; else room=$ROOM2 text="hello bot room"; fi
	req PUT "$HS/_matrix/client/v3/rooms/$(enc "$room")/send/m.room.message/e2e$i" \
		"$(jq -cn --arg b "$text" '{msgtype:"m.text", body:$b}')" "$ALICE"
	ev=$(jq -r .event_id <<<"$BODY")
	req GET "$HS/_matrix/client/v3/rooms/$(enc "$room")/event/$(enc "$ev")" "" "$ALICE"
	ots=$(jq -r .origin_server_ts <<<"$BODY")
	ets=$(wait_echo "$room" "$text")
	check "echo of '$text' from $ECHO, ts = original + 1" \
		"$([[ -n $ets && $ets == $((ots + 1)) ]]; echo $?)" "original $ots, echo ${ets:-none}"
done
# Synapse's access log shows the AS's send with identity assertion + ts.
docker logs "$hs" >"$tmp/hs.log" 2>&1
send_line=$(grep -F '/send/m.room.message/' "$tmp/hs.log" | grep -E "[?&]user_id=(@|%40)sample_echo" |
	grep -E "[?&]ts=[0-9]+" | head -n1 || true)
check "echo sent with ?user_id= and ?ts= (Synapse access log)" "$([[ -n $send_line ]]; echo $?)" \
	"$(sed -E 's/.*(PUT [^ ]*).*/\1/' <<<"$send_line")"

# 4. Ping through the homeserver.
req POST "$HS/_matrix/client/v1/appservice/$AS_ID/ping" '{"transaction_id":"e2e-ping-1"}' "$AS_TOKEN"
check "POST /_matrix/client/v1/appservice/$AS_ID/ping" \
	"$([[ $ST == 200 ]] && jq -e '.duration_ms | type == "number"' <<<"$BODY" >/dev/null; echo $?)" "$ST $BODY"
check "AS saw the ping's transaction_id" \
	"$(as_log_has 'Received ping from homeserver with transaction ID e2e-ping-1'; echo $?)" "AS log"

# ---------------------------------------------------------------- probes ---
echo "--- raw AS responses (direct to the AS, not through Synapse) ---"
U="/_matrix/app/v1/users/@sample_probe:$DOMAIN"
R="/_matrix/app/v1/rooms/%23sample_probe:$DOMAIN"
T=/_matrix/app/v1/transactions
probe "health live (no token)" GET /_matrix/mau/live
probe "health ready (no token)" GET /_matrix/mau/ready
probe "missing token: user query" GET "$U"
probe "missing token: alias query" GET "$R"
probe "missing token: transaction" PUT "$T/probe-1" '{"events":[]}'
probe "missing token: ping" POST /_matrix/app/v1/ping '{}'
probe "wrong token: user query" GET "$U" "" wrong_token
probe "wrong token: alias query" GET "$R" "" wrong_token
probe "wrong token: transaction" PUT "$T/probe-2" '{"events":[]}' wrong_token
probe "wrong token: ping" POST /_matrix/app/v1/ping '{}' wrong_token
probe "empty bearer" PUT "$T/probe-3" '{"events":[]}' " "
probe "token without Bearer scheme" PUT "$T/probe-3a" '{"events":[]}' "raw:$HS_TOKEN"
probe "lower-case 'bearer' scheme" PUT "$T/probe-3b" '{"events":[]}' "raw:bearer $HS_TOKEN"
probe "legacy ?access_token=hs_token" GET "/_matrix/app/v1/users/@sample_legacy:$DOMAIN?access_token=$HS_TOKEN"
probe "legacy ?access_token=wrong" GET "$U?access_token=wrong_token"
probe "header ok + ?access_token=wrong" PUT "$T/probe-4?access_token=wrong_token" '{"events":[]}' "$HS_TOKEN"
probe "header wrong + ?access_token=ok" PUT "$T/probe-5?access_token=$HS_TOKEN" '{"events":[]}' wrong_token
probe "unknown route" GET /_matrix/app/v1/nonexistent "" "$HS_TOKEN"
probe "unknown route (thirdparty)" GET /_matrix/app/v1/thirdparty/protocol/sample "" "$HS_TOKEN"
probe "unknown route, no token" GET /_matrix/app/v1/nonexistent
probe "wrong method: GET transaction" GET "$T/probe-6" "" "$HS_TOKEN"
probe "wrong method: POST user query" POST "$U" '{}' "$HS_TOKEN"
probe "wrong method: GET ping" GET /_matrix/app/v1/ping "" "$HS_TOKEN"
probe "transaction: body not JSON" PUT "$T/probe-7" 'not json' "$HS_TOKEN"
probe "transaction: no events key" PUT "$T/probe-8" '{}' "$HS_TOKEN"
probe "ping: body not JSON" POST /_matrix/app/v1/ping 'nope' "$HS_TOKEN"
probe "user outside namespace (local)" GET "/_matrix/app/v1/users/@alice:$DOMAIN" "" "$HS_TOKEN"
probe "user outside namespace (remote)" GET "/_matrix/app/v1/users/@sample_x:other.example" "" "$HS_TOKEN"
probe "user = the AS bot" GET "/_matrix/app/v1/users/$BOT" "" "$HS_TOKEN"
probe "alias outside namespace" GET "/_matrix/app/v1/rooms/%23other:$DOMAIN" "" "$HS_TOKEN"
probe "legacy unprefixed user query" GET "/users/@sample_legacy2:$DOMAIN" "" "$HS_TOKEN"
probe "legacy unprefixed transaction" PUT /transactions/probe-9 '{"events":[]}' "$HS_TOKEN"
probe "user query in namespace" GET "$U" "" "$HS_TOKEN"

# Replayed transaction: a message event addressed to a real room; the echo
# must happen once although the transaction is delivered three times (the
# third time with different content under the same txnId).
RTS=$(($(date +%s) * 1000 - 5000))
mkevt() { jq -cn --arg r "$ROOM1" --arg s "@alice:$DOMAIN" --arg b "$1" --argjson ts "$RTS" --arg id "$2" \
	'{events:[{type:"m.room.message", room_id:$r, sender:$s, event_id:$id, origin_server_ts:$ts,
	  content:{msgtype:"m.text", body:$b}, unsigned:{}}]}'; }
probe "replay: first delivery" PUT "$T/e2e-replay" "$(mkevt 'replay probe' "\$e2e-replay-1")" "$HS_TOKEN"
probe "replay: same txnId again" PUT "$T/e2e-replay" "$(mkevt 'replay probe' "\$e2e-replay-1")" "$HS_TOKEN"
probe "replay: same txnId, other body" PUT "$T/e2e-replay" "$(mkevt 'replay probe changed' "\$e2e-replay-2")" "$HS_TOKEN"
ets=$(wait_echo "$ROOM1" "replay probe")
sleep 2
n1=$(count_echoes "$ROOM1" "replay probe")
n2=$(count_echoes "$ROOM1" "replay probe changed")
check "replayed txnId handled once (framework de-duplication)" \
	"$([[ $n1 == 1 && $n2 == 0 ]]; echo $?)" "echoes: 'replay probe' $n1, 'replay probe changed' $n2"
check "echo of an injected event keeps ts = original + 1" \
	"$([[ ${ets:-x} == $((RTS + 1)) ]]; echo $?)" "original $RTS, echo ${ets:-none}"

echo "--- AS log excerpt (sample + framework lines) ---"
docker logs "$as" 2>&1 | grep -E ' (sample|mau\.as): ' | tail -n 25
echo "AS start to first HTTP answer: ${AS_START_MS} ms"
if ((FAILS)); then
	echo "$FAILS check(s) FAILED"
	exit 1
fi
echo "all checks passed"
