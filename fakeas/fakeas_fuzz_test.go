package fakeas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/rawhttp"
	"github.com/asconform/asconform/internal/recorder"
)

// The fake AS is what a homeserver under test talks to, and it must give
// the homeserver a well-formed, spec-conformant answer to anything it
// sends: complete HTTP with a JSON body and Content-Length, one of the
// statuses the Application Service API allows with the errcode that goes
// with it, never 5xx unless a spec scripted it, and never processing a
// request whose hs_token is missing or wrong. The requests are written raw
// to a real listener on 127.0.0.1, so that any bytes a homeserver could
// send reach the fake as net/http parses them.

// fzGuard only stops a hung fake from hanging the fuzzer: shorter than the
// tests' hangGuard, as it bounds each of many inputs.
const fzGuard = 5 * time.Second

// fzServer is a fresh fake AS per input: inputs must not see each other's
// transactions. handled counts the requests that reached the fake's
// handler, as opposed to those net/http refused before it.
type fzServer struct {
	s       *fakeas.Server
	addr    string
	handled atomic.Int64
}

func fzStart(t *testing.T) *fzServer {
	t.Helper()
	s := newFake(t, "fuzz", asToken, hsToken)
	fs := &fzServer{s: s, addr: fmt.Sprintf("127.0.0.1:%d", s.Port())}
	s.SetIngress(func(*http.Request) { fs.handled.Add(1) })
	return fs
}

// rawReply is an answer to a request sent byte for byte.
type rawReply struct {
	rawhttp.Reply
	seen int // exchanges the fake had recorded before the request
}

func rawDo(addr, method, target string, header [][2]string, body []byte) rawReply {
	return rawReply{Reply: rawhttp.Do(addr, method, target, header, body, fzGuard)}
}

// headerSafe keeps a fuzzed header value on its header line.
func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// authModes are the ways a fuzzed request presents a token.
const (
	authNone       = iota
	authBearer     // Authorization: Bearer <hs_token>
	authBearerRaw  // Authorization: Bearer <raw>
	authHeaderRaw  // Authorization: <raw>
	authQuery      // ?access_token=<hs_token>
	authBothRaw    // Authorization: Bearer <hs_token> and ?access_token=<raw>
	authQueryRaw   // ?access_token=<raw>
	authModesCount // keep last
)

