// Package match is the suites' matcher vocabulary: Gomega matchers over
// client-server responses and recorded exchanges. Each failure message says
// what was acceptable and what actually happened.
package match

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
)

// HaveStatus matches a response with one of the given HTTP statuses.
func HaveStatus(statuses ...int) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r csapi.Response) (bool, error) {
		return slices.Contains(statuses, r.Status), nil
	}).WithTemplate("{{if not .Failure}}NOT: {{end}}Expected status {{.Data}}\nActual: {{.Actual}}", statuses)
}

// HaveError matches a Matrix error response with the given status and errcode.
func HaveError(status int, errcode string) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r csapi.Response) (bool, error) {
		return r.Status == status && r.ErrCode() == errcode, nil
	}).WithTemplate("{{if not .Failure}}NOT: {{end}}Expected {{index .Data 0}} with errcode {{index .Data 1}}\nActual: {{.Actual}}", []any{status, errcode})
}

// HaveJSONKeys matches a 2xx response whose JSON object has every key,
// with a string value that is not empty.
func HaveJSONKeys(keys ...string) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r csapi.Response) (bool, error) {
		missing := missingKeys(r.Body, keys)
		return r.Status/100 == 2 && len(missing) == 0, nil
	}).WithTemplate("{{if not .Failure}}NOT: {{end}}Expected a 2xx JSON object with non-empty string fields {{.Data}}\nActual: {{.Actual}}", keys)
}

// NotHaveJSONKeys matches a JSON object where none of the keys is present.
func NotHaveJSONKeys(keys ...string) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r csapi.Response) (bool, error) {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			return false, fmt.Errorf("body is not a JSON object: %w", err)
		}
		for _, k := range keys {
			if _, ok := m[k]; ok {
				return false, nil
			}
		}
		return true, nil
	}).WithTemplate("{{if not .Failure}}NOT: {{end}}Expected none of the fields {{.Data}}\nActual: {{.Actual}}", keys)
}

func missingKeys(body []byte, keys []string) []string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return keys
	}
	var missing []string
	for _, k := range keys {
		if s, ok := m[k].(string); !ok || s == "" {
			missing = append(missing, k)
		}
	}
	return missing
}

// BeBearer matches an exchange whose Authorization header is "Bearer token".
func BeBearer(token string) types.GomegaMatcher { return bearer{token} }

type bearer struct{ token string }

func (b bearer) Match(actual any) (bool, error) {
	e, ok := actual.(recorder.Exchange)
	if !ok {
		return false, fmt.Errorf("BeBearer wants a recorder.Exchange, got %T", actual)
	}
	return e.Header.Get("Authorization") == "Bearer "+b.token, nil
}

func (b bearer) FailureMessage(actual any) string {
	e, _ := actual.(recorder.Exchange)
	h := e.Header.Get("Authorization")
	seen := "no Authorization header"
	if h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if !found {
			scheme, tok = "", h
		}
		seen = fmt.Sprintf("Authorization scheme %q with a token that is %s", scheme, map[bool]string{true: "the hs_token", false: "not the hs_token"}[tok == b.token])
	}
	if e.Query.Get("access_token") != "" {
		seen += "; access_token query parameter present"
	}
	return fmt.Sprintf("%s %s\nExpected: Authorization: Bearer <hs_token>\nActual: %s", e.Method, e.Path, seen)
}

func (b bearer) NegatedFailureMessage(any) string {
	return "Expected the request not to carry the hs_token as a Bearer token"
}

// BeTransaction matches a PUT to /_matrix/app/v1/transactions/{txnId} with a
// non-empty txnId and a JSON body whose "events" is an array of
// client-format events (event_id, type, room_id, sender, origin_server_ts,
// content).
func BeTransaction() types.GomegaMatcher {
	return txnMatcher{}
}

type txnMatcher struct{}

func (txnMatcher) Match(actual any) (bool, error) {
	e, ok := actual.(recorder.Exchange)
	if !ok {
		return false, fmt.Errorf("BeTransaction wants a recorder.Exchange, got %T", actual)
	}
	return len(TransactionProblems(e)) == 0, nil
}

func (txnMatcher) FailureMessage(actual any) string {
	e, _ := actual.(recorder.Exchange)
	return "not a well-formed transaction: " + strings.Join(TransactionProblems(e), "; ")
}

func (txnMatcher) NegatedFailureMessage(actual any) string {
	e, _ := actual.(recorder.Exchange)
	return "Expected " + e.Method + " " + e.Path + " not to be a well-formed transaction"
}

// TransactionProblems lists what is wrong with a transaction request.
func TransactionProblems(e recorder.Exchange) []string {
	var problems []string
	const prefix = "/_matrix/app/v1/transactions/"
	if e.Method != "PUT" {
		problems = append(problems, "method "+e.Method+", want PUT")
	}
	if id, ok := strings.CutPrefix(e.Path, prefix); !ok || id == "" || strings.Contains(id, "/") {
		problems = append(problems, "path "+e.Path+", want "+prefix+"{txnId}")
	}
	var body struct {
		Events *[]map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(e.Body, &body); err != nil {
		return append(problems, "body is not a JSON object with an events array: "+err.Error())
	}
	if body.Events == nil {
		return append(problems, "body has no events array")
	}
	for i, ev := range *body.Events {
		for _, key := range []string{"event_id", "type", "room_id", "sender", "origin_server_ts", "content"} {
			if _, ok := ev[key]; !ok {
				problems = append(problems, fmt.Sprintf("events[%d] lacks %s", i, key))
			}
		}
	}
	return problems
}

// BeJSONObject matches a body ([]byte) that is one JSON object: what the
// schemas of an acknowledgement or a ping answer ask for, with any fields.
func BeJSONObject() types.GomegaMatcher { return jsonObjectMatcher{} }

type jsonObjectMatcher struct{}

func (jsonObjectMatcher) Match(actual any) (bool, error) {
	data, ok := actual.([]byte)
	if !ok {
		return false, fmt.Errorf("BeJSONObject wants []byte, got %T", actual)
	}
	var obj map[string]json.RawMessage
	return json.Unmarshal(data, &obj) == nil && obj != nil, nil
}

func (jsonObjectMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("Expected a JSON object\nActual: %s", actual)
}

func (jsonObjectMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("Expected no JSON object\nActual: %s", actual)
}
