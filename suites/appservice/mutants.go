package appservice

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/asconform/asconform/fakeas"
)

// ASMutant is a realistic bug planted in the reference AS, to show that the
// AS specs catch it. Killers are the requirement IDs whose specs should fail.
type ASMutant struct {
	Name, Bug string
	Killers   []string
	// Because is what a killing spec's failure message says (a
	// case-insensitive regular expression naming what the mutant broke).
	Because string
	apply   func(*fakeas.Server, *bridge)
}

var asMutants = []ASMutant{
	{"as-accepts-wrong-token", "any hs_token is accepted", []string{"AS-AUTH-02"}, `403 with errcode M_FORBIDDEN\s+Actual: 200`, func(as *fakeas.Server, b *bridge) {
		as.SetIngress(func(r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				r.Header.Set("Authorization", "Bearer "+b.reg.HSToken)
			}
		})
	}},
	{"as-401-for-wrong-token", "a wrong hs_token is treated like a missing one (401)", []string{"AS-AUTH-02"}, `403 with errcode M_FORBIDDEN\s+Actual: 401`, func(as *fakeas.Server, b *bridge) {
		as.SetIngress(func(r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+b.reg.HSToken {
				r.Header.Del("Authorization")
			}
		})
	}},
	{"as-no-token-accepted", "requests without a token are served", []string{"AS-AUTH-01"}, `Expected status \[401\]\s+Actual: 200`, func(as *fakeas.Server, b *bridge) {
		as.SetIngress(func(r *http.Request) {
			if r.Header.Get("Authorization") == "" && r.URL.Query().Get("access_token") == "" {
				r.Header.Set("Authorization", "Bearer "+b.reg.HSToken)
			}
		})
	}},
	{"as-ignores-token-parameter", "the access_token parameter is not compared with the header", []string{"AS-AUTH-03"}, `the two tokens disagree`, func(as *fakeas.Server, b *bridge) {
		as.SetIngress(func(r *http.Request) {
			q := r.URL.Query()
			q.Del("access_token")
			r.URL.RawQuery = q.Encode()
		})
	}},
	{"as-replay-500", "a replayed transaction is answered 500", []string{"AS-TXN-03"}, `attempt \d+( of transaction \S+)?\s+Expected status \[200\]\s+Actual: 500`, func(as *fakeas.Server, b *bridge) { b.failReplay = true }},
	{"as-rejects-unknown-types", "transactions with unknown event types are refused", []string{"AS-TXN-01"}, `unknown type\s+Expected status \[200\]\s+Actual: 400`, func(as *fakeas.Server, b *bridge) { b.strictTypes = true }},
	{"as-query-200-without-user", "a user query is answered 200 without creating the user", []string{"AS-QRY-02"}, `answered 200 but @\S+ does not exist`, func(as *fakeas.Server, b *bridge) { b.lazyUsers = true }},
	{"as-alias-200-without-room", "an alias query is answered 200 without creating the room", []string{"AS-QRY-03"}, `answered 200 but #\S+ is not bound to a room`, func(as *fakeas.Server, b *bridge) { b.lazyAliases = true }},
	{"as-claims-everything", "queries outside the namespace are answered 200", []string{"AS-QRY-04"}, `Expected status \[404\]\s+Actual: 200`, func(as *fakeas.Server, b *bridge) { b.greedy = true }},
	{"as-unknown-route-200", "unknown routes are answered as a ping", []string{"AS-ERR-01"}, `404 with errcode M_UNRECOGNIZED\s+Actual: 200`, func(as *fakeas.Server, b *bridge) {
		as.SetIngress(func(r *http.Request) {
			if strings.Contains(r.URL.Path, "/no-such-endpoint") {
				r.Method, r.URL.Path = http.MethodPost, "/_matrix/app/v1/ping"
			}
		})
	}},
	{"as-wrong-method-accepted", "DELETE on a transaction is served as PUT", []string{"AS-ERR-02"}, `405 with errcode M_UNRECOGNIZED\s+Actual: 400 \{"errcode":"M_NOT_JSON"`, func(as *fakeas.Server, b *bridge) {
		as.SetIngress(func(r *http.Request) {
			if r.Method == http.MethodDelete {
				r.Method = http.MethodPut
			}
		})
	}},
	{"as-ping-fails", "ping answers 500", []string{"AS-PING-01"}, `Expected status \[200\]\s+Actual: 500`, func(as *fakeas.Server, b *bridge) { as.On(fakeas.Ping).Always().Fail() }},
	{"as-ack-not-object", "transactions are acknowledged with a JSON array, not an object", []string{"AS-TXN-01"}, `acknowledgement's body\s+Expected a JSON object\s+Actual: \[\]`, func(as *fakeas.Server, b *bridge) {
		b.ack = &fakeas.Answer{Status: http.StatusOK, Body: []any{}}
	}},
	{"as-ack-201", "transactions are acknowledged with 201", []string{"AS-TXN-01"}, `Expected status \[200\]\s+Actual: 201`, func(as *fakeas.Server, b *bridge) { b.ack = &fakeas.Answer{Status: http.StatusCreated} }},
	{"as-ping-not-object", "ping answers a JSON array, not an object", []string{"AS-PING-01"}, `ping answer's body\s+Expected a JSON object\s+Actual: \[\]`, func(as *fakeas.Server, b *bridge) {
		as.On(fakeas.Ping).Always().Respond(http.StatusOK, []any{})
	}},
	{"as-denies-everything", "every query is answered 404", []string{"AS-QRY-02", "AS-QRY-03"}, `Expected status \[200\]\s+Actual: 404`, func(as *fakeas.Server, b *bridge) { b.denyAll = true }},
	{"as-registers-after-answering", "a user query is answered before the user is created", []string{"AS-QRY-02"}, `answered 200 but @\S+ does not exist`, func(as *fakeas.Server, b *bridge) { b.lateUsers = true }},
	{"as-acks-any-body", "a transaction body that is not a JSON object is acknowledged 200", []string{"AS-ERR-03"}, `malformed transaction bodies were not refused with a 4xx[^\n]*\n[^\n]*: answered 200`, func(as *fakeas.Server, b *bridge) { b.ackAnyBody = true }},
	{"as-rejects-unknown-keys", "transactions with keys other than events and ephemeral are refused 400 M_BAD_JSON", []string{"AS-TXN-05"}, `transaction with org\.matrix\.msc3202\.device_lists: answered 400 \{"errcode":"M_BAD_JSON"`, func(as *fakeas.Server, b *bridge) { b.strictKeys = true }},
	{"as-protocol-untyped-field", "the protocol metadata lists a user field without a field type", []string{"AS-3PE-03"}, `user_fields lists realname, which has no entry in field_types`, func(as *fakeas.Server, b *bridge) { b.untypedField = true }},
	{"as-protocol-duplicate-network", "two protocol instances share a network_id", []string{"AS-3PE-04"}, `network_id "sample" is not unique`, func(as *fakeas.Server, b *bridge) { b.duplicateNetwork = true }},
	{"as-any-protocol", "metadata is served for any protocol name", []string{"AS-3PE-02"}, `which it does not bridge\s+Expected status \[404\]\s+Actual: 200`, func(as *fakeas.Server, b *bridge) { b.anyProtocol = true }},
	{"as-lookup-object", "third-party lookups answer one object instead of an array", []string{"AS-3PE-06", "AS-3PE-07", "AS-3PE-08"}, `answered 200 with a JSON object, not an array`, func(as *fakeas.Server, b *bridge) { b.lookupObject = true }},
	{"as-user-in-use-500", "a user query fails with 500 when the user is already registered (M_USER_IN_USE)", []string{"AS-QRY-05"}, `already registered on the homeserver\s+Expected status \[200\]\s+Actual: 500`, func(as *fakeas.Server, b *bridge) { b.failInUse = true }},
	{"as-registers-without-inhibit", "users are registered without inhibit_login", []string{"AS-LOGIN-01"}, `registered without inhibit_login: true`, func(as *fakeas.Server, b *bridge) { b.noInhibit = true }},
	{"as-logs-in", "a registered user is then logged in with m.login.application_service", []string{"AS-LOGIN-02"}, `called POST \S+/login`, func(as *fakeas.Server, b *bridge) { b.logsIn = true }},
	{"as-message-by-type", "a state event of type m.room.message is handled as a message (by its type, not its state_key)", []string{"AS-TXN-04"}, `handled a state event of type m.room.message as a message`, func(as *fakeas.Server, b *bridge) { b.typeOnly = true }},
	{"as-syncs-as-sender", "each transaction makes the AS call /sync as its sender user", []string{"AS-ID-01"}, `called GET /_matrix/client/v3/sync without user_id`, func(as *fakeas.Server, b *bridge) { b.syncsAsBot = true }},
	{"as-protocol-narrow-first", "user_fields lists nickname before network", []string{"AS-3PE-05"}, `user_fields lists the grouping field network after nickname`, func(as *fakeas.Server, b *bridge) { b.narrowFirst = true }},
	{"as-asserts-outside-namespace", "the echo ghost is asserted without the namespace prefix (@echo)", []string{"AS-ID-05"}, `asserted @echo:\S+, outside its users namespaces`, func(as *fakeas.Server, b *bridge) { b.unprefixedGhost = true }},
	{"as-token-in-query", "the as_token goes in the query string", []string{"AS-AUTH-04"}, `no Authorization header; access_token query parameter present`, func(as *fakeas.Server, b *bridge) {
		b.hs.HTTP = &http.Client{Transport: tokenInQuery{}}
	}},
}

// ASMutants lists the AS-side mutants by name.
func ASMutants() []ASMutant {
	out := append([]ASMutant(nil), asMutants...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func lookupASMutant(name string) (ASMutant, error) {
	for _, m := range asMutants {
		if m.Name == name {
			return m, nil
		}
	}
	return ASMutant{}, fmt.Errorf("unknown AS mutant %q", name)
}

// tokenInQuery moves the Authorization header into access_token.
type tokenInQuery struct{}

func (tokenInQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		r.Header.Del("Authorization")
		q := r.URL.Query()
		q.Set("access_token", tok)
		r.URL.RawQuery = q.Encode()
	}
	return http.DefaultTransport.RoundTrip(r)
}
