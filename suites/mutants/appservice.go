package mutants

import (
	"net/http"
	"slices"
	"strings"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/matrix"
)

// ASMutant is a realistic bug planted in the reference AS (the
// application-service suite's flavor fakeas), to show that the AS specs
// catch it. The reference AS asks for the active mutant's Flaw where it
// would behave differently, and applies its rewrites and answers.
type ASMutant struct {
	Name, Bug string
	Killers   []string // the requirement IDs whose specs should fail
	// Because is what a killing spec's failure message says (a
	// case-insensitive regular expression naming what the mutant broke).
	Because string
	Flaw    Flaw
	// Ingress rewrites a request from the homeserver before the reference
	// AS sees it; hsToken is the one the AS expects.
	Ingress func(r *http.Request, hsToken string)
	// Egress rewrites a client-server request the reference AS makes.
	Egress func(*http.Request)
	// Ping and Ack replace the reference AS's answers to pings and to
	// transactions it handled.
	Ping, Ack *fakeas.Response
}

// A Flaw is a behaviour of the reference AS that only a mutant switches on.
type Flaw int

const (
	NoFlaw                   Flaw = iota
	FailsReplays                  // a replayed transaction is answered 500
	FailsReplaysAfterRestart      // a replay of a transaction processed before a restart is answered 500
	RefusesUnknownTypes           // events of a type outside m.* are refused
	RefusesUnknownKeys            // transaction keys beyond events and ephemeral are refused
	AcksAnyBody                   // a transaction body that is not a JSON object is acknowledged
	SkipsUserCreation             // a user query is answered 200 without registering the user
	SkipsAliasCreation            // an alias query is answered 200 without creating the room
	BindsAliasAfterAnswering      // an alias query is answered 200 once the room exists, the alias bound only after
	RegistersAfterAnswering       // a user query is answered before the user is registered
	ClaimsEverything              // queries outside the namespaces are answered 200
	DeniesEverything              // every query is answered 404
	FailsUserInUse                // M_USER_IN_USE on registering a queried user fails the query
	NoInhibitLogin                // users are registered without inhibit_login
	LogsIn                        // a registered user is then logged in
	MessageByType                 // a state event of type m.room.message is handled as a message
	SyncsAsSender                 // each transaction makes the AS call /sync as its sender
	UnprefixedGhost               // the echo ghost is named outside the users namespace
	UntypedProtocolField          // a user field has no field type
	DuplicateNetworkID            // two protocol instances share a network_id
	NarrowFieldFirst              // user_fields lists the narrow field before the grouping one
	AnyProtocol                   // metadata is served for any protocol name
	LookupObject                  // third-party lookups answer an object, not an array
	RegistrationNoSender          // the registration file has no sender_localpart
	NamespaceNoExclusive          // an aliases namespace entry of the registration has no exclusive
	NamespaceNoUnderscore         // the exclusive users namespace starts @sample_, not @_sample_
	DirectoryNoVisibility         // the network directory update is sent without visibility
	PingFailsOutright             // a failed start-up ping makes the AS stop serving
	RemoteAsBot                   // a remote message is bridged in by the bot, not its sender's ghost
	NoExternalURL                 // a remote message is bridged in without external_url
	DropsScrollback               // remote messages said before the portal existed are never bridged in
	DropsMatrixMessages           // a Matrix user's message in a portal never reaches the remote channel
	GhostActsAsBotDevice          // the echo ghost's requests name the bot's device
	BotActsAsGhostDevice          // the bot's requests (without user_id) name the echo ghost's device
)

// asCatalogue is every AS mutant, area by area.
var asCatalogue = slices.Concat(asAuthMutants(), asTransactionMutants(), asQueryMutants(), asClientMutants(), asBridgeMutants(), asThirdPartyMutants(), asRegistrationMutants())

