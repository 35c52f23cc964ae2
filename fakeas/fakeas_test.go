package fakeas_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

const (
	hsToken = "hs-secret-token"
	asToken = "as-secret-token"
	// hangGuard only stops a broken fake from hanging the test run.
	hangGuard = 30 * time.Second
)

type fixture struct {
	t      *testing.T
	s      *fakeas.Server
	base   string
	client *http.Client
	ctx    context.Context
}

// newFake starts a fake AS on loopback, closed when the test ends.
func newFake(t *testing.T, id, asTok, hsTok string) *fakeas.Server {
	t.Helper()
	reg := matrix.Registration{ID: id, ASToken: asTok, HSToken: hsTok, SenderLocalpart: "bot"}
	s, err := fakeas.New("127.0.0.1:0", reg)
	if err != nil {
		t.Fatalf("fakeas.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func start(t *testing.T) *fixture {
	t.Helper()
	s := newFake(t, "test", asToken, hsToken)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	// A fresh connection per request: a dropped connection must not be
	// confused with a stale keep-alive one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(client.CloseIdleConnections)
	return &fixture{t: t, s: s, base: fmt.Sprintf("http://127.0.0.1:%d", s.Port()), client: client, ctx: ctx}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) errcode() string {
	var e matrix.Error
	_ = json.Unmarshal(r.body, &e)
	return e.ErrCode
}

func (r reply) String() string {
	if r.err != nil {
		return "transport error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.status, r.body)
}

// call sends one request; auth is the whole Authorization header ("" for none).
func (f *fixture) call(ctx context.Context, method, path, auth, body string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data, err: err}
}

func (f *fixture) put(txnID string) reply {
	return f.call(f.ctx, http.MethodPut, "/_matrix/app/v1/transactions/"+txnID, "Bearer "+hsToken, `{"events":[]}`)
}

// async sends a request in the background.
func (f *fixture) async(method, path, body string) <-chan reply {
	ch := make(chan reply, 1)
	go func() { ch <- f.call(f.ctx, method, path, "Bearer "+hsToken, body) }()
	return ch
}

// await receives from ch, a value or its close, failing the test when the
// hang guard fires first.
func await[T any](f *fixture, ch <-chan T, what string) T {
	f.t.Helper()
	select {
	case v := <-ch:
		return v
	case <-f.ctx.Done():
		f.t.Fatalf("hang guard: %s", what)
		var zero T
		return zero
	}
}

func pending(ch <-chan reply) (reply, bool) {
	select {
	case r := <-ch:
		return r, true
	default:
		return reply{}, false
	}
}

func expect(t *testing.T, r reply, status int, errcode string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("want %d %s, got %v", status, errcode, r)
	}
	if r.status != status || r.errcode() != errcode {
		t.Fatalf("want %d with errcode %q, got %v", status, errcode, r)
	}
}

func TestCompliantDefaults(t *testing.T) {
	const txn = "/_matrix/app/v1/transactions/"
	tests := []struct {
		name    string
		method  string
		path    string
		auth    string
		body    string
		status  int
		errcode string
	}{
		{"transaction", "PUT", txn + "t1", "Bearer " + hsToken, `{"events":[]}`, 200, ""},
		{"transaction with events", "PUT", txn + "t2", "Bearer " + hsToken, `{"events":[{"type":"m.room.message"}]}`, 200, ""},
		{"ping", "POST", "/_matrix/app/v1/ping", "Bearer " + hsToken, `{"transaction_id":"p"}`, 200, ""},
		{"user query", "GET", "/_matrix/app/v1/users/%40alice%3Ahs", "Bearer " + hsToken, "", 404, "M_NOT_FOUND"},
		{"room alias query", "GET", "/_matrix/app/v1/rooms/%23room%3Ahs", "Bearer " + hsToken, "", 404, "M_NOT_FOUND"},
		{"third-party lookup", "GET", "/_matrix/app/v1/thirdparty/protocol/irc", "Bearer " + hsToken, "", 404, "M_NOT_FOUND"},
		{"unknown path under the AS prefix", "GET", "/_matrix/app/v1/nonsense", "Bearer " + hsToken, "", 404, "M_UNRECOGNIZED"},
		{"unknown path", "GET", "/somewhere/else", "Bearer " + hsToken, "", 404, "M_UNRECOGNIZED"},
		{"legacy unprefixed transaction path", "PUT", "/transactions/t1", "Bearer " + hsToken, `{"events":[]}`, 404, "M_UNRECOGNIZED"},
		{"transaction path with an extra segment", "PUT", txn + "t1/x", "Bearer " + hsToken, `{"events":[]}`, 404, "M_UNRECOGNIZED"},
		{"transaction without txnId", "PUT", txn, "Bearer " + hsToken, `{"events":[]}`, 404, "M_UNRECOGNIZED"},
		{"GET on transactions", "GET", txn + "t1", "Bearer " + hsToken, "", 405, "M_UNRECOGNIZED"},
		{"POST on transactions", "POST", txn + "t1", "Bearer " + hsToken, `{"events":[]}`, 405, "M_UNRECOGNIZED"},
		{"PUT on users", "PUT", "/_matrix/app/v1/users/%40alice%3Ahs", "Bearer " + hsToken, `{}`, 405, "M_UNRECOGNIZED"},
		{"GET on ping", "GET", "/_matrix/app/v1/ping", "Bearer " + hsToken, "", 405, "M_UNRECOGNIZED"},
		{"no token", "PUT", txn + "t3", "", `{"events":[]}`, 401, "M_UNAUTHORIZED"},
		{"empty bearer", "PUT", txn + "t3", "Bearer ", `{"events":[]}`, 401, "M_UNAUTHORIZED"},
		{"other scheme", "PUT", txn + "t3", "Basic " + hsToken, `{"events":[]}`, 401, "M_UNAUTHORIZED"},
		{"wrong token", "PUT", txn + "t3", "Bearer wrong", `{"events":[]}`, 403, "M_FORBIDDEN"},
		{"as_token instead of hs_token", "PUT", txn + "t3", "Bearer " + asToken, `{"events":[]}`, 403, "M_FORBIDDEN"},
		{"no token on a query", "GET", "/_matrix/app/v1/users/%40alice%3Ahs", "", "", 401, "M_UNAUTHORIZED"},
		{"wrong token on ping", "POST", "/_matrix/app/v1/ping", "Bearer wrong", `{}`, 403, "M_FORBIDDEN"},
		{"legacy access_token query parameter", "PUT", txn + "t4?access_token=" + hsToken, "", `{"events":[]}`, 200, ""},
		{"wrong legacy access_token", "PUT", txn + "t4?access_token=wrong", "", `{"events":[]}`, 403, "M_FORBIDDEN"},
		{"header wins over query parameter", "PUT", txn + "t5?access_token=" + hsToken, "Bearer wrong", `{"events":[]}`, 403, "M_FORBIDDEN"},
		{"transaction that is not JSON", "PUT", txn + "t6", "Bearer " + hsToken, `events`, 400, "M_NOT_JSON"},
	}
	f := start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(f.ctx, tt.method, tt.path, tt.auth, tt.body)
			expect(t, r, tt.status, tt.errcode)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if cl := r.header.Get("Content-Length"); cl != fmt.Sprint(len(r.body)) {
				t.Errorf("Content-Length = %q, body has %d bytes", cl, len(r.body))
			}
			if !json.Valid(r.body) {
				t.Errorf("body is not JSON: %q", r.body)
			}
			if tt.status == 200 && string(r.body) != "{}" {
				t.Errorf("success body = %q, want {}", r.body)
			}
		})
	}
}

