package fakehs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

const (
	asToken    = "as-token-bridge"
	hsToken    = "hs-token-bridge"
	serverName = "hs.test"
	// hangGuard only stops a broken fake from hanging the test run.
	hangGuard = 10 * time.Second
)

type env struct {
	t   *testing.T
	ctx context.Context
	hs  *fakehs.Server
	as  *fakeas.Server
	reg matrix.Registration
	asc *csapi.Client // the AS, with its as_token
}

func registration(id, asTok, hsTok, prefix string) matrix.Registration {
	return matrix.Registration{
		ID: id, ASToken: asTok, HSToken: hsTok, SenderLocalpart: prefix + "bot",
		Namespaces: matrix.Namespaces{
			Users:   []matrix.Namespace{{Exclusive: true, Regex: "@" + prefix + ".*:" + strings.ReplaceAll(serverName, ".", `\.`)}},
			Aliases: []matrix.Namespace{{Exclusive: true, Regex: "#" + prefix + ".*"}},
		},
	}
}

// startAS starts a fake AS for reg and points reg's URL at it.
func startAS(t *testing.T, reg *matrix.Registration) *fakeas.Server {
	t.Helper()
	fas, err := fakeas.New("127.0.0.1:0", *reg)
	if err != nil {
		t.Fatalf("fakeas.New: %v", err)
	}
	t.Cleanup(func() { _ = fas.Close() })
	u := fmt.Sprintf("http://127.0.0.1:%d", fas.Port())
	reg.URL = &u
	return fas
}

// setup starts a fake AS and a fake HS that knows it; mods adjust the
// homeserver's configuration before it starts.
func setup(t *testing.T, mods ...func(*fakehs.Config)) *env {
	t.Helper()
	reg := registration("bridge", asToken, hsToken, "_bridge_")
	fas := startAS(t, &reg)
	cfg := fakehs.Config{
		ServerName:    serverName,
		Registrations: []matrix.Registration{reg},
		Backoff:       time.Millisecond,
		HTTPClient:    &http.Client{Timeout: hangGuard},
	}
	for _, m := range mods {
		m(&cfg)
	}
	hs, err := fakehs.New("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatalf("fakehs.New: %v", err)
	}
	t.Cleanup(func() { _ = hs.Close() }) // runs before the AS closes
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, hs: hs, as: fas, reg: reg}
	e.asc = e.client("appservice", asToken)
	return e
}

// withNamespaces is a setup mod that widens the namespaces of the
// homeserver's copy of the bridge registration.
func withNamespaces(widen func(*matrix.Namespaces)) func(*fakehs.Config) {
	return func(c *fakehs.Config) { widen(&c.Registrations[0].Namespaces) }
}

// client talks to the fake HS; a fresh connection per request so that a
// Restart never meets a stale keep-alive connection.
func (e *env) client(name, token string) *csapi.Client {
	return &csapi.Client{
		BaseURL: e.hs.URL(), Token: token, Name: name,
		HTTP: &http.Client{Timeout: hangGuard, Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// must fails the test unless the call answered want.
func (e *env) must(resp csapi.Response, err error, want int) csapi.Response {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("request failed: %v", err)
	}
	if resp.Status != want {
		e.t.Fatalf("got %s, want status %d", resp, want)
	}
	return resp
}

// ok fails the test unless the call answered 200.
func (e *env) ok(resp csapi.Response, err error) csapi.Response {
	e.t.Helper()
	return e.must(resp, err, 200)
}

// wantErr fails the test unless the call answered status and errcode.
func (e *env) wantErr(resp csapi.Response, err error, status int, code string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("request failed: %v", err)
	}
	if resp.Status != status || resp.ErrCode() != code {
		e.t.Fatalf("got %s, want %d %s", resp, status, code)
	}
}

// user registers a normal user and returns its client.
func (e *env) user(name string) *csapi.Client {
	e.t.Helper()
	anon := e.client(name, "")
	resp, err := anon.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/register", map[string]any{
		"username": name, "password": "pw", "auth": map[string]string{"type": "m.login.dummy"},
	})
	e.must(resp, err, 200)
	return e.client(name, resp.Field("access_token"))
}

// ghost registers a user in the AS's namespace as the AS.
func (e *env) ghost(name string) string {
	e.t.Helper()
	resp, err := e.asc.RegisterAS(e.ctx, "_bridge_"+name, true)
	return e.must(resp, err, 200).Field("user_id")
}

func (e *env) createRoom(c *csapi.Client, body map[string]any, opts ...csapi.Option) string {
	e.t.Helper()
	resp, err := c.CreateRoom(e.ctx, body, opts...)
	return e.must(resp, err, 200).Field("room_id")
}

func (e *env) send(c *csapi.Client, roomID, text string, opts ...csapi.Option) string {
	e.t.Helper()
	resp, err := c.SendMessage(e.ctx, roomID, text, opts...)
	return e.must(resp, err, 200).Field("event_id")
}

func (e *env) waitIdle() {
	e.t.Helper()
	if err := e.hs.WaitIdle(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// wait blocks until ch is closed or the hang guard fires.
func (e *env) wait(ch <-chan struct{}, what string) {
	e.t.Helper()
	select {
	case <-ch:
	case <-e.ctx.Done():
		e.t.Fatalf("hang guard: %s", what)
	}
}

// waitFor waits until the recorder holds n exchanges accepted by keep.
func (e *env) waitFor(rec *recorder.Recorder, n int, keep func(recorder.Exchange) bool, what string) []recorder.Exchange {
	e.t.Helper()
	var got []recorder.Exchange
	_, err := rec.WaitFor(e.ctx, func(all []recorder.Exchange) bool {
		got = got[:0]
		for _, x := range all {
			if keep(x) {
				got = append(got, x)
			}
		}
		return len(got) >= n
	})
	if err != nil {
		e.t.Fatalf("hang guard: %s: saw %d of %d", what, len(got), n)
	}
	return got
}

// delivery is one transaction PUT the fake AS received.
type delivery struct {
	id     string
	status int
	body   []byte
	events []string
}

func transactionsTo(fas *fakeas.Server) []delivery {
	var out []delivery
	for _, x := range fas.Recorder().All() {
		id, ok := strings.CutPrefix(x.Path, "/_matrix/app/v1/transactions/")
		if !ok || x.Method != http.MethodPut {
			continue
		}
		d := delivery{id: id, status: x.Status, body: x.Body}
		var txn matrix.Transaction
		_ = json.Unmarshal(x.Body, &txn)
		for _, ev := range txn.Events {
			d.events = append(d.events, ev.EventID)
		}
		out = append(out, d)
	}
	return out
}

func isTxn(x recorder.Exchange) bool {
	return x.Method == http.MethodPut && strings.HasPrefix(x.Path, "/_matrix/app/v1/transactions/")
}
