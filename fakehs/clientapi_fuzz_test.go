package fakehs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/rawhttp"
	"github.com/asconform/asconform/internal/recorder"
)

// fakehs serves the client-server calls of an application service under
// test, so anything that AS sends must get a well-formed answer: complete
// HTTP, JSON with a Content-Length, 200 or a 4xx with a Matrix errcode,
// never 5xx (the fake AS it may query is up and compliant here), never a
// success without a valid token on an endpoint that needs one, and a model
// that stays consistent (event content is a JSON object). Requests are
// written raw to the fake's listener on 127.0.0.1, two per input so that
// one call can change what the next one sees.

const (
	fzServerName = "hs.test"
	fzBridgeAS   = "as-fz-bridge"
	fzBridgeHS   = "hs-fz-bridge"
	fzNoURLAS    = "as-fz-nourl"
	// fzGuard only stops a hung fake from hanging the fuzzer.
	fzGuard = 5 * time.Second
)

// A compliant fake AS shared by every input: the homeserver queries it
// about users and aliases in its namespaces and pings it.
var fzAS struct {
	once sync.Once
	url  string
	err  error
}

func fzSharedAS() (string, error) {
	fzAS.once.Do(func() {
		s, err := fakeas.New("127.0.0.1:0", matrix.Registration{ID: "bridge", ASToken: fzBridgeAS, HSToken: fzBridgeHS, SenderLocalpart: "_bridge_bot"})
		if err != nil {
			fzAS.err = err
			return
		}
		fzAS.url = fmt.Sprintf("http://127.0.0.1:%d", s.Port())
	})
	return fzAS.url, fzAS.err
}

// world is a fresh fake homeserver with a few users, rooms and an event,
// and the placeholders fuzzed requests use to name them.
type world struct {
	hs     *fakehs.Server
	addr   string
	tokens map[string]string // by role
	names  map[string]string // placeholder -> value
}

func newWorld(t *testing.T) *world {
	t.Helper()
	asURL, err := fzSharedAS()
	if err != nil {
		t.Fatalf("fake AS: %v", err)
	}
	server := strings.ReplaceAll(fzServerName, ".", `\.`)
	bridge := matrix.Registration{
		ID: "bridge", URL: &asURL, ASToken: fzBridgeAS, HSToken: fzBridgeHS, SenderLocalpart: "_bridge_bot",
		Namespaces: matrix.Namespaces{
			Users:   []matrix.Namespace{{Exclusive: true, Regex: "@_bridge_.*:" + server}},
			Aliases: []matrix.Namespace{{Exclusive: true, Regex: "#_bridge_.*:" + server}},
		},
	}
	nourl := matrix.Registration{
		ID: "nourl", ASToken: fzNoURLAS, HSToken: "hs-fz-nourl", SenderLocalpart: "nourl_bot",
		Namespaces: matrix.Namespaces{Users: []matrix.Namespace{{Exclusive: true, Regex: "@nourl_.*:" + server}}},
	}
	transport := &http.Transport{DialContext: rawhttp.DialNoLinger(fzGuard)}
	hs, err := fakehs.New("127.0.0.1:0", fakehs.Config{
		ServerName:     fzServerName,
		Registrations:  []matrix.Registration{bridge, nourl},
		HTTPClient:     &http.Client{Timeout: fzGuard, Transport: transport},
		QueryAttempts:  1,
		ManualDelivery: true,
	})
	if err != nil {
		t.Fatalf("fakehs.New: %v", err)
	}
	t.Cleanup(func() { _ = hs.Close() })
	// The fake's calls to the AS and the set-up calls share the transport;
	// closed before the fake (cleanups run last in, first out).
	t.Cleanup(transport.CloseIdleConnections)
	client := func(token string) *csapi.Client {
		return &csapi.Client{BaseURL: hs.URL(), Token: token, HTTP: &http.Client{Timeout: fzGuard, Transport: transport}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), fzGuard)
	defer cancel()
	must := func(resp csapi.Response, err error) csapi.Response {
		t.Helper()
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("setting up the world: %v %v", resp, err)
		}
		return resp
	}
	as := client(fzBridgeAS)
	alice := must(client("").Register(ctx, "alice", "pw"))
	ghost := must(as.RegisterAS(ctx, "_bridge_ghost", false))
	room := must(as.CreateRoom(ctx, map[string]any{"preset": "public_chat", "room_alias_name": "_bridge_lobby", "name": "Lobby"})).Field("room_id")
	private := must(client(alice.Field("access_token")).CreateRoom(ctx, map[string]any{"name": "Private", "invite": []string{"@_bridge_ghost:" + fzServerName}})).Field("room_id")
	event := must(as.SendMessage(ctx, room, "hello")).Field("event_id")
	return &world{
		hs:   hs,
		addr: strings.TrimPrefix(hs.URL(), "http://"),
		tokens: map[string]string{
			"as": fzBridgeAS, "alice": alice.Field("access_token"), "ghost": ghost.Field("access_token"), "nourl": fzNoURLAS,
		},
		names: map[string]string{
			"$ROOM": room, "$PRIV": private, "$ALIAS": "#_bridge_lobby:" + fzServerName, "$EVENT": event,
			"$ALICE": "@alice:" + fzServerName, "$GHOST": "@_bridge_ghost:" + fzServerName,
			"$BOT": "@_bridge_bot:" + fzServerName, "$AS": "bridge",
		},
	}
}