func TestSetRegistrationChangesTheToken(t *testing.T) {
	f := start(t)
	reg := f.s.Registration()
	if reg.HSToken != hsToken {
		t.Fatalf("Registration().HSToken = %q", reg.HSToken)
	}
	reg.HSToken = "rotated"
	f.s.SetRegistration(reg)
	expect(t, f.put("old"), 403, "M_FORBIDDEN")
	expect(t, f.call(f.ctx, "PUT", "/_matrix/app/v1/transactions/new", "Bearer rotated", `{"events":[]}`), 200, "")
}

func TestScriptedSteps(t *testing.T) {
	type call struct {
		status  int
		errcode string
	}
	ok := call{200, ""}
	failed := call{500, "M_UNKNOWN"}
	tests := []struct {
		name   string
		script func(*fakeas.Server)
		want   []call // answers to consecutive transactions
	}{
		{"no script", func(*fakeas.Server) {}, []call{ok, ok}},
		{"fail once, then the default", func(s *fakeas.Server) { s.On(fakeas.Transactions).Fail() }, []call{failed, ok, ok}},
		{"fail twice", func(s *fakeas.Server) { s.On(fakeas.Transactions).Fail().Times(2) }, []call{failed, failed, ok}},
		{"fail always", func(s *fakeas.Server) { s.On(fakeas.Transactions).Fail().Always() }, []call{failed, failed, failed, failed}},
		{"steps run in order", func(s *fakeas.Server) {
			s.On(fakeas.Transactions).Fail()
			s.On(fakeas.Transactions).Respond(http.StatusServiceUnavailable, matrix.Error{ErrCode: "M_LIMIT", Error: "busy"}).Times(2)
			s.On(fakeas.Transactions).Respond(http.StatusTeapot, nil)
		}, []call{failed, {503, "M_LIMIT"}, {503, "M_LIMIT"}, {418, ""}, ok}},
		{"script on another route leaves transactions alone", func(s *fakeas.Server) { s.On(fakeas.Ping).Fail().Always() }, []call{ok, ok}},
		{"a step without an action uses the default", func(s *fakeas.Server) { s.On(fakeas.Transactions).Times(2) }, []call{ok, ok, ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			tt.script(f.s)
			for i, w := range tt.want {
				r := f.put("t")
				if r.err != nil || r.status != w.status || r.errcode() != w.errcode {
					t.Fatalf("call %d: want %d %q, got %v", i+1, w.status, w.errcode, r)
				}
			}
		})
	}
}

