package csapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// hangGuard only stops a broken client from hanging the test run.
const hangGuard = 30 * time.Second

// seen is what the test server received.
type seen struct {
	Method, Path, RawPath string
	Query                 url.Values
	Header                http.Header
	Body                  []byte
}

// server answers every request with status and body and reports what it got.
func server(t *testing.T, status int, body string) (*httptest.Server, <-chan seen) {
	t.Helper()
	got := make(chan seen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.Query(), r.Header.Clone(), data}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func guardCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

func TestDoRequestShape(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		method    string
		path      string
		body      any
		opts      []Option
		wantAuth  string
		wantQuery url.Values
		wantBody  string
		wantCT    string
	}{
		{"client token as Bearer", "tok", "GET", "/_matrix/client/v3/account/whoami", nil, nil, "Bearer tok", url.Values{}, "", ""},
		{"JSON body", "tok", "POST", "/_matrix/client/v3/createRoom", map[string]any{"preset": "private_chat"}, nil,
			"Bearer tok", url.Values{}, `{"preset":"private_chat"}`, "application/json"},
		{"AsUser", "as", "GET", "/p", nil, []Option{AsUser("@bridge_a:hs")}, "Bearer as", url.Values{"user_id": {"@bridge_a:hs"}}, "", ""},
		{"TS", "as", "PUT", "/p", map[string]any{}, []Option{TS(1700000000123)}, "Bearer as", url.Values{"ts": {"1700000000123"}}, "{}", "application/json"},
		{"AsUser and TS together", "as", "GET", "/p", nil, []Option{AsUser("@b:hs"), TS(5)}, "Bearer as", url.Values{"user_id": {"@b:hs"}, "ts": {"5"}}, "", ""},
		{"repeated query parameter", "as", "GET", "/p", nil, []Option{Query("k", "1"), Query("k", "2 & 3")}, "Bearer as", url.Values{"k": {"1", "2 & 3"}}, "", ""},
		{"WithToken overrides", "tok", "GET", "/p", nil, []Option{WithToken("other")}, "Bearer other", url.Values{}, "", ""},
		{"WithToken empty sends none", "tok", "GET", "/p", nil, []Option{WithToken("")}, "", url.Values{}, "", ""},
		{"client without token sends none", "", "GET", "/p", nil, nil, "", url.Values{}, "", ""},
		{"escaped path segment kept", "tok", "GET", "/_matrix/client/v3/rooms/" + PathEscape("!r/x:hs") + "/state", nil, nil,
			"Bearer tok", url.Values{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := server(t, 200, `{}`)
			c := &Client{BaseURL: srv.URL + "/", Token: tt.token, Name: "alice"}
			resp, err := c.Do(guardCtx(t), tt.method, tt.path, tt.body, tt.opts...)
			if err != nil || resp.Status != 200 {
				t.Fatalf("Do = %v, %v", resp, err)
			}
			s := <-got
			if s.Method != tt.method || s.RawPath != tt.path {
				t.Errorf("server saw %s %s, want %s %s", s.Method, s.RawPath, tt.method, tt.path)
			}
			if a := s.Header.Get("Authorization"); a != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", a, tt.wantAuth)
			}
			if _, present := s.Header["Authorization"]; present && tt.wantAuth == "" {
				t.Error("an Authorization header was sent although no token should be")
			}
			if !reflect.DeepEqual(s.Query, tt.wantQuery) {
				t.Errorf("query = %v, want %v", s.Query, tt.wantQuery)
			}
			if string(s.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", s.Body, tt.wantBody)
			}
			if ct := s.Header.Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantCT)
			}
		})
	}
}

