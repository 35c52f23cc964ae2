package mutants

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asconform/asconform/fakeas"
)

// loginMutants break AS registration and login (spec: Server admin style
// permissions, Appservice Login).
func loginMutants() []Mutant {
	return []Mutant{
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
			Name: "register-missing-token-400", Bug: "AS registration without a token answers 400 M_UNKNOWN, not 401 M_MISSING_TOKEN",
			Killers:  []string{"HS-LOGIN-05"},
			Because:  `/register with no token: 400`,
			Response: onErrcode("/register", "M_MISSING_TOKEN", http.StatusBadRequest, map[string]any{"errcode": "M_UNKNOWN", "error": "Appservice token must be provided"}),
		},
		{
			Name: "login-registers-user", Bug: "m.login.application_service registers the user named (as /register would) instead of logging in only a registered one",
			Killers: []string{"HS-LOGIN-04"},
			Because: `the login as a user never registered answered 200`,
			Request: func(r *http.Request) {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/login") || peekJSON(r)["type"] != "m.login.application_service" {
					return
				}
				// The login becomes the AS's registration of that user, whose
				// answer has the same fields.
				r.URL.Path = strings.TrimSuffix(r.URL.Path, "/login") + "/register"
				r.URL.RawPath = ""
				editJSON(r, func(body map[string]any) {
					id, _ := body["identifier"].(map[string]any)
					user, _ := id["user"].(string)
					local, _, _ := strings.Cut(strings.TrimPrefix(user, "@"), ":")
					delete(body, "identifier")
					body["username"] = local
				})
			},
		},
		{
			Name: "login-as-sender", Bug: "m.login.application_service logs in the AS's sender user, not the user named",
			Killers: []string{"HS-LOGIN-03"},
			Because: `login must be of the user named`,
			Request: func(r *http.Request) {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/login") {
					return
				}
				editJSON(r, func(body map[string]any) {
					if id, ok := body["identifier"].(map[string]any); ok && body["type"] == "m.login.application_service" {
						user, _ := id["user"].(string)
						if ghost, ok := fakeas.ParseUser(user); ok && !ghost.Bot {
							id["user"] = ghost.Member.BotID(ghost.Server)
						}
					}
				})
			},
		},
	}
}

// namespaceMutants break the exclusivity of namespaces (spec: Registration).
func namespaceMutants() []Mutant {
	return []Mutant{
		{
			Name: "exclusive-as-forbidden", Bug: "namespace clashes on register answer M_FORBIDDEN instead of M_EXCLUSIVE",
			Killers:  []string{"HS-NS-01", "HS-NS-02"},
			Because:  `400 with errcode M_EXCLUSIVE\s+Actual: 400 \{"errcode":"M_FORBIDDEN"`,
			Response: swapErrcode("/register", "M_EXCLUSIVE", "M_FORBIDDEN"),
		},
		{
			Name: "aliases-not-exclusive", Bug: "anyone may create aliases in exclusive namespaces",
			Killers:  []string{"HS-NS-03", "HS-NS-04"},
			Because:  `400 with errcode M_EXCLUSIVE\s+Actual: 200`,
			Response: onErrcode("/directory/room/", "M_EXCLUSIVE", http.StatusOK, map[string]any{}),
		},
		{
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
		{
			Name: "login-exclusive-forbidden", Bug: "an AS login outside its namespaces answers 403 M_FORBIDDEN, not M_EXCLUSIVE",
			Killers:  []string{"HS-NS-05"},
			Because:  `answered 403 .*M_FORBIDDEN`,
			Response: onErrcode("/login", "M_EXCLUSIVE", http.StatusForbidden, map[string]any{"errcode": "M_FORBIDDEN", "error": "Invalid access_token"}),
		},
		{
			Name: "register-uia-before-exclusive", Bug: "registration starts user-interactive authentication before checking exclusive namespaces",
			Killers: []string{"HS-NS-08"},
			Because: `M_EXCLUSIVE\s+Actual: 401 .*flows`,
			Request: func(r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/register") {
					editJSON(r, func(body map[string]any) {
						if _, ok := body["auth"]; !ok && body["type"] == nil {
							r.Header.Set(noAuthMark, "1")
						}
					})
				}
			},
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if r.Header.Get(noAuthMark) != "" && body["errcode"] == "M_EXCLUSIVE" {
					return http.StatusUnauthorized, map[string]any{"flows": []any{map[string]any{"stages": []any{"m.login.dummy"}}}, "params": map[string]any{}, "session": "mutant"}
				}
				return status, body
			},
		},
		{
			Name: "available-ignores-namespaces", Bug: "GET /register/available reports a name in an exclusive namespace as available",
			Killers:  []string{"HS-NS-09"},
			Because:  `M_EXCLUSIVE\s+Actual: 200 .*available`,
			Response: onErrcode("/register/available", "M_EXCLUSIVE", http.StatusOK, map[string]any{"available": true}),
		},
		{
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
	}
}

