package match_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
)

func resp(status int, body string) csapi.Response {
	return csapi.Response{Status: status, Body: []byte(body)}
}

// verdict runs m against actual and checks the outcome. When the matcher is
// expected to reject, its failure message must contain every string in want.
func verdict(t *testing.T, m types.GomegaMatcher, actual any, wantMatch bool, want ...string) string {
	t.Helper()
	ok, err := m.Match(actual)
	if err != nil {
		t.Fatalf("Match returned an error: %v", err)
	}
	if ok != wantMatch {
		t.Fatalf("Match = %v, want %v (failure message: %s)", ok, wantMatch, m.FailureMessage(actual))
	}
	if wantMatch {
		return ""
	}
	msg := m.FailureMessage(actual)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("failure message does not mention %q:\n%s", w, msg)
		}
	}
	return msg
}

// assertion runs a full Gomega assertion and returns the failure message
// Gomega would print, or "" when the assertion held.
func assertion(actual any, negate bool, m types.GomegaMatcher) string {
	var failure string
	g := gomega.NewGomega(func(message string, _ ...int) { failure = message })
	if negate {
		g.Expect(actual).NotTo(m)
	} else {
		g.Expect(actual).To(m)
	}
	return failure
}

// responseCase is a response a matcher meets: whether it must match, and
// what the failure message must mention when it does not.
type responseCase struct {
	name   string
	actual csapi.Response
	match  bool
	want   []string
}

// checkResponses runs a fresh matcher from newMatcher on each case.
func checkResponses(t *testing.T, newMatcher func() types.GomegaMatcher, cases []responseCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			verdict(t, newMatcher(), tt.actual, tt.match, tt.want...)
		})
	}
}

func TestHaveStatus(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		actual   csapi.Response
		match    bool
		want     []string
	}{
		{"the one status", []int{200}, resp(200, `{}`), true, nil},
		{"one of several", []int{200, 201}, resp(201, `{}`), true, nil},
		{"wrong status", []int{200}, resp(500, `{"errcode":"M_UNKNOWN"}`), false, []string{"200", "500", "M_UNKNOWN"}},
		{"none of several", []int{401, 403}, resp(200, `{}`), false, []string{"401", "403", "Actual: 200"}},
		{"no status at all", []int{200}, csapi.Response{}, false, []string{"200", "Actual: 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verdict(t, match.HaveStatus(tt.statuses...), tt.actual, tt.match, tt.want...)
		})
	}
}

func TestHaveStatusThroughGomega(t *testing.T) {
	g := gomega.NewWithT(t)
	g.Expect(resp(200, `{}`)).To(match.HaveStatus(200))
	g.Expect(resp(404, `{}`)).NotTo(match.HaveStatus(200))
	if msg := assertion(resp(404, `{}`), false, match.HaveStatus(200)); !strings.Contains(msg, "404") {
		t.Errorf("Gomega failure message does not show the status seen: %q", msg)
	}
	if msg := assertion("not a response", false, match.HaveStatus(200)); msg == "" {
		t.Error("HaveStatus accepted a value that is not a csapi.Response")
	}
}

func TestHaveError(t *testing.T) {
	forbidden := `{"errcode":"M_FORBIDDEN","error":"no"}`
	checkResponses(t, func() types.GomegaMatcher { return match.HaveError(403, "M_FORBIDDEN") }, []responseCase{
		{"status and errcode", resp(403, forbidden), true, nil},
		{"wrong status", resp(401, forbidden), false, []string{"403", "M_FORBIDDEN", "Actual: 401"}},
		{"wrong errcode", resp(403, `{"errcode":"M_UNKNOWN"}`), false, []string{"403", "M_FORBIDDEN", "M_UNKNOWN"}},
		{"success instead", resp(200, `{}`), false, []string{"M_FORBIDDEN", "Actual: 200"}},
		{"no errcode", resp(403, `{"error":"no"}`), false, []string{"M_FORBIDDEN", "403"}},
		{"not JSON", resp(403, `Forbidden`), false, []string{"M_FORBIDDEN", "Forbidden"}},
	})
}

