package homeserver

import (
	"encoding/json"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/matrix"
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