// identityMutants break identity assertion (spec: Identity assertion).
func identityMutants() []Mutant {
	return []Mutant{
		{
			Name: "user-id-ignored", Bug: "identity assertion ignored: requests act as the AS's sender",
			Killers: []string{"HS-ID-01"},
			Because: `@asc\d+-bot:\S+\s+to equal\s+<string>: @asc\d+_`,
			Request: func(r *http.Request) { dropQuery(r, "user_id") },
		},
		{
			Name: "user-id-outside-allowed", Bug: "user_id outside the namespace is accepted",
			Killers:  []string{"HS-ID-02"},
			Because:  `403 with errcode M_FORBIDDEN\s+Actual: 200`,
			Response: onErrcode("/account/whoami", "M_FORBIDDEN", http.StatusOK, map[string]any{"user_id": "@someone:else"}),
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
			Name: "device-id-ignored", Bug: "?device_id= is ignored: the AS acts as no device",
			Killers: []string{"HS-ID-05"},
			Because: `must name the device the AS asserted`,
			Request: func(r *http.Request) { dropQuery(r, "device_id") },
		},
		{
			Name: "unknown-device-accepted", Bug: "a device_id the user does not have is accepted (200)",
			Killers: []string{"HS-ID-06"},
			Because: `a device_id the user does not have`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				device := r.URL.Query().Get("device_id")
				if strings.HasSuffix(r.URL.Path, "/whoami") && device != "" && status == http.StatusBadRequest {
					return http.StatusOK, map[string]any{"user_id": r.URL.Query().Get("user_id"), "device_id": device}
				}
				return status, body
			},
		},
		{
			Name: "asserted-user-gets-a-device", Bug: "an AS request without device_id acts as a device of the asserted user",
			Killers: []string{"HS-ID-07"},
			Because: `whoami named a device although the AS asserted none`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				q := r.URL.Query()
				if strings.HasSuffix(r.URL.Path, "/whoami") && q.Get("user_id") != "" && q.Get("device_id") == "" && status == http.StatusOK {
					body["device_id"] = "MUTANTDEVICE"
				}
				return status, body
			},
		},
		{
			Name: "whoami-ignores-assertion", Bug: "whoami ignores ?user_id= and reports the AS's sender user",
			Killers: []string{"HS-ID-08"},
			Because: `whoami must name the user the AS asserted`,
			Request: func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/account/whoami") {
					dropQuery(r, "user_id")
				}
			},
		},
		{
			Name: "members-need-own-membership", Bug: "the AS may list a room's members only when the acting user itself is in the room",
			Killers: []string{"HS-ID-10"},
			Because: `Expected status \[200\]\s+Actual: 403`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if strings.HasSuffix(r.URL.Path, "/joined_members") && !r.URL.Query().Has("user_id") && status == http.StatusOK {
					return http.StatusForbidden, map[string]any{"errcode": "M_FORBIDDEN", "error": "you are not in the room"}
				}
				return status, body
			},
		},
		{
			Name: "refresh-honours-assertion", Bug: "POST /refresh with the as_token and ?user_id= issues tokens for that user, whatever the refresh_token",
			Killers: []string{"HS-ID-09"},
			Because: `/refresh gave tokens on the AS's identity assertion alone`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if strings.HasSuffix(r.URL.Path, "/refresh") && r.URL.Query().Has("user_id") && status >= 400 {
					return http.StatusOK, map[string]any{"access_token": "syt_mutant", "refresh_token": "syr_mutant", "expires_in_ms": 60000}
				}
				return status, body
			},
		},
		{
			Name: "profile-ignores-user-id", Bug: "profile changes ignore the asserted user_id and act as the AS's sender",
			Killers: []string{"HS-ID-04"},
			Because: `the asserted user's display name`,
			Request: func(r *http.Request) {
				if strings.Contains(r.URL.Path, "/profile/") {
					dropQuery(r, "user_id")
				}
			},
		},
	}
}

