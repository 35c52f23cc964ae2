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
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Mutant is one named bug. Killers lists the requirement IDs whose specs
// should catch it; Because is what a killing spec's failure message says (a
// case-insensitive regular expression naming what the mutant broke).
type Mutant struct {
	Name    string
	Bug     string
	Killers []string
	Because string
	// Request rewrites a client-server request before the SUT sees it.
	Request func(*http.Request)
	// Response rewrites the SUT's client-server answer to the request as
	// the SUT received it (after Request).
	Response func(req *http.Request, status int, body map[string]any) (int, map[string]any)
	// Push rewrites a request from the SUT before the fake AS sees it.
	Push func(*http.Request)
}

var catalogue = []Mutant{
	{
		Name: "register-drops-device-id", Bug: "AS registration answers without device_id",
		Killers: []string{"HS-LOGIN-01"},
		Because: `non-empty string fields \[user_id access_token device_id\]\s+Actual: 200`,
		Response: onPath("/register", func(status int, body map[string]any) (int, map[string]any) {
			delete(body, "device_id")
			return status, body
		}),
	},
	{
		Name: "register-ignores-inhibit-login", Bug: "inhibit_login still returns a token",
		Killers: []string{"HS-LOGIN-02"},
		Because: `none of the fields \[access_token device_id\]\s+Actual: 200`,
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
		Because: `400 with errcode M_EXCLUSIVE\s+Actual: 400 \{"errcode":"M_FORBIDDEN"`,
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
		Because: `400 with errcode M_EXCLUSIVE\s+Actual: 200`,
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
		Because: `@asc\d+-bot:\S+\s+to equal\s+<string>: @asc\d+_`,
		Request: func(r *http.Request) { dropQuery(r, "user_id") },
	},
	{
		Name: "deactivate-pretends", Bug: "deactivation answers 200 but leaves the account usable",
		Killers: []string{"HS-ID-04"},
		Because: `a deactivated user logged in`,
		Request: func(r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/account/deactivate") {
				r.URL.Path += "_not_really"
				r.URL.RawPath = ""
			}
		},
		Response: onPath("/account/deactivate", func(int, map[string]any) (int, map[string]any) {
			return http.StatusOK, map[string]any{"id_server_unbind_result": "no-support"}
		}),
	},
	{
		Name: "user-id-outside-allowed", Bug: "user_id outside the namespace is accepted",
		Killers: []string{"HS-ID-02"},
		Because: `403 with errcode M_FORBIDDEN\s+Actual: 200`,
		Response: onPath("/account/whoami", func(status int, body map[string]any) (int, map[string]any) {
			if body["errcode"] == "M_FORBIDDEN" {
				return http.StatusOK, map[string]any{"user_id": "@someone:else"}
			}
			return status, body
		}),
	},
	{
		Name: "ts-ignored", Bug: "ts query parameter ignored on send",
		Killers: []string{"HS-TS-01", "HS-TS-02"},
		Because: `origin_server_ts seen by a client|keeps its IRC time|origin_server_ts of the state event`,
		Request: func(r *http.Request) { dropQuery(r, "ts") },
	},
	{
		Name: "token-in-query-only", Bug: "hs_token sent as access_token query parameter, not Authorization",
		Killers: []string{"HS-TXN-02"},
		Because: `no Authorization header; access_token query parameter present`,
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
		Because: `events\[\d+\] lacks sender`,
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
		Because: `Expected\s+<int>: 1\s+to be >=\s+<int>: 3`,
		Push: func(r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
				r.URL.Path = "/_matrix/app/v1/transactions/1"
				r.URL.RawPath = ""
			}
		},
	},
	{
		Name: "ping-url-not-set-as-failure", Bug: "a ping of an AS without url is answered 502 M_CONNECTION_FAILED, not 400 M_URL_NOT_SET",
		Killers: []string{"HS-PING-03"},
		Because: `pinging an AS whose registration has no url`,
		Response: onPath("/ping", func(status int, body map[string]any) (int, map[string]any) {
			if body["errcode"] == "M_URL_NOT_SET" {
				return http.StatusBadGateway, map[string]any{"errcode": "M_CONNECTION_FAILED", "error": "mutant: no url"}
			}
			return status, body
		}),
	},
	{
		Name: "txn-wrong-method", Bug: "transactions are POSTed instead of PUT",
		Killers: []string{"HS-TXN-01"},
		Because: `method POST, want PUT`,
		Push: func(r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
				r.Method = http.MethodPost
			}
		},
	},
}