func TestRespond(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   any
		want   string
	}{
		{"user exists", 200, nil, `{}`},
		{"custom body", 200, map[string]any{"displayname": "Bridge"}, `{"displayname":"Bridge"}`},
		{"error body", 429, matrix.Error{ErrCode: "M_LIMIT_EXCEEDED", Error: "slow down"}, `{"errcode":"M_LIMIT_EXCEEDED","error":"slow down"}`},
		{"raw JSON", 200, json.RawMessage(`[1,2]`), `[1,2]`},
		{"unencodable body falls back to {}", 200, func() {}, `{}`},
		// Larger than net/http's buffer: without an explicit Content-Length
		// it would be sent chunked.
		{"large body", 200, map[string]string{"displayname": strings.Repeat("x", 10_000)}, `{"displayname":"` + strings.Repeat("x", 10_000) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			f.s.On(fakeas.Users).Respond(tt.status, tt.body)
			r := f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer "+hsToken, "")
			if r.err != nil || r.status != tt.status || string(r.body) != tt.want {
				t.Fatalf("want %d %s, got %v", tt.status, tt.want, r)
			}
			if cl := r.header.Get("Content-Length"); cl != fmt.Sprint(len(tt.want)) {
				t.Errorf("Content-Length = %q, want %d", cl, len(tt.want))
			}
			// One step only: the next lookup gets the default again.
			expect(t, f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer "+hsToken, ""), 404, "M_NOT_FOUND")
		})
	}
	t.Run("scripts do not bypass authentication", func(t *testing.T) {
		f := start(t)
		f.s.On(fakeas.Users).Respond(200, nil).Always()
		expect(t, f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer wrong", ""), 403, "M_FORBIDDEN")
		expect(t, f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer "+hsToken, ""), 200, "")
	})
}

func TestDrop(t *testing.T) {
	f := start(t)
	f.s.On(fakeas.Transactions).Drop()
	r := f.put("lost")
	if r.err == nil {
		t.Fatalf("want a transport error, got %v", r)
	}
	if !errors.Is(r.err, io.EOF) && !errors.Is(r.err, io.ErrUnexpectedEOF) && !strings.Contains(r.err.Error(), "EOF") && !strings.Contains(r.err.Error(), "reset") {
		t.Errorf("want EOF or connection reset, got %v", r.err)
	}
	all := f.s.Recorder().All()
	if len(all) != 1 {
		t.Fatalf("recorded %d exchanges, want 1", len(all))
	}
	if all[0].Status != 0 || !strings.Contains(all[0].Outcome, "dropped") || all[0].RespBody != nil {
		t.Errorf("dropped exchange recorded as status %d outcome %q body %q", all[0].Status, all[0].Outcome, all[0].RespBody)
	}
	if string(all[0].Body) != `{"events":[]}` {
		t.Errorf("dropped exchange lost the request body: %q", all[0].Body)
	}
	if got := f.s.AckedTransactions(); len(got) != 0 {
		t.Errorf("a dropped transaction was counted as acknowledged: %v", got)
	}
	expect(t, f.put("lost"), 200, "")
	if got := f.s.AckedTransactions(); !reflect.DeepEqual(got, []string{"lost"}) {
		t.Errorf("AckedTransactions = %v, want [lost]", got)
	}
}

func TestDropAfterHook(t *testing.T) {
	f := start(t)
	ran := make(chan struct{}, 1)
	f.s.On(fakeas.Transactions).Do(func(context.Context, fakeas.Request) error { ran <- struct{}{}; return nil }).Drop()
	if r := f.put("t"); r.err == nil {
		t.Fatalf("want a transport error, got %v", r)
	}
	select {
	case <-ran:
	default:
		t.Error("the hook of a dropping step did not run")
	}
}

func TestDelayWaitsBeforeAnswering(t *testing.T) {
	t.Run("answers after a short delay", func(t *testing.T) {
		f := start(t)
		f.s.On(fakeas.Ping).Delay(time.Millisecond).Respond(200, map[string]any{"delayed": true})
		r := f.call(f.ctx, "POST", "/_matrix/app/v1/ping", "Bearer "+hsToken, `{}`)
		if r.err != nil || r.status != 200 || string(r.body) != `{"delayed":true}` {
			t.Fatalf("got %v", r)
		}
	})
	t.Run("a caller that gives up is never answered", func(t *testing.T) {
		// With a delay longer than the test, the only way out for the
		// handler is the caller going away: if Delay were ignored the fake
		// would record a 200.
		f := start(t)
		f.s.On(fakeas.Transactions).Delay(time.Hour)
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { cancel() },
		})
		r := f.call(ctx, "PUT", "/_matrix/app/v1/transactions/slow", "Bearer "+hsToken, `{"events":[]}`)
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("want the caller's cancellation, got %v", r)
		}
		all, err := f.s.Recorder().WaitFor(f.ctx, func(es []recorder.Exchange) bool { return len(es) == 1 })
		if err != nil {
			t.Fatalf("delayed handler never finished after its caller left: %v", err)
		}
		if all[0].Status != 0 {
			t.Fatalf("delayed request was answered %d despite a one-hour delay", all[0].Status)
		}
		if len(f.s.AckedTransactions()) != 0 {
			t.Errorf("abandoned transaction counted as acknowledged: %v", f.s.AckedTransactions())
		}
	})
}

