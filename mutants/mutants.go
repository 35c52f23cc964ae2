// Package mutants breaks a real homeserver on purpose, from the outside, so
// that every homeserver spec can be shown able to fail: a mutant rewrites
// the client-server traffic between the specs and the SUT, or the pushes
// between the SUT and the fake AS, to imitate a realistic bug.
package mutants

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Mutant is one named bug. Killers lists the requirement IDs whose specs
// should catch it.
type Mutant struct {
	Name    string
	Bug     string
	Killers []string
	// Request rewrites a client-server request before the SUT sees it.
	Request func(*http.Request)
	// Response rewrites the SUT's client-server answer.
	Response func(req *http.Request, status int, body map[string]any) (int, map[string]any)
	// Push rewrites a request from the SUT before the fake AS sees it.
	Push func(*http.Request)
}

var catalogue = []Mutant{
	{
		Name: "register-drops-device-id", Bug: "AS registration answers without device_id",
		Killers: []string{"HS-LOGIN-01"},
		Response: onPath("/register", func(status int, body map[string]any) (int, map[string]any) {
			delete(body, "device_id")
			return status, body
		}),
	},
	{
		Name: "register-ignores-inhibit-login", Bug: "inhibit_login still returns a token",
		Killers: []string{"HS-LOGIN-02"},
		Response: onPath("/register", func(status int, body map[string]any) (int, map[string]any) {
			if status == http.StatusOK {
				body["access_token"], body["device_id"] = "syt_mutant", "MUTANT"
			}
			return status, body
		}),
	},
	{
		Name: "exclusive-as-forbidden", Bug: "namespace clashes on register answer M_FORBIDDEN instead of M_EXCLUSIVE",
		Killers: []string{"HS-NS-01", "HS-NS-02"},
		Response: onPath("/register", func(status int, body map[string]any) (int, map[string]any) {
			if body["errcode"] == "M_EXCLUSIVE" {
				body["errcode"] = "M_FORBIDDEN"
			}
			return status, body
		}),
	},
	{
		Name: "aliases-not-exclusive", Bug: "anyone may create aliases in exclusive namespaces",
		Killers: []string{"HS-NS-03", "HS-NS-04"},
		Response: onPath("/directory/room/", func(status int, body map[string]any) (int, map[string]any) {
			if body["errcode"] == "M_EXCLUSIVE" {
				return http.StatusOK, map[string]any{}
			}
			return status, body
		}),
	},
	{
		Name: "user-id-ignored", Bug: "identity assertion ignored: requests act as the AS's sender",
		Killers: []string{"HS-ID-01"},
		Request: func(r *http.Request) { dropQuery(r, "user_id") },
	},
	{
		Name: "user-id-outside-allowed", Bug: "user_id outside the namespace is accepted",
		Killers: []string{"HS-ID-02"},
		Response: onPath("/account/whoami", func(status int, body map[string]any) (int, map[string]any) {
			if body["errcode"] == "M_FORBIDDEN" {
				return http.StatusOK, map[string]any{"user_id": "@someone:else"}
			}
			return status, body
		}),
	},
	{
		Name: "ts-ignored", Bug: "ts query parameter ignored on send",
		Killers: []string{"HS-TS-01"},
		Request: func(r *http.Request) { dropQuery(r, "ts") },
	},
	{
		Name: "token-in-query-only", Bug: "hs_token sent as access_token query parameter, not Authorization",
		Killers: []string{"HS-TXN-02"},
		Push: func(r *http.Request) {
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				r.Header.Del("Authorization")
				q := r.URL.Query()
				q.Set("access_token", tok)
				r.URL.RawQuery = q.Encode()
			}
		},
	},
	{
		Name: "events-lack-sender", Bug: "pushed events are not client-format: no sender",
		Killers: []string{"HS-TXN-03"},
		Push: func(r *http.Request) {
			editJSON(r, func(body map[string]any) {
				events, _ := body["events"].([]any)
				for _, ev := range events {
					if m, ok := ev.(map[string]any); ok {
						delete(m, "sender")
					}
				}
			})
		},
	},
	{
		Name: "txn-id-reused", Bug: "every transaction gets the same ID",
		Killers: []string{"HS-TXN-04"},
		Push: func(r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
				r.URL.Path = "/_matrix/app/v1/transactions/1"
				r.URL.RawPath = ""
			}
		},
	},
	{
		Name: "txn-wrong-method", Bug: "transactions are POSTed instead of PUT",
		Killers: []string{"HS-TXN-01"},
		Push: func(r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
				r.Method = http.MethodPost
			}
		},
	},
}

// All returns the mutants, sorted by name.
func All() []Mutant {
	out := append([]Mutant(nil), catalogue...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a mutant by name.
func Lookup(name string) (Mutant, bool) {
	for _, m := range catalogue {
		if m.Name == name {
			return m, true
		}
	}
	return Mutant{}, false
}

func onPath(fragment string, f func(int, map[string]any) (int, map[string]any)) func(*http.Request, int, map[string]any) (int, map[string]any) {
	return func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
		if !strings.Contains(r.URL.Path, fragment) {
			return status, body
		}
		return f(status, body)
	}
}

func dropQuery(r *http.Request, key string) {
	q := r.URL.Query()
	q.Del(key)
	r.URL.RawQuery = q.Encode()
}

// editJSON rewrites a JSON object request body in place.
func editJSON(r *http.Request, edit func(map[string]any)) {
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	if json.Unmarshal(data, &body) == nil {
		edit(body)
		data, _ = json.Marshal(body)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))
}

// Proxy serves the client-server API of target through the mutant.
func (m Mutant) Proxy(target string) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return &proxy{target: u, mutant: m}, nil
}