// asAuthMutants break the AS's checks of the hs_token (spec: Authorisation)
// and its answers to unknown routes and pings.
func asAuthMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-accepts-wrong-token", Bug: "any hs_token is accepted", Killers: []string{"AS-AUTH-02"},
			Because: `403 with errcode M_FORBIDDEN\s+Actual: 200`,
			Ingress: func(r *http.Request, hsToken string) {
				if r.Header.Get("Authorization") != "" {
					r.Header.Set("Authorization", "Bearer "+hsToken)
				}
			}},
		{Name: "as-401-for-wrong-token", Bug: "a wrong hs_token is treated like a missing one (401)", Killers: []string{"AS-AUTH-02"},
			Because: `403 with errcode M_FORBIDDEN\s+Actual: 401`,
			Ingress: func(r *http.Request, hsToken string) {
				if r.Header.Get("Authorization") != "Bearer "+hsToken {
					r.Header.Del("Authorization")
				}
			}},
		{Name: "as-no-token-accepted", Bug: "requests without a token are served", Killers: []string{"AS-AUTH-01"},
			Because: `Expected status \[401\]\s+Actual: 200`,
			Ingress: func(r *http.Request, hsToken string) {
				if r.Header.Get("Authorization") == "" && r.URL.Query().Get("access_token") == "" {
					r.Header.Set("Authorization", "Bearer "+hsToken)
				}
			}},
		{Name: "as-ignores-token-parameter", Bug: "the access_token parameter is not compared with the header", Killers: []string{"AS-AUTH-03"},
			Because: `the two tokens disagree`,
			Ingress: func(r *http.Request, _ string) { dropQuery(r, "access_token") }},
		{Name: "as-unknown-route-200", Bug: "unknown routes are answered as a ping", Killers: []string{"AS-ERR-01"},
			Because: `404 with errcode M_UNRECOGNIZED\s+Actual: 200`,
			Ingress: func(r *http.Request, _ string) {
				if strings.Contains(r.URL.Path, "/no-such-endpoint") {
					r.Method, r.URL.Path = http.MethodPost, "/_matrix/app/v1/ping"
				}
			}},
		{Name: "as-wrong-method-accepted", Bug: "DELETE on a transaction is served as PUT", Killers: []string{"AS-ERR-02"},
			Because: `405 with errcode M_UNRECOGNIZED\s+Actual: 400 \{"errcode":"M_NOT_JSON"`,
			Ingress: func(r *http.Request, _ string) {
				if r.Method == http.MethodDelete {
					r.Method = http.MethodPut
				}
			}},
		{Name: "as-ping-fails", Bug: "ping answers 500", Killers: []string{"AS-PING-01"},
			Because: `Expected status \[200\]\s+Actual: 500`,
			Ping:    &fakeas.Response{Status: http.StatusInternalServerError, Body: matrix.Error{ErrCode: "M_UNKNOWN", Error: "scripted failure"}}},
		{Name: "as-ping-fails-outright", Bug: "the AS stops serving when its start-up ping finds no homeserver", Killers: []string{"AS-PING-02"},
			Because: `no longer answers after its start-up ping met a homeserver that was not there yet`, Flaw: PingFailsOutright},
		{Name: "as-ping-not-object", Bug: "ping answers a JSON array, not an object", Killers: []string{"AS-PING-01"},
			Because: `ping answer's body\s+Expected a JSON object\s+Actual: \[\]`,
			Ping:    &fakeas.Response{Status: http.StatusOK, Body: []any{}}},
	}
}

// asTransactionMutants break the handling of pushed transactions (spec:
// Pushing events).
func asTransactionMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-replay-500", Bug: "a replayed transaction is answered 500", Killers: []string{"AS-TXN-03"},
			Because: `attempt \d+( of transaction \S+)?\s+Expected status \[200\]\s+Actual: 500`, Flaw: FailsReplays},
		{Name: "as-replay-after-restart-500", Bug: "after a restart, a replay of a transaction processed before it is answered 500 (the memory is empty, the database refuses the ID twice)", Killers: []string{"AS-TXN-03"},
			Because: `after the AS restarted, attempt 2 of transaction \S+\s+Expected status \[200\]\s+Actual: 500`, Flaw: FailsReplaysAfterRestart},
		{Name: "as-rejects-unknown-types", Bug: "transactions with unknown event types are refused", Killers: []string{"AS-TXN-01"},
			Because: `unknown type\s+Expected status \[200\]\s+Actual: 400`, Flaw: RefusesUnknownTypes},
		{Name: "as-ack-not-object", Bug: "transactions are acknowledged with a JSON array, not an object", Killers: []string{"AS-TXN-01"},
			Because: `acknowledgement's body\s+Expected a JSON object\s+Actual: \[\]`,
			Ack:     &fakeas.Response{Status: http.StatusOK, Body: []any{}}},
		{Name: "as-ack-201", Bug: "transactions are acknowledged with 201", Killers: []string{"AS-TXN-01"},
			Because: `Expected status \[200\]\s+Actual: 201`,
			Ack:     &fakeas.Response{Status: http.StatusCreated}},
		{Name: "as-acks-any-body", Bug: "a transaction body that is not a JSON object is acknowledged 200", Killers: []string{"AS-ERR-03"},
			Because: `malformed transaction bodies were not refused with a 4xx[^\n]*\n[^\n]*: answered 200`, Flaw: AcksAnyBody},
		{Name: "as-rejects-unknown-keys", Bug: "transactions with keys other than events and ephemeral are refused 400 M_BAD_JSON", Killers: []string{"AS-TXN-05"},
			Because: `transaction with org\.matrix\.msc3202\.device_lists: answered 400 \{"errcode":"M_BAD_JSON"`, Flaw: RefusesUnknownKeys},
		{Name: "as-message-by-type", Bug: "a state event of type m.room.message is handled as a message (by its type, not its state_key)", Killers: []string{"AS-TXN-04"},
			Because: `handled a state event of type m.room.message as a message`, Flaw: MessageByType},
	}
}