func TestHaveJSONKeys(t *testing.T) {
	checkResponses(t, func() types.GomegaMatcher { return match.HaveJSONKeys("user_id", "access_token") }, []responseCase{
		{"all keys", resp(200, `{"user_id":"@a:hs","access_token":"t","extra":1}`), true, nil},
		{"201 is 2xx", resp(201, `{"user_id":"@a:hs","access_token":"t"}`), true, nil},
		{"missing key", resp(200, `{"user_id":"@a:hs"}`), false, []string{"user_id", "access_token", "Actual: 200"}},
		{"empty string value", resp(200, `{"user_id":"@a:hs","access_token":""}`), false, []string{"access_token", `"access_token":""`}},
		{"not a string", resp(200, `{"user_id":"@a:hs","access_token":42}`), false, []string{"access_token", "42"}},
		{"null value", resp(200, `{"user_id":"@a:hs","access_token":null}`), false, []string{"access_token"}},
		{"error status with keys", resp(400, `{"user_id":"@a:hs","access_token":"t"}`), false, []string{"2xx", "Actual: 400"}},
		{"not JSON", resp(200, `<html>`), false, []string{"user_id", "<html>"}},
		{"JSON array", resp(200, `["user_id","access_token"]`), false, []string{"user_id"}},
	})
}

func TestNotHaveJSONKeys(t *testing.T) {
	checkResponses(t, func() types.GomegaMatcher { return match.NotHaveJSONKeys("access_token", "device_id") }, []responseCase{
		{"none present", resp(200, `{"user_id":"@a:hs"}`), true, nil},
		{"empty object", resp(200, `{}`), true, nil},
		{"one present", resp(200, `{"user_id":"@a:hs","access_token":"t"}`), false, []string{"access_token", "device_id", `"access_token":"t"`}},
		{"present but null", resp(200, `{"device_id":null}`), false, []string{"device_id", "null"}},
		{"present but empty", resp(200, `{"access_token":""}`), false, []string{"access_token"}},
	})
	t.Run("not JSON is an error, not a pass", func(t *testing.T) {
		ok, err := match.NotHaveJSONKeys("access_token").Match(resp(200, `access_token=t`))
		if ok || err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Fatalf("Match = %v, %v; want false and an error saying the body is not a JSON object", ok, err)
		}
	})
}