func TestBlock(t *testing.T) {
	f := start(t)
	gate := f.s.On(fakeas.Transactions).Block()
	select {
	case <-gate.Entered():
		t.Fatal("gate reports a waiting call before any request")
	default:
	}
	ch := f.async("PUT", "/_matrix/app/v1/transactions/held", `{"events":[]}`)
	await(f, gate.Entered(), "the request never reached the gate")
	if r, done := pending(ch); done {
		t.Fatalf("blocked request was answered before Release: %v", r)
	}
	if n := f.s.Recorder().Len(); n != 0 {
		t.Fatalf("blocked request already recorded as finished (%d exchanges)", n)
	}
	// Other routes are not held by the gate.
	expect(t, f.call(f.ctx, "POST", "/_matrix/app/v1/ping", "Bearer "+hsToken, `{}`), 200, "")
	gate.Release()
	expect(t, await(f, ch, "released request was not answered"), 200, "")
	gate.Release() // idempotent
	if got := f.s.AckedTransactions(); !reflect.DeepEqual(got, []string{"held"}) {
		t.Errorf("AckedTransactions = %v, want [held]", got)
	}
}

func TestBlockThenRespond(t *testing.T) {
	f := start(t)
	gate := f.s.On(fakeas.Transactions).Fail().Block()
	ch := f.async("PUT", "/_matrix/app/v1/transactions/t", `{"events":[]}`)
	await(f, gate.Entered(), "the request never reached the gate")
	gate.Release()
	expect(t, await(f, ch, "released request was not answered"), 500, "M_UNKNOWN")
	expect(t, f.put("t"), 200, "")
}