// asQueryMutants break the answers to user and alias queries (spec:
// Querying).
func asQueryMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-query-200-without-user", Bug: "a user query is answered 200 without creating the user", Killers: []string{"AS-QRY-02"},
			Because: `answered 200 but @\S+ does not exist`, Flaw: SkipsUserCreation},
		{Name: "as-alias-200-without-room", Bug: "an alias query is answered 200 without creating the room", Killers: []string{"AS-QRY-03"},
			Because: `answered 200 but #\S+ is not bound to a room`, Flaw: SkipsAliasCreation},
		{Name: "as-binds-alias-after-answering", Bug: "an alias query is answered 200 once the room is created; the alias is bound 200 ms after the answer", Killers: []string{"AS-QRY-03"},
			Because: `answered 200 but #\S+ is not bound to a room`, Flaw: BindsAliasAfterAnswering},
		{Name: "as-claims-everything", Bug: "queries outside the namespace are answered 200", Killers: []string{"AS-QRY-04"},
			Because: `Expected status \[404\]\s+Actual: 200`, Flaw: ClaimsEverything},
		{Name: "as-denies-everything", Bug: "every query is answered 404", Killers: []string{"AS-QRY-02", "AS-QRY-03"},
			Because: `Expected status \[200\]\s+Actual: 404`, Flaw: DeniesEverything},
		{Name: "as-registers-after-answering", Bug: "a user query is answered before the user is created", Killers: []string{"AS-QRY-02"},
			Because: `answered 200 but @\S+ does not exist`, Flaw: RegistersAfterAnswering},
		{Name: "as-user-in-use-500", Bug: "a user query fails with 500 when the user is already registered (M_USER_IN_USE)", Killers: []string{"AS-QRY-05"},
			Because: `already registered on the homeserver\s+Expected status \[200\]\s+Actual: 500`, Flaw: FailsUserInUse},
	}
}

// asClientMutants break the AS's own use of the client-server API (spec:
// Identity assertion, Server admin style permissions, Using /sync).
func asClientMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-registers-without-inhibit", Bug: "users are registered without inhibit_login", Killers: []string{"AS-LOGIN-01"},
			Because: `registered without inhibit_login: true`, Flaw: NoInhibitLogin},
		{Name: "as-logs-in", Bug: "a registered user is then logged in with m.login.application_service", Killers: []string{"AS-LOGIN-02"},
			Because: `a login on a server without the legacy authentication API: POST \S+/login`, Flaw: LogsIn},
		{Name: "as-syncs-as-sender", Bug: "each transaction makes the AS call /sync as its sender user", Killers: []string{"AS-ID-01"},
			Because: `/sync or /events called without user_id, as its sender user: GET /_matrix/client/v3/sync`, Flaw: SyncsAsSender},
		{Name: "as-asserts-outside-namespace", Bug: "the echo ghost is asserted without the namespace prefix (@echo)", Killers: []string{"AS-ID-05"},
			Because: `asserted @echo:\S+, outside its users namespaces`, Flaw: UnprefixedGhost},
		{Name: "as-ghost-acts-as-bot-device", Bug: "the echo ghost's requests name the bot's device in device_id", Killers: []string{"AS-ID-03"},
			Because: `device_id REFBOT is not a device of @\S+echo:\S+ \(user_id\)`, Flaw: GhostActsAsBotDevice},
		{Name: "as-bot-acts-as-ghost-device", Bug: "the bot's requests, without user_id, name the echo ghost's device in device_id", Killers: []string{"AS-ID-02"},
			Because: `device_id REFECHO is not a device of @\S+ \(no user_id: its sender_localpart user\)`, Flaw: BotActsAsGhostDevice},
		{Name: "as-token-in-query", Bug: "the as_token goes in the query string", Killers: []string{"AS-AUTH-04"},
			Because: `no Authorization header; access_token query parameter present`, Egress: moveTokenToQuery},
	}
}

