package homeserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Pushing events" (PUT /_matrix/app/v1/transactions/{txnId}).
var _ = describe("Pushing events in transactions", func() {
	const timeout = 90 * time.Second

	It("pushes a room event to the AS with PUT /transactions/{txnId}, the hs_token as Bearer, and client-format events",
		Label("HS-TXN-01", "HS-TXN-02", "HS-TXN-03"), func(ctx SpecContext) {
			f := NewFixture(ctx)
			alice := f.NewUser(ctx, "alice")
			room := f.NewBridgedRoom(ctx, alice, "bob")
			sent := time.Now()
			eventID := room.Say(ctx, alice, "hello, bridge")

			delivered, event := f.ExpectEvent(ctx, eventID)
			suites.Observe("send to arrival at the AS", delivered.Exchange.Start.Sub(sent).Round(time.Millisecond))
			Expect(delivered.Exchange).To(match.BeTransaction())
			Expect(delivered.Exchange).To(match.BeBearer(f.Reg.HSToken))
			Expect(event.Type).To(Equal("m.room.message"))
			Expect(event.RoomID).To(Equal(room.ID))
			Expect(event.Sender).To(Equal(alice.UserID(ctx)))
			var content map[string]any
			Expect(json.Unmarshal(event.Content, &content)).To(Succeed())
			Expect(content).To(HaveKeyWithValue("body", "hello, bridge"))
		}, NodeTimeout(timeout))

	It("gives distinct transactions distinct transaction IDs", Label("HS-TXN-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		for _, text := range []string{"one", "two", "three"} {
			// Waiting for each event keeps them in separate transactions.
			f.ExpectEvent(ctx, room.Say(ctx, alice, text))
		}
		seen := map[string]int{}
		for _, d := range f.Deliveries() {
			// The fake acknowledged every request, so each is a new transaction.
			seen[d.TxnID]++
		}
		suites.Observe("transactions received", len(f.Deliveries()))
		Expect(len(seen)).To(BeNumerically(">=", 3))
		for id, n := range seen {
			Expect(n).To(Equal(1), "transaction ID %q was used for %d different acknowledged transactions", id, n)
		}
	}, NodeTimeout(timeout))
	It("sends what happens after a restart under transaction IDs the AS had not acknowledged before it", Label("HS-TXN-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.OwnSUT(ctx) // restarted below: the other specs keep the shared one
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		f.Settle(ctx, room)
		// Only this homeserver's transactions (they carry the spec's room):
		// the shared one numbers its own.
		before := map[string]bool{}
		for _, d := range f.Deliveries() {
			if d.Exchange.Status == 200 && slices.ContainsFunc(d.Txn.Events, func(ev matrix.ClientEvent) bool { return ev.RoomID == room.ID }) {
				before[d.TxnID] = true
			}
		}
		f.RestartSUT(ctx)
		id := f.ExpectAck(ctx, room.Say(ctx, alice, "after the restart"))[0].TxnID
		suites.Observe("transactions acknowledged before the restart", len(before))
		suites.Observe("transaction ID after the restart", id)
		Expect(before).NotTo(HaveKey(id), "the event sent after the restart came under transaction ID %q, already acknowledged before the restart: an AS that recognises retries by ID drops it", id)
	}, NodeTimeout(3*time.Minute))
})

// Application Service API, "Authorisation": the hs_token goes in the
// Authorization header; the access_token query parameter is legacy.
var _ = describe("Authorising the homeserver's requests to the AS", func() {
	const timeout = 90 * time.Second

	// authTraffic makes the homeserver send the fake AS a transaction, a
	// user query and an alias query, and returns every request the fake
	// received during the spec (not every homeserver sends the user query
	// for an invite: the requests it does send are judged).
	authTraffic := func(ctx SpecContext) []recorder.Exchange {
		GinkgoHelper()
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		f.ExpectEvent(ctx, room.Say(ctx, alice, "a transaction"))
		f.RegisterOnUserQuery(f.GhostLocalpart("summoned"))
		Expect(alice.Invite(ctx, room.ID, f.Ghost("summoned"))).To(match.HaveStatus(http.StatusOK))
		alias := f.Alias("portal")
		f.OpenPortalOnAliasQuery(alias, "Portal", 0)
		Expect(alice.Join(ctx, alias)).To(match.HaveStatus(http.StatusOK))
		received := f.Received()
		kinds := map[string]int{}
		for _, e := range received {
			for _, prefix := range []string{"/_matrix/app/v1/transactions/", "/_matrix/app/v1/users/", "/_matrix/app/v1/rooms/"} {
				if strings.HasPrefix(e.Path, prefix) {
					kinds[prefix]++
				}
			}
		}
		suites.Observe("requests received (transactions, user queries, alias queries)", kinds)
		// A homeserver that skips a query (HS-QRY-02 judges that) is
		// judged on the requests it did send.
		Expect(kinds).To(HaveKey("/_matrix/app/v1/transactions/"), "no transaction reached the AS")
		return received
	}

	It("sends the hs_token in the Authorization header, not in the legacy access_token query parameter, on transactions and queries",
		Label("HS-AUTH-02"), func(ctx SpecContext) {
			for _, e := range authTraffic(ctx) {
				Expect(e.Query).NotTo(HaveKey("access_token"), "%s %s carried the legacy access_token query parameter", e.Method, e.Path)
			}
		}, NodeTimeout(timeout))

	It("sends the Authorization header with every request that carries the legacy access_token query parameter",
		Label("HS-AUTH-03"), func(ctx SpecContext) {
			legacy := 0
			for _, e := range authTraffic(ctx) {
				if e.Query.Has("access_token") {
					legacy++
					Expect(e.Header.Get("Authorization")).NotTo(BeEmpty(), "%s %s carried the access_token query parameter without an Authorization header", e.Method, e.Path)
				}
			}
			suites.Observe("requests with the access_token query parameter", legacy)
		}, NodeTimeout(timeout))
})