func TestDoRunsBeforeTheAnswer(t *testing.T) {
	f := start(t)
	seen := make(chan fakeas.Request, 1)
	proceed := make(chan struct{})
	f.s.On(fakeas.Users).Do(func(ctx context.Context, in fakeas.Request) error {
		seen <- in
		select {
		case <-proceed:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}).Respond(200, nil)

	ch := f.async("GET", "/_matrix/app/v1/users/%40alice%3Ahs", "")
	var in fakeas.Request
	select {
	case in = <-seen:
	case <-f.ctx.Done():
		t.Fatal("hook never ran")
	}
	want := fakeas.Request{Route: fakeas.Users, Method: "GET", Path: "/_matrix/app/v1/users/@alice:hs", Param: "@alice:hs"}
	if !reflect.DeepEqual(in.Route, want.Route) || in.Method != want.Method || in.Path != want.Path || in.Param != want.Param || len(in.Body) != 0 {
		t.Errorf("hook saw %+v, want %+v", in, want)
	}
	if r, done := pending(ch); done {
		t.Fatalf("request answered while its hook was still running: %v", r)
	}
	if n := f.s.Recorder().Len(); n != 0 {
		t.Fatalf("request recorded as finished while its hook was still running (%d)", n)
	}
	close(proceed)
	expect(t, await(f, ch, "request not answered after its hook returned"), 200, "")
}

func TestDoSeesTheTransaction(t *testing.T) {
	f := start(t)
	seen := make(chan fakeas.Request, 1)
	f.s.On(fakeas.Transactions).Do(func(_ context.Context, in fakeas.Request) error { seen <- in; return nil })
	expect(t, f.put("txn%2042"), 200, "")
	in := <-seen
	if in.Route != fakeas.Transactions || in.Method != "PUT" || in.Param != "txn 42" || string(in.Body) != `{"events":[]}` {
		t.Errorf("hook saw %+v", in)
	}
}

func TestDoErrorAnswers500(t *testing.T) {
	f := start(t)
	f.s.On(fakeas.Transactions).Do(func(context.Context, fakeas.Request) error { return errors.New("cannot reach the homeserver") }).Respond(200, nil)
	r := f.put("t")
	expect(t, r, 500, "M_UNKNOWN")
	if !strings.Contains(string(r.body), "cannot reach the homeserver") {
		t.Errorf("500 body does not carry the hook error: %s", r.body)
	}
	if got := f.s.AckedTransactions(); len(got) != 0 {
		t.Errorf("transaction acknowledged despite the hook error: %v", got)
	}
}

func TestResetClearsSteps(t *testing.T) {
	f := start(t)
	f.s.On(fakeas.Transactions).Fail().Always()
	f.s.On(fakeas.Users).Respond(200, nil).Always()
	expect(t, f.put("t"), 500, "M_UNKNOWN")
	f.s.Reset()
	expect(t, f.put("t"), 200, "")
	expect(t, f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer "+hsToken, ""), 404, "M_NOT_FOUND")
	f.s.On(fakeas.Transactions).Fail()
	expect(t, f.put("u"), 500, "M_UNKNOWN")
}

// gateKinds are the two kinds of step a call can be held at. The
// single-call kind once escaped Reset and Close: a consumed step's gate is
// no longer in s.scripts (fakeas/script.go, fakeas/fakeas.go).
var gateKinds = []struct {
	name   string
	always bool
}{
	{"gate of a step for every call", true},
	{"gate of a single-call step", false},
}

// heldCall starts a fake with one transaction held at a gate.
func heldCall(t *testing.T, always bool) (*fixture, <-chan reply) {
	t.Helper()
	f := start(t)
	st := f.s.On(fakeas.Transactions)
	if always {
		st.Always()
	}
	gate := st.Block()
	ch := f.async("PUT", "/_matrix/app/v1/transactions/held", `{"events":[]}`)
	await(f, gate.Entered(), "the request never reached the gate")
	return f, ch
}

func TestResetReleasesGates(t *testing.T) {
	for _, kind := range gateKinds {
		t.Run(kind.name, func(t *testing.T) {
			f, ch := heldCall(t, kind.always)
			f.s.Reset()
			expect(t, await(f, ch, "Reset did not release the blocked request"), 200, "")
			expect(t, f.put("after"), 200, "") // and the step is gone
		})
	}
}

func TestCloseReleasesBlockedHandlers(t *testing.T) {
	for _, kind := range gateKinds {
		t.Run(kind.name, func(t *testing.T) {
			f, ch := heldCall(t, kind.always)
			closed := make(chan error, 1)
			go func() { closed <- f.s.Close() }()
			// Released, the handler finishes its answer; Close then
			// returns without having to force connections shut.
			expect(t, await(f, ch, "Close did not release the blocked request"), 200, "")
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-f.ctx.Done():
				t.Fatal("Close did not return")
			}
			if r := f.put("after"); r.err == nil {
				t.Errorf("closed fake still answers: %v", r)
			}
		})
	}
}

func TestRecorderSeesEveryRequestInOrder(t *testing.T) {
	f := start(t)
	f.s.On(fakeas.Transactions).Fail()
	type sent struct {
		method, path, auth, body string
		status                   int
	}
	reqs := []sent{
		{"PUT", "/_matrix/app/v1/transactions/t1?user_id=%40bot%3Ahs", "Bearer " + hsToken, `{"events":[]}`, 500},
		{"PUT", "/_matrix/app/v1/transactions/t1", "Bearer " + hsToken, `{"events":[]}`, 200},
		{"GET", "/_matrix/app/v1/users/%40alice%3Ahs", "Bearer " + hsToken, "", 404},
		{"POST", "/_matrix/app/v1/ping", "Bearer wrong", `{"transaction_id":"p1"}`, 403},
		{"DELETE", "/elsewhere?a=1&a=2", "", "", 404},
	}
	for _, r := range reqs {
		req, err := http.NewRequestWithContext(f.ctx, r.method, f.base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		req.Header.Set("X-Request", r.method+" "+r.path)
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		respBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, r.status)
		}
		last := f.s.Recorder().All()
		if string(last[len(last)-1].RespBody) != string(respBody) {
			t.Errorf("%s %s: recorded response %q, client got %q", r.method, r.path, last[len(last)-1].RespBody, respBody)
		}
	}
	all := f.s.Recorder().All()
	if len(all) != len(reqs) {
		t.Fatalf("recorded %d exchanges, want %d", len(all), len(reqs))
	}
	for i, r := range reqs {
		e := all[i]
		path, query, _ := strings.Cut(r.path, "?")
		if e.Seq != i+1 || e.Method != r.method || e.Path != path || e.Query.Encode() != query {
			t.Errorf("exchange %d = #%d %s %s ?%s, want %s %s ?%s", i, e.Seq, e.Method, e.Path, e.Query.Encode(), r.method, path, query)
		}
		if e.Header.Get("Authorization") != r.auth || e.Header.Get("X-Request") != r.method+" "+r.path {
			t.Errorf("exchange %d headers = %v", i, e.Header)
		}
		if string(e.Body) != r.body || e.Status != r.status || e.Outcome != "answered" {
			t.Errorf("exchange %d: body %q status %d outcome %q, want %q %d answered", i, e.Body, e.Status, e.Outcome, r.body, r.status)
		}
		if e.From != "homeserver" || e.To != "appservice" || e.Start.IsZero() || e.End.Before(e.Start) {
			t.Errorf("exchange %d: from %q to %q start %v end %v", i, e.From, e.To, e.Start, e.End)
		}
	}
	if all[0].Query.Get("user_id") != "@bot:hs" || !json.Valid(all[2].RespBody) {
		t.Errorf("query or response body not decoded: %v %q", all[0].Query, all[2].RespBody)
	}
}