func FuzzServe(f *testing.F) {
	const txn = "/_matrix/app/v1/transactions/"
	seeds := []struct {
		method, target string
		auth           uint8
		raw            string
		body           string
	}{
		{"PUT", txn + "1", authBearer, "", `{"events":[]}`},
		{"PUT", txn + "2", authBearer, "", `{"events":[{"event_id":"$e","type":"m.room.message","room_id":"!r:hs","sender":"@a:hs","origin_server_ts":1,"content":{"body":"hi"}}],"ephemeral":[{"type":"m.typing"}]}`},
		{"PUT", txn + "3", authBearer, "", `{"events":[{"origin_server_ts":"soon"}]}`},
		{"PUT", txn + "4", authBearer, "", `{"events":`},
		{"PUT", txn + "5", authBearer, "", `null`},
		{"PUT", txn + "6", authBearer, "", ``},
		{"PUT", txn + "7", authBearer, "", "\xff\xfe"},
		{"PUT", txn + "a%2Fb", authBearer, "", `{"events":[]}`},
		{"PUT", txn + "%F0%9F%98%80?x=1", authBearer, "", `{"events":[]}`},
		{"PUT", txn + "8/extra", authBearer, "", `{"events":[]}`},
		{"PUT", txn, authBearer, "", `{"events":[]}`},
		{"GET", txn + "9", authBearer, "", ``},
		{"POST", "/_matrix/app/v1/ping", authBearer, "", `{"transaction_id":"t"}`},
		{"POST", "/_matrix/app/v1/ping", authBearer, "", `not json`},
		{"GET", "/_matrix/app/v1/ping", authBearer, "", ``},
		{"GET", "/_matrix/app/v1/users/%40alice%3Ahs", authBearer, "", ``},
		{"GET", "/_matrix/app/v1/rooms/%23room%3Ahs", authQuery, "", ``},
		{"GET", "/_matrix/app/v1/thirdparty/protocol/irc", authBearer, "", ``},
		{"GET", "/_matrix/app/v1/thirdparty/user?userid=%40a%3Ahs", authBearer, "", ``},
		{"DELETE", "/_matrix/app/v1/users/@a:hs", authBearer, "", ``},
		{"GET", "/_matrix/app/v1/", authBearer, "", ``},
		{"GET", "/", authNone, "", ``},
		{"GET", "/transactions/1", authBearer, "", ``},
		{"GET", "/_matrix/app/unstable/fi.mau.msc2659/ping", authBearer, "", ``},
		{"OPTIONS", "*", authNone, "", ``},
		{"HEAD", "/_matrix/app/v1/users/@a:hs", authBearer, "", ``},
		{"PUT", "http://127.0.0.1/_matrix/app/v1/transactions/10", authBearer, "", `{"events":[]}`},
		{"PUT", txn + "11", authNone, "", `{"events":[]}`},
		{"PUT", txn + "12", authBearerRaw, "", `{"events":[]}`},
		{"PUT", txn + "13", authBearerRaw, "wrong", `{"events":[]}`},
		{"PUT", txn + "14", authBearerRaw, asToken, `{"events":[]}`},
		{"PUT", txn + "15", authHeaderRaw, "bearer " + hsToken, `{"events":[]}`},
		{"PUT", txn + "16", authHeaderRaw, "Basic " + hsToken, `{"events":[]}`},
		{"PUT", txn + "17", authHeaderRaw, "Bearer  " + hsToken, `{"events":[]}`},
		{"PUT", txn + "18", authBothRaw, hsToken, `{"events":[]}`},
		{"PUT", txn + "19", authBothRaw, "other", `{"events":[]}`},
		{"PUT", txn + "20", authQueryRaw, hsToken + "x", `{"events":[]}`},
		{"PUT", txn + "21?access_token=", authQueryRaw, "", `{"events":[]}`},
		{"PUT", txn + "22?access_token=%zz", authBearer, "", `{"events":[]}`},
		{"PUT", txn + "23", authBearer, "", `{"events":[]}` + "\r\nGET / HTTP/1.1"},
		{"PUT", txn + "24 HTTP/1.0\r\nConnection: close\r\nX:", authBearer, "", `{"events":[]}`},
		{"GET", "/_matrix/app/v1/users/%00", authBearer, "", ``},
		{"BREW", txn + "25", authBearer, "", `{"events":[]}`},
		{"G\x00T", "/", authBearer, "", ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.auth, s.raw, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target string, auth uint8, raw string, body []byte) {
		fs := fzStart(t)
		mode := int(auth) % authModesCount
		header, target := presentToken(mode, headerSafe(raw), target)

		first, ok := fzSend(t, fs, method, target, header, body)
		if !ok {
			return // refused by net/http before the fake saw it
		}
		checkAnswer(t, fs, method, target, header, body, first)
		// The fake is deterministic and transactions are idempotent: the
		// same request again gets the same answer.
		again, ok := fzSend(t, fs, method, target, header, body)
		if !ok {
			t.Fatalf("the repeated request did not reach the fake, the first got %d", first.Resp.StatusCode)
		}
		if again.Resp.StatusCode != first.Resp.StatusCode || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("same request, different answers: %d %s, then %d %s", first.Resp.StatusCode, first.Body, again.Resp.StatusCode, again.Body)
		}
		acked := fs.s.AckedTransactions()
		for i, id := range acked {
			if slices.Contains(acked[:i], id) {
				t.Fatalf("transaction %q acknowledged twice in AckedTransactions %q", id, acked)
			}
		}
	})
}