func TestDoRecordsTheExchange(t *testing.T) {
	srv, _ := server(t, 403, `{"errcode":"M_FORBIDDEN","error":"not yours"}`)
	rec := recorder.New()
	c := &Client{BaseURL: srv.URL, Token: "as-token", Name: "appservice", Recorder: rec}
	resp, err := c.Do(guardCtx(t), "PUT", "/_matrix/client/v3/rooms/%21r%3Ahs/send/m.room.message/1", map[string]string{"body": "hi"}, AsUser("@b:hs"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 403 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("response = %v %v", resp, resp.Header)
	}
	all := rec.All()
	if len(all) != 1 {
		t.Fatalf("recorded %d exchanges, want 1", len(all))
	}
	e := all[0]
	checks := []struct{ name, got, want string }{
		{"from", e.From, "appservice"},
		{"to", e.To, "homeserver"},
		{"method", e.Method, "PUT"},
		{"path", e.Path, "/_matrix/client/v3/rooms/%21r%3Ahs/send/m.room.message/1"},
		{"query", e.Query.Encode(), "user_id=%40b%3Ahs"},
		{"authorization", e.Header.Get("Authorization"), "Bearer as-token"},
		{"body", string(e.Body), `{"body":"hi"}`},
		{"response body", string(e.RespBody), `{"errcode":"M_FORBIDDEN","error":"not yours"}`},
		{"outcome", e.Outcome, "answered"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if e.Status != 403 || e.Seq != 1 || e.Start.IsZero() || e.End.Before(e.Start) {
		t.Errorf("status %d seq %d start %v end %v", e.Status, e.Seq, e.Start, e.End)
	}

	// Without a recorder nothing is recorded and nothing breaks.
	c.Recorder = nil
	if _, err := c.Do(guardCtx(t), "GET", "/x", nil); err != nil {
		t.Fatal(err)
	}
	if rec.Len() != 1 {
		t.Errorf("a client without recorder still recorded (%d)", rec.Len())
	}
}

func TestResponseHelpers(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		errcode string
		field   string // value of "user_id"
	}{
		{"error body", `{"errcode":"M_FORBIDDEN","error":"no"}`, "M_FORBIDDEN", ""},
		{"success body", `{"user_id":"@a:hs","device_id":"D"}`, "", "@a:hs"},
		{"non-string field", `{"user_id":42}`, "", ""},
		{"not JSON", `<html>Bad Gateway</html>`, "", ""},
		{"empty", ``, "", ""},
		{"JSON array", `[{"errcode":"M_X"}]`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Response{Status: 400, Body: []byte(tt.body)}
			if got := r.ErrCode(); got != tt.errcode {
				t.Errorf("ErrCode = %q, want %q", got, tt.errcode)
			}
			if got := r.Field("user_id"); got != tt.field {
				t.Errorf("Field(user_id) = %q, want %q", got, tt.field)
			}
			if got := r.Field("absent"); got != "" {
				t.Errorf("Field(absent) = %q", got)
			}
		})
	}
	t.Run("JSON decodes", func(t *testing.T) {
		var v struct {
			UserID string `json:"user_id"`
		}
		if err := (Response{Status: 200, Body: []byte(`{"user_id":"@a:hs"}`)}).JSON(&v); err != nil || v.UserID != "@a:hs" {
			t.Fatalf("JSON = %+v, %v", v, err)
		}
	})
	t.Run("JSON error names status and body", func(t *testing.T) {
		var v map[string]any
		err := (Response{Status: 502, Body: []byte(`<html>Bad Gateway</html>`)}).JSON(&v)
		if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "Bad Gateway") {
			t.Fatalf("JSON error = %v", err)
		}
	})
	t.Run("JSON error shows at most a prefix of a long body", func(t *testing.T) {
		var v map[string]any
		err := (Response{Status: 200, Body: bytes.Repeat([]byte("x"), 10_000)}).JSON(&v)
		if err == nil || len(err.Error()) > 1000 {
			t.Fatalf("JSON error of %d bytes", len(err.Error()))
		}
	})
	t.Run("String", func(t *testing.T) {
		if got := (Response{Status: 404, Body: []byte("  {\"errcode\":\"M_NOT_FOUND\"}\n")}).String(); got != `404 {"errcode":"M_NOT_FOUND"}` {
			t.Errorf("String = %q", got)
		}
	})
}

func TestHangingServerIsBoundedByContext(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	rec := recorder.New()
	c := &Client{BaseURL: srv.URL, Token: "t", Name: "alice", Recorder: rec}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		resp Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.Do(ctx, "GET", "/_matrix/client/v3/sync", nil)
		done <- result{resp, err}
	}()
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	select {
	case <-arrived:
	case <-guard.C:
		t.Fatal("request never reached the server")
	}
	select {
	case r := <-done:
		t.Fatalf("Do returned while the server was still hanging: %v, %v", r.resp, r.err)
	default:
	}
	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("Do error = %v, want context.Canceled", r.err)
		}
		if !strings.Contains(r.err.Error(), "GET /_matrix/client/v3/sync") {
			t.Errorf("error does not name the request: %v", r.err)
		}
	case <-guard.C:
		t.Fatal("Do ignored its context being cancelled")
	}
	all := rec.All()
	if len(all) != 1 || all[0].Status != 0 || !strings.HasPrefix(all[0].Outcome, "transport error") {
		t.Fatalf("recorded %+v, want one exchange with status 0 and a transport error", all)
	}
}