func TestAckedTransactions(t *testing.T) {
	f := start(t)
	steps := []struct {
		txn    string
		script func()
		status int
	}{
		{"t1", nil, 200},
		{"t2", func() { f.s.On(fakeas.Transactions).Fail() }, 500},
		{"t2", nil, 200}, // retried and acknowledged
		{"t1", nil, 200}, // a retry of an acknowledged transaction
		{"t3", func() { f.s.On(fakeas.Transactions).Respond(202, nil) }, 202},
		{"t4", func() { f.s.On(fakeas.Transactions).Respond(200, map[string]any{"scripted": true}) }, 200},
		{"t2", nil, 200},
		{"t5", func() { f.s.On(fakeas.Transactions).Drop() }, 0},
	}
	for _, st := range steps {
		if st.script != nil {
			st.script()
		}
		r := f.put(st.txn)
		if st.status == 0 {
			if r.err == nil {
				t.Fatalf("%s: want a dropped connection, got %v", st.txn, r)
			}
			continue
		}
		if r.err != nil || r.status != st.status {
			t.Fatalf("%s: want %d, got %v", st.txn, st.status, r)
		}
	}
	// Unauthenticated and malformed transactions are never acknowledged.
	expect(t, f.call(f.ctx, "PUT", "/_matrix/app/v1/transactions/t6", "", `{"events":[]}`), 401, "M_UNAUTHORIZED")
	expect(t, f.call(f.ctx, "PUT", "/_matrix/app/v1/transactions/t7", "Bearer "+hsToken, `nope`), 400, "M_NOT_JSON")
	if got, want := f.s.AckedTransactions(), []string{"t1", "t2", "t4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("AckedTransactions = %v, want %v", got, want)
	}
	got := f.s.AckedTransactions()
	got[0] = "mutated"
	if f.s.AckedTransactions()[0] != "t1" {
		t.Error("AckedTransactions returned the fake's own slice")
	}
}

