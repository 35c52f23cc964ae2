package fakeas_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/asconform/asconform/fakeas"
)

func TestStrictNotesWhatItDidNotExpect(t *testing.T) {
	f := start(t)
	f.s.Expect(func(in fakeas.Request) error {
		if strings.Contains(string(in.Body), "ephemeral") {
			return errors.New("ephemeral data")
		}
		return nil
	}, fakeas.Transactions)
	f.put("1")
	// Answered as usual: strictness does not change the homeserver's course.
	expect(t, f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer "+hsToken, ""), 404, "M_NOT_FOUND")
	expect(t, f.call(f.ctx, "PUT", "/_matrix/app/v1/transactions/2", "Bearer "+hsToken, `{"events":[],"ephemeral":[{}]}`), 200, "")
	want := []string{
		"GET /_matrix/app/v1/users/@a:hs: expected only [transactions] requests",
		"PUT /_matrix/app/v1/transactions/2: ephemeral data",
	}
	if got := f.s.Unexpected(); !slices.Equal(got, want) {
		t.Fatalf("Unexpected() = %q, want %q", got, want)
	}
	f.s.Reset()
	f.call(f.ctx, "GET", "/_matrix/app/v1/users/%40a%3Ahs", "Bearer "+hsToken, "")
	if got := f.s.Unexpected(); len(got) != 0 {
		t.Fatalf("after Reset the fake is lenient again, yet noted %q", got)
	}
}