// zeros is an endless reader that never holds more than its caller's buffer.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestHugeBodyIsCutAtTheLimit(t *testing.T) {
	const extra = 1 << 20
	var (
		mu      sync.Mutex
		written int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Streamed from a reader, never held in memory as a whole.
		n, _ := io.Copy(w, io.LimitReader(zeros{}, recorder.MaxBody+extra))
		mu.Lock()
		written = n
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	rec := recorder.New()
	c := &Client{BaseURL: srv.URL, Recorder: rec}
	resp, err := c.Do(guardCtx(t), "GET", "/_matrix/media/v3/download/huge", nil)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if len(resp.Body) != recorder.MaxBody {
		t.Fatalf("read %d bytes of a %d-byte body, want exactly the %d-byte limit", len(resp.Body), recorder.MaxBody+extra, recorder.MaxBody)
	}
	if resp.Status != 200 {
		t.Errorf("status %d", resp.Status)
	}
	if got := rec.All(); len(got) != 1 || len(got[0].RespBody) != recorder.MaxBody {
		t.Errorf("recorded body is not cut at the limit either")
	}
	srv.Close() // waits for the handler
	mu.Lock()
	defer mu.Unlock()
	if written <= recorder.MaxBody {
		t.Fatalf("test server only wrote %d bytes; the body must exceed the limit for this test to mean anything", written)
	}
}

func TestDoErrorsBeforeSending(t *testing.T) {
	srv, got := server(t, 200, `{}`)
	c := &Client{BaseURL: srv.URL, Token: "t"}
	tests := []struct {
		name   string
		method string
		body   any
		want   string
	}{
		{"body that cannot be encoded", "POST", map[string]any{"f": func() {}}, "encode body"},
		{"invalid method", "BAD METHOD", nil, "csapi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Do(guardCtx(t), tt.method, "/x", tt.body); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Do error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	select {
	case s := <-got:
		t.Errorf("a request was sent anyway: %s %s", s.Method, s.Path)
	default:
	}
	t.Run("unreachable server", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		rec := recorder.New()
		c := &Client{BaseURL: dead.URL, Recorder: rec}
		if _, err := c.Do(guardCtx(t), "GET", "/x", nil); err == nil {
			t.Fatal("no error from a closed server")
		}
		if all := rec.All(); len(all) != 1 || all[0].Status != 0 || !strings.HasPrefix(all[0].Outcome, "transport error") {
			t.Errorf("recorded %+v", all)
		}
	})
}

func TestCalls(t *testing.T) {
	tests := []struct {
		name     string
		call     func(context.Context, *Client) (Response, error)
		method   string
		path     string
		auth     string
		body     map[string]any
		wantUser string
	}{
		{"Register", func(ctx context.Context, c *Client) (Response, error) { return c.Register(ctx, "alice", "pw") },
			"POST", "/_matrix/client/v3/register", "",
			map[string]any{"username": "alice", "password": "pw", "auth": map[string]any{"type": "m.login.dummy"}}, ""},
		{"RegisterAS", func(ctx context.Context, c *Client) (Response, error) { return c.RegisterAS(ctx, "bridge_a", false) },
			"POST", "/_matrix/client/v3/register", "Bearer tok",
			map[string]any{"type": "m.login.application_service", "username": "bridge_a"}, ""},
		{"RegisterAS inhibit_login", func(ctx context.Context, c *Client) (Response, error) { return c.RegisterAS(ctx, "bridge_a", true) },
			"POST", "/_matrix/client/v3/register", "Bearer tok",
			map[string]any{"type": "m.login.application_service", "username": "bridge_a", "inhibit_login": true}, ""},
		{"CreateRoom defaults", func(ctx context.Context, c *Client) (Response, error) { return c.CreateRoom(ctx, nil) },
			"POST", "/_matrix/client/v3/createRoom", "Bearer tok", map[string]any{}, ""},
		{"CreateRoom as user", func(ctx context.Context, c *Client) (Response, error) {
			return c.CreateRoom(ctx, map[string]any{"preset": "public_chat"}, AsUser("@b:hs"))
		}, "POST", "/_matrix/client/v3/createRoom", "Bearer tok", map[string]any{"preset": "public_chat"}, "@b:hs"},
		{"Join", func(ctx context.Context, c *Client) (Response, error) { return c.Join(ctx, "#room:hs") },
			"POST", "/_matrix/client/v3/join/%23room:hs", "Bearer tok", map[string]any{}, ""},
		{"Invite", func(ctx context.Context, c *Client) (Response, error) { return c.Invite(ctx, "!r:hs", "@b:hs") },
			"POST", "/_matrix/client/v3/rooms/%21r:hs/invite", "Bearer tok", map[string]any{"user_id": "@b:hs"}, ""},
		{"GetEvent", func(ctx context.Context, c *Client) (Response, error) { return c.GetEvent(ctx, "!r:hs", "$e/1") },
			"GET", "/_matrix/client/v3/rooms/%21r:hs/event/$e%2F1", "Bearer tok", nil, ""},
		{"CreateAlias", func(ctx context.Context, c *Client) (Response, error) { return c.CreateAlias(ctx, "#a:hs", "!r:hs") },
			"PUT", "/_matrix/client/v3/directory/room/%23a:hs", "Bearer tok", map[string]any{"room_id": "!r:hs"}, ""},
		{"WhoAmI", func(ctx context.Context, c *Client) (Response, error) { return c.WhoAmI(ctx, AsUser("@b:hs")) },
			"GET", "/_matrix/client/v3/account/whoami", "Bearer tok", nil, "@b:hs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := server(t, 200, `{}`)
			c := &Client{BaseURL: srv.URL, Token: "tok"}
			if _, err := tt.call(guardCtx(t), c); err != nil {
				t.Fatal(err)
			}
			s := <-got
			if s.Method != tt.method || s.RawPath != tt.path {
				t.Errorf("sent %s %s, want %s %s", s.Method, s.RawPath, tt.method, tt.path)
			}
			if a := s.Header.Get("Authorization"); a != tt.auth {
				t.Errorf("Authorization = %q, want %q", a, tt.auth)
			}
			if u := s.Query.Get("user_id"); u != tt.wantUser {
				t.Errorf("user_id = %q, want %q", u, tt.wantUser)
			}
			if tt.body == nil {
				if len(s.Body) != 0 {
					t.Errorf("body %q, want none", s.Body)
				}
				return
			}
			var body map[string]any
			if err := json.Unmarshal(s.Body, &body); err != nil || !reflect.DeepEqual(body, tt.body) {
				t.Errorf("body = %s, want %v", s.Body, tt.body)
			}
		})
	}
}

