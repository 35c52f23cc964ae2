package mutants

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// transactionMutants break how transactions are sent (spec: Pushing
// events).
func transactionMutants() []Mutant {
	var reuse struct {
		sync.Mutex
		last   map[string]string // AS port -> last transaction ID before a restart
		mapped map[string]string // AS port + ID after the restart -> the ID it reuses
	}
	reuse.last, reuse.mapped = map[string]string{}, map[string]string{}
	return []Mutant{
		{
			Name: "token-in-query-only", Bug: "hs_token sent as access_token query parameter, not Authorization",
			Killers: []string{"HS-TXN-02", "HS-AUTH-03"},
			Because: `no Authorization header; access_token query parameter present|access_token query parameter without an Authorization header`,
			Push:    moveTokenToQuery,
		},
		{
			Name: "token-also-in-query", Bug: "every push carries the hs_token in the legacy access_token query parameter beside the Authorization header",
			Killers: []string{"HS-AUTH-02"},
			Because: `carried the legacy access_token query parameter`,
			Push: func(r *http.Request) {
				if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
					q := r.URL.Query()
					q.Set("access_token", tok)
					r.URL.RawQuery = q.Encode()
				}
			},
		},
		{
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
		{
			Name: "events-lack-sender", Bug: "pushed events are not client-format: no sender",
			Killers: []string{"HS-TXN-03"},
			Because: `events\[\d+\] lacks sender`,
			Push: func(r *http.Request) {
				editJSON(r, func(body map[string]any) { deleteFromEach(body, "events", "sender") })
			},
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
		{
			Name: "batch-grouped-by-room", Bug: "a transaction's events are grouped by room, each room's in order, not in stream order",
			Killers: []string{"HS-TXN-07"},
			Because: `not in stream order`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
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
	}
}

// retryMutants break retries and at-least-once delivery.
func retryMutants() []Mutant {
	retried, extra, twice, resent, acked := newHistory(), newHistory(), newHistory(), newHistory(), newHistory()
	// User queries outstanding. A counter, not a WaitGroup: queries start
	// while transactions are waiting, which WaitGroup forbids.
	var queries, pushes atomic.Int64
	return []Mutant{
		{
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
		{
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
		{
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
		{
			Name: "acked-transaction-resent", Bug: "every transaction is sent twice under its ID, the second time after the AS acknowledged the first",
			Killers: []string{"HS-TXN-10"},
			Because: `was sent again after the AS acknowledged it with 200`,
			Push: func(r *http.Request) {
				id, ok := strings.CutPrefix(r.URL.Path, "/_matrix/app/v1/transactions/")
				if !ok || r.Header.Get(copyHeader) != "" || acked.again(r.Host+id) {
					return
				}
				// The copy goes first and is answered before the original
				// arrives: to the AS, the original is a resend.
				tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				send(r.Method, "http://"+addrOf(r)+r.URL.RequestURI(), tok, readBody(r))
			},
		},
		{
			Name: "events-delivered-twice", Bug: "events of an acknowledged transaction are sent again in the next one",
			Killers: []string{"HS-TXN-07", "HS-TXN-08", "HS-TXN-05"},
			Because: `was delivered in \d+ different transactions`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
					events, _ := body["events"].([]any)
					body["events"] = append(twice.swapLast(events), events...)
				})
			},
		},
		{
			Name: "drops-batched-events", Bug: "only the first event of a batch is delivered",
			Killers: []string{"HS-TXN-08", "HS-TXN-07"},
			Because: `was never delivered in an acknowledged transaction`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
					if events, _ := body["events"].([]any); len(events) > 1 {
						body["events"] = events[:1]
					}
				})
			},
		},
		{
			Name: "hung-query-holds-delivery", Bug: "while a user query is unanswered, transactions to every AS wait for it (up to 30 s)",
			Killers: []string{"HS-TXN-09"},
			Because: `delivery to another AS was held up`,
			Push: func(r *http.Request) {
				p := r.URL.EscapedPath()
				if strings.HasPrefix(p, "/_matrix/app/v1/users/") {
					// The query is outstanding until the homeserver hangs up.
					queries.Add(1)
					go func() { <-r.Context().Done(); queries.Add(-1) }()
					return
				}
				if !strings.HasPrefix(p, "/_matrix/app/v1/transactions/") || r.Header.Get(copyHeader) != "" {
					return
				}
				deadline := time.Now().Add(30 * time.Second)
				for queries.Load() > 0 && time.Now().Before(deadline) && r.Context().Err() == nil {
					time.Sleep(20 * time.Millisecond)
				}
			},
		},
		{
			Name: "hung-transaction-holds-clients", Bug: "while a transaction to an AS is unanswered, clients' sends and syncs wait for it (up to 30 s)",
			Killers: []string{"HS-TXN-11"},
			Because: `a client's (send|sync) was held up`,
			Push: func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") && r.Header.Get(copyHeader) == "" {
					// Outstanding until the fake AS answers or the homeserver hangs up.
					pushes.Add(1)
					go func() { <-r.Context().Done(); pushes.Add(-1) }()
				}
			},
			Request: func(r *http.Request) {
				if !strings.Contains(r.URL.Path, "/send/") && !strings.HasSuffix(r.URL.Path, "/sync") {
					return
				}
				deadline := time.Now().Add(30 * time.Second)
				for pushes.Load() > 0 && time.Now().Before(deadline) && r.Context().Err() == nil {
					time.Sleep(20 * time.Millisecond)
				}
			},
		},
	}
}