func init() {
	retried, extra, twice := newHistory(), newHistory(), newHistory()
	catalogue = append(catalogue,
		Mutant{
			Name: "retry-new-txn-id", Bug: "a retried transaction gets a new transaction ID",
			Killers: []string{"HS-TXN-05"},
			Because: `sent under a new transaction ID "[^"]+r" instead of`,
			Push: func(r *http.Request) {
				id, ok := strings.CutPrefix(r.URL.Path, "/_matrix/app/v1/transactions/")
				if ok && retried.again(r.Host+id) {
					r.URL.Path += "r"
					r.URL.RawPath = ""
				}
			},
		},
		Mutant{
			Name: "retry-adds-event", Bug: "a retried transaction carries an extra event",
			Killers: []string{"HS-TXN-05"},
			Because: `retry \d+ of transaction "[^"]+" does not hold the same events`,
			Push: func(r *http.Request) {
				id, ok := strings.CutPrefix(r.URL.Path, "/_matrix/app/v1/transactions/")
				if !ok || !extra.again(r.Host+id) {
					return
				}
				editJSON(r, func(body map[string]any) {
					events, _ := body["events"].([]any)
					body["events"] = append(events, map[string]any{
						"event_id": "$mutant", "type": "m.room.message", "room_id": "!mutant:x",
						"sender": "@mutant:x", "origin_server_ts": 1, "content": map[string]any{},
					})
				})
			},
		},
		Mutant{
			Name: "events-delivered-twice", Bug: "events of an acknowledged transaction are sent again in the next one",
			Killers: []string{"HS-TXN-07", "HS-TXN-08", "HS-TXN-05"},
			Because: `was delivered in \d+ different transactions`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					events, _ := body["events"].([]any)
					body["events"] = append(twice.swapLast(events), events...)
				})
			},
		},
		Mutant{
			Name: "drops-batched-events", Bug: "only the first event of a batch is delivered",
			Killers: []string{"HS-TXN-08", "HS-TXN-07"},
			Because: `was never delivered in an acknowledged transaction`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					if events, _ := body["events"].([]any); len(events) > 1 {
						body["events"] = events[:1]
					}
				})
			},
		},
	)
}