func presentToken(mode int, raw, target string) ([][2]string, string) {
	addQuery := func(v string) string {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		return target + sep + "access_token=" + url.QueryEscape(v)
	}
	switch mode {
	case authBearer:
		return [][2]string{{"Authorization", "Bearer " + hsToken}}, target
	case authBearerRaw:
		return [][2]string{{"Authorization", "Bearer " + raw}}, target
	case authHeaderRaw:
		return [][2]string{{"Authorization", raw}}, target
	case authQuery:
		return nil, addQuery(hsToken)
	case authBothRaw:
		return [][2]string{{"Authorization", "Bearer " + hsToken}}, addQuery(raw)
	case authQueryRaw:
		return nil, addQuery(raw)
	}
	return nil, target
}

// fzSend sends one request and reports whether the fake's handler got it.
func fzSend(t *testing.T, fs *fzServer, method, target string, header [][2]string, body []byte) (rawReply, bool) {
	t.Helper()
	before, seen := fs.handled.Load(), fs.s.Recorder().Len()
	r := rawDo(fs.addr, method, target, header, body)
	r.seen = seen
	reached := fs.handled.Load() > before
	switch {
	case !reached:
		return r, false
	case r.Err != nil:
		t.Fatalf("%s %q reached the fake, which gave no complete answer: %v", method, target, r.Err)
	}
	return r, true
}

// checkAnswer holds one answer of the unscripted fake to the specification.
func checkAnswer(t *testing.T, fs *fzServer, method, target string, header [][2]string, body []byte, r rawReply) {
	t.Helper()
	status := r.Resp.StatusCode
	desc := fmt.Sprintf("%s %q (Authorization %q) answered %d %s", method, target, header, status, r.Body)

	// Complete, well-formed HTTP with a JSON object body.
	if ct := r.Resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", desc, ct)
	}
	if cl := r.Resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(r.Body)) && method != http.MethodHead {
		t.Errorf("%s: Content-Length %q for a %d-byte body", desc, cl, len(r.Body))
	}
	var obj map[string]any
	if method != http.MethodHead {
		if err := json.Unmarshal(r.Body, &obj); err != nil || obj == nil {
			t.Fatalf("%s: body is not a JSON object", desc)
		}
	}
	errcode, _ := obj["errcode"].(string)
	allowed := map[int][]string{
		http.StatusOK:               {""},
		http.StatusBadRequest:       {"M_NOT_JSON", "M_BAD_JSON"},
		http.StatusUnauthorized:     {"M_UNAUTHORIZED"},
		http.StatusForbidden:        {"M_FORBIDDEN"},
		http.StatusNotFound:         {"M_UNRECOGNIZED", "M_NOT_FOUND"},
		http.StatusMethodNotAllowed: {"M_UNRECOGNIZED"},
	}
	codes, ok := allowed[status]
	switch {
	case !ok:
		t.Fatalf("%s: status not one the Application Service API allows an unscripted AS", desc)
	case method != http.MethodHead && !slices.Contains(codes, errcode):
		t.Fatalf("%s: errcode %q, want one of %q", desc, errcode, codes)
	}

	checkSpec(t, fs, desc, method, target, header, body, status, errcode)

	// Recorded as answered.
	ctx, cancel := context.WithTimeout(context.Background(), fzGuard)
	defer cancel()
	// (A request may smuggle another one, recorded too.)
	all, err := fs.s.Recorder().WaitFor(ctx, func(all []recorder.Exchange) bool {
		return slices.ContainsFunc(all[min(r.seen, len(all)):], func(x recorder.Exchange) bool {
			// The answer to HEAD is recorded with the body net/http dropped.
			return x.Status == status && x.Outcome == "answered" && (method == http.MethodHead || bytes.Equal(x.RespBody, r.Body))
		})
	})
	if err != nil {
		t.Fatalf("%s: not recorded as answered; recorded since: %+v", desc, all[min(r.seen, len(all)):])
	}
}