// expand fills in placeholders: escaped as a path segment in a target,
// as they are in a body.
func (w *world) expand(s string, escape bool) string {
	var pairs []string
	for k, v := range w.names {
		if escape {
			v = url.PathEscape(v)
		}
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Token modes of a fuzzed request.
const (
	tokNone = iota
	tokAS
	tokAlice
	tokGhost
	tokUnknown
	tokASQuery
	tokNoURLAS
	tokRaw
	tokModes // keep last
)

// credentials returns the header lines and target for a token mode, and
// whether the request carries a token the server issued.
func (w *world) credentials(mode int, raw, target string) ([][2]string, string, bool) {
	bearer := func(tok string) [][2]string { return [][2]string{{"Authorization", "Bearer " + tok}} }
	switch mode {
	case tokAS:
		return bearer(w.tokens["as"]), target, true
	case tokAlice:
		return bearer(w.tokens["alice"]), target, true
	case tokGhost:
		return bearer(w.tokens["ghost"]), target, true
	case tokUnknown:
		return bearer("not-a-token"), target, false
	case tokASQuery:
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		return nil, target + sep + "access_token=" + w.tokens["as"], true
	case tokNoURLAS:
		return bearer(w.tokens["nourl"]), target, true
	case tokRaw:
		raw = strings.NewReplacer("\r", " ", "\n", " ").Replace(raw)
		for _, tok := range w.tokens {
			if strings.Contains(raw, tok) {
				return [][2]string{{"Authorization", raw}}, target, true
			}
		}
		return [][2]string{{"Authorization", raw}}, target, false
	}
	return nil, target, false
}

// rawReply is an answer to a request sent byte for byte.
type rawReply struct {
	rawhttp.Reply
}

func rawDo(addr, method, target string, header [][2]string, body []byte) rawReply {
	return rawReply{Reply: rawhttp.Do(addr, method, target, header, body, fzGuard)}
}

// refusedByNetHTTP recognises the plain-text answers net/http gives to
// requests it cannot parse, before any handler runs.
func refusedByNetHTTP(r rawReply) bool {
	switch r.Resp.StatusCode {
	case 400, 417, 431, 501, 505:
		return r.Resp.Close && r.Resp.Header.Get("Content-Type") != "application/json"
	}
	return false
}

// capturePanics collects what net/http logs (a handler panic is logged and
// the connection dropped) for the duration of the test.
func capturePanics(t *testing.T) *syncBuffer {
	buf := &syncBuffer{}
	prev, flags := log.Writer(), log.Flags()
	log.SetOutput(buf)
	t.Cleanup(func() { log.SetOutput(prev); log.SetFlags(flags) })
	return buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	errcodeRe = regexp.MustCompile(`^M_[A-Z0-9_]+$`)
	// Endpoints that answer without a token (or only read with one).
	publicEndpoint = regexp.MustCompile(`^/_matrix/client/(?:versions|(?:v3|r0)/(?:register|login|profile/[^/]+(?:/[^/]+)?|directory/room/[^/]+))$`)
)

func FuzzClientAPI(f *testing.F) {
	const v3 = "/_matrix/client/v3"
	type req struct {
		method, target string
		tok            uint8
		body           string
	}
	seeds := [][2]req{
		{{"GET", "/_matrix/client/versions", tokNone, ""}, {"GET", v3 + "/account/whoami", tokAS, ""}},
		{{"GET", v3 + "/account/whoami?user_id=$GHOST", tokAS, ""}, {"GET", v3 + "/account/whoami?user_id=$ALICE", tokAS, ""}},
		{{"GET", v3 + "/account/whoami?user_id=$GHOST&device_id=NOPE", tokAS, ""}, {"GET", v3 + "/account/whoami", tokUnknown, ""}},
		{{"POST", v3 + "/register", tokNone, `{"username":"bob","password":"p","auth":{"type":"m.login.dummy"}}`}, {"POST", v3 + "/register", tokNone, `{"username":"bob"}`}},
		{{"POST", v3 + "/register", tokAS, `{"type":"m.login.application_service","username":"_bridge_x","inhibit_login":true}`}, {"POST", v3 + "/register", tokAS, `{"type":"m.login.application_service","username":"outside"}`}},
		{{"POST", v3 + "/register", tokNoURLAS, `{"type":"m.login.application_service","username":"_bridge_y"}`}, {"POST", v3 + "/register?kind=guest", tokNone, `{}`}},
		{{"POST", v3 + "/register", tokNone, `{"username":"_bridge_squat","auth":{"type":"m.login.dummy"}}`}, {"POST", v3 + "/register", tokNone, `{"username":"UPPER case"}`}},
		{{"POST", v3 + "/register", tokNone, `[]`}, {"POST", v3 + "/register", tokNone, `{"username":5}`}},
		{{"POST", v3 + "/register", tokNone, `{`}, {"POST", v3 + "/register", tokNone, "\xff"}},
		{{"GET", v3 + "/login", tokNone, ""}, {"POST", v3 + "/login", tokAS, `{"type":"m.login.application_service","identifier":{"type":"m.id.user","user":"_bridge_ghost"}}`}},
		{{"POST", v3 + "/login", tokNone, `{"type":"m.login.password","user":"alice","password":"pw"}`}, {"POST", v3 + "/login", tokAlice, `{"type":"m.login.application_service","user":"$GHOST"}`}},
		{{"POST", v3 + "/login", tokNone, `{"type":"m.login.token"}`}, {"POST", v3 + "/login", tokAS, `{"type":"m.login.application_service","user":"@x:elsewhere"}`}},
		{{"GET", v3 + "/profile/$ALICE", tokNone, ""}, {"GET", v3 + "/profile/$GHOST/displayname", tokNone, ""}},
		{{"PUT", v3 + "/profile/$GHOST/displayname?user_id=$GHOST", tokAS, `{"displayname":"Ghost"}`}, {"GET", v3 + "/profile/$GHOST/displayname", tokNone, ""}},
		{{"PUT", v3 + "/profile/$ALICE/avatar_url", tokAlice, `{"avatar_url":5}`}, {"PUT", v3 + "/profile/$ALICE/other", tokAlice, `{}`}},
		{{"POST", v3 + "/createRoom", tokAS, `{"room_alias_name":"_bridge_two","invite":["$ALICE"],"is_direct":true,"preset":"trusted_private_chat"}`}, {"GET", v3 + "/directory/room/%23_bridge_two:hs.test", tokNone, ""}},
		{{"POST", v3 + "/createRoom", tokAlice, `{"room_alias_name":"_bridge_taken"}`}, {"POST", v3 + "/createRoom", tokAlice, `{"room_alias_name":"a:b"}`}},
		{{"POST", v3 + "/createRoom", tokAlice, `{"invite":["@_bridge_unknown:hs.test"]}`}, {"POST", v3 + "/createRoom", tokAlice, `{"invite":["@nourl_unknown:hs.test","@x:elsewhere"]}`}},
		{{"POST", v3 + "/createRoom", tokAlice, `{"initial_state":[{"type":"m.room.topic","content":{"topic":"t"}}],"creation_content":{"m.federate":false},"power_level_content_override":{"users_default":"x"}}`}, {"POST", v3 + "/createRoom", tokAlice, `{"initial_state":[{"type":"m.room.topic","content":"not an object"}]}`}},
		{{"POST", v3 + "/createRoom", tokAlice, `{"initial_state":[{"type":"m.room.member","state_key":"$ALICE","content":{"membership":"leave"}}]}`}, {"POST", v3 + "/createRoom", tokAlice, `{"invite":"$ALICE"}`}},
		{{"POST", v3 + "/join/$ROOM", tokAlice, `{}`}, {"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t1", tokAlice, `{"msgtype":"m.text","body":"hi"}`}},
		{{"POST", v3 + "/join/$ALIAS", tokAS, `{}`}, {"POST", v3 + "/join/%23_bridge_unknown:hs.test", tokAlice, `{}`}},
		{{"POST", v3 + "/rooms/$PRIV/join?user_id=$GHOST", tokAS, `{}`}, {"POST", v3 + "/rooms/$PRIV/join", tokGhost, ``}},
		{{"POST", v3 + "/rooms/$ROOM/invite", tokAS, `{"user_id":"$ALICE","reason":"r"}`}, {"POST", v3 + "/rooms/$ROOM/invite", tokAS, `{"user_id":"@_bridge_nobody:hs.test"}`}},
		{{"POST", v3 + "/rooms/$ROOM/invite", tokAS, `{"user_id":"nobody"}`}, {"POST", v3 + "/rooms/$ROOM/leave", tokAS, ``}},
		{{"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t1?ts=1000", tokAS, `{"body":"b"}`}, {"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t1?ts=1000", tokAS, `{"body":"b"}`}},
		{{"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t2?ts=-5", tokAS, `{}`}, {"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t3?ts=9007199254740992", tokAS, `{}`}},
		{{"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t4", tokAS, `[1]`}, {"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t5", tokAS, ` {"a":1} `}},
		{{"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t6?user_id=$GHOST", tokAS, `{}`}, {"PUT", v3 + "/rooms/$ROOM/send/m.room.message/t6?user_id=$ALICE", tokAS, `{}`}},
		{{"PUT", v3 + "/rooms/$ROOM/state/m.room.topic", tokAS, `{"topic":"x"}`}, {"GET", v3 + "/rooms/$ROOM/state/m.room.topic/", tokAlice, ""}},
		{{"PUT", v3 + "/rooms/$ROOM/state/m.room.topic/.", tokAS, `{"topic":"dot"}`}, {"GET", v3 + "/rooms/$ROOM/state/m.room.topic/.", tokAS, ""}},
		{{"PUT", v3 + "/rooms/$ROOM/state/m.room.member/$ALICE", tokAS, `{"membership":"join"}`}, {"GET", v3 + "/rooms/$ROOM/joined_members", tokAlice, ""}},
		{{"PUT", v3 + "/rooms/$ROOM/state/m.room.power_levels/", tokAS, `{"users":{"$BOT":"x"}}`}, {"PUT", v3 + "/rooms/$ROOM/state/m.room.name/", tokAS, `{"name":"n"}`}},
		{{"PUT", v3 + "/rooms/$ROOM/state/a%2Fb/c/d", tokAS, `{}`}, {"GET", v3 + "/rooms/$ROOM/state", tokAS, ""}},
		{{"GET", v3 + "/rooms/$ROOM/event/$EVENT", tokAlice, ""}, {"GET", v3 + "/rooms/$PRIV/event/$EVENT", tokAlice, ""}},
		{{"GET", v3 + "/rooms/$PRIV/state", tokAS, ""}, {"GET", v3 + "/rooms/!nope:hs.test/joined_members", tokAS, ""}},
		{{"PUT", v3 + "/directory/room/%23_bridge_new:hs.test", tokAS, `{"room_id":"$ROOM"}`}, {"DELETE", v3 + "/directory/room/%23_bridge_new:hs.test", tokAlice, ""}},
		{{"PUT", v3 + "/directory/room/%23mine:hs.test", tokAlice, `{"room_id":"$PRIV"}`}, {"DELETE", v3 + "/directory/room/%23mine:hs.test", tokAlice, ""}},
		{{"PUT", v3 + "/directory/room/%23x:elsewhere", tokAlice, `{"room_id":"$PRIV"}`}, {"PUT", v3 + "/directory/room/notalias", tokAlice, `{}`}},
		{{"GET", v3 + "/directory/room/$ALIAS", tokNone, ""}, {"GET", v3 + "/directory/room/%23_bridge_unknown:hs.test", tokNone, ""}},
		{{"PUT", v3 + "/directory/list/appservice/irc/$ROOM", tokAS, `{"visibility":"public"}`}, {"PUT", v3 + "/directory/list/appservice/irc/$ROOM", tokAlice, `{"visibility":"public"}`}},
		{{"PUT", v3 + "/directory/list/appservice/irc/$ROOM", tokAS, `{"visibility":"secret"}`}, {"PUT", v3 + "/directory/list/appservice/irc/!nope:hs.test", tokAS, `{"visibility":"private"}`}},
		{{"POST", "/_matrix/client/v1/appservice/$AS/ping", tokAS, `{"transaction_id":"p1"}`}, {"POST", "/_matrix/client/v1/appservice/nourl/ping", tokNoURLAS, `{}`}},
		{{"POST", "/_matrix/client/v1/appservice/$AS/ping", tokAlice, `{}`}, {"POST", "/_matrix/client/v1/appservice/other/ping", tokAS, `{}`}},
		{{"POST", "/_matrix/client/v1/appservice/$AS/ping", tokASQuery, `{"transaction_id":5}`}, {"POST", "/_matrix/client/v1/appservice/$AS/ping", tokRaw, `{}`}},
		{{"GET", v3 + "/sync", tokAS, ""}, {"DELETE", v3 + "/createRoom", tokAS, ""}},
		{{"GET", "/_matrix/client/r0/account/whoami", tokASQuery, ""}, {"GET", "/", tokNone, ""}},
		{{"GET", v3 + "//account/whoami", tokAS, ""}, {"GET", v3 + "/account/../account/whoami", tokAS, ""}},
		{{"HEAD", v3 + "/account/whoami", tokAS, ""}, {"OPTIONS", v3 + "/createRoom", tokNone, ""}},
		{{"CONNECT", "hs.test:443", tokNone, ""}, {"GET", "*", tokNone, ""}},
		{{"POST", v3 + "/createRoom?access_token=", tokAlice, `{}`}, {"POST", v3 + "/createRoom", tokASQuery, `{"name":"q"}`}},
	}
	for _, s := range seeds {
		f.Add(s[0].method, s[0].target, s[0].tok, []byte(s[0].body), s[1].method, s[1].target, s[1].tok, []byte(s[1].body), "Bearer "+fzBridgeAS)
	}
	f.Fuzz(func(t *testing.T, m1, t1 string, a1 uint8, b1 []byte, m2, t2 string, a2 uint8, b2 []byte, raw string) {
		logged := capturePanics(t)
		w := newWorld(t)
		for _, r := range []struct {
			method, target string
			tok            uint8
			body           []byte
		}{{m1, t1, a1, b1}, {m2, t2, a2, b2}} {
			w.check(t, r.method, w.expand(r.target, true), int(r.tok)%tokModes, raw, []byte(w.expand(string(r.body), false)))
		}
		w.checkModel(t)
		if strings.Contains(logged.String(), "panic") {
			t.Fatalf("the fake panicked:\n%s", logged)
		}
	})
}

// check sends one request and holds the answer to the fake's promises.
func (w *world) check(t *testing.T, method, target string, mode int, raw string, body []byte) {
	t.Helper()
	header, target, authed := w.credentials(mode, raw, target)
	seen := w.hs.Recorder().Len()
	r := rawDo(w.addr, method, target, header, body)
	desc := fmt.Sprintf("%s %q (Authorization %q, body %.200q)", method, target, header, body)
	if r.Err != nil {
		t.Fatalf("%s: no complete answer: %v (net/http answers what it cannot parse, so the handler panicked or hung)", desc, r.Err)
	}
	if refusedByNetHTTP(r) {
		return
	}
	status := r.Resp.StatusCode
	desc += fmt.Sprintf(" answered %d %q %.300s", status, r.Resp.Header.Get("Content-Type"), r.Body)
	if status != http.StatusOK && (status < 400 || status > 499) {
		t.Fatalf("%s: want 200 or a 4xx", desc)
	}
	if ct := r.Resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: want Content-Type application/json", desc)
	}
	if method != http.MethodHead {
		if cl := r.Resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(r.Body)) {
			t.Fatalf("%s: Content-Length %q for a %d-byte body", desc, cl, len(r.Body))
		}
		if !json.Valid(r.Body) {
			t.Fatalf("%s: body is not JSON", desc)
		}
	}
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(r.Body, &obj)
	if status >= 400 && method != http.MethodHead {
		var code string
		_ = json.Unmarshal(obj["errcode"], &code)
		uia := status == http.StatusUnauthorized && obj["flows"] != nil
		if !uia && !errcodeRe.MatchString(code) {
			t.Fatalf("%s: a 4xx without a Matrix errcode", desc)
		}
	}
	if status == http.StatusOK && !authed {
		if u, err := url.ParseRequestURI(target); err == nil && !publicEndpoint.MatchString(u.Path) {
			t.Fatalf("%s: success without a token the server issued, on %s", desc, u.Path)
		}
	}
	if status == http.StatusOK {
		var id string
		if json.Unmarshal(obj["event_id"], &id) == nil && id != "" {
			if _, ok := w.hs.Event(id); !ok {
				t.Fatalf("%s: event_id %s is not an event of the fake", desc, id)
			}
		}
	}
	// Recorded as answered, with what was answered.
	ctx, cancel := context.WithTimeout(context.Background(), fzGuard)
	defer cancel()
	if _, err := w.hs.Recorder().WaitFor(ctx, func(all []recorder.Exchange) bool {
		return slices.ContainsFunc(all[min(seen, len(all)):], func(x recorder.Exchange) bool {
			// The answer to HEAD is recorded with the body net/http dropped.
			return x.To == "homeserver" && x.Status == status && (method == http.MethodHead || bytes.Equal(x.RespBody, r.Body))
		})
	}); err != nil {
		t.Fatalf("%s: not recorded", desc)
	}
}

// checkModel holds the fake's model to the client-server API's rules.
func (w *world) checkModel(t *testing.T) {
	t.Helper()
	ids := map[string]bool{}
	for _, ev := range w.hs.Events() {
		if ids[ev.EventID] {
			t.Fatalf("event ID %s used twice", ev.EventID)
		}
		ids[ev.EventID] = true
		var content map[string]json.RawMessage
		if err := json.Unmarshal(ev.Content, &content); err != nil || content == nil {
			t.Fatalf("event %s (%s) has content %s: event content must be a JSON object", ev.EventID, ev.Type, ev.Content)
		}
		if ev.Type == "m.room.member" && ev.StateKey == nil {
			t.Fatalf("membership event %s without a state_key", ev.EventID)
		}
	}
}
