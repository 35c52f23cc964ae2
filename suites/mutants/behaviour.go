package mutants

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Service is one fake AS the SUT pushes to, as the mutants that act on the
// homeserver's side of the AS API (asking, pushing, re-sending) know it.
type Service struct {
	Addr             string // where the test process reaches it (host:port)
	Port             string // the port the SUT's registration names
	HSToken, ASToken string
	ExclusiveUsers   []string // regexes
}

var (
	servicesMu sync.Mutex
	services   []Service
	serverName string
)

// SetServices tells the mutants the fake ASes of this run and the
// homeserver's server name.
func SetServices(name string, s []Service) {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	serverName, services = name, s
}

func knownServices() ([]Service, string) {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	return services, serverName
}

// copyHeader marks a request a mutant made itself, so that no mutant acts
// on it again.
const copyHeader = "X-Asconform-Mutant-Copy"

var asClient = &http.Client{Timeout: 5 * time.Second}

// send makes a request to a fake AS as the homeserver would, and waits for
// the answer.
func send(method, target, token string, body []byte) {
	req, err := http.NewRequestWithContext(context.Background(), method, target, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(copyHeader, "1")
	if resp, err := asClient.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// peekJSON reads a JSON object body and puts it back.
func peekJSON(r *http.Request) map[string]any {
	if r.Body == nil {
		return nil
	}
	data, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data))
	var body map[string]any
	_ = json.Unmarshal(data, &body)
	return body
}

func readBody(r *http.Request) []byte {
	data, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data
}

// addrOf is where the test process reaches the fake AS that got r: the
// Host a containerised homeserver names (its gateway alias) does not
// resolve here.
func addrOf(r *http.Request) string {
	ases, _ := knownServices()
	for _, s := range ases {
		if s.Port == portOf(r.Host) {
			return s.Addr
		}
	}
	return r.Host
}

var restarts atomic.Int64

// Restarted tells the mutants that the homeserver behind them restarted.
func Restarted() { restarts.Add(1) }

func portOf(hostport string) string {
	_, port, _ := net.SplitHostPort(hostport)
	return port
}