func init() {
	errcodeSwap := func(fragment, from, to string) func(*http.Request, int, map[string]any) (int, map[string]any) {
		return onPath(fragment, func(status int, body map[string]any) (int, map[string]any) {
			if body["errcode"] == from {
				body["errcode"] = to
			}
			return status, body
		})
	}
	catalogue = append(catalogue,
		Mutant{
			Name: "alias-query-skipped", Bug: "joins of unknown aliases in an AS namespace never reach the AS",
			Killers: []string{"HS-QRY-04", "HS-QRY-03"},
			Because: `exactly one rooms request to the AS|the join was answered before the AS answered the query`,
			Request: func(r *http.Request) {
				if before, alias, ok := strings.Cut(r.URL.Path, "/join/#"); ok {
					r.URL.Path = before + "/join/#elsewhere_" + alias
					r.URL.RawPath = ""
				}
			},
		},
		Mutant{
			Name: "alias-404-joins-anyway", Bug: "a join succeeds although the AS denied the alias",
			Killers: []string{"HS-QRY-04"},
			Because: `404 with errcode M_NOT_FOUND\s+Actual: 200`,
			Response: onPath("/join/", func(status int, body map[string]any) (int, map[string]any) {
				if body["errcode"] == "M_NOT_FOUND" {
					return http.StatusOK, map[string]any{"room_id": "!mutant:x"}
				}
				return status, body
			}),
		},
		Mutant{
			Name: "ping-bad-status-code", Bug: "an AS error on ping is reported as M_UNKNOWN",
			Killers:  []string{"HS-PING-04"},
			Because:  `M_BAD_STATUS\s+Actual: 502 .*"errcode":"M_UNKNOWN"`,
			Response: errcodeSwap("/ping", "M_BAD_STATUS", "M_UNKNOWN"),
		},
		Mutant{
			Name: "ping-connection-failed-code", Bug: "an unreachable AS is reported as M_BAD_STATUS",
			Killers:  []string{"HS-PING-05"},
			Because:  `M_CONNECTION_FAILED\s+Actual: 502 \{"errcode":"M_BAD_STATUS"`,
			Response: errcodeSwap("/ping", "M_CONNECTION_FAILED", "M_BAD_STATUS"),
		},
		Mutant{
			Name: "ping-timeout-code", Bug: "an AS that does not answer the ping in time is reported as unreachable",
			Killers:  []string{"HS-PING-06"},
			Because:  `M_CONNECTION_TIMEOUT\s+Actual: 504 \{"errcode":"M_CONNECTION_FAILED"`,
			Response: errcodeSwap("/ping", "M_CONNECTION_TIMEOUT", "M_CONNECTION_FAILED"),
		},
		Mutant{
			Name: "query-timeout-not-found", Bug: "a join or invite whose query timed out is answered 404 instead of 408",
			Killers: []string{"HS-QRY-06"},
			Because: `Expected status \[408\]\s+Actual: 404`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if status == http.StatusRequestTimeout && (strings.Contains(r.URL.Path, "/join/") || strings.HasSuffix(r.URL.Path, "/invite")) {
					return http.StatusNotFound, map[string]any{"errcode": "M_NOT_FOUND", "error": "no such alias or user"}
				}
				return status, body
			},
		},
		Mutant{
			Name: "ping-any-as-token", Bug: "any AS may ping any other AS",
			Killers: []string{"HS-PING-02"},
			Because: `403 with errcode M_FORBIDDEN\s+Actual: 200`,
			Response: onPath("/ping", func(status int, body map[string]any) (int, map[string]any) {
				if body["errcode"] == "M_FORBIDDEN" {
					return http.StatusOK, map[string]any{"duration_ms": 1}
				}
				return status, body
			}),
		},
		Mutant{
			Name: "ephemeral-without-room-id", Bug: "typing and receipts are pushed without their room_id",
			Killers: []string{"HS-EPH-06", "HS-EPH-01"},
			Because: `no m.typing with room_id \S+ arrived in an ephemeral array`,
			Push: func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					editJSON(r, func(body map[string]any) {
						eph, _ := body["ephemeral"].([]any)
						for _, e := range eph {
							if m, ok := e.(map[string]any); ok {
								delete(m, "room_id")
							}
						}
					})
				}
			},
		},
		Mutant{
			Name: "ephemeral-to-everyone", Bug: "ephemeral data also goes to services that did not opt in",
			Killers: []string{"HS-EPH-02"},
			Because: `an AS without receive_ephemeral got ephemeral data`,
			Push: func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					editJSON(r, func(body map[string]any) {
						if _, ok := body["ephemeral"]; !ok {
							body["ephemeral"] = []any{map[string]any{"type": "m.presence", "content": map[string]any{}}}
						}
					})
				}
			},
		},
		Mutant{
			Name: "thirdparty-drops-fields", Bug: "the client's search fields are not handed to the AS",
			Killers: []string{"HS-3PE-01"},
			Because: `the search fields were not handed to the AS`,
			Push: func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/thirdparty/user/") {
					r.URL.RawQuery = ""
				}
			},
		},
		Mutant{
			Name: "directory-open-to-users", Bug: "any user may publish rooms in an AS's network directory",
			Killers: []string{"HS-DIR-02"},
			Because: `a normal user must not use the AS directory endpoint`,
			Response: onPath("/directory/list/appservice/", func(status int, body map[string]any) (int, map[string]any) {
				if status >= 400 {
					return http.StatusOK, map[string]any{}
				}
				return status, body
			}),
		},
		Mutant{
			Name: "shared-namespace-reserved", Bug: "non-exclusive namespaces are treated as exclusive",
			Killers: []string{"HS-NS-06"},
			Because: `non-empty string fields \[user_id\]\s+Actual: 400 \{"errcode":"M_EXCLUSIVE"`,
			Response: onPath("/register", func(status int, body map[string]any) (int, map[string]any) {
				if uid, _ := body["user_id"].(string); strings.Contains(uid, "shared_") && !strings.Contains(uid, "bot") {
					return http.StatusBadRequest, map[string]any{"errcode": "M_EXCLUSIVE", "error": "mutant"}
				}
				return status, body
			}),
		},
		Mutant{
			Name: "ping-drops-transaction-id", Bug: "the transaction_id is not passed on to the AS",
			Killers: []string{"HS-PING-01"},
			Because: `the transaction_id handed to the AS`,
			Push: func(r *http.Request) {
				if r.URL.Path == "/_matrix/app/v1/ping" {
					editJSON(r, func(body map[string]any) { delete(body, "transaction_id") })
				}
			},
		},
	)
}

// history is the memory of stateful mutants.
type history struct {
	mu   sync.Mutex
	ids  map[string]bool
	last []any
}

func newHistory() *history { return &history{ids: map[string]bool{}} }

// again reports whether id was seen before, and remembers it.
func (h *history) again(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := h.ids[id]
	h.ids[id] = true
	return seen
}

// swapLast returns the previous batch and remembers this one.
func (h *history) swapLast(events []any) []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.last
	h.last = events
	return prev
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

// Proxy serves the client-server API of the SUT at target() through the
// mutant; target is asked on every request, since a restarted SUT may
// listen on another port.
func (m Mutant) Proxy(target func() string) http.Handler {
	return &proxy{target: target, mutant: m}
}