// deviceMutants break device management and cross-signing for an AS
// (v1.17, "Device management").
func deviceMutants() []Mutant {
	crossSigned := newHistory()
	return []Mutant{
		{
			Name: "device-create-ignores-user-id", Bug: "PUT /devices/{deviceId} by the AS ignores user_id and makes the device for the AS's sender",
			Killers: []string{"HS-DEV-01"},
			Because: `does not list the device the AS created`,
			Request: func(r *http.Request) {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/devices/") {
					dropQuery(r, "user_id")
				}
			},
		},
		{
			Name: "devices-created-by-anyone", Bug: "a normal user's PUT /devices/{deviceId} of an unknown device creates it (201)",
			Killers: []string{"HS-DEV-02"},
			Because: `a normal user created a device`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/devices/") && r.URL.Query().Get("user_id") == "" && status == http.StatusNotFound {
					return http.StatusCreated, map[string]any{}
				}
				return status, body
			},
		},
		challengedAS(Mutant{
			Name: "device-delete-asks-as-for-uia", Bug: "DELETE /devices/{deviceId} by the AS gets the user-interactive authentication challenge",
			Killers: []string{"HS-DEV-03"},
			Because: `need no user-interactive authentication`,
		}, func(r *http.Request) bool {
			return r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/devices/")
		}),
		challengedAS(Mutant{
			Name: "bulk-device-delete-asks-as-for-uia", Bug: "POST /delete_devices by the AS gets the user-interactive authentication challenge",
			Killers: []string{"HS-DEV-03"},
			Because: `POST /delete_devices as the AS must need no user-interactive authentication`,
		}, func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/delete_devices")
		}),
		{
			Name: "msc3202-device-id-other-device", Bug: "an AS request naming a device with org.matrix.msc3202.device_id acts as another device of the user (MSC3202)",
			Killers: []string{"HS-ID-11"},
			Because: `the device the AS asserted with org.matrix.msc3202.device_id`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if strings.HasSuffix(r.URL.Path, "/account/whoami") && r.URL.Query().Get("org.matrix.msc3202.device_id") != "" && body["device_id"] != nil {
					body["device_id"] = "MUTANTDEVICE"
				}
				return status, body
			},
		},
		{
			Name: "cross-signing-replace-asks-as-for-uia", Bug: "replacing cross-signing keys asks the AS for user-interactive authentication",
			Killers: []string{"HS-DEV-04"},
			Because: `replacing the user's master key as the AS must need no user-interactive authentication`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				user := r.URL.Query().Get("user_id")
				if !strings.HasSuffix(r.URL.Path, "/keys/device_signing/upload") || user == "" || !crossSigned.again(user) {
					return status, body
				}
				return uiaChallenge()
			},
		},
	}
}

// challengedAS is m with the AS's requests that match answered by the
// user-interactive authentication challenge, before the SUT acts on them.
func challengedAS(m Mutant, matches func(*http.Request) bool) Mutant {
	const challenged = "/_matrix/client/v3/asconform-uia-challenge"
	m.Request = func(r *http.Request) {
		if matches(r) {
			r.URL.Path, r.URL.RawPath = challenged, ""
		}
	}
	m.Response = func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
		if r.URL.Path == challenged {
			return uiaChallenge()
		}
		return status, body
	}
	return m
}