func init() {
	resent, astray, toDeviceTried := newHistory(), newHistory(), newHistory()
	var reuse struct {
		sync.Mutex
		last   map[string]string // AS port -> last transaction ID before a restart
		mapped map[string]string // AS port + ID after the restart -> the ID it reuses
	}
	reuse.last, reuse.mapped = map[string]string{}, map[string]string{}
	var queries sync.WaitGroup // user queries outstanding
	catalogue = append(catalogue,
		Mutant{
			Name: "batch-grouped-by-room", Bug: "a transaction's events are grouped by room, each room's in order, not in stream order",
			Killers: []string{"HS-TXN-07"},
			Because: `not in stream order`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					events, _ := body["events"].([]any)
					room := func(ev any) string {
						m, _ := ev.(map[string]any)
						id, _ := m["room_id"].(string)
						return id
					}
					slices.SortStableFunc(events, func(a, b any) int { return strings.Compare(room(a), room(b)) })
				})
			},
		},
		Mutant{
			Name: "receipts-not-pushed", Bug: "read receipts never reach an AS that opted in to ephemeral data",
			Killers: []string{"HS-EPH-05"},
			Because: `no m.receipt with room_id`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"ephemeral", "de.sorunome.msc2409.ephemeral"} {
						if eph, ok := body[key].([]any); ok {
							body[key] = slices.DeleteFunc(eph, func(e any) bool {
								m, _ := e.(map[string]any)
								return m["type"] == "m.receipt"
							})
						}
					}
				})
			},
		},
		Mutant{
			Name: "presence-not-pushed", Bug: "presence never reaches an AS that opted in to ephemeral data",
			Killers: []string{"HS-EPH-03"},
			Because: `no m.presence of`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"ephemeral", "de.sorunome.msc2409.ephemeral"} {
						if eph, ok := body[key].([]any); ok {
							body[key] = slices.DeleteFunc(eph, func(e any) bool {
								m, _ := e.(map[string]any)
								return m["type"] == "m.presence"
							})
						}
					}
				})
			},
		},
		Mutant{
			Name: "ephemeral-carries-unknown-types", Bug: "the ephemeral array also carries entries of other types",
			Killers: []string{"HS-EPH-08"},
			Because: `the ephemeral array held an entry of type`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"ephemeral", "de.sorunome.msc2409.ephemeral"} {
						if eph, ok := body[key].([]any); ok && len(eph) > 0 {
							body[key] = append(eph, map[string]any{"type": "org.example.mutant", "content": map[string]any{}})
						}
					}
				})
			},
		},
		Mutant{
			Name: "hung-query-holds-delivery", Bug: "while a user query is unanswered, transactions to every AS wait for it (up to 30 s)",
			Killers: []string{"HS-TXN-09"},
			Because: `delivery to another AS was held up`,
			Push: func(r *http.Request) {
				p := r.URL.EscapedPath()
				if strings.HasPrefix(p, "/_matrix/app/v1/users/") {
					// The query is outstanding until the homeserver hangs up.
					queries.Add(1)
					go func() { <-r.Context().Done(); queries.Done() }()
					return
				}
				if !strings.HasPrefix(p, "/_matrix/app/v1/transactions/") || r.Header.Get(copyHeader) != "" {
					return
				}
				done := make(chan struct{})
				go func() { queries.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
				case <-r.Context().Done():
				}
			},
		},
		Mutant{
			Name: "txn-id-reused-after-restart", Bug: "after a restart, transactions reuse the ID of the last transaction sent before it",
			Killers: []string{"HS-TXN-04"},
			Because: `already acknowledged before the restart`,
			Push: func(r *http.Request) {
				id, ok := strings.CutPrefix(r.URL.EscapedPath(), "/_matrix/app/v1/transactions/")
				if !ok || r.Header.Get(copyHeader) != "" {
					return
				}
				reuse.Lock()
				defer reuse.Unlock()
				port := portOf(r.Host)
				if restarts.Load() == 0 {
					reuse.last[port] = id
					return
				}
				to, seen := reuse.mapped[port+"/"+id]
				if !seen {
					to = reuse.last[port]
					reuse.mapped[port+"/"+id] = to
				}
				if to != "" {
					r.URL.Path, r.URL.RawPath = "/_matrix/app/v1/transactions/"+to, ""
				}
			},
		},
		Mutant{
			Name: "queries-users-outside-namespaces", Bug: "the homeserver asks every AS about every invited user, in its namespace or not",
			Killers: []string{"HS-QRY-01"},
			Because: `an AS was asked about @\S+, a user outside every namespace`,
			Request: func(r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/invite") {
					return
				}
				user, _ := peekJSON(r)["user_id"].(string)
				ases, _ := knownServices()
				for _, s := range ases {
					send(http.MethodGet, "http://"+s.Addr+"/_matrix/app/v1/users/"+url.PathEscape(user), s.HSToken, nil)
				}
			},
		},
		Mutant{
			Name: "user-query-skipped", Bug: "invites of unknown users in an AS namespace never reach the AS",
			Killers: []string{"HS-QRY-02"},
			Because: `exactly one users request to the AS`,
			Request: func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/invite") {
					editJSON(r, func(body map[string]any) {
						if user, ok := body["user_id"].(string); ok {
							body["user_id"] = "@elsewhere_" + strings.TrimPrefix(user, "@")
						}
					})
				}
			},
		},
		Mutant{
			Name: "registers-in-other-namespace", Bug: "an AS may register users in another AS's exclusive namespace",
			Killers: []string{"HS-NS-07"},
			Because: `400 with errcode M_EXCLUSIVE\s+Actual: 200`,
			Request: func(r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/register") {
					return
				}
				body := peekJSON(r)
				name, _ := body["username"].(string)
				if body["type"] != "m.login.application_service" || name == "" {
					return
				}
				ases, server := knownServices()
				for _, s := range ases {
					for _, re := range s.ExclusiveUsers {
						if ok, _ := regexp.MatchString("^(?:"+re+")$", "@"+name+":"+server); ok {
							r.Header.Set("Authorization", "Bearer "+s.ASToken) // the owner registers it
							return
						}
					}
				}
			},
		},
		Mutant{
			Name: "pushes-to-every-as", Bug: "each transaction also goes to every other AS, interested or not",
			Killers: []string{"HS-REG-04"},
			Because: `got an event of a room it has no user in`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") || r.Header.Get(copyHeader) != "" {
					return
				}
				body := readBody(r)
				ases, _ := knownServices()
				for _, s := range ases {
					if s.Port != portOf(r.Host) {
						send(http.MethodPut, "http://"+s.Addr+r.URL.EscapedPath()+"c", s.HSToken, body)
					}
				}
			},
		},
		Mutant{
			Name: "push-with-another-hs-token", Bug: "transactions carry another AS's hs_token",
			Killers: []string{"HS-AUTH-01", "HS-TXN-02"},
			Because: `token that is not the hs_token|does not carry its hs_token`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				ases, _ := knownServices()
				for _, s := range ases {
					if s.Port != portOf(r.Host) {
						r.Header.Set("Authorization", "Bearer "+s.HSToken)
						return
					}
				}
			},
		},
		Mutant{
			Name: "retry-sent-twice", Bug: "each retry goes out twice in a row, without backing off in between",
			Killers: []string{"HS-TXN-06"},
			Because: `does not grow over interval`,
			Push: func(r *http.Request) {
				id, ok := strings.CutPrefix(r.URL.Path, "/_matrix/app/v1/transactions/")
				if !ok || r.Header.Get(copyHeader) != "" || !resent.again(r.Host+id) {
					return
				}
				tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				send(r.Method, "http://"+addrOf(r)+r.URL.RequestURI(), tok, readBody(r))
			},
		},
		Mutant{
			Name: "query-asked-once", Bug: "a user or alias query the AS did not answer is not asked again (the repeat goes astray)",
			Killers: []string{"HS-QRY-05"},
			Because: `the homeserver gave up after one unanswered query`,
			Push: func(r *http.Request) {
				p := r.URL.EscapedPath()
				if (strings.HasPrefix(p, "/_matrix/app/v1/users/") || strings.HasPrefix(p, "/_matrix/app/v1/rooms/")) && astray.again(p) {
					r.URL.Path, r.URL.RawPath = "/_matrix/app/v1/astray", ""
				}
			},
		},
		Mutant{
			Name: "to-device-wrong-device", Bug: "to-device messages pushed to the AS name another device in to_device_id (MSC4203)",
			Killers: []string{"HS-TODEV-01"},
			Because: `to_device_id must name the recipient's device`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"to_device", "de.sorunome.msc2409.to_device"} {
						msgs, _ := body[key].([]any)
						for _, m := range msgs {
							if msg, ok := m.(map[string]any); ok {
								msg["to_device_id"] = "MUTANTDEVICE"
							}
						}
					}
				})
			},
		},
		Mutant{
			Name: "to-device-lost-on-retry", Bug: "a retried transaction no longer carries its to-device messages (MSC4203)",
			Killers: []string{"HS-TODEV-02"},
			Because: `the to-device message was lost`,
			Push: func(r *http.Request) {
				id, ok := strings.CutPrefix(r.URL.Path, "/_matrix/app/v1/transactions/")
				if !ok || !toDeviceTried.again(r.Host+id) {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"to_device", "de.sorunome.msc2409.to_device"} {
						if _, ok := body[key]; ok {
							body[key] = []any{}
						}
					}
				})
			},
		},
		Mutant{
			Name: "otk-count-stale", Bug: "one-time key counts in transactions lag one key behind (MSC3202)",
			Killers: []string{"HS-OTK-01"},
			Because: `signed_curve25519 count of the device's unclaimed one-time keys`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"device_one_time_keys_count", "org.matrix.msc3202.device_one_time_keys_count", "org.matrix.msc3202.device_one_time_key_counts"} {
						users, _ := body[key].(map[string]any)
						for _, devices := range users {
							devices, _ := devices.(map[string]any)
							for _, counts := range devices {
								counts, _ := counts.(map[string]any)
								for alg, n := range counts {
									if n, ok := n.(float64); ok && n > 0 {
										counts[alg] = n - 1
									}
								}
							}
						}
					}
				})
			},
		},
		Mutant{
			Name: "device-lists-unchanged", Bug: "device_lists in transactions never lists a changed user (MSC3202)",
			Killers: []string{"HS-DLIST-01"},
			Because: `device_lists.changed must name alice`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"device_lists", "org.matrix.msc3202.device_lists"} {
						if lists, ok := body[key].(map[string]any); ok {
							lists["changed"] = []any{}
						}
					}
				})
			},
		},
		Mutant{
			Name: "fallback-key-types-empty", Bug: "unused fallback key types in transactions are always empty (MSC3202)",
			Killers: []string{"HS-OTK-02"},
			Because: `the unused fallback key types of the device`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
					return
				}
				editJSON(r, func(body map[string]any) {
					for _, key := range []string{"device_unused_fallback_key_types", "org.matrix.msc3202.device_unused_fallback_key_types"} {
						users, _ := body[key].(map[string]any)
						for _, devices := range users {
							devices, _ := devices.(map[string]any)
							for device := range devices {
								devices[device] = []any{}
							}
						}
					}
				})
			},
		},
		Mutant{
			Name: "profile-ignores-user-id", Bug: "profile changes ignore the asserted user_id and act as the AS's sender",
			Killers: []string{"HS-ID-04"},
			Because: `the asserted user's display name`,
			Request: func(r *http.Request) {
				if strings.Contains(r.URL.Path, "/profile/") {
					dropQuery(r, "user_id")
				}
			},
		},
	)
}