// asBridgeMutants break the reference's bridging of its remote network
// (the walkthrough from the bridge's side; spec: Referencing messages from
// a third-party network).
func asBridgeMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-remote-as-bot", Bug: "a remote message is bridged in by the bridge's bot, not as its sender's ghost", Killers: []string{"AS-ID-05"},
			Because: `remote message \S+ by \S+ was sent into the portal as @\S+, not as the ghost of its sender`, Flaw: RemoteAsBot},
		{Name: "as-no-external-url", Bug: "a remote message is bridged in without external_url", Killers: []string{"AS-EVT-01"},
			Because: `carries no external_url`, Flaw: NoExternalURL},
		{Name: "as-drops-scrollback", Bug: "what was said on a remote channel before its portal existed is never bridged in", Killers: []string{"AS-QRY-03"},
			Because: `remote message \S+ \(.*\) never appeared in its portal`, Flaw: DropsScrollback},
		{Name: "as-drops-matrix-messages", Bug: "a Matrix user's message in a portal, acknowledged, never reaches the remote channel", Killers: []string{"AS-TXN-01"},
			Because: `the Matrix message \S+ never reached the remote channel`, Flaw: DropsMatrixMessages},
	}
}

// asThirdPartyMutants break the third-party protocol metadata and lookups
// (spec: Third-party networks).
func asThirdPartyMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-protocol-untyped-field", Bug: "the protocol metadata lists a user field without a field type", Killers: []string{"AS-3PE-03"},
			Because: `user_fields lists realname, which has no entry in field_types`, Flaw: UntypedProtocolField},
		{Name: "as-protocol-duplicate-network", Bug: "two protocol instances share a network_id", Killers: []string{"AS-3PE-04"},
			Because: `network_id "sample" is not unique`, Flaw: DuplicateNetworkID},
		{Name: "as-any-protocol", Bug: "metadata is served for any protocol name", Killers: []string{"AS-3PE-02"},
			Because: `which it does not bridge\s+Expected status \[404\]\s+Actual: 200`, Flaw: AnyProtocol},
		{Name: "as-lookup-object", Bug: "third-party lookups answer one object instead of an array", Killers: []string{"AS-3PE-06", "AS-3PE-07", "AS-3PE-08"},
			Because: `answered 200 with a JSON object, not an array`, Flaw: LookupObject},
		{Name: "as-protocol-narrow-first", Bug: "user_fields lists nickname before network", Killers: []string{"AS-3PE-05"},
			Because: `user_fields lists the grouping field network after nickname`, Flaw: NarrowFieldFirst},
	}
}

// asRegistrationMutants plant flaws in the registration file the reference
// AS comes with (spec: Registration) and in its room directory updates
// (spec: Published room directories).
func asRegistrationMutants() []ASMutant {
	return []ASMutant{
		{Name: "as-registration-no-sender", Bug: "the registration file has no sender_localpart", Killers: []string{"AS-REG-01"},
			Because: `lacks sender_localpart`, Flaw: RegistrationNoSender},
		{Name: "as-namespace-no-exclusive", Bug: "an aliases namespace entry of the registration has a regex but no exclusive", Killers: []string{"AS-REG-02"},
			Because: `namespaces\.aliases\[0\] has no boolean exclusive`, Flaw: NamespaceNoExclusive},
		{Name: "as-namespace-no-underscore", Bug: "the exclusive users namespace is @sample_.*, without the underscore after the sigil", Killers: []string{"AS-REG-04"},
			Because: `exclusive users namespace "@sample_\.\*:\S+" does not start with an underscore after the sigil`, Flaw: NamespaceNoUnderscore},
		{Name: "as-directory-no-visibility", Bug: "the network room directory update is sent with an empty body", Killers: []string{"AS-DIR-01"},
			Because: `directory update PUT \S+/directory/list/appservice/\S+ states no visibility`, Flaw: DirectoryNoVisibility},
	}
}

// ASMutants returns the AS mutants, sorted by name.
func ASMutants() []ASMutant { return sortedByName(asCatalogue) }

// LookupAS finds an AS mutant by name.
func LookupAS(name string) (ASMutant, bool) { return byName(asCatalogue, name) }

// Client is the HTTP client the reference AS calls the homeserver with:
// nil (the default client) unless the mutant rewrites those calls.
func (m ASMutant) Client() *http.Client {
	if m.Egress == nil {
		return nil
	}
	return &http.Client{Transport: rewriting(m.Egress)}
}

// rewriting is a transport that rewrites each request (a copy) first.
type rewriting func(*http.Request)

func (rw rewriting) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	rw(r)
	return http.DefaultTransport.RoundTrip(r)
}

func (m ASMutant) name() string { return m.Name }