// uiaChallenge is a user-interactive authentication challenge of one
// password stage.
func uiaChallenge() (int, map[string]any) {
	return http.StatusUnauthorized, map[string]any{"session": "mutant", "flows": []any{map[string]any{"stages": []string{"m.login.password"}}}, "params": map[string]any{}}
}

// timestampMutants break timestamp massaging (spec: Timestamp massaging).
func timestampMutants() []Mutant {
	var backdated sync.Map // event ID -> the ts a normal user asked for
	return []Mutant{
		{
			Name: "ts-ignored", Bug: "ts query parameter ignored on send",
			Killers: []string{"HS-TS-01", "HS-TS-02"},
			Because: `origin_server_ts seen by a client|keeps its IRC time|origin_server_ts of the state event`,
			Request: func(r *http.Request) { dropQuery(r, "ts") },
		},
		{
			Name: "ts-orders-the-timeline", Bug: "an event's ts decides its place in the room: a backdated event lands among older ones",
			Killers: []string{"HS-TS-05"},
			Because: `is not at the tip of the room`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if !strings.HasSuffix(r.URL.Path, "/messages") || r.URL.Query().Get("dir") != "b" {
					return status, body
				}
				chunk, _ := body["chunk"].([]any)
				ts := func(e any) float64 {
					m, _ := e.(map[string]any)
					v, _ := m["origin_server_ts"].(float64)
					return v
				}
				slices.SortStableFunc(chunk, func(a, b any) int { return cmp.Compare(ts(b), ts(a)) })
				return status, body
			},
		},
		{
			Name: "kick-honours-ts", Bug: "a kick by the AS with ?ts= is stamped with ts, as if ts applied beyond send and state PUTs",
			Killers: []string{"HS-TS-06"},
			Because: `the kick took origin_server_ts from \?ts=`,
			// The kick becomes the equivalent m.room.member state PUT, on
			// which the homeserver honours ts.
			Request: func(r *http.Request) {
				room, ok := strings.CutSuffix(r.URL.Path, "/kick")
				if r.Method != http.MethodPost || !ok || !r.URL.Query().Has("ts") {
					return
				}
				editJSON(r, func(body map[string]any) {
					target, _ := body["user_id"].(string)
					delete(body, "user_id")
					body["membership"] = "leave"
					r.Method = http.MethodPut
					r.URL.Path, r.URL.RawPath = room+"/state/m.room.member/"+target, ""
				})
			},
		},
		{
			Name: "as-send-stale-clock", Bug: "events the AS sends without ts are stamped an hour in the past",
			Killers: []string{"HS-TS-04"},
			Because: `origin_server_ts is before the send`,
			Request: func(r *http.Request) {
				q := r.URL.Query()
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/") && q.Has("user_id") && !q.Has("ts") {
					q.Set("ts", strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10))
					r.URL.RawQuery = q.Encode()
				}
			},
		},
		{
			Name: "ts-garbage-ignored", Bug: "a ts that is not an integer is ignored instead of refused",
			Killers: []string{"HS-TS-03"},
			Because: `ts=yesterday answered 200`,
			Request: func(r *http.Request) {
				if ts := r.URL.Query().Get("ts"); ts != "" {
					if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
						dropQuery(r, "ts")
					}
				}
			},
		},
		{
			Name: "ts-for-everyone", Bug: "?ts= sets origin_server_ts for normal users too",
			Killers: []string{"HS-EXT-01"},
			Because: `normal user's \?ts= set origin_server_ts`,
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				q := r.URL.Query()
				switch {
				case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/") && q.Has("ts") && !q.Has("user_id") && status == http.StatusOK:
					if id, ok := body["event_id"].(string); ok {
						ts, _ := strconv.ParseInt(q.Get("ts"), 10, 64)
						backdated.Store(id, ts)
					}
				case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/event/"):
					if ts, ok := backdated.Load(body["event_id"]); ok {
						body["origin_server_ts"] = ts
					}
				}
				return status, body
			},
		},
	}
}

// noAuthMark carries a request's shape to its response's rewrite.
const noAuthMark = "X-Asconform-Mutant-No-Auth"