// checkSpec holds an answer to what the specification asks, from the
// request as net/http parsed it.
func checkSpec(t *testing.T, fs *fzServer, desc, method, target string, header [][2]string, body []byte, status int, errcode string) {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return // net/http read it differently (e.g. "*"); the checks above stand
	}
	authz := authorization(header, u)
	rt, param, methodOK := specRoute(method, u)
	if method == http.MethodHead {
		// The API defines no HEAD: 404, 405 or answering as GET are all
		// fine, and there is no body to hold an errcode.
		if status == http.StatusOK && !authz.ok {
			t.Fatalf("%s: %s, want no 200", desc, authz.why)
		}
		return
	}
	switch {
	case rt == "":
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed && (authz.ok || (status != 401 && status != 403)) {
			t.Fatalf("%s: not an endpoint of the API, want 404 or 405 M_UNRECOGNIZED", desc)
		}
		if (status == 404 || status == 405) && errcode != "M_UNRECOGNIZED" {
			t.Fatalf("%s: unknown endpoint, want errcode M_UNRECOGNIZED", desc)
		}
	case !methodOK:
		if status != http.StatusMethodNotAllowed && (authz.ok || (status != 401 && status != 403)) {
			t.Fatalf("%s: wrong method for %s, want 405 M_UNRECOGNIZED", desc, rt)
		}
	case !authz.ok:
		if status != authz.status {
			t.Fatalf("%s: %s, want %d", desc, authz.why, authz.status)
		}
	default:
		switch rt {
		case fakeas.Transactions:
			want := []int{200, 400}
			if !json.Valid(body) {
				want = []int{400}
			} else if wellFormedTransaction(body) {
				want = []int{200}
			}
			if !slices.Contains(want, status) {
				t.Fatalf("%s: authenticated transaction, want %v", desc, want)
			}
			if status == 200 && !slices.Contains(fs.s.AckedTransactions(), param) {
				t.Fatalf("%s: acknowledged, but %q is not in AckedTransactions %q", desc, param, fs.s.AckedTransactions())
			}
		case fakeas.Ping:
			if status != 200 {
				t.Fatalf("%s: authenticated ping, want 200", desc)
			}
		default:
			if status != 200 && status != 404 {
				t.Fatalf("%s: authenticated query, want 200 or 404", desc)
			}
		}
	}
}

type authResult struct {
	ok     bool
	status int
	why    string
}

// authorization is the spec's verdict on the token: the Authorization
// Bearer header, or the deprecated access_token parameter (which, if both
// are given, must agree with the header).
func authorization(header [][2]string, u *url.URL) authResult {
	var hdr string
	var hasHdr bool
	for _, h := range header {
		if h[0] == "Authorization" {
			// HTTP field values do not include surrounding whitespace.
			hdr, hasHdr = strings.CutPrefix(strings.Trim(h[1], " \t"), "Bearer ")
			break
		}
	}
	legacy := u.Query().Get("access_token")
	token := legacy
	if hasHdr {
		if legacy != "" && legacy != hdr {
			return authResult{status: 403, why: "header and access_token disagree"}
		}
		token = hdr
	}
	switch token {
	case "":
		return authResult{status: 401, why: "no token"}
	case hsToken:
		return authResult{ok: true}
	}
	return authResult{status: 403, why: "wrong token"}
}

