package fakehs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/asconform/asconform/internal/recorder"
)

func TestStrictModeCatchesUnexpectedRequestsOfTheAS(t *testing.T) {
	e := setup(t)
	e.hs.Strict(func(x recorder.Exchange) string {
		if strings.HasSuffix(x.Path, "/whoami") {
			return "whoami is not expected"
		}
		return ""
	})
	e.ok(e.asc.WhoAmI(e.ctx))
	e.ok(e.asc.Do(e.ctx, "GET", "/_matrix/client/versions", nil))
	user := e.client("alice", "")
	e.ok(user.Register(e.ctx, "alice", "pw"))
	user.Token = "nobody's"
	_, _ = user.WhoAmI(e.ctx) // not the AS: not judged
	want := []string{"whoami is not expected: GET /_matrix/client/v3/account/whoami (answered 200)"}
	if got := e.hs.Unexpected(); !slices.Equal(got, want) {
		t.Fatalf("Unexpected() = %q, want %q", got, want)
	}
	marked := e.hs.Recorder().Filter(func(x recorder.Exchange) bool { return strings.Contains(x.Outcome, "unexpected: whoami") })
	if len(marked) != 1 {
		t.Fatalf("%d exchanges marked unexpected in the recording", len(marked))
	}
	e.hs.Strict(nil)
	e.ok(e.asc.WhoAmI(e.ctx))
	if got := e.hs.Unexpected(); len(got) != 0 {
		t.Fatalf("after Strict(nil): %q", got)
	}
}