// ephemeralMutants break the pushing of ephemeral data (MSC2409, v1.13).
func ephemeralMutants() []Mutant {
	var typedIn sync.Map // room ID -> the user last seen typing there
	return []Mutant{
		{
			Name: "ephemeral-without-room-id", Bug: "typing and receipts are pushed without their room_id",
			Killers: []string{"HS-EPH-06", "HS-EPH-01"},
			Because: `no m\.(typing|receipt) with room_id \S+ arrived in an ephemeral array`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) { deleteFromEach(body, "ephemeral", "room_id") })
			},
		},
		{
			Name: "ephemeral-to-everyone", Bug: "ephemeral data also goes to services that did not opt in",
			Killers: []string{"HS-EPH-02"},
			Because: `an AS without receive_ephemeral got ephemeral data`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
					if _, ok := body["ephemeral"]; !ok {
						body["ephemeral"] = []any{map[string]any{"type": "m.presence", "content": map[string]any{}}}
					}
				})
			},
		},
		{
			Name: "typing-everywhere", Bug: "typing notifications of every room reach an AS that opted in to ephemeral data, interested in the room or not",
			Killers: []string{"HS-EPH-04"},
			Because: `a typing notification in \S+, a room the AS has no interest in, reached the AS`,
			Request: func(r *http.Request) {
				if room, ok := roomOf(r.URL.Path, "/typing/"); ok && r.Method == http.MethodPut {
					_, user, _ := strings.Cut(r.URL.Path, "/typing/")
					typedIn.Store(room, user)
				}
			},
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
					for _, key := range []string{"ephemeral", "de.sorunome.msc2409.ephemeral"} {
						eph, ok := body[key].([]any)
						if !ok {
							continue // not sent to an AS that did not opt in
						}
						typedIn.Range(func(room, user any) bool {
							eph = append(eph, map[string]any{"type": "m.typing", "room_id": room, "content": map[string]any{"user_ids": []any{user}}})
							return true
						})
						body[key] = eph
					}
				})
			},
		},
		{
			Name: "ephemeral-only-without-events", Bug: "a transaction carrying only ephemeral data has no events array",
			// HS-TXN-03's spec for it is the typing spec, labelled HS-EPH-04.
			Killers: []string{"HS-EPH-04"},
			Because: `carries ephemeral data without an events array`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
					if events, _ := body["events"].([]any); len(events) == 0 && body["ephemeral"] != nil {
						delete(body, "events")
					}
				})
			},
		},
		{
			Name: "receipts-not-pushed", Bug: "read receipts never reach an AS that opted in to ephemeral data",
			Killers: []string{"HS-EPH-05"},
			Because: `no m.receipt with room_id`,
			Push:    dropEphemeral("m.receipt"),
		},
		{
			Name: "public-receipts-pushed-as-private", Bug: "pushed read receipts carry their readers under m.read.private, as if every receipt were private",
			Killers: []string{"HS-EPH-07"},
			Because: `a private read receipt of alice, a user in no namespace of the AS, reached the AS`,
			Push: editTransactionField(ephemeralNames, func(_ *http.Request, eph []any) []any {
				for _, e := range eph {
					e, _ := e.(map[string]any)
					content, _ := e["content"].(map[string]any)
					if e["type"] != "m.receipt" {
						continue
					}
					for _, ofEvent := range content {
						if ofEvent, ok := ofEvent.(map[string]any); ok && ofEvent["m.read"] != nil {
							ofEvent["m.read.private"] = ofEvent["m.read"]
							delete(ofEvent, "m.read")
						}
					}
				}
				return eph
			}),
		},
		{
			Name: "presence-not-pushed", Bug: "presence never reaches an AS that opted in to ephemeral data",
			Killers: []string{"HS-EPH-03"},
			Because: `no m.presence of`,
			Push:    dropEphemeral("m.presence"),
		},
		{
			Name: "ephemeral-carries-unknown-types", Bug: "the ephemeral array also carries entries of other types",
			Killers: []string{"HS-EPH-08"},
			Because: `the ephemeral array held an entry of type`,
			Push: editTransactionField(ephemeralNames, func(_ *http.Request, eph []any) []any {
				if len(eph) == 0 {
					return eph
				}
				return append(eph, map[string]any{"type": "org.example.mutant", "content": map[string]any{}})
			}),
		},
	}
}

