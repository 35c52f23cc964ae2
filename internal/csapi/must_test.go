package csapi

import (
	"runtime"
	"strings"
	"testing"
)

// failures records what Must calls report, and where the frame callerSkip
// names is: it must be the test's own line, not csapi's.
type failures struct {
	messages, callers []string
}

func (f *failures) client(baseURL string) *Client {
	return &Client{BaseURL: baseURL, Name: "alice", Fail: func(message string, callerSkip int) {
		f.messages = append(f.messages, message)
		_, file, _, _ := runtime.Caller(callerSkip + 1)
		f.callers = append(f.callers, file)
	}}
}

func TestMustReportsRequestStatusAndBody(t *testing.T) {
	srv, _ := server(t, 403, `{"errcode":"M_FORBIDDEN","error":"not in the room"}`)
	var f failures
	c := f.client(srv.URL)
	c.MustJoin(guardCtx(t), "!room:hs")
	c.MustSend(guardCtx(t), "!room:hs", "hi")
	if len(f.messages) != 2 {
		t.Fatalf("want 2 failures, got %q", f.messages)
	}
	for _, want := range []string{"POST /_matrix/client/v3/join/%21room:hs", "Expected: 200", `Actual: 403 {"errcode":"M_FORBIDDEN","error":"not in the room"}`} {
		if !strings.Contains(f.messages[0], want) {
			t.Errorf("failure %q lacks %q", f.messages[0], want)
		}
	}
	for _, file := range f.callers {
		if !strings.HasSuffix(file, "must_test.go") {
			t.Errorf("failure located in %s, not at the Must call", file)
		}
	}
}

func TestMustFieldNeedsTheField(t *testing.T) {
	srv, _ := server(t, 200, `{}`)
	var f failures
	if id := f.client(srv.URL).MustSend(guardCtx(t), "!room:hs", "hi"); id != "" || len(f.messages) != 1 || !strings.Contains(f.messages[0], "Expected: 200 with event_id") {
		t.Fatalf("a 200 without event_id: id %q, failures %q", id, f.messages)
	}
	if len(f.callers) == 1 && !strings.HasSuffix(f.callers[0], "must_test.go") {
		t.Errorf("failure located in %s, not at the Must call", f.callers[0])
	}
}

func TestMustReportsTransportErrors(t *testing.T) {
	srv, _ := server(t, 200, `{}`)
	srv.Close()
	var f failures
	f.client(srv.URL).MustDo(guardCtx(t), "GET", "/_matrix/client/v3/account/whoami", nil)
	if len(f.messages) != 1 || !strings.Contains(f.messages[0], "GET /_matrix/client/v3/account/whoami") {
		t.Fatalf("transport error reported as %q", f.messages)
	}
}

func TestMustExcerptsLongBodies(t *testing.T) {
	srv, _ := server(t, 500, `{"error":"`+strings.Repeat("x", 2000)+`"}`)
	var f failures
	f.client(srv.URL).MustDo(guardCtx(t), "GET", "/_matrix/client/v3/account/whoami", nil)
	if len(f.messages) != 1 || len(f.messages[0]) > 700 || !strings.Contains(f.messages[0], "(2012 bytes)") {
		t.Fatalf("long body reported as %q", f.messages)
	}
}

func TestMustWithoutFailPanics(t *testing.T) {
	srv, _ := server(t, 404, `{}`)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "Expected: 200") {
			t.Errorf("recovered %v", r)
		}
	}()
	(&Client{BaseURL: srv.URL}).MustInvite(guardCtx(t), "!r:hs", "@u:hs")
}