func TestNegatedFailureMessagesSayNot(t *testing.T) {
	tests := []struct {
		name   string
		m      types.GomegaMatcher
		actual csapi.Response
	}{
		{"HaveStatus", match.HaveStatus(200), resp(200, `{}`)},
		{"HaveError", match.HaveError(403, "M_FORBIDDEN"), resp(403, `{"errcode":"M_FORBIDDEN"}`)},
		{"HaveJSONKeys", match.HaveJSONKeys("user_id"), resp(200, `{"user_id":"@a:hs"}`)},
		{"NotHaveJSONKeys", match.NotHaveJSONKeys("user_id"), resp(200, `{}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// NotTo(m) fails on this input; its message must not read as if To(m) had failed.
			msg := assertion(tt.actual, true, tt.m)
			if msg == "" {
				t.Fatal("NotTo passed on an input the matcher accepts")
			}
			if msg == tt.m.FailureMessage(tt.actual) {
				t.Errorf("negated failure message reads like the positive one:\n%s", msg)
			}
		})
	}
}

const hsToken = "Zm9vYmFyLXNlY3JldC1ocy10b2tlbg"

func exchange(method, path string, header http.Header, query url.Values, body string) recorder.Exchange {
	return recorder.Exchange{Method: method, Path: path, Header: header, Query: query, Body: []byte(body)}
}

func auth(v string) http.Header { return http.Header{"Authorization": {v}} }

func TestBeBearer(t *testing.T) {
	const path = "/_matrix/app/v1/transactions/1"
	tests := []struct {
		name   string
		actual recorder.Exchange
		match  bool
		want   []string
		bug    string
	}{
		{"bearer hs_token", exchange("PUT", path, auth("Bearer "+hsToken), nil, ""), true, nil, ""},
		{"bearer hs_token, unrelated query", exchange("PUT", path, auth("Bearer "+hsToken), url.Values{"user_id": {"@a:hs"}}, ""), true, nil, ""},
		{"token in query string only", exchange("PUT", path, nil, url.Values{"access_token": {hsToken}}, ""), false,
			[]string{"Bearer <hs_token>", "no Authorization header", "access_token query parameter present", "PUT " + path}, ""},
		{"no token at all", exchange("PUT", path, http.Header{}, nil, ""), false, []string{"no Authorization header"}, ""},
		{"wrong scheme", exchange("PUT", path, auth("Basic "+hsToken), nil, ""), false,
			[]string{`scheme "Basic"`, "is the hs_token"}, ""},
		{"wrong token", exchange("PUT", path, auth("Bearer not-the-token"), nil, ""), false,
			[]string{`scheme "Bearer"`, "not the hs_token"}, ""},
		{"header and query both, header wrong", exchange("PUT", path, auth("Bearer nope"), url.Values{"access_token": {hsToken}}, ""), false,
			[]string{"not the hs_token", "access_token query parameter present"}, ""},
		{"empty bearer", exchange("PUT", path, auth("Bearer "), nil, ""), false, []string{"not the hs_token"}, ""},
		{"bare token without a scheme", exchange("PUT", path, auth(hsToken), nil, ""), false,
			[]string{"Bearer <hs_token>"}, "match/match.go bearer.FailureMessage (scheme taken as the whole header)"},
		{"scheme glued to the token", exchange("PUT", path, auth("Bearer"+hsToken), nil, ""), false,
			[]string{"Bearer <hs_token>"}, "match/match.go bearer.FailureMessage (scheme taken as the whole header)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := match.BeBearer(hsToken)
			msg := verdict(t, m, tt.actual, tt.match, tt.want...)
			for _, text := range []string{msg, m.NegatedFailureMessage(tt.actual)} {
				if strings.Contains(text, hsToken) {
					t.Errorf("message reveals the token:\n%s", text)
				}
			}
		})
	}
	t.Run("not an exchange", func(t *testing.T) {
		if ok, err := match.BeBearer(hsToken).Match(csapi.Response{Status: 200}); ok || err == nil {
			t.Fatalf("Match = %v, %v; want false and an error", ok, err)
		}
	})
	t.Run("through Gomega", func(t *testing.T) {
		good := exchange("PUT", path, auth("Bearer "+hsToken), nil, "")
		bad := exchange("PUT", path, nil, url.Values{"access_token": {hsToken}}, "")
		if msg := assertion(good, false, match.BeBearer(hsToken)); msg != "" {
			t.Errorf("good exchange rejected: %s", msg)
		}
		if msg := assertion(bad, true, match.BeBearer(hsToken)); msg != "" {
			t.Errorf("NotTo(BeBearer) rejected an exchange without the Bearer token: %s", msg)
		}
		msg := assertion(bad, false, match.BeBearer(hsToken))
		if msg == "" || strings.Contains(msg, hsToken) {
			t.Errorf("want a failure that does not reveal the token, got %q", msg)
		}
	})
}

const goodEvent = `{"event_id":"$e","type":"m.room.message","room_id":"!r:hs","sender":"@a:hs","origin_server_ts":1,"content":{"body":"hi"}}`

func TestTransactionProblems(t *testing.T) {
	const path = "/_matrix/app/v1/transactions/txn1"
	tests := []struct {
		name   string
		actual recorder.Exchange
		want   []string // each must appear in one of the problems; none means no problems
	}{
		{"well formed", exchange("PUT", path, nil, nil, `{"events":[`+goodEvent+`]}`), nil},
		{"no events is still a transaction", exchange("PUT", path, nil, nil, `{"events":[]}`), nil},
		{"with ephemeral", exchange("PUT", path, nil, nil, `{"events":[],"ephemeral":[{"type":"m.typing"}]}`), nil},
		{"POST instead of PUT", exchange("POST", path, nil, nil, `{"events":[]}`), []string{"method POST, want PUT"}},
		{"path without txnId", exchange("PUT", "/_matrix/app/v1/transactions/", nil, nil, `{"events":[]}`), []string{"path /_matrix/app/v1/transactions/,", "{txnId}"}},
		{"path with extra segment", exchange("PUT", path+"/x", nil, nil, `{"events":[]}`), []string{"path " + path + "/x"}},
		{"legacy path", exchange("PUT", "/transactions/txn1", nil, nil, `{"events":[]}`), []string{"path /transactions/txn1"}},
		{"body without events", exchange("PUT", path, nil, nil, `{"ephemeral":[]}`), []string{"no events array"}},
		{"events is null", exchange("PUT", path, nil, nil, `{"events":null}`), []string{"no events array"}},
		{"events is not an array", exchange("PUT", path, nil, nil, `{"events":{}}`), []string{"not a JSON object with an events array"}},
		{"event lacking sender", exchange("PUT", path, nil, nil, `{"events":[`+goodEvent+`,{"event_id":"$f","type":"t","room_id":"!r:hs","origin_server_ts":1,"content":{}}]}`),
			[]string{"events[1] lacks sender"}},
		{"event lacking everything", exchange("PUT", path, nil, nil, `{"events":[{}]}`),
			[]string{"events[0] lacks event_id", "lacks type", "lacks room_id", "lacks sender", "lacks origin_server_ts", "lacks content"}},
		{"non-JSON body", exchange("PUT", path, nil, nil, `events=1`), []string{"body is not a JSON object"}},
		{"empty body", exchange("PUT", path, nil, nil, ``), []string{"body is not a JSON object"}},
		{"several problems at once", exchange("POST", "/x", nil, nil, `nope`), []string{"method POST", "path /x", "not a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := match.TransactionProblems(tt.actual)
			joined := strings.Join(problems, "\n")
			if len(tt.want) == 0 && len(problems) > 0 {
				t.Fatalf("want no problems, got:\n%s", joined)
			}
			if len(tt.want) > 0 && len(problems) == 0 {
				t.Fatalf("want problems mentioning %q, got none", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("problems do not mention %q:\n%s", w, joined)
				}
			}

			ok, err := match.BeTransaction().Match(tt.actual)
			if len(tt.want) == 0 {
				if !ok || err != nil {
					t.Errorf("BeTransaction().Match = %v, %v; want true", ok, err)
				}
				return
			}
			if ok {
				t.Fatal("BeTransaction accepted a malformed transaction")
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			} else {
				msg = match.BeTransaction().FailureMessage(tt.actual)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("BeTransaction failure does not mention %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestBeTransactionThroughGomega(t *testing.T) {
	good := exchange("PUT", "/_matrix/app/v1/transactions/t", nil, nil, `{"events":[`+goodEvent+`]}`)
	bad := exchange("POST", "/_matrix/app/v1/transactions/t", nil, nil, `{"events":[]}`)
	if msg := assertion(good, false, match.BeTransaction()); msg != "" {
		t.Errorf("To(BeTransaction()) rejected a good transaction: %s", msg)
	}
	if msg := assertion(bad, false, match.BeTransaction()); !strings.Contains(msg, "method POST, want PUT") {
		t.Errorf("To(BeTransaction()) failure does not say what was wrong: %q", msg)
	}
	if msg := assertion(good, true, match.BeTransaction()); msg == "" {
		t.Error("NotTo(BeTransaction()) accepted a good transaction")
	}
	if msg := assertion(csapi.Response{}, false, match.BeTransaction()); msg == "" {
		t.Error("BeTransaction accepted a value that is not a recorder.Exchange")
	}
	t.Run("negation of a malformed transaction", func(t *testing.T) {
		if msg := assertion(bad, true, match.BeTransaction()); msg != "" {
			t.Errorf("NotTo(BeTransaction()) failed for a POST, which is not a transaction: %s", msg)
		}
	})
}