// encryptionMutants break what an encrypting AS is pushed: to-device
// messages (MSC4203), key counts and device lists (MSC3202).
func encryptionMutants() []Mutant {
	toDeviceTried := newHistory()
	var firstCounts sync.Map // host|user|device|algorithm -> the first count pushed
	return []Mutant{
		{
			Name: "to-device-wrong-device", Bug: "to-device messages pushed to the AS name another device in to_device_id (MSC4203)",
			Killers: []string{"HS-TODEV-01"},
			Because: `to_device_id must name the recipient's device`,
			Push: editTransactionField(toDeviceNames, func(_ *http.Request, msgs []any) []any {
				for _, m := range msgs {
					if msg, ok := m.(map[string]any); ok {
						msg["to_device_id"] = "MUTANTDEVICE"
					}
				}
				return msgs
			}),
		},
		{
			Name: "to-device-lost-on-retry", Bug: "a retried transaction no longer carries its to-device messages (MSC4203)",
			Killers: []string{"HS-TODEV-02"},
			Because: `the to-device message was lost`,
			Push: editTransactionField(toDeviceNames, func(r *http.Request, msgs []any) []any {
				if toDeviceTried.again(r.Host + r.URL.Path) {
					return []any{}
				}
				return msgs
			}),
		},
		{
			Name: "to-device-pushed-for-outsiders", Bug: "to-device messages for users outside the AS's namespaces are pushed to it too (MSC4203)",
			Killers: []string{"HS-TODEV-03"},
			Because: `to-device message (its user sent to alice|for a user outside its namespaces)`,
			Push: editTransactionField(toDeviceNames, func(_ *http.Request, msgs []any) []any {
				if len(msgs) == 0 {
					return msgs
				}
				first, _ := msgs[0].(map[string]any)
				outsider := maps.Clone(first)
				user, _ := first["to_user_id"].(string)
				_, server, _ := strings.Cut(user, ":")
				outsider["to_user_id"] = "@mutant-outsider:" + server
				return append(msgs, outsider)
			}),
		},
		{
			Name: "otk-count-stale", Bug: "one-time key counts in transactions lag one key behind (MSC3202)",
			Killers: []string{"HS-OTK-01"},
			Because: `signed_curve25519 count of the device's unclaimed one-time keys`,
			Push:    editOTKCounts(func(_, _, _, _ string, n float64) float64 { return max(n-1, 0) }),
		},
		{
			Name: "otk-count-frozen", Bug: "the one-time key counts in transactions stay at the first value pushed for a device, whatever is claimed (MSC3202)",
			Killers: []string{"HS-OTK-01"},
			Because: `after a claim, the count`,
			Push: editOTKCounts(func(host, user, device, alg string, n float64) float64 {
				first, _ := firstCounts.LoadOrStore(host+"|"+user+"|"+device+"|"+alg, n)
				return first.(float64)
			}),
		},
		{
			Name: "device-lists-unchanged", Bug: "device_lists in transactions never lists a changed user (MSC3202)",
			Killers: []string{"HS-DLIST-01"},
			Because: `device_lists.changed must name alice`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
					for _, key := range []string{"device_lists", "org.matrix.msc3202.device_lists"} {
						if lists, ok := body[key].(map[string]any); ok {
							lists["changed"] = []any{}
						}
					}
				})
			},
		},
		{
			Name: "otk-claim-drops-as-keys", Bug: "a one-time key claim forwarded to the AS returns none of the keys the AS gave (MSC3983)",
			Killers: []string{"HS-KEYS-01"},
			Because: `return the one-time key the AS gave`,
			Response: onPath("/keys/claim", func(status int, body map[string]any) (int, map[string]any) {
				if _, ok := body["one_time_keys"]; ok {
					body["one_time_keys"] = map[string]any{}
				}
				return status, body
			}),
		},
		{
			Name: "key-query-forwards-no-user", Bug: "a device key query forwarded to the AS names none of the users queried (MSC3984)",
			Killers: []string{"HS-KEYS-02"},
			Because: `the forwarded query must name the user queried`,
			Push: func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/org.matrix.msc3984/keys/query") {
					editJSON(r, func(body map[string]any) { clear(body) })
				}
			},
		},
		{
			Name: "fallback-key-types-empty", Bug: "unused fallback key types in transactions are always empty (MSC3202)",
			Killers: []string{"HS-OTK-02"},
			Because: `the unused fallback key types of the device`,
			Push: func(r *http.Request) {
				editTransaction(r, func(body map[string]any) {
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
	}
}

// The names a transaction's fields go by: the stable one and the unstable
// ones homeservers use.
var (
	ephemeralNames = []string{"ephemeral", "de.sorunome.msc2409.ephemeral"}
	toDeviceNames  = []string{"to_device", "de.sorunome.msc2409.to_device"}
)

// editTransactionField rewrites a list field of pushed transactions under
// each of its names the transaction carries.
func editTransactionField(names []string, edit func(r *http.Request, list []any) []any) func(*http.Request) {
	return func(r *http.Request) {
		editTransaction(r, func(body map[string]any) {
			for _, key := range names {
				if list, ok := body[key].([]any); ok {
					body[key] = edit(r, list)
				}
			}
		})
	}
}

// editOTKCounts rewrites each one-time key count a transaction reports,
// under the stable and the MSC3202 names, as edit says.
func editOTKCounts(edit func(host, user, device, alg string, n float64) float64) func(*http.Request) {
	return func(r *http.Request) {
		editTransaction(r, func(body map[string]any) {
			for _, key := range []string{"device_one_time_keys_count", "org.matrix.msc3202.device_one_time_keys_count", "org.matrix.msc3202.device_one_time_key_counts"} {
				users, _ := body[key].(map[string]any)
				for user, devices := range users {
					devices, _ := devices.(map[string]any)
					for device, counts := range devices {
						counts, _ := counts.(map[string]any)
						for alg, n := range counts {
							if n, ok := n.(float64); ok {
								counts[alg] = edit(r.Host, user, device, alg, n)
							}
						}
					}
				}
			}
		})
	}
}

// dropEphemeral removes the ephemeral entries of type typ from pushed
// transactions, under the stable and the unstable (MSC2409) key.
func dropEphemeral(typ string) func(*http.Request) {
	return editTransactionField(ephemeralNames, func(_ *http.Request, eph []any) []any {
		return slices.DeleteFunc(eph, func(e any) bool {
			m, _ := e.(map[string]any)
			return m["type"] == typ
		})
	})
}
