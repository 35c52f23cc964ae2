package requirements

// catalogue lists the normative statements of the Matrix Application Service
// API as of spec release v1.19 (tag v1.19 of matrix-org/matrix-spec), plus the
// application-service parts of the Client-Server API, plus design statements
// from the 2015 drafts that did not survive (Level Historical).
//
// Since is the release in which the statement first appeared; everything
// already present in the r0.x application service releases (or the matching
// r0.x client-server releases) is dated "v1.0". Summaries are paraphrases.
var catalogue = []Requirement{
	// ---------------------------------------------------------------------
	// Homeserver: registration files and interest rules
	// ---------------------------------------------------------------------
	{
		ID: "HS-REG-01", Side: Homeserver, Level: Must, Since: "v1.0",
		Section:  "Registration",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary:  "Every configured application service needs its own id and its own as_token; the homeserver has to refuse a configuration in which two services share either value.",
		Question: "The spec says the homeserver MUST enforce uniqueness, not how: refusing to start is one way; a server that started and refused one of the two services would also enforce it, but nothing outside tells which it refused. Checked as: the homeserver does not start with such a configuration (its own exit, with its last log lines observed).",
	},
	{
		ID: "HS-REG-02", Side: Homeserver, Level: Stated, Since: "v1.5",
		Section:    "Registration",
		URL:        "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary:    "A users namespace only selects local users: events affecting users on other homeservers are not sent to the AS because such a user matches the regex (only if the room interests the AS for another reason). The spec states this as fact, with no keyword.",
		OutOfReach: "A second homeserver federating with the one under test, so that remote users can match a namespace; the flavors here run one homeserver without federation.",
	},
	{
		ID: "HS-REG-03", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "Every event in a room whose room ID matches a rooms namespace, or which has an alias matching an aliases namespace, is delivered to the AS.",
	},
	{
		ID: "HS-REG-04", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "An event is delivered to the AS when a local user matched by one of its users namespaces is the event's target or is joined to the room the event happens in.",
	},
	{
		ID: "HS-REG-05", Side: Homeserver, Level: Will, Since: "v1.11",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "The AS's own sender_localpart user makes events interesting too: events targeting it, or in rooms where it is joined, are delivered to the AS.",
	},
	{
		ID: "HS-REG-06", Side: Homeserver, Level: Schema, Since: "v1.0",
		Section:  "Registration",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary:  "The optional rate_limited flag of the registration decides whether requests the AS makes as masqueraded users are rate-limited; the AS's sender user is outside the scope of this flag.",
		Question: "The spec gives no default for an absent rate_limited, nor what rate limits a homeserver has at all; checked only with both values given explicitly, on a homeserver whose own rate limits are switched on and tight (harness.Settings.RateLimits), with a burst of the first kind of request a normal user meets 429 in (messages; typing notifications where messages are not limited, as in Dendrite): under false, the AS's masqueraded users meet no 429 in the burst; under true, they do. The sender user is not judged.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: authenticating towards the application service
	// ---------------------------------------------------------------------
	{
		ID: "HS-AUTH-01", Side: Homeserver, Level: Must, Since: "v1.4",
		Section: "Authorisation",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#authorisation",
		Summary: "Every call the homeserver makes to the AS (transactions, user/alias queries, third-party lookups, ping) carries the registration's hs_token in an Authorization: Bearer header.",
	},
	{
		ID: "HS-AUTH-02", Side: Homeserver, Level: Should, Since: "v1.4",
		Section: "Authorisation",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#authorisation",
		Summary: "The old access_token query parameter holding the hs_token is only to be sent by homeservers that still cater for application services built against older spec versions.",
	},
	{
		ID: "HS-AUTH-03", Side: Homeserver, Level: Should, Since: "v1.4",
		Section: "Authorisation",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#authorisation",
		Summary: "A homeserver that still sends the legacy query parameter is encouraged to send the Authorization header in the same request as well.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: pushing transactions
	// ---------------------------------------------------------------------
	{
		ID: "HS-TXN-01", Side: Homeserver, Level: Schema, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary: "Events for the AS are pushed with PUT /_matrix/app/v1/transactions/{txnId}; the unversioned /transactions/{txnId} path is only a legacy fallback (see HS-LEG-01).",
	},
	{
		ID: "HS-TXN-02", Side: Homeserver, Level: Must, Since: "v1.4",
		Section: "Authorisation",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#authorisation",
		Summary: "The transaction PUT is authenticated by sending the registration's hs_token as Authorization: Bearer <hs_token> (before v1.4 it went in the access_token query parameter).",
	},
	{
		ID: "HS-TXN-03", Side: Homeserver, Level: Schema, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary: "The transaction body is a JSON object whose required events member is an array of events in the client-server (client event) format.",
	},
	{
		ID: "HS-TXN-04", Side: Homeserver, Level: Implied, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary:  "Each transaction carries a homeserver-generated txnId in its path; since the AS recognises retries by that ID, distinct transactions need distinct IDs. Implied by the spec, not stated.",
		Question: "Must a transaction ID be unique only per AS and homeserver lifetime, or across restarts too? The spec says neither.",
	},
	{
		ID: "HS-TXN-05", Side: Homeserver, Level: MustNot, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary: "A transaction that was not acknowledged is sent again under the same txnId, and its event list must not change between attempts (nothing added, nothing removed).",
	},
	{
		ID: "HS-TXN-06", Side: Homeserver, Level: Should, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary: "While the AS cannot be reached, the homeserver keeps retrying with exponentially growing delays until it is reachable again.",
	},
	{
		ID: "HS-TXN-07", Side: Homeserver, Level: LowerShould, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary:  "Events sent to the AS should be linearised, as if from the event stream (lower-case should). The spec does not say whether a later transaction may be sent before an earlier one is acknowledged: that is observed, not judged.",
		Question: "Does \"linearised\" forbid sending a later transaction while an earlier one is still unacknowledged? The spec only requires a queue (HS-TXN-08).",
	},
	{
		ID: "HS-TXN-08", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary: "The homeserver keeps a queue of transactions still to be delivered to the AS, so events are held rather than dropped while delivery fails.",
	},
	{
		ID: "HS-TXN-09", Side: Homeserver, Level: Stated, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary:  "Requests to an AS \"can be made without blocking other aspects of the homeserver\": an AS that leaves a request unanswered does not hold up delivery to the other ASes.",
		Question: "The sentence is a statement with no RFC 2119 keyword (\"can\"): may a homeserver hold every AS's deliveries while one AS's query hangs? Graded as a stated expectation (a miss is non-strict), with 10 s as the bound of \"not held up\" (a homeserver left alone delivers in milliseconds).",
	},
	{
		ID: "HS-TXN-11", Side: Homeserver, Level: Stated, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary:  "Requests to an AS \"can be made without blocking other aspects of the homeserver\": while a transaction to an AS goes unanswered, clients' sends and syncs are answered as usual.",
		Question: "The sentence is a statement with no RFC 2119 keyword (\"can\"), and names no bound: graded as a stated expectation (a miss is non-strict), with HS-TXN-09's 10 s as the bound of \"not held up\" (a send or an initial sync with timeout=0 is answered in well under a second).",
	},
	{
		ID: "HS-TXN-10", Side: Homeserver, Level: Implied, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary:  "A transaction the AS answered 200 with a JSON object is acknowledged: the homeserver does not send it again. The endpoint's only response is that 200 (\"The transaction was processed successfully\", schema type object), and the \"AS ACK Lost\" flow retries only when the 200 does not arrive. Implied, not stated.",
		Question: "What else acknowledges a transaction? The spec defines no other answer: a 200 without a body, a 200 whose body is not JSON (or not an object), and another 2xx (201, 202, 204) are neither acknowledgements nor failures by its letter. Whether the homeserver retries after each is observed, not judged.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: legacy routes
	// ---------------------------------------------------------------------
	{
		ID: "HS-LEG-01", Side: Homeserver, Level: Should, Since: "v1.0",
		Section:  "Legacy routes",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#legacy-routes",
		Summary:  "The homeserver calls the versioned /_matrix/app/v1/... paths first and, when the AS answers with a non-success status (404, 500, 501, ...), retries on the equivalent legacy path (/transactions/{txnId}, /users/{userId}, /rooms/{roomAlias}, /_matrix/app/unstable/thirdparty/...).",
		Question: "The text says \"if the application service receives an HTTP status code that does not indicate success\": it means the homeserver receiving it. It names 500 as a reason to fall back, which sits badly with retrying a transaction the AS failed (HS-TXN-05): a fallback on 500 sends the transaction to a path a current AS does not serve. Both a 404 and a 500 are checked, as the text says, for transactions and for user and alias queries (third-party paths are not checked).",
	},
	{
		ID: "HS-LEG-02", Side: Homeserver, Level: Should, Since: "v1.0",
		Section:  "Legacy routes",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#legacy-routes",
		Summary:  "After falling back to legacy paths, the homeserver periodically tries the versioned paths again in case the AS has been upgraded.",
		Question: "\"Periodically\" has no period. Checked within the suite's delivery bound (20 s, scaled), with the upgraded AS still serving the legacy path too, so that only trying the versioned path again, not a failure, brings the homeserver back; not reached where the homeserver never fell back (HS-LEG-01).",
	},

	// ---------------------------------------------------------------------
	// Homeserver: user and room alias queries
	// ---------------------------------------------------------------------
	{
		ID: "HS-QRY-01", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1usersuserid",
		Summary: "GET /_matrix/app/v1/users/{userId} is only issued for user IDs inside one of the AS's users namespaces.",
	},
	{
		ID: "HS-QRY-02", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1usersuserid",
		Summary: "The homeserver asks the AS about a user when it gets an event (for instance an invite) for a not-yet-existing user ID in the AS's namespace.",
	},
	{
		ID: "HS-QRY-03", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1roomsroomalias",
		Summary: "GET /_matrix/app/v1/rooms/{roomAlias} is only issued for room aliases inside one of the AS's aliases namespaces.",
	},
	{
		ID: "HS-QRY-04", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1roomsroomalias",
		Summary: "The homeserver asks the AS about an alias when a client tries to join a not-yet-existing alias in the AS's namespace.",
	},
	{
		ID: "HS-QRY-05", Side: Homeserver, Level: Should, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#querying",
		Summary: "When a user or alias query gets no response, the homeserver tries it a few more times before giving up.",
	},
	{
		ID: "HS-QRY-06", Side: Homeserver, Level: Should, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#querying",
		Summary: "Once a blocking query finally times out, the client whose request triggered it (e.g. a join by alias) receives HTTP 408.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: third-party lookups
	// ---------------------------------------------------------------------
	{
		ID: "HS-3PE-01", Side: Homeserver, Level: Will, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#third-party-networks",
		Summary: "When a client searches users or locations of a protocol, the homeserver hands the client's search fields to the AS providing that protocol, which does the filtering.",
	},
	{
		ID: "HS-3PE-02", Side: Homeserver, Level: Schema, Since: "v1.14",
		Section: "Third-party Lookups",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3thirdpartyprotocols",
		Summary: "Protocol metadata served to clients is the AS's metadata with every instance extended by a homeserver-unique instance_id, which clients then use as third_party_instance_id for publicRooms.",
	},

	{
		ID: "HS-3PE-03", Side: Homeserver, Level: Implied, Since: "v1.0",
		Section:  "Third-party Lookups",
		URL:      "https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3thirdpartylocation",
		Summary:  "A client's reverse lookup GET /_matrix/client/v3/thirdparty/location?alias= is answered with the third-party locations the AS gives for the alias (GET /_matrix/app/v1/thirdparty/location?alias=). Implied: the client-server API defines the lookup, the AS API the matching endpoint, and only the AS knows the answer.",
		Question: "The client's request names no protocol: which AS is asked? Checked that the AS whose aliases namespace holds the alias is asked and its answer returned.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: ping
	// ---------------------------------------------------------------------
	{
		ID: "HS-PING-01", Side: Homeserver, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixclientv1appserviceappserviceidping",
		Summary: "POST /_matrix/client/v1/appservice/{appserviceId}/ping makes the homeserver call POST /_matrix/app/v1/ping on the AS, passing any transaction_id through unchanged, and on success answer 200 with duration_ms (round trip as the homeserver measured it).",
	},
	{
		ID: "HS-PING-02", Side: Homeserver, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixclientv1appserviceappserviceidping",
		Summary: "POST /appservice/{appserviceId}/ping with a token that is not the as_token of that service (another AS's, or a user's) is refused with 403 M_FORBIDDEN; a missing or unknown token gets the client-server API's 401 (M_MISSING_TOKEN / M_UNKNOWN_TOKEN).",
	},
	{
		ID: "HS-PING-03", Side: Homeserver, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixclientv1appserviceappserviceidping",
		Summary: "Pinging a service whose registration has no url gives 400 M_URL_NOT_SET.",
	},
	{
		ID: "HS-PING-04", Side: Homeserver, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixclientv1appserviceappserviceidping",
		Summary: "If the AS answers the ping with an error status, the caller gets 502 M_BAD_STATUS, optionally with the AS's status code and response body for debugging.",
	},
	{
		ID: "HS-PING-05", Side: Homeserver, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixclientv1appserviceappserviceidping",
		Summary: "If the homeserver cannot connect to the AS at all, the ping answers 502 M_CONNECTION_FAILED.",
	},
	{
		ID: "HS-PING-06", Side: Homeserver, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixclientv1appserviceappserviceidping",
		Summary: "If the AS does not answer in time, the ping answers 504 M_CONNECTION_TIMEOUT.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: client-server extensions, identity assertion
	// ---------------------------------------------------------------------
	{
		ID: "HS-EXT-01", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Client-Server API Extensions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#client-server-api-extensions",
		Summary: "Homeservers implement the client-server extensions of the AS spec, and make them usable only by requests authenticated as an application service.",
	},
	{
		ID: "HS-ID-01", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "A client-server request authenticated with the as_token and carrying ?user_id= for a user inside the AS's users namespaces is carried out as that user.",
	},
	{
		ID: "HS-ID-02", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "The asserted user_id has to fall inside the AS's users namespaces; otherwise the request is refused, with 403 M_FORBIDDEN as documented for GET /account/whoami.",
	},
	{
		ID: "HS-ID-03", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "A request with the as_token but no user_id is carried out as the user named by the registration's sender_localpart.",
	},
	{
		ID: "HS-ID-04", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "Acting as a user through the as_token works throughout the client-server API, with account management as the only exception.",
	},
	{
		ID: "HS-ID-05", Side: Homeserver, Level: Must, Since: "v1.17",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "A device_id query parameter next to the as_token makes the request act as that device of the asserted (or sender) user.",
	},
	{
		ID: "HS-ID-06", Side: Homeserver, Level: Must, Since: "v1.17",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "A device_id that is not one of the acting user's devices is answered with 400 M_UNKNOWN_DEVICE.",
	},
	{
		ID: "HS-ID-07", Side: Homeserver, Level: Must, Since: "v1.17",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "Without device_id an AS request counts as having no device, so operations that need one (such as uploading one-time keys) fail.",
	},
	{
		ID: "HS-ID-08", Side: Homeserver, Level: LowerShould, Since: "v1.0",
		Section:  "GET /_matrix/client/v3/account/whoami",
		URL:      "https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3accountwhoami",
		Summary:  "For whoami called by an AS with user_id, the server checks that the user is registered by the AS (the spec's words) and then reports that user_id.",
		Question: "\"Registered by\" the AS, or merely inside its namespace? A user in the namespace created some other way is not covered by the wording.",
	},
	{
		ID: "HS-ID-09", Side: Homeserver, Level: Must, Since: "v1.3",
		Section: "POST /_matrix/client/v3/refresh",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3refresh",
		Summary: "The token refresh endpoint does not honour AS identity assertion.",
	},
	{
		ID: "HS-ID-10", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "GET /_matrix/client/v3/rooms/{roomId}/joined_members",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3roomsroomidjoined_members",
		Summary: "An AS may list a room's joined members as long as any of its users is in the room, not only the acting user.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: timestamp massaging
	// ---------------------------------------------------------------------
	{
		ID: "HS-TS-01", Side: Homeserver, Level: Must, Since: "v1.3",
		Section: "Timestamp massaging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary: "A PUT /rooms/{roomId}/send/{eventType}/{txnId} authenticated as the AS with ?ts=<ms> creates an event whose origin_server_ts is that value.",
	},
	{
		ID: "HS-TS-02", Side: Homeserver, Level: Must, Since: "v1.3",
		Section: "Timestamp massaging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary: "Likewise ?ts= on an AS-authenticated PUT /rooms/{roomId}/state/{eventType}/{stateKey} sets the state event's origin_server_ts.",
	},
	{
		ID: "HS-TS-03", Side: Homeserver, Level: Should, Since: "v1.3",
		Section: "Timestamp massaging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary: "A ts value that would not be a valid origin_server_ts is turned away as a bad request.",
	},
	{
		ID: "HS-TS-04", Side: Homeserver, Level: Must, Since: "v1.3",
		Section: "Timestamp massaging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary: "Without ts nothing changes: the event is stamped with the server's current clock.",
	},
	{
		ID: "HS-TS-05", Side: Homeserver, Level: Must, Since: "v1.3",
		Section: "Timestamp massaging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary: "ts only rewrites the timestamp; the event is still placed at the current tip of the room DAG as if sent now.",
	},
	{
		ID: "HS-TS-06", Side: Homeserver, Level: Must, Since: "v1.3",
		Section:  "Timestamp massaging",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary:  "ts is defined only for AS-authenticated send and state PUTs; other endpoints such as kick do not support it (the spec does not say whether they ignore or reject it).",
		Question: "Must a kick (or another endpoint) given ?ts= refuse the request, or may it ignore ts and stamp the event now? The spec says only that those endpoints do not support ts: either passes, as long as the event does not get ts as its origin_server_ts; which one the homeserver does is observed.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: register / login with m.login.application_service
	// ---------------------------------------------------------------------
	{
		ID: "HS-LOGIN-01", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "POST /register with type m.login.application_service, authenticated by the as_token, creates a user in the AS's users namespace without password or captcha and returns user_id plus access_token and device_id (the latter two only when inhibit_login is not set; since v1.17 servers without the legacy auth API demand inhibit_login, see HS-LOGIN-07).",
	},
	{
		ID: "HS-LOGIN-02", Side: Homeserver, Level: ShouldNot, Since: "v1.0",
		Section: "Account registration",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3register",
		Summary: "With inhibit_login set to true, registration hands back no access_token and no device_id (the spec words it as a lower-case should not; the response schema only requires them when inhibit_login is false).",
	},
	{
		ID: "HS-LOGIN-03", Side: Homeserver, Level: Must, Since: "v1.2",
		Section: "Appservice Login",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#appservice-login",
		Summary: "POST /login with type m.login.application_service, authenticated by the as_token, and an m.id.user identifier for a user in the AS's namespace logs that user in (legacy authentication API only).",
	},
	{
		ID: "HS-LOGIN-04", Side: Homeserver, Level: Will, Since: "v1.2",
		Section: "Appservice Login",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#appservice-login",
		Summary: "For that login, a token that is invalid or is not an AS token, or a user that was never registered, gets M_FORBIDDEN (conflicts with HS-LOGIN-05 for invalid tokens).",
	},
	{
		ID: "HS-LOGIN-05", Side: Homeserver, Level: Must, Since: "v1.10",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "/register or /login with m.login.application_service but a missing or invalid as_token fails with HTTP 401 and M_MISSING_TOKEN or M_UNKNOWN_TOKEN, like any bad client token.",
	},
	{
		ID: "HS-LOGIN-06", Side: Homeserver, Level: Must, Since: "v1.17",
		Section:    "Server admin style permissions",
		URL:        "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary:    "A server that does not offer the legacy authentication API still has to let application services create users through /register with m.login.application_service.",
		OutOfReach: "A homeserver without the legacy authentication API (authentication delegated to an OAuth 2.0 server, MSC3861). Synapse 1.160 offers that only with the Matrix Authentication Service, which neither Debian nor the Go module proxy serves here; Dendrite 0.13.8 has no such mode.",
	},
	{
		ID: "HS-LOGIN-07", Side: Homeserver, Level: Must, Since: "v1.17",
		Section:    "Server admin style permissions",
		URL:        "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary:    "On such a server, an AS registration whose inhibit_login is not true is refused with 400 M_APPSERVICE_LOGIN_UNSUPPORTED.",
		OutOfReach: "A homeserver without the legacy authentication API (authentication delegated to an OAuth 2.0 server, MSC3861). Synapse 1.160 offers that only with the Matrix Authentication Service, which neither Debian nor the Go module proxy serves here; Dendrite 0.13.8 has no such mode.",
	},
	{
		ID: "HS-LOGIN-08", Side: Homeserver, Level: Must, Since: "v1.17",
		Section:    "Server admin style permissions",
		URL:        "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary:    "On such a server, /login with m.login.application_service is refused with 400 M_APPSERVICE_LOGIN_UNSUPPORTED.",
		OutOfReach: "A homeserver without the legacy authentication API (authentication delegated to an OAuth 2.0 server, MSC3861). Synapse 1.160 offers that only with the Matrix Authentication Service, which neither Debian nor the Go module proxy serves here; Dendrite 0.13.8 has no such mode.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: namespaces, exclusivity, M_EXCLUSIVE
	// ---------------------------------------------------------------------
	{
		ID: "HS-NS-01", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "An AS that tries to register a user outside its own users namespaces gets M_EXCLUSIVE.",
	},
	{
		ID: "HS-NS-02", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "An ordinary (non-AS) user registering a user ID that lies in some AS's exclusive users namespace gets M_EXCLUSIVE (listed as a 400 error of /register).",
	},
	{
		ID: "HS-NS-03", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "An ordinary user creating a room alias that lies in some AS's exclusive aliases namespace gets M_EXCLUSIVE.",
	},
	{
		ID: "HS-NS-04", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "An AS creating a room alias outside its own namespaces gets M_EXCLUSIVE; stated in the same sentence as HS-NS-01 (descriptive 'will receive', no RFC 2119 keyword, and the alias endpoint does not list the code).",
	},
	{
		ID: "HS-NS-05", Side: Homeserver, Level: Must, Since: "v1.2",
		Section: "Appservice Login",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#appservice-login",
		Summary: "An AS logging in with m.login.application_service as a user outside its namespaces gets M_EXCLUSIVE.",
	},
	{
		ID: "HS-NS-06", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "Non-exclusive namespaces reserve nothing: ordinary users may create matching users or aliases without an M_EXCLUSIVE error.",
	},
	{
		ID: "HS-NS-07", Side: Homeserver, Level: Stated, Since: "v1.0",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "An exclusive namespace keeps other application services out as well as humans: they cannot create or delete entities inside it (\"an exclusive namespace prevents\", stated without a keyword).",
	},
	{
		ID: "HS-NS-08", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Account registration",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3register",
		Summary: "On /register the M_EXCLUSIVE check is made before user-interactive authentication begins (it may be repeated afterwards).",
	},
	{
		ID: "HS-NS-09", Side: Homeserver, Level: LowerMay, Since: "v1.0",
		Section:  "Account registration",
		URL:      "https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3registeravailable",
		Summary:  "GET /register/available answers 400 for a username in an application service's exclusive namespace, and the errcode \"may\" be M_EXCLUSIVE (lower-case may: the spec lists it among the codes the 400 may include).",
		Question: "Is a 400 with another errcode than M_EXCLUSIVE for a name in an exclusive namespace a deviation? The spec says the answer \"may include\" it.",
	},
	{
		ID: "HS-NS-10", Side: Homeserver, Level: LowerShould, Since: "v1.0",
		Section:  "Server admin style permissions",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary:  "The AS should be able to manage any users and room aliases in its namespace (lower-case should): the homeserver grants it that control.",
		Question: "\"Manage any users and room alias in its namespace\" is not spelt out. Checked on one concrete piece: the AS, acting as one of its users (user_id), makes an alias of its exclusive namespace, and deletes it as itself (its sender, without user_id), in a room its sender is not in.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: ephemeral data
	// ---------------------------------------------------------------------
	{
		ID: "HS-EPH-01", Side: Homeserver, Level: Must, Since: "v1.13",
		Section: "Pushing ephemeral data",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-ephemeral-data",
		Summary: "When the registration enables receive_ephemeral, relevant ephemeral data is delivered in the ephemeral array of transactions (which may be left out when empty).",
	},
	{
		ID: "HS-EPH-02", Side: Homeserver, Level: Schema, Since: "v1.13",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "receive_ephemeral counts as false when missing, so ephemeral data only flows to services that opted in.",
	},
	{
		ID: "HS-EPH-03", Side: Homeserver, Level: Must, Since: "v1.13",
		Section: "Pushing ephemeral data",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-ephemeral-data",
		Summary: "m.presence updates are delivered when they matter to the AS, e.g. for a user sharing a room with it or matching one of its namespaces.",
	},
	{
		ID: "HS-EPH-04", Side: Homeserver, Level: Must, Since: "v1.13",
		Section: "Pushing ephemeral data",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-ephemeral-data",
		Summary: "m.typing is delivered by the same interest rules as room events: the room itself, or one of its members, has to be of interest to the AS.",
	},
	{
		ID: "HS-EPH-05", Side: Homeserver, Level: Must, Since: "v1.13",
		Section: "Pushing ephemeral data",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-ephemeral-data",
		Summary: "m.receipt is delivered by the same interest rules as room events.",
	},
	{
		ID: "HS-EPH-06", Side: Homeserver, Level: Must, Since: "v1.13",
		Section: "Pushing ephemeral data",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-ephemeral-data",
		Summary: "Delivered m.typing and m.receipt keep their client-server shape and gain a top-level room_id naming their room.",
	},
	{
		ID: "HS-EPH-07", Side: Homeserver, Level: Must, Since: "v1.13",
		Section: "Pushing ephemeral data",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-ephemeral-data",
		Summary: "Private read receipts go only to services whose namespaces match the receipt's user; public and threaded receipts are always delivered.",
	},
	{
		ID: "HS-EPH-08", Side: Homeserver, Level: Schema, Since: "v1.13",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary: "The ephemeral array currently holds only m.presence, m.typing and m.receipt entries.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: published room directories per network
	// ---------------------------------------------------------------------
	{
		ID: "HS-DIR-01", Side: Homeserver, Level: Schema, Since: "v1.0",
		Section: "Published room directories",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixclientv3directorylistappservicenetworkidroomid",
		Summary: "PUT /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId} with visibility public or private adds the room to, or removes it from, the AS's directory for that network, answering 200 {}.",
	},
	{
		ID: "HS-DIR-02", Side: Homeserver, Level: Must, Since: "v1.0",
		Section: "Published room directories",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixclientv3directorylistappservicenetworkidroomid",
		Summary: "That directory endpoint needs an as_token; ordinary users cannot use it.",
	},
	{
		ID: "HS-DIR-03", Side: Homeserver, Level: Schema, Since: "v1.0",
		Section: "Published room directories",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3publicrooms",
		Summary: "Clients see AS directories through POST /publicRooms, selecting one network with third_party_instance_id or all of them with include_all_networks.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: devices and cross-signing for application services
	// ---------------------------------------------------------------------
	{
		ID: "HS-DEV-01", Side: Homeserver, Level: Must, Since: "v1.17",
		Section: "Creating devices",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3devicesdeviceid",
		Summary: "An AS can create a device for its user with PUT /devices/{deviceId}; the server answers 201 when it created the device and 200 when it updated an existing one.",
	},
	{
		ID: "HS-DEV-02", Side: Homeserver, Level: Must, Since: "v1.17",
		Section: "Creating devices",
		URL:     "https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3devicesdeviceid",
		Summary: "Creating devices through that endpoint is reserved for application services; regular clients can only update devices that exist.",
	},
	{
		ID: "HS-DEV-03", Side: Homeserver, Level: MustNot, Since: "v1.17",
		Section: "Deleting devices",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#deleting-devices",
		Summary: "DELETE /devices/{deviceId} and POST /delete_devices do not ask an AS for user-interactive authentication.",
	},
	{
		ID: "HS-DEV-04", Side: Homeserver, Level: MustNot, Since: "v1.17",
		Section: "Cross-signing",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#cross-signing",
		Summary: "Uploading cross-signing keys does not ask an AS for user-interactive authentication, even when keys already exist.",
	},

	// ---------------------------------------------------------------------
	// Homeserver: unstable extensions (opt-in profiles, Since "unstable")
	// ---------------------------------------------------------------------
	{
		ID: "HS-TODEV-01", Side: Homeserver, Level: Stated, Since: Unstable,
		Section:  "MSC4203: Sending to-device events to appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/4203",
		Summary:  "A to-device message sent to a device of a user in the namespace of an AS with receive_ephemeral is pushed to that AS in a transaction's to_device array (unstable: de.sorunome.msc2409.to_device), with sender, type, content, to_user_id and to_device_id.",
		Question: "An unstable proposal, not the spec: no RFC 2119 keyword binds, so a wrong push is graded non-strict; a homeserver that pushes no to-device message at all is reported skipped as not implementing the extension.",
	},
	{
		ID: "HS-TODEV-02", Side: Homeserver, Level: Implied, Since: Unstable,
		Section:  "MSC4203: Sending to-device events to appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/4203",
		Summary:  "A to-device message pushed in a transaction the AS failed is not lost: the retried transaction (or a later one) still carries it.",
		Question: "Neither MSC2409 nor MSC4203 says what happens to to-device messages of a failed transaction; the spec's retry rule (the same transaction is retried) implies the retry carries the same content, and a to-device message is delivered once to its device.",
	},
	{
		ID: "HS-TODEV-03", Side: Homeserver, Level: Implied, Since: Unstable,
		Section:  "MSC4203: Sending to-device events to appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/4203",
		Summary:  "Only to-device messages for devices of users in the AS's namespaces are pushed to it: not one its own user's device sent to a user outside them.",
		Question: "MSC4203 defines what is pushed by the recipient (to_user_id in the AS's namespace); that a message sent by the AS's user is not echoed back to the AS is read from that rule, not stated.",
	},
	{
		ID: "HS-OTK-01", Side: Homeserver, Level: Stated, Since: Unstable,
		Section:  "MSC3202: Encrypted Appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/3202",
		Summary:  "For a registration that opted in (org.matrix.msc3202), a transaction that concerns one of the AS's users carries device_one_time_keys_count (unstable: org.matrix.msc3202.device_one_time_keys_count) with the unclaimed one-time keys per algorithm of that user's devices.",
		Question: "MSC3202 lets a server omit users whose counts did not change since the last transaction; this spec uploads keys first, so the first transaction concerning the user must carry them. Synapse also sends the misspelt org.matrix.msc3202.device_one_time_key_counts.",
	},
	{
		ID: "HS-OTK-02", Side: Homeserver, Level: Stated, Since: Unstable,
		Section: "MSC3202: Encrypted Appservices",
		URL:     "https://github.com/matrix-org/matrix-spec-proposals/pull/3202",
		Summary: "For a registration that opted in (org.matrix.msc3202), a transaction that concerns one of the AS's users carries device_unused_fallback_key_types (unstable: org.matrix.msc3202.device_unused_fallback_key_types) with the algorithms of that user's devices' unused fallback keys.",
	},
	{
		ID: "HS-DLIST-01", Side: Homeserver, Level: Stated, Since: Unstable,
		Section:  "MSC3202: Encrypted Appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/3202",
		Summary:  "For a registration that opted in (org.matrix.msc3202), a user whose devices change while sharing a room with one of the AS's users is listed under device_lists.changed of a transaction (unstable: org.matrix.msc3202.device_lists).",
		Question: "MSC3202 copies /sync's device_lists; which users an AS tracks (sharing a room with any of its users) is read from /sync's rule, as Synapse does.",
	},
	{
		ID: "HS-ID-11", Side: Homeserver, Level: Stated, Since: Unstable,
		Section:  "MSC3202: Encrypted Appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/3202",
		Summary:  "For a registration that opted in (org.matrix.msc3202), a request with the as_token, ?user_id= and org.matrix.msc3202.device_id acts as that device of the asserted user (the unstable name of v1.17's device_id, HS-ID-05).",
		Question: "Since v1.17 the stable device_id (HS-ID-05) does the same; bridges built before it still send the unstable name. A homeserver that ignores the parameter (whoami reports no device) is reported skipped as not implementing it; naming another device fails.",
	},
	{
		ID: "HS-KEYS-01", Side: Homeserver, Level: Stated, Since: Unstable,
		Section:  "MSC3983: Sending One-Time Key (OTK) claims to appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/3983",
		Summary:  "A client's /keys/claim for a device of a user in an AS's exclusive namespace that has no unused one-time key on the homeserver is forwarded to the AS (unstable: POST /_matrix/app/unstable/org.matrix.msc3983/keys/claim, user → device → algorithms), and the keys the AS answers with are returned to the client.",
		Question: "An unstable proposal: the spec checks the device that uploaded no one-time key (the MSC's trigger), not the fallback rules when the AS fails or gives fewer keys, nor the federation claim. A homeserver that forwards nothing is reported skipped as not implementing it; MSC3983 asks for an exclusive namespace, which the ephemeral AS's is.",
	},
	{
		ID: "HS-KEYS-02", Side: Homeserver, Level: Stated, Since: Unstable,
		Section:  "MSC3984: Sending key queries to appservices",
		URL:      "https://github.com/matrix-org/matrix-spec-proposals/pull/3984",
		Summary:  "A client's /keys/query naming a user in an AS's exclusive namespace is forwarded to the AS (unstable: POST /_matrix/app/unstable/org.matrix.msc3984/keys/query, user → device IDs, [] for all), and the AS's answer is merged over what the homeserver holds, device by device.",
		Question: "An unstable proposal: the spec checks a device only the AS knows and a device whose keys only the homeserver holds; the MSC's merge of cross-signing keys and the federation query are not checked. A homeserver that forwards nothing is reported skipped as not implementing it.",
	},

	// ---------------------------------------------------------------------
	// Application service: registration file
	// ---------------------------------------------------------------------
	{
		ID: "AS-REG-01", Side: AppService, Level: Schema, Since: "v1.0",
		Section:  "Registration",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary:  "A registration always has id, url, as_token, hs_token, sender_localpart and namespaces.",
		Question: "Must url be present (as null) when the AS wants no traffic, or may it be left out? The schema lists url as required and nullable; homeservers (Synapse) take a missing url as null. asconform requires the key.",
	},
	{
		ID: "AS-REG-02", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "Every entry of the users, aliases and rooms namespace lists has both a regex (a POSIX regular expression) and a boolean exclusive.",
	},
	{
		ID: "AS-REG-03", Side: AppService, Level: May, Since: "v1.0",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "url may be null for a service that wants no traffic from the homeserver (explicitly typed as nullable since v1.15).",
	},
	{
		ID: "AS-REG-04", Side: AppService, Level: Should, Since: "v1.0",
		Section: "Registration",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#registration",
		Summary: "Exclusive user and alias namespaces start with an underscore right after the sigil and name the bridged service (e.g. @_irc_.*) to stay clear of ordinary users.",
	},

	// ---------------------------------------------------------------------
	// Application service: authenticating the homeserver
	// ---------------------------------------------------------------------
	{
		ID: "AS-AUTH-01", Side: AppService, Level: Schema, Since: "v1.0",
		Section:  "Querying",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1usersuserid",
		Summary:  "A request without any hs_token is answered with HTTP 401. The spec documents the 401 only for the user and alias queries and the third-party endpoints (no errcode fixed); asking it of transactions and ping extends the endpoint definitions.",
		Question: "Must transactions and ping answer 401 to a request without a token, as the query and third-party endpoints document? Their definitions list no 401.",
	},
	{
		ID: "AS-AUTH-02", Side: AppService, Level: Must, Since: "v1.4",
		Section: "Authorisation",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#authorisation",
		Summary: "The AS verifies that the provided Bearer token matches its hs_token and fails a mismatch with M_FORBIDDEN (403, the status the endpoint definitions give). Stated for the Authorization header since v1.4; before, the token came as a query parameter.",
	},
	{
		ID: "AS-AUTH-03", Side: AppService, Level: Should, Since: "v1.4",
		Section: "Authorisation",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#authorisation",
		Summary: "When a request carries both the Authorization header and the legacy access_token parameter, the AS checks that the two agree.",
	},
	{
		ID: "AS-AUTH-04", Side: AppService, Level: Should, Since: "v1.0",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "When calling the client-server API, the AS passes its as_token in the Authorization header rather than the query string whenever it can, to keep it out of logs.",
	},

	// ---------------------------------------------------------------------
	// Application service: receiving transactions
	// ---------------------------------------------------------------------
	{
		ID: "AS-TXN-01", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary: "The AS acknowledges a processed transaction with HTTP 200 and a JSON object (the schema's type; its example is the empty object).",
	},
	{
		ID: "AS-TXN-02", Side: AppService, Level: May, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary:  "Seeing a txnId it already processed, the AS can treat the retry as a no-op (\"it can NO-OP this request\"): permitted, not demanded, so an AS acting again is observed, not judged.",
		Question: "Does an AS have to remember the IDs it processed across a restart? The txnId parameter says the IDs \"are used to ensure idempotency of requests\", and a retry after the AS crashed before its 200 is the lost ACK the flow draws; but the flow's word is \"can NO-OP\", and the spec says nothing of restarts, so asconform observes what the AS does after a restart and judges only the 200 (AS-TXN-03).",
	},
	{
		ID: "AS-TXN-03", Side: AppService, Level: Stated, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pushing-events",
		Summary: "A retried transaction that was already handled is still answered 200 OK, as the \"AS ACK Lost\" flow shows (a diagram, not a keyword).",
	},
	{
		ID: "AS-TXN-04", Side: AppService, Level: Should, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary: "The AS tells state events from message events by whether a state_key is present, not by the event type.",
	},
	{
		ID: "AS-TXN-05", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Pushing events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary: "A transaction body is an open JSON object whose only required key is events: one that also carries ephemeral (v1.13) or keys the spec does not define (the to_device, device_lists, device_one_time_keys_count and device_unused_fallback_key_types that homeservers send, under their stable and MSC2409/MSC3202 unstable names) is still a valid transaction, acknowledged 200 with a JSON object.",
	},

	// ---------------------------------------------------------------------
	// Application service: answering queries
	// ---------------------------------------------------------------------
	{
		ID: "AS-QRY-01", Side: AppService, Level: Should, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#querying",
		Summary: "Asked about a user or alias, the AS creates it if it wants it to exist, keeping the homeserver waiting until that is done.",
	},
	{
		ID: "AS-QRY-02", Side: AppService, Level: Must, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1usersuserid",
		Summary: "Answering a user query with 200 {} means the user exists, so the AS has to create that user through the client-server API.",
	},
	{
		ID: "AS-QRY-03", Side: AppService, Level: Must, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1roomsroomalias",
		Summary: "Before answering an alias query with 200 {}, the AS has created a room and bound the alias to it through the client-server API (it may set name, topic and so on first).",
	},
	{
		ID: "AS-QRY-04", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Querying",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#querying",
		Summary: "A user or alias the AS does not recognise is answered with 404, optionally with an error body.",
	},
	{
		ID: "AS-QRY-05", Side: AppService, Level: Implied, Since: "v1.0",
		Section:  "Querying",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1usersuserid",
		Summary:  "Asked about a user of its namespace that already exists on the homeserver (its /register answers 400 M_USER_IN_USE, as after a bridge's database reset), the AS still answers 200: the user exists, which is what 200 indicates; the query defines no 5xx.",
		Question: "The spec does not say what an AS answers when registering the queried user fails because the user already exists; 200 is implied by the meaning it gives 200 (\"this user exists\").",
	},

	// ---------------------------------------------------------------------
	// Application service: ping
	// ---------------------------------------------------------------------
	{
		ID: "AS-PING-01", Side: AppService, Level: Schema, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#post_matrixappv1ping",
		Summary: "POST /_matrix/app/v1/ping with a valid hs_token is answered with 200 and a JSON object (the schema's type; its example is {}); the body may carry the transaction_id from the client-server ping.",
	},
	{
		ID: "AS-PING-02", Side: AppService, Level: Should, Since: "v1.7",
		Section: "Pinging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#pinging",
		Summary: "An AS that self-checks with the ping tolerates temporary failures (e.g. starting before the homeserver) instead of failing outright.",
	},

	// ---------------------------------------------------------------------
	// Application service: third-party networks
	// ---------------------------------------------------------------------
	{
		ID: "AS-3PE-01", Side: AppService, Level: May, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#third-party-networks",
		Summary: "An AS can announce the third-party protocols it bridges in the protocols list of its registration.",
	},
	{
		ID: "AS-3PE-02", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartyprotocolprotocol",
		Summary: "GET /_matrix/app/v1/thirdparty/protocol/{protocol} returns user_fields, location_fields, icon, field_types and instances; an unknown protocol gives 404.",
	},
	{
		ID: "AS-3PE-03", Side: AppService, Level: Must, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartyprotocolprotocol",
		Summary: "Each name listed in user_fields or location_fields has an entry in field_types, and each entry gives a regexp and a placeholder.",
	},
	{
		ID: "AS-3PE-04", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartyprotocolprotocol",
		Summary: "Each protocol instance carries desc, fields and a network_id that is unique across instances; its icon is optional.",
	},
	{
		ID: "AS-3PE-05", Side: AppService, Level: Should, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartyprotocolprotocol",
		Summary: "user_fields and location_fields are ordered from the broadest grouping to the narrowest (network before nickname or channel).",
	},
	{
		ID: "AS-3PE-06", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartyuserprotocol",
		Summary: "GET /_matrix/app/v1/thirdparty/user/{protocol} with search fields returns an array of {userid, protocol, fields} objects, or 404 when nothing matches.",
	},
	{
		ID: "AS-3PE-07", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartylocationprotocol",
		Summary: "GET /_matrix/app/v1/thirdparty/location/{protocol} with search fields returns an array of {alias, protocol, fields} portal rooms, or 404 when nothing matches.",
	},
	{
		ID: "AS-3PE-08", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Third-party networks",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#get_matrixappv1thirdpartylocation",
		Summary: "Reverse lookups GET /_matrix/app/v1/thirdparty/location?alias= and /thirdparty/user?userid= return arrays of locations or users, or 404 when there is no mapping.",
	},

	// ---------------------------------------------------------------------
	// Application service: errors and unknown routes
	// ---------------------------------------------------------------------
	{
		ID: "AS-ERR-01", Side: AppService, Level: Must, Since: "v1.6",
		Section: "Unknown routes",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#unknown-routes",
		Summary: "A request to an endpoint the AS does not implement or know is answered with 404 and errcode M_UNRECOGNIZED.",
	},
	{
		ID: "AS-ERR-02", Side: AppService, Level: Stated, Since: "v1.6",
		Section: "Unknown routes",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#unknown-routes",
		Summary: "A known endpoint called with a method it does not support is answered 405 M_UNRECOGNIZED (\"a 405 M_UNRECOGNIZED error is used to denote\", stated without a keyword).",
	},
	{
		ID: "AS-ERR-03", Side: AppService, Level: Implied, Since: "v1.0",
		Section:  "Pushing events",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#put_matrixappv1transactionstxnid",
		Summary:  "A transaction body that is not JSON, or is JSON but not an object, is refused with a 4xx rather than acknowledged: the request schema is an object and the only success the endpoint defines, 200, means \"the transaction was processed successfully\". The AS API names no status or errcode for it.",
		Question: "Which status and errcode should an AS answer for a transaction body that is not JSON, or not a JSON object? The AS API fixes none; the Client-Server API's common codes (400 M_NOT_JSON, M_BAD_JSON) are the obvious choice but are not stated for the AS API.",
	},

	// ---------------------------------------------------------------------
	// Application service: using the client-server API
	// ---------------------------------------------------------------------
	{
		ID: "AS-ID-01", Side: AppService, Level: Must, Since: "v1.0",
		Section: "Using /sync and /events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#using-sync-and-events",
		Summary: "An AS calling /sync or /events MUST do so as a virtual user named via user_id. (That it then relies on pushed transactions rather than syncing as its sender user is only \"expected\": see AS-ID-04.)",
	},
	{
		ID: "AS-ID-04", Side: AppService, Level: Stated, Since: "v1.0",
		Section: "Using /sync and /events",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#using-sync-and-events",
		Summary: "It is expected that the AS handles events from the transactions pushed to it rather than by syncing as its sender_localpart user.",
	},
	{
		ID: "AS-ID-05", Side: AppService, Level: LowerMust, Since: "v1.0",
		Section:  "Identity assertion",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary:  "The user an AS names in the user_id query parameter is covered by one of its users namespaces (\"must\", lower-case).",
		Question: "May an AS name its own sender_localpart user in user_id when its users namespaces do not cover it? The letter says no; the spec makes that user the default when user_id is missing, homeservers accept it, and both mautrix frameworks do it, so asconform allows it and observes it.",
	},
	{
		ID: "AS-ID-02", Side: AppService, Level: Must, Since: "v1.17",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "A device_id sent without user_id has to be a device of the sender_localpart user.",
	},
	{
		ID: "AS-ID-03", Side: AppService, Level: May, Since: "v1.17",
		Section: "Identity assertion",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#identity-assertion",
		Summary: "An AS can pick which of the user's devices it acts as by adding a device_id query parameter.",
	},
	{
		ID: "AS-LOGIN-01", Side: AppService, Level: Must, Since: "v1.17",
		Section:  "Server admin style permissions",
		URL:      "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary:  "Against a server without the legacy authentication API, the AS registers its users with inhibit_login set to true.",
		Question: "How is an AS to know, before its first /register, that the server lacks the legacy API? GET /login not listing m.login.application_service is one sign; the spec names none, so an AS that first registers without inhibit_login and retries after M_APPSERVICE_LOGIN_UNSUPPORTED breaks the MUST by its letter.",
	},
	{
		ID: "AS-LOGIN-02", Side: AppService, Level: MustNot, Since: "v1.17",
		Section: "Server admin style permissions",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#server-admin-style-permissions",
		Summary: "The AS does not call /login on a server that lacks the legacy authentication API.",
	},
	{
		ID: "AS-TS-01", Side: AppService, Level: May, Since: "v1.3",
		Section: "Timestamp massaging",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#timestamp-massaging",
		Summary: "An AS can append ts to its AS-authenticated send and state PUTs so that an event it bridges in carries the time it had on the remote network (\"application services can alter the timestamp\"): permitted, so whether it does, and with which time, is observed.",
	},
	{
		ID: "AS-DIR-01", Side: AppService, Level: Schema, Since: "v1.0",
		Section: "Published room directories",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#put_matrixclientv3directorylistappservicenetworkidroomid",
		Summary: "The directory update body always states visibility, either public or private.",
	},
	{
		ID: "AS-EVT-01", Side: AppService, Level: LowerShould, Since: "v1.0",
		Section: "Referencing messages from a third-party network",
		URL:     "https://spec.matrix.org/v1.19/application-service-api/#referencing-messages-from-a-third-party-network",
		Summary: "Events the AS bridges in from another network carry an external_url in their content pointing at the original message (\"should\", lower-case). Checked with the remote network of an AS that declares remote-network: the link the remote network gives a message is the one expected.",
	},

	// ---------------------------------------------------------------------
	// Historical: 2015 design drafts, not part of today's spec
	// ---------------------------------------------------------------------
	{
		ID: "HIST-REG-01", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Registration API",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "The homeserver offered an HTTP POST /register on which an AS registered itself (url, as_token, namespaces) and got the hs_token back; delivery to the url began once that succeeded. Replaced by static registration files.",
	},
	{
		ID: "HIST-REG-02", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Registration API",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "HTTP self-registration failed with 400 for namespaces that were not valid regexes, 401 without credentials and 403 for rejected AS credentials.",
	},
	{
		ID: "HIST-REG-03", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Unregister API",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "POST /unregister with the as_token removed a registered AS, after which the homeserver stopped sending it events.",
	},
	{
		ID: "HIST-REG-04", Side: AppService, Level: Historical, Since: "2014-draft",
		Section: "Architecture Outline",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/5f97e28c9bffc7aa268f8c45dd568bae25724a20/drafts/applications_services.rst",
		Summary: "An AS going offline had to tell the homeserver through an API call so that requests to it stopped.",
	},
	{
		ID: "HIST-NS-01", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Registration API",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/ad7d675d3d269de2be9cd7d1b4f7dd1b7772d3cd/drafts/as-http-api.rst",
		Summary: "Namespaces were requested as nested JSON trees, and the homeserver chose and returned the real prefixes it allotted (e.g. one tagged with an applicationservice number) instead of accepting regexes.",
	},
	{
		ID: "HIST-NS-02", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Server admin style permissions",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/36395c26111ef7eb09b3cad2d6d2ce4a4bbc40cb/drafts/as-http-api.rst",
		Summary: "Before the exclusive flag existed, any AS namespace made ordinary users' creation of matching users or aliases fail with M_EXCLUSIVE.",
	},
	{
		ID: "HIST-QRY-01", Side: AppService, Level: Historical, Since: "2015-draft",
		Section: "User Query",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/828d6992e563acf78d4a595f446ba1b518844ea4/drafts/as-http-api.rst",
		Summary: "A user query was answered with profile data (display name, avatar URL) and the homeserver itself created the user from it.",
	},
	{
		ID: "HIST-QRY-02", Side: AppService, Level: Historical, Since: "2015-draft",
		Section: "Room Alias Query",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/828d6992e563acf78d4a595f446ba1b518844ea4/drafts/as-http-api.rst",
		Summary: "An alias query was answered with the room's initial state and message events, initial-sync style, for the homeserver to provision the room.",
	},
	{
		ID: "HIST-QRY-03", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Examples",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/828d6992e563acf78d4a595f446ba1b518844ea4/drafts/as-http-api.rst",
		Summary: "Rooms provisioned from an alias query got a fixed room ID derived from the alias, with AS-supplied state able to override defaults such as join rules.",
	},
	{
		ID: "HIST-QRY-04", Side: Homeserver, Level: Historical, Since: "2014-draft",
		Section: "Architecture Outline",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/5f97e28c9bffc7aa268f8c45dd568bae25724a20/drafts/applications_services.rst",
		Summary: "On an invite to an unknown room ID inside an AS namespace, the homeserver asked the AS whether that room exists and then created it; today only aliases and users are queried.",
	},
	{
		ID: "HIST-ID-01", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Identity assertion",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "Besides user_id, identity assertion accepted a user_token granted by a real Matrix user, letting the AS act as that non-virtual user.",
	},
	{
		ID: "HIST-ID-02", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Linking",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/1b3e27a05a8666e02e031972a7bf0336195d5599/drafts/as-http-api.rst",
		Summary: "Linking API: a user's PUT /appservices/{virtualUserId} with restrictions (expiry, rooms) made the homeserver mint a token for the AS and push it; a repeat call replaced the token, which had to respect the restrictions.",
	},
	{
		ID: "HIST-ID-03", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "Linking",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/1b3e27a05a8666e02e031972a7bf0336195d5599/drafts/as-http-api.rst",
		Summary: "DELETE /appservices/{virtualUserId} revoked such links, invalidating the tokens and pushing the revocation to the AS.",
	},
	{
		ID: "HIST-URI-01", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "ID conventions",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "Virtual user IDs were to correspond to URIs (tel, mailto, irc, xmpp, sip), resolved via GET /_matrix/app/v1/user?uri= returning the user_id.",
	},
	{
		ID: "HIST-URI-02", Side: Homeserver, Level: Historical, Since: "2015-draft",
		Section: "ID conventions",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "Room URIs were mapped to aliases the same way, via GET /_matrix/app/v1/alias?uri= returning the alias.",
	},
	{
		ID: "HIST-URI-03", Side: AppService, Level: Historical, Since: "2015-draft",
		Section: "ID conventions",
		URL:     "https://github.com/matrix-org/matrix-spec/blob/3ce1e559545b1ecd0e52e63b89be609142f19dbc/drafts/as-http-api.rst",
		Summary: "Only publicly joinable third-party rooms were to be exposed as aliases; private conversations (e-mail, phone) were to use plain invites and joins.",
	},
}