func TestSetIngressRewritesBeforeRecordingAndRouting(t *testing.T) {
	f := start(t)
	f.s.SetIngress(func(r *http.Request) {
		r.Header.Del("Authorization") // imitate a homeserver that forgets the token
		r.Header.Set("X-Rewritten", "yes")
	})
	expect(t, f.put("t1"), 401, "M_UNAUTHORIZED")
	f.s.SetIngress(nil)
	expect(t, f.put("t2"), 200, "")

	all := f.s.Recorder().All()
	if len(all) != 2 {
		t.Fatalf("recorded %d exchanges, want 2", len(all))
	}
	if all[0].Header.Get("Authorization") != "" || all[0].Header.Get("X-Rewritten") != "yes" {
		t.Errorf("recorded the request before the rewrite: %v", all[0].Header)
	}
	if all[1].Header.Get("Authorization") != "Bearer "+hsToken || all[1].Header.Get("X-Rewritten") != "" {
		t.Errorf("rewrite still applied after SetIngress(nil): %v", all[1].Header)
	}
	if got := f.s.AckedTransactions(); !reflect.DeepEqual(got, []string{"t2"}) {
		t.Errorf("AckedTransactions = %v, want [t2]", got)
	}
}

func TestPauseRefusesConnectionsAndResumeServesAgain(t *testing.T) {
	f := start(t)
	if r := f.call(f.ctx, http.MethodPost, "/_matrix/app/v1/ping", "Bearer "+hsToken, "{}"); r.status != http.StatusOK {
		t.Fatalf("before Pause: %v", r)
	}
	if err := f.s.Pause(); err != nil {
		t.Fatal(err)
	}
	if r := f.call(f.ctx, http.MethodPost, "/_matrix/app/v1/ping", "Bearer "+hsToken, "{}"); r.err == nil {
		t.Fatalf("a paused fake answered: %v", r)
	}
	if err := f.s.Resume(); err != nil {
		t.Fatal(err)
	}
	if r := f.call(f.ctx, http.MethodPost, "/_matrix/app/v1/ping", "Bearer "+hsToken, "{}"); r.status != http.StatusOK {
		t.Fatalf("after Resume: %v", r)
	}
}

