package homeserver

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Pushing events": retries of unacknowledged
// transactions, backoff, the queue and its order (the seed's "AS ACK lost").
var _ = describe("Delivery when the AS does not acknowledge", SpecPriority(1), func() {
	// Synapse retries after about 2, 4, 8 s: specs here wait that long.
	const timeout = 2 * time.Minute

	// bridged is the start of most specs here: n bridged rooms (alice's
	// with ghost bob, then carol's with ghost dave), then the AS's queue
	// settled, so that a script set next hits the spec's own transaction.
	bridged := func(ctx SpecContext, n int) (*Fixture, []scenarios.BridgedRoom) {
		f := NewFixture(ctx)
		var rooms []scenarios.BridgedRoom
		for _, names := range [][2]string{{"alice", "bob"}, {"carol", "dave"}}[:n] {
			rooms = append(rooms, f.NewBridgedRoom(ctx, f.NewUser(ctx, names[0]), names[1]))
		}
		f.Settle(ctx, rooms[0])
		return f, rooms
	}

	retriesSame := func(ctx SpecContext, failure string, script func(*fakeas.Step)) {
		f, rooms := bridged(ctx, 1)
		room := rooms[0]
		By("the AS loses the first transaction (" + failure + ")")
		attempts := f.SayWhileFailing(ctx, room, "is anyone there?", script)
		Expect(len(attempts)).To(BeNumerically(">=", 2), "the first attempt was not acknowledged (%s), so a retry was due", failure)
		first, retry := attempts[0], attempts[1]
		suites.Observe("retry interval after "+failure, retry.Exchange.Start.Sub(first.Exchange.Start).Round(time.Millisecond))
		Expect(attempts).To(scenarios.RetryAsSent())
		suites.Observe("retried body byte-identical", string(first.Exchange.Body) == string(retry.Exchange.Body))
	}

	It("retries a transaction whose connection was dropped with the same ID and the same events", Label("HS-TXN-05"), func(ctx SpecContext) {
		retriesSame(ctx, "a dropped connection", func(s *fakeas.Step) { s.Drop() })
	}, NodeTimeout(timeout))

	It("retries a transaction answered with 500 with the same ID and the same events", Label("HS-TXN-05"), func(ctx SpecContext) {
		retriesSame(ctx, "a 500 answer", func(s *fakeas.Step) { s.Fail() })
	}, NodeTimeout(timeout))

	// answeredWith has the AS give answer to the transaction that carries
	// a new event of room, then says another event and waits for its
	// acknowledgement: a homeserver that took the answer as a failure has
	// retried the first transaction by then, since later events wait behind
	// an unacknowledged one (HS-TXN-08). It returns every transaction that
	// carried the first event. (A homeserver that delivered later events
	// first and retried only afterwards would be seen as not retrying.)
	answeredWith := func(ctx SpecContext, f *Fixture, room scenarios.BridgedRoom, what string, answer *fakeas.Response) []scenarios.Delivered {
		GinkgoHelper()
		f.Settle(ctx, room)
		if answer != nil {
			f.AS.On(fakeas.Transactions).Respond(answer.Status, answer.Body)
		}
		first := room.Say(ctx, room.Owner, "answered with "+what)
		Eventually(func() bool {
			return slices.ContainsFunc(f.Deliveries(), func(d scenarios.Delivered) bool { return d.Carries(first) })
		}).
			WithContext(ctx).WithTimeout(wait(scenarios.DeliveryTimeout)).Should(BeTrue(), "no transaction carried the event answered with %s", what)
		f.ExpectAck(ctx, room.Say(ctx, room.Owner, "after the answer "+what))
		return slices.DeleteFunc(f.Deliveries(), func(d scenarios.Delivered) bool { return !d.Carries(first) })
	}

	It("does not send again a transaction the AS acknowledged with 200 and a JSON object", Label("HS-TXN-10"), func(ctx SpecContext) {
		f, rooms := bridged(ctx, 1)
		carried := answeredWith(ctx, f, rooms[0], "200 {}", nil)
		suites.Observe("transactions that carried the event", len(carried))
		Expect(len(carried)).To(Equal(1), "transaction %s was sent again after the AS acknowledged it with %d %s (transaction IDs: %s)",
			carried[0].TxnID, carried[0].Exchange.Status, carried[0].Exchange.RespBody, strings.Join(txnIDs(carried), ", "))
	}, NodeTimeout(timeout))

	It("(observed) whether a transaction answered 200 without a JSON object, or with another 2xx, is sent again; if it is, as the same transaction", Label("HS-TXN-10", "HS-TXN-05", "informational"), func(ctx SpecContext) {
		// The spec defines only 200 with a JSON object (HS-TXN-10's
		// question): what the homeserver makes of the rest is recorded.
		// Where it sends the transaction again, HS-TXN-05 speaks: the
		// same transaction ID and the same events.
		f, rooms := bridged(ctx, 1)
		answers := []struct {
			what   string
			answer fakeas.Response
		}{
			{"200 without a body", fakeas.Response{Status: http.StatusOK, Body: fakeas.RawBody{}}},
			{"200 with a text/plain body", fakeas.Response{Status: http.StatusOK, Body: fakeas.RawBody{Data: []byte("OK"), ContentType: "text/plain"}}},
			{"200 with a JSON array", fakeas.Response{Status: http.StatusOK, Body: fakeas.RawBody{Data: []byte("[]"), ContentType: "application/json"}}},
			{"201 {}", fakeas.Response{Status: http.StatusCreated}},
			{"202 {}", fakeas.Response{Status: http.StatusAccepted}},
			{"204 without a body", fakeas.Response{Status: http.StatusNoContent, Body: fakeas.RawBody{}}},
		}
		for _, a := range answers {
			By("the AS answers " + a.what)
			carried := answeredWith(ctx, f, rooms[0], a.what, &a.answer)
			verdict := "taken as an acknowledgement: sent once"
			if len(carried) > 1 {
				verdict = fmt.Sprintf("retried: sent %d times under transaction ID(s) %s", len(carried), strings.Join(txnIDs(carried), ", "))
			}
			suites.Observe(a.what, verdict)
			Expect(carried).To(scenarios.RetryAsSent(), "the transaction answered %s was sent again", a.what)
		}
	}, NodeTimeout(3*time.Minute))

	It("backs off exponentially while the AS keeps failing", Label("HS-TXN-06"), func(ctx SpecContext) {
		f, rooms := bridged(ctx, 1)
		room := rooms[0]
		By("the AS fails three times")
		attempts := f.SayWhileFailing(ctx, room, "knock knock", func(s *fakeas.Step) { s.Times(3).Fail() })
		Expect(attempts).To(HaveLen(4), "three failures then success")
		var intervals []time.Duration
		for i := 1; i < len(attempts); i++ {
			intervals = append(intervals, attempts[i].Exchange.Start.Sub(attempts[i-1].Exchange.Start).Round(time.Millisecond))
		}
		suites.Observe("intervals between attempts", fmt.Sprint(intervals))
		Expect(intervals).To(match.GrowEach())
	}, NodeTimeout(timeout))

	It("holds later events while a transaction is unacknowledged, then delivers every event once, in order", Label("HS-TXN-07", "HS-TXN-08"), func(ctx SpecContext) {
		f, rooms := bridged(ctx, 2)
		room1, room2 := rooms[0], rooms[1]
		By("the AS fails twice")
		f.AS.On(fakeas.Transactions).Times(2).Fail()
		sent := []scenarios.Sent{room1.Said(ctx, "first, will fail twice")}
		Eventually(func() int { return len(f.Deliveries()) }).WithContext(ctx).Should(BeNumerically(">=", 1))
		sent = append(sent, inTurn(ctx, 3, "during the outage", room1, room2)...)
		f.WaitForAll(ctx, sent)
		deliveries := f.Deliveries()
		suites.Observe("transactions (attempts)", len(deliveries))
		// Whether a later transaction may overtake an unacknowledged one is
		// HS-TXN-07's open question: observed, not judged.
		suites.Observe("a later transaction sent while one was unacknowledged", fmt.Sprint(scenarios.Overtaking(deliveries)))
		Expect(deliveries).To(scenarios.DeliverExactlyOnceInOrder(sent))
	}, NodeTimeout(timeout))

	It("delivers every event that piled up behind a slow acknowledgement, once and in order", Label("HS-TXN-08"), func(ctx SpecContext) {
		f, rooms := bridged(ctx, 1)
		room := rooms[0]
		// The AS holds its answer to the next transaction: what happens
		// meanwhile queues up, and a homeserver may send it as one batch.
		sent := f.SayWhileHeld(ctx,
			func() scenarios.Sent { return room.Said(ctx, "held up") },
			func() []scenarios.Sent { return inTurn(ctx, 4, "behind it", room) })
		deliveries := f.Deliveries()
		largest := 0
		for _, d := range deliveries {
			largest = max(largest, len(d.Txn.Events))
		}
		suites.Observe("events in the largest transaction", largest)
		Expect(deliveries).To(scenarios.DeliverExactlyOnceInOrder(sent))
	}, NodeTimeout(timeout))

	It("delivers the events of different rooms in the order they happened, within and across transactions", Label("HS-TXN-07"), func(ctx SpecContext) {
		f, rooms := bridged(ctx, 2)
		room1, room2 := rooms[0], rooms[1]
		f.Settle(ctx, room2)
		sent := f.SayWhileHeld(ctx,
			func() scenarios.Sent { return room1.Said(ctx, "first, held up") },
			func() []scenarios.Sent { return inTurn(ctx, 3, "in turn", room1, room2) })
		deliveries := f.Deliveries()
		suites.Observe("transactions (attempts)", len(deliveries))
		Expect(deliveries).To(scenarios.DeliverInStreamOrder(sent))
	}, NodeTimeout(timeout))

	It("delivers what happened while the AS was down, once, when it is back", Label("HS-TXN-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		room := f.NewBridgedRoom(ctx, f.NewUser(ctx, "alice"), "bob")
		sent := f.SayWhileDown(ctx, room, "while down", 3)
		By("AS back")
		f.AS.Reset()
		f.WaitForAll(ctx, sent)
		Expect(f.Deliveries()).To(scenarios.DeliverExactlyOnceInOrder(sent))
	}, NodeTimeout(timeout))

	It("keeps what happened while the AS was down across a homeserver restart, and delivers it once", Label("HS-TXN-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.OwnSUT(ctx) // restarted below: the other specs keep the shared one
		room := f.NewBridgedRoom(ctx, f.NewUser(ctx, "alice"), "bob")
		f.Settle(ctx, room)
		sent := f.SayWhileDown(ctx, room, "before the restart", 3)
		By("homeserver restart")
		started := time.Now()
		f.RestartSUT(ctx)
		suites.Observe("homeserver restart took", time.Since(started).Round(100*time.Millisecond))
		By("AS back")
		f.AS.Reset()
		// Retrying on its own after a restart is HS-TXN-06's business; here
		// a new event may nudge the queue, but nothing may be lost.
		unprompted := true
		if _, err := f.WaitForAckWithin(ctx, sent[0].ID, 10*time.Second); err != nil {
			unprompted = false
			sent = append(sent, room.Said(ctx, "after the restart"))
		}
		suites.Observe("held events delivered without a new event after the restart", unprompted)
		f.WaitForAll(ctx, sent)
		Expect(f.Deliveries()).To(scenarios.DeliverExactlyOnceInOrder(sent))
	}, NodeTimeout(3*time.Minute))

	It("pushes to each AS only the events it is interested in, with its own hs_token", Label("HS-REG-04", "HS-AUTH-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		other := f.AnotherAS()
		alice := f.NewUser(ctx, "alice")
		mine := f.NewBridgedRoom(ctx, alice, "bob")
		theirs := f.BridgedRoomOf(ctx, other, alice, "erin")

		forMe := mine.Say(ctx, alice, "for the first AS")
		forThem := theirs.Say(ctx, alice, "for the second AS")
		d1, _ := f.ExpectEvent(ctx, forMe)
		d2, _ := other.ExpectEvent(ctx, forThem)
		Expect(d1.Exchange).To(match.BeBearer(f.Reg.HSToken))
		Expect(d2.Exchange).To(match.BeBearer(other.Reg.HSToken))
		Expect(scenarios.EventIDs(f.Deliveries())).NotTo(ContainElement(forThem), "the first AS got an event of a room it has no user in")
		Expect(scenarios.EventIDs(other.Deliveries())).NotTo(ContainElement(forMe), "the second AS got an event of a room it has no user in")
	}, NodeTimeout(timeout))
})

// inTurn has the owners of rooms say n messages each, taking turns, and
// returns them in the order sent.
func inTurn(ctx SpecContext, n int, text string, rooms ...scenarios.BridgedRoom) []scenarios.Sent {
	GinkgoHelper()
	var sent []scenarios.Sent
	for i := range n {
		for _, r := range rooms {
			sent = append(sent, r.Said(ctx, fmt.Sprintf("%s %d", text, i)))
		}
	}
	return sent
}

// txnIDs lists the transaction IDs of ds, distinct, in order.
func txnIDs(ds []scenarios.Delivered) []string {
	var ids []string
	for _, d := range ds {
		if !slices.Contains(ids, d.TxnID) {
			ids = append(ids, d.TxnID)
		}
	}
	return ids
}
