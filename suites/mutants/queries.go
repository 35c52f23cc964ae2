package mutants

import (
	"net/http"
	"net/url"
	"strings"
)

// queryMutants break user and alias queries (spec: Querying).
func queryMutants() []Mutant {
	astray := newHistory()
	return []Mutant{
		{
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
		{
			Name: "alias-404-joins-anyway", Bug: "a join succeeds although the AS denied the alias",
			Killers:  []string{"HS-QRY-04"},
			Because:  `404 with errcode M_NOT_FOUND\s+Actual: 200`,
			Response: onErrcode("/join/", "M_NOT_FOUND", http.StatusOK, map[string]any{"room_id": "!mutant:x"}),
		},
		{
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
		{
			Name: "stray-alias-join-502", Bug: "a join by an alias no AS claims answers 502 instead of 404 M_NOT_FOUND",
			Killers:  []string{"HS-QRY-03"},
			Because:  `M_NOT_FOUND\s+Actual: 502`,
			Response: onErrcode("/join/", "M_NOT_FOUND", http.StatusBadGateway, map[string]any{"errcode": "M_UNKNOWN", "error": "alias lookup failed"}),
		},
		{
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
		{
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
		{
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
	}
}

// pingMutants break POST /appservice/{appserviceId}/ping (v1.7).
func pingMutants() []Mutant {
	return []Mutant{
		{
			Name: "ping-drops-transaction-id", Bug: "the transaction_id is not passed on to the AS",
			Killers: []string{"HS-PING-01"},
			Because: `the transaction_id handed to the AS`,
			Push: func(r *http.Request) {
				if r.URL.Path == "/_matrix/app/v1/ping" {
					editJSON(r, func(body map[string]any) { delete(body, "transaction_id") })
				}
			},
		},
		{
			Name: "ping-any-as-token", Bug: "any AS may ping any other AS",
			Killers:  []string{"HS-PING-02"},
			Because:  `403 with errcode M_FORBIDDEN\s+Actual: 200`,
			Response: onErrcode("/ping", "M_FORBIDDEN", http.StatusOK, map[string]any{"duration_ms": 1}),
		},
		{
			Name: "ping-forbidden-as-unauthorized", Bug: "a ping with a token that is not the AS's is answered 401 M_UNAUTHORIZED, not 403 M_FORBIDDEN",
			Killers:  []string{"HS-PING-02"},
			Because:  `403 with errcode M_FORBIDDEN\s+Actual: 401`,
			Response: onErrcode("/ping", "M_FORBIDDEN", http.StatusUnauthorized, map[string]any{"errcode": "M_UNAUTHORIZED", "error": "mutant: not this appservice"}),
		},
		{
			Name: "ping-url-not-set-as-failure", Bug: "a ping of an AS without url is answered 502 M_CONNECTION_FAILED, not 400 M_URL_NOT_SET",
			Killers:  []string{"HS-PING-03"},
			Because:  `pinging an AS whose registration has no url`,
			Response: onErrcode("/ping", "M_URL_NOT_SET", http.StatusBadGateway, map[string]any{"errcode": "M_CONNECTION_FAILED", "error": "mutant: no url"}),
		},
		{
			Name: "ping-bad-status-code", Bug: "an AS error on ping is reported as M_UNKNOWN",
			Killers:  []string{"HS-PING-04"},
			Because:  `M_BAD_STATUS\s+Actual: 502 .*"errcode":"M_UNKNOWN"`,
			Response: swapErrcode("/ping", "M_BAD_STATUS", "M_UNKNOWN"),
		},
		{
			Name: "ping-connection-failed-code", Bug: "an unreachable AS is reported as M_BAD_STATUS",
			Killers:  []string{"HS-PING-05"},
			Because:  `M_CONNECTION_FAILED\s+Actual: 502 \{"errcode":"M_BAD_STATUS"`,
			Response: swapErrcode("/ping", "M_CONNECTION_FAILED", "M_BAD_STATUS"),
		},
		{
			Name: "ping-timeout-code", Bug: "an AS that does not answer the ping in time is reported as unreachable",
			Killers:  []string{"HS-PING-06"},
			Because:  `M_CONNECTION_TIMEOUT\s+Actual: 504 \{"errcode":"M_CONNECTION_FAILED"`,
			Response: swapErrcode("/ping", "M_CONNECTION_TIMEOUT", "M_CONNECTION_FAILED"),
		},
	}
}

// directoryMutants break third-party lookups and the AS's room directory.
func directoryMutants() []Mutant {
	return []Mutant{
		{
			Name: "thirdparty-drops-fields", Bug: "the client's search fields are not handed to the AS",
			Killers: []string{"HS-3PE-01"},
			Because: `the search fields were not handed to the AS`,
			Push: func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/thirdparty/user/") {
					r.URL.RawQuery = ""
				}
			},
		},
		{
			Name: "thirdparty-location-drops-fields", Bug: "a client's location lookups, by fields or by alias, reach the AS without them",
			Killers: []string{"HS-3PE-01", "HS-3PE-03"},
			Because: `the search fields were not handed to the AS`,
			Push: func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/thirdparty/location") {
					r.URL.RawQuery = ""
				}
			},
		},
		{
			Name: "protocol-instances-unnamed", Bug: "protocol metadata reaches clients without the instance_id of each instance",
			Killers: []string{"HS-3PE-02"},
			Because: `has no instance_id`,
			Response: onPath("/thirdparty/protocol", func(status int, body map[string]any) (int, map[string]any) {
				instances, _ := body["instances"].([]any)
				for _, in := range instances {
					if in, ok := in.(map[string]any); ok {
						delete(in, "instance_id")
					}
				}
				return status, body
			}),
		},
		{
			Name: "directory-ignores-instance", Bug: "publicRooms lists every network's rooms whatever third_party_instance_id names",
			Killers: []string{"HS-DIR-03"},
			Because: `is listed for net2's instance_id`,
			Request: func(r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/publicRooms") {
					editJSON(r, func(body map[string]any) {
						if _, ok := body["third_party_instance_id"]; ok {
							delete(body, "third_party_instance_id")
							body["include_all_networks"] = true
						}
					})
				}
			},
		},
		{
			Name: "directory-private-ignored", Bug: "the AS setting a room private in its network's directory is answered 200 and changes nothing",
			Killers: []string{"HS-DIR-01"},
			Because: `still listed after the AS set its visibility .* to private`,
			Request: func(r *http.Request) {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/directory/list/appservice/") {
					editJSON(r, func(body map[string]any) {
						if body["visibility"] == "private" {
							body["visibility"] = "public"
						}
					})
				}
			},
		},
		{
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
	}
}