// The unstable key endpoints (MSC3983, MSC3984): POST only, authenticated,
// {} unscripted, the scripted answer otherwise, and recorded.
func TestKeyEndpoints(t *testing.T) {
	f := start(t)
	for _, c := range []struct {
		rt   fakeas.Route
		path string
	}{{fakeas.KeysClaim, fakeas.KeysClaimPath}, {fakeas.KeysQuery, fakeas.KeysQueryPath}} {
		expect(t, f.call(f.ctx, http.MethodPost, c.path, "Bearer "+hsToken, `{"@a:hs":{}}`), 200, "")
		expect(t, f.call(f.ctx, http.MethodGet, c.path, "Bearer "+hsToken, ""), 405, "M_UNRECOGNIZED")
		expect(t, f.call(f.ctx, http.MethodPost, c.path, "Bearer wrong", `{}`), 403, "M_FORBIDDEN")
		seen := make(chan fakeas.Request, 1)
		f.s.On(c.rt).Do(func(_ context.Context, in fakeas.Request) error { seen <- in; return nil }).Respond(200, map[string]any{"scripted": true})
		r := f.call(f.ctx, http.MethodPost, c.path, "Bearer "+hsToken, `{"@a:hs":["DEV"]}`)
		expect(t, r, 200, "")
		if !strings.Contains(string(r.body), "scripted") {
			t.Errorf("%s: scripted answer not given: %s", c.path, r.body)
		}
		if in := <-seen; in.Route != c.rt || string(in.Body) != `{"@a:hs":["DEV"]}` {
			t.Errorf("%s: hook saw %+v", c.path, in)
		}
	}
	if n := f.s.Recorder().Len(); n != 8 {
		t.Errorf("recorded %d exchanges, want 8", n)
	}
}

// TestMountChecksTheHSToken: a mounted endpoint of the AS's own is served
// only with the hs_token, and is not recorded as AS API traffic.
func TestMountChecksTheHSToken(t *testing.T) {
	f := start(t)
	f.s.Mount("/_own/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		matrix.WriteJSON(w, http.StatusOK, map[string]string{"own": "yes"})
	}))
	for _, c := range []struct {
		auth   string
		status int
	}{{"", http.StatusUnauthorized}, {"Bearer wrong", http.StatusForbidden}, {"Bearer " + hsToken, http.StatusOK}} {
		if r := f.call(f.ctx, http.MethodGet, "/_own/x", c.auth, ""); r.status != c.status {
			t.Errorf("GET /_own/x with Authorization %q: %s, want %d", c.auth, r, c.status)
		}
	}
	if n := f.s.Recorder().Len(); n != 0 {
		t.Errorf("%d exchanges recorded for the mounted endpoint, want none", n)
	}
}