func TestSendMessageUsesFreshTxnIDs(t *testing.T) {
	srv, got := server(t, 200, `{"event_id":"$e"}`)
	c := &Client{BaseURL: srv.URL, Token: "tok"}
	ids := map[string]bool{}
	for i := 0; i < 3; i++ {
		if _, err := c.SendMessage(guardCtx(t), "!r:hs", "hi"); err != nil {
			t.Fatal(err)
		}
		s := <-got
		prefix := "/_matrix/client/v3/rooms/%21r:hs/send/m.room.message/"
		if s.Method != "PUT" || !strings.HasPrefix(s.RawPath, prefix) {
			t.Fatalf("sent %s %s", s.Method, s.RawPath)
		}
		ids[strings.TrimPrefix(s.RawPath, prefix)] = true
		var body map[string]any
		if err := json.Unmarshal(s.Body, &body); err != nil || body["msgtype"] != "m.text" || body["body"] != "hi" {
			t.Errorf("body = %s", s.Body)
		}
	}
	if len(ids) != 3 {
		t.Errorf("3 messages used %d distinct transaction IDs: %v", len(ids), ids)
	}
}

func TestUserIDIsCached(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(500) // first attempt fails: nothing may be cached
			return
		}
		_, _ = io.WriteString(w, `{"user_id":"@alice:hs"}`)
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL, Token: "tok"}
	ctx := guardCtx(t)
	if got := c.UserID(ctx); got != "" {
		t.Fatalf("UserID after a failed whoami = %q", got)
	}
	for i := 0; i < 3; i++ {
		if got := c.UserID(ctx); got != "@alice:hs" {
			t.Fatalf("UserID = %q", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("whoami called %d times, want 2 (one failure, then cached)", calls)
	}
}

func TestTxnIDAndPathEscape(t *testing.T) {
	seenIDs := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := TxnID()
		if seenIDs[id] || id == "" || strings.ContainsAny(id, "/?#% ") {
			t.Fatalf("TxnID %q is empty, repeated or not path-safe", id)
		}
		seenIDs[id] = true
	}
	tests := map[string]string{
		"!room:hs":     "%21room:hs",
		"#alias:hs":    "%23alias:hs",
		"@user:hs":     "@user:hs",
		"$event/slash": "$event%2Fslash",
		"a b?c":        "a%20b%3Fc",
	}
	for in, want := range tests {
		if got := PathEscape(in); got != want {
			t.Errorf("PathEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