// specRoute names the endpoint of the Application Service API a request
// is for, from its path segments as sent (a %2F inside a segment is part of
// the parameter), and whether the method is the endpoint's.
func specRoute(method string, u *url.URL) (fakeas.Route, string, bool) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), "/_matrix/app/v1/")
	if !ok {
		return "", "", false
	}
	segs := strings.Split(rest, "/")
	param := func(s string) (string, bool) {
		p, err := url.PathUnescape(s)
		return p, err == nil && p != ""
	}
	switch {
	case segs[0] == "transactions" && len(segs) == 2:
		if p, ok := param(segs[1]); ok {
			return fakeas.Transactions, p, method == http.MethodPut
		}
	// A user ID or alias may hold a "/" that a homeserver did not escape:
	// the rest of the path is the parameter.
	case segs[0] == "users" && len(segs) >= 2:
		if p, ok := param(strings.Join(segs[1:], "/")); ok {
			return fakeas.Users, p, method == http.MethodGet
		}
	case segs[0] == "rooms" && len(segs) >= 2:
		if p, ok := param(strings.Join(segs[1:], "/")); ok {
			return fakeas.Rooms, p, method == http.MethodGet
		}
	case segs[0] == "ping" && (len(segs) == 1 || len(segs) == 2 && segs[1] == ""): // a trailing "/" is tolerable
		return fakeas.Ping, "", method == http.MethodPost
	case segs[0] == "thirdparty" && len(segs) >= 2 && strings.Join(segs[1:], "") != "":
		return fakeas.ThirdParty, "", method == http.MethodGet
	}
	return "", "", false
}

// wellFormedTransaction reports a body with an events array of client
// events whose fields have their types, which an AS must accept.
func wellFormedTransaction(body []byte) bool {
	var raw struct {
		Events    []json.RawMessage `json:"events"`
		Ephemeral []json.RawMessage `json:"ephemeral"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Events == nil {
		return false
	}
	var txn matrix.Transaction
	return json.Unmarshal(body, &txn) == nil
}

// FuzzScriptedRespond checks that a scripted answer is given exactly as
// scripted (status, and body as JSON, {} for none) for the scripted number
// of calls, and that the compliant default comes back after.
func FuzzScriptedRespond(f *testing.F) {
	f.Add(500, `{"errcode":"M_UNKNOWN"}`, uint8(1), false)
	f.Add(200, ``, uint8(2), true)
	f.Add(404, `"just a string"`, uint8(1), false)
	f.Add(429, `{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":10}`, uint8(3), false)
	f.Add(503, `[1,2,3]`, uint8(0), true)
	f.Add(204, `null`, uint8(1), false)
	f.Add(302, "<html>\xff", uint8(1), true)
	f.Fuzz(func(t *testing.T, status int, body string, times uint8, ping bool) {
		if status < 200 || status > 599 {
			return // net/http refuses other codes; scripts use real statuses
		}
		n := int(times%3) + 1
		fs := fzStart(t)
		var scripted any
		if json.Unmarshal([]byte(body), &scripted) != nil {
			scripted = body // not JSON: scripted as a Go string
		}
		rt, method, target, payload := fakeas.Transactions, "PUT", "/_matrix/app/v1/transactions/t", []byte(`{"events":[]}`)
		if ping {
			rt, method, target, payload = fakeas.Ping, "POST", "/_matrix/app/v1/ping", []byte(`{}`)
		}
		fs.s.On(rt).Respond(status, scripted).Times(n)
		want, err := json.Marshal(scripted)
		if err != nil || scripted == nil {
			want = []byte("{}")
		}
		header := [][2]string{{"Authorization", "Bearer " + hsToken}}
		for i := range n + 1 {
			r, ok := fzSend(t, fs, method, target, header, payload)
			if !ok {
				t.Fatal("a well-formed request did not reach the fake")
			}
			wantStatus, wantBody := status, want
			if i == n {
				wantStatus, wantBody = 200, []byte("{}")
			} else if status == http.StatusNoContent || status == http.StatusNotModified {
				wantBody = nil // HTTP does not allow these a body
			}
			if r.Resp.StatusCode != wantStatus || !bytes.Equal(r.Body, wantBody) {
				t.Fatalf("call %d of %d scripted: got %d %s, want %d %s", i+1, n, r.Resp.StatusCode, r.Body, wantStatus, wantBody)
			}
			if cl := r.Resp.Header.Get("Content-Length"); wantBody != nil && cl != strconv.Itoa(len(r.Body)) {
				t.Fatalf("call %d: Content-Length %q for a %d-byte body", i+1, cl, len(r.Body))
			}
		}
	})
}
