package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Pushing events": retries of unacknowledged
// transactions, backoff, the queue and its order (the seed's "AS ACK lost").
var _ = Describe("Delivery when the AS does not acknowledge", SpecPriority(1), Label("homeserver"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	// Synapse retries after about 2, 4, 8 s: specs here wait that long.
	const timeout = 2 * time.Minute

	retriesSame := func(ctx SpecContext, failure string, script func(*fakeas.Step)) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		f.settle(ctx, room)
		By("the AS loses the first transaction (" + failure + ")")
		script(f.AS.On(fakeas.Transactions))
		eventID := room.Say(ctx, alice, "is anyone there?")

		attempts, err := f.waitForAck(ctx, eventID)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(attempts)).To(BeNumerically(">=", 2), "the first attempt was not acknowledged (%s), so a retry was due", failure)
		first, retry := attempts[0], attempts[1]
		suites.Observe("retry interval after "+failure, retry.Exchange.Start.Sub(first.Exchange.Start).Round(time.Millisecond))
		Expect(retriedAsSent(attempts)).To(Succeed())
		suites.Observe("retried body byte-identical", string(first.Exchange.Body) == string(retry.Exchange.Body))
	}

	It("retries a transaction whose connection was dropped with the same ID and the same events", Label("HS-TXN-05"), func(ctx SpecContext) {
		retriesSame(ctx, "a dropped connection", func(s *fakeas.Step) { s.Drop() })
	}, NodeTimeout(timeout))

	It("retries a transaction answered with 500 with the same ID and the same events", Label("HS-TXN-05"), func(ctx SpecContext) {
		retriesSame(ctx, "a 500 answer", func(s *fakeas.Step) { s.Fail() })
	}, NodeTimeout(timeout))

	It("backs off exponentially while the AS keeps failing", Label("HS-TXN-06"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		f.settle(ctx, room)
		By("the AS fails three times")
		f.AS.On(fakeas.Transactions).Times(3).Fail()
		eventID := room.Say(ctx, alice, "knock knock")

		attempts, err := f.waitForAck(ctx, eventID)
		Expect(err).NotTo(HaveOccurred())
		Expect(attempts).To(HaveLen(4), "three failures then success")
		var intervals []time.Duration
		for i := 1; i < len(attempts); i++ {
			intervals = append(intervals, attempts[i].Exchange.Start.Sub(attempts[i-1].Exchange.Start).Round(time.Millisecond))
		}
		suites.Observe("intervals between attempts", fmt.Sprint(intervals))
		Expect(growing(intervals)).To(Succeed())
	}, NodeTimeout(timeout))

	It("holds later events while a transaction is unacknowledged, then delivers every event once, in order", Label("HS-TXN-07", "HS-TXN-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		carol := f.NewUser(ctx, "carol")
		room1 := f.NewBridgedRoom(ctx, alice, "bob")
		room2 := f.NewBridgedRoom(ctx, carol, "dave")
		f.settle(ctx, room1)
		By("the AS fails twice")
		f.AS.On(fakeas.Transactions).Times(2).Fail()

		var sent []sentEvent
		say := func(r BridgedRoom, text string) {
			sent = append(sent, sentEvent{room: r.ID, id: r.Say(ctx, r.Owner, text)})
		}
		say(room1, "first, will fail twice")
		Eventually(func() int { return len(f.Deliveries()) }).WithContext(ctx).Should(BeNumerically(">=", 1))
		for i := range 3 {
			say(room1, fmt.Sprintf("alice during the outage %d", i))
			say(room2, fmt.Sprintf("carol during the outage %d", i))
		}
		f.waitForAll(ctx, sent)
		deliveries := f.Deliveries()
		suites.Observe("transactions (attempts)", len(deliveries))
		// Whether a later transaction may overtake an unacknowledged one is
		// HS-TXN-07's open question: observed, not judged.
		suites.Observe("a later transaction sent while one was unacknowledged", fmt.Sprint(noOvertaking(deliveries)))
		Expect(exactlyOnceInOrder(deliveries, sent)).To(Succeed())
	}, NodeTimeout(timeout))

	It("delivers every event that piled up behind a slow acknowledgement, once and in order", Label("HS-TXN-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		f.settle(ctx, room)
		// The AS holds its answer to the next transaction: what happens
		// meanwhile queues up, and a homeserver may send it as one batch.
		held := f.AS.On(fakeas.Transactions).Times(1).Block()
		sent := []sentEvent{{room: room.ID, id: room.Say(ctx, alice, "held up")}}
		Eventually(held.Entered()).WithContext(ctx).Should(BeClosed())
		for i := range 4 {
			sent = append(sent, sentEvent{room: room.ID, id: room.Say(ctx, alice, fmt.Sprintf("behind it %d", i))})
		}
		held.Release()
		f.waitForAll(ctx, sent)
		deliveries := f.Deliveries()
		largest := 0
		for _, d := range deliveries {
			largest = max(largest, len(d.Txn.Events))
		}
		suites.Observe("events in the largest transaction", largest)
		Expect(exactlyOnceInOrder(deliveries, sent)).To(Succeed())
	}, NodeTimeout(timeout))

	It("delivers the events of different rooms in the order they happened, within and across transactions", Label("HS-TXN-07"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		carol := f.NewUser(ctx, "carol")
		room1 := f.NewBridgedRoom(ctx, alice, "bob")
		room2 := f.NewBridgedRoom(ctx, carol, "dave")
		f.settle(ctx, room1)
		f.settle(ctx, room2)
		held := f.AS.On(fakeas.Transactions).Times(1).Block()
		var sent []sentEvent
		say := func(r BridgedRoom, text string) {
			sent = append(sent, sentEvent{room: r.ID, id: r.Say(ctx, r.Owner, text)})
		}
		say(room1, "first, held up")
		Eventually(held.Entered()).WithContext(ctx).Should(BeClosed())
		for i := range 3 {
			say(room1, fmt.Sprintf("alice %d", i))
			say(room2, fmt.Sprintf("carol %d", i))
		}
		held.Release()
		f.waitForAll(ctx, sent)
		deliveries := f.Deliveries()
		suites.Observe("transactions (attempts)", len(deliveries))
		Expect(inStreamOrder(deliveries, sent)).To(Succeed())
	}, NodeTimeout(timeout))

	It("delivers what happened while the AS was down, once, when it is back", Label("HS-TXN-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		By("AS down")
		f.AS.On(fakeas.Transactions).Always().Drop()
		var sent []sentEvent
		for i := range 3 {
			sent = append(sent, sentEvent{room: room.ID, id: room.Say(ctx, alice, fmt.Sprintf("while down %d", i))})
		}
		f.waitForFailedAttempt(ctx)
		By("AS back")
		f.AS.Reset() // back up
		f.waitForAll(ctx, sent)
		Expect(exactlyOnceInOrder(f.Deliveries(), sent)).To(Succeed())
	}, NodeTimeout(timeout))

	It("keeps what happened while the AS was down across a homeserver restart, and delivers it once", Label("HS-TXN-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.OwnSUT(ctx) // restarted below: the other specs keep the shared one
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		f.settle(ctx, room)
		By("AS down")
		f.AS.On(fakeas.Transactions).Always().Drop()
		var sent []sentEvent
		for i := range 3 {
			sent = append(sent, sentEvent{room: room.ID, id: room.Say(ctx, alice, fmt.Sprintf("before the restart %d", i))})
		}
		f.waitForFailedAttempt(ctx)
		By("homeserver restart")
		started := time.Now()
		f.RestartSUT(ctx)
		suites.Observe("homeserver restart took", time.Since(started).Round(100*time.Millisecond))
		By("AS back")
		f.AS.Reset() // back up
		// Retrying on its own after a restart is HS-TXN-06's business; here
		// a new event may nudge the queue, but nothing may be lost.
		unprompted := true
		if _, err := f.waitForAckWithin(ctx, sent[0].id, 10*time.Second); err != nil {
			unprompted = false
			sent = append(sent, sentEvent{room: room.ID, id: room.Say(ctx, alice, "after the restart")})
		}
		suites.Observe("held events delivered without a new event after the restart", unprompted)
		f.waitForAll(ctx, sent)
		Expect(exactlyOnceInOrder(f.Deliveries(), sent)).To(Succeed())
	}, NodeTimeout(3*time.Minute))

	It("pushes to each AS only the events it is interested in, with its own hs_token", Label("HS-REG-04", "HS-AUTH-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		other := f.AnotherAS()
		alice := f.NewUser(ctx, "alice")
		mine := f.NewBridgedRoom(ctx, alice, "bob")
		theirs := f.newBridgedRoomOf(ctx, other, alice, "erin")

		forMe := mine.Say(ctx, alice, "for the first AS")
		forThem := theirs.Say(ctx, alice, "for the second AS")
		d1, _, err := f.WaitForEvent(ctx, forMe)
		Expect(err).NotTo(HaveOccurred())
		d2, _, err := other.WaitForEvent(ctx, forThem)
		Expect(err).NotTo(HaveOccurred())
		Expect(d1.Exchange).To(match.BeBearer(f.Reg.HSToken))
		Expect(d2.Exchange).To(match.BeBearer(other.Reg.HSToken))
		Expect(eventIDs(f.Deliveries())).NotTo(ContainElement(forThem), "the first AS got an event of a room it has no user in")
		Expect(eventIDs(other.Deliveries())).NotTo(ContainElement(forMe), "the second AS got an event of a room it has no user in")
	}, NodeTimeout(timeout))
})

// growing checks that each interval is clearly longer than the one before:
// growth, not absolute figures, since the spec names no schedule.
func growing(intervals []time.Duration) error {
	for i := 1; i < len(intervals); i++ {
		if float64(intervals[i]) <= 1.3*float64(intervals[i-1]) {
			return fmt.Errorf("interval %d (%s) does not grow over interval %d (%s): %v", i+1, intervals[i], i, intervals[i-1], intervals)
		}
	}
	return nil
}

type sentEvent struct{ room, id string }

// settle waits until the homeserver's queue for the AS is empty: a message
// sent now is acknowledged only after everything before it. Scripts set
// after settle therefore hit the spec's own next transaction.
func (f *Fixture) settle(ctx context.Context, room BridgedRoom) {
	GinkgoHelper()
	attempts, err := f.waitForAck(ctx, room.Say(ctx, room.Owner, "(settling the queue)"))
	Expect(err).NotTo(HaveOccurred())
	Expect(attempts).NotTo(BeEmpty())
}

// waitForAck waits until a transaction carrying eventID was acknowledged and
// returns every attempt that carried it, in order, up to the acknowledged
// one. Attempts are found by the event, not by a transaction ID, so that a
// retry under another ID is seen (and judged by retriedAsSent).
func (a *AppService) waitForAck(ctx context.Context, eventID string) ([]Delivered, error) {
	return a.waitForAckWithin(ctx, eventID, 90*time.Second)
}

// waitForAckWithin is waitForAck with its own bound (scaled by patience).
func (a *AppService) waitForAckWithin(ctx context.Context, eventID string, bound time.Duration) ([]Delivered, error) {
	ctx, cancel := context.WithTimeout(ctx, wait(bound))
	defer cancel()
	var attempts []Delivered
	_, err := a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool {
		attempts = nil
		for _, d := range a.Deliveries() {
			if containsEvent(d, eventID) {
				attempts = append(attempts, d)
				if d.Exchange.Status == 200 {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return attempts, fmt.Errorf("no acknowledged transaction carried %s: %w", eventID, err)
	}
	return attempts, nil
}

// waitForAll waits until the first of sent was acknowledged (the retry
// schedule's bound), then for the others within the bound of one normal
// delivery: once the homeserver delivers again, it has no reason to hold
// any. A missing event is left to exactlyOnceInOrder to name.
func (a *AppService) waitForAll(ctx context.Context, sent []sentEvent) {
	GinkgoHelper()
	_, err := a.waitForAck(ctx, sent[0].id)
	Expect(err).NotTo(HaveOccurred())
	rest, cancel := context.WithTimeout(ctx, wait(deliveryTimeout))
	defer cancel()
	for _, s := range sent[1:] {
		_, _ = a.waitForAckWithin(rest, s.id, deliveryTimeout)
	}
}

// waitForFailedAttempt waits until the fake AS recorded a failed delivery
// in this spec: the homeserver has then seen the AS down.
func (a *AppService) waitForFailedAttempt(ctx context.Context) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(ctx, wait(deliveryTimeout))
	defer cancel()
	_, err := a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool {
		return slices.ContainsFunc(a.Deliveries(), func(d Delivered) bool { return d.Exchange.Status != 200 })
	})
	Expect(err).NotTo(HaveOccurred(), "the homeserver never tried to deliver while the AS was down")
}

// retriedAsSent checks that every attempt after the first (which failed)
// reuses its transaction ID and carries the same events, age fields aside.
func retriedAsSent(attempts []Delivered) error {
	first := attempts[0]
	for i, retry := range attempts[1:] {
		if retry.TxnID != first.TxnID {
			return fmt.Errorf("retry %d was sent under a new transaction ID %q instead of %q", i+1, retry.TxnID, first.TxnID)
		}
		if !sameEvents(first.Exchange.Body, retry.Exchange.Body) {
			return fmt.Errorf("retry %d of transaction %q does not hold the same events in the same order (age fields aside)\nfirst: %s\nretry: %s", i+1, first.TxnID, first.Exchange.Body, retry.Exchange.Body)
		}
	}
	return nil
}

func containsEvent(d Delivered, eventID string) bool {
	for _, ev := range d.Txn.Events {
		if ev.EventID == eventID {
			return true
		}
	}
	return false
}

func eventIDs(ds []Delivered) []string {
	var ids []string
	for _, d := range ds {
		for _, ev := range d.Txn.Events {
			ids = append(ids, ev.EventID)
		}
	}
	return ids
}

// noOvertaking says (as an error) which transaction ID was sent while
// another was still unacknowledged, or nil.
func noOvertaking(ds []Delivered) error {
	pending := ""
	for _, d := range ds {
		if pending != "" && d.TxnID != pending {
			return fmt.Errorf("transaction %s was sent while %s was still unacknowledged", d.TxnID, pending)
		}
		if d.Exchange.Status == 200 {
			pending = ""
		} else {
			pending = d.TxnID
		}
	}
	return nil
}

// exactlyOnceInOrder checks that across acknowledged transactions (first
// acknowledgement of each ID) every sent event appears exactly once, and
// that each room's events keep the order they were sent in.
// inStreamOrder checks that the acknowledged transactions carry sent in the
// order it happened, across rooms (the event stream), counting each
// transaction ID once.
func inStreamOrder(ds []Delivered, sent []sentEvent) error {
	acked := map[string]bool{}
	position := map[string]int{}
	for _, d := range ds {
		if d.Exchange.Status != 200 || acked[d.TxnID] {
			continue
		}
		acked[d.TxnID] = true
		for _, ev := range d.Txn.Events {
			if _, seen := position[ev.EventID]; !seen {
				position[ev.EventID] = len(position)
			}
		}
	}
	for i, s := range sent {
		p, ok := position[s.id]
		if !ok {
			return fmt.Errorf("event %s was never delivered in an acknowledged transaction", s.id)
		}
		if i > 0 && p < position[sent[i-1].id] {
			return fmt.Errorf("event %s (room %s) arrived before %s (room %s), which happened earlier: not in stream order", s.id, s.room, sent[i-1].id, sent[i-1].room)
		}
	}
	return nil
}

func exactlyOnceInOrder(ds []Delivered, sent []sentEvent) error {
	acked := map[string]bool{}
	count := map[string]int{}
	var order []string
	for _, d := range ds {
		if d.Exchange.Status != 200 || acked[d.TxnID] {
			continue
		}
		acked[d.TxnID] = true
		for _, ev := range d.Txn.Events {
			count[ev.EventID]++
			order = append(order, ev.EventID)
		}
	}
	position := map[string]int{}
	for i, id := range order {
		position[id] = i
	}
	last := map[string]int{}
	for _, s := range sent {
		switch n := count[s.id]; {
		case n == 0:
			return fmt.Errorf("event %s was never delivered in an acknowledged transaction", s.id)
		case n > 1:
			return fmt.Errorf("event %s was delivered in %d different transactions", s.id, n)
		}
		if p, seen := last[s.room]; seen && position[s.id] < p {
			return fmt.Errorf("event %s of room %s arrived before an event sent earlier in that room", s.id, s.room)
		}
		last[s.room] = position[s.id]
	}
	return nil
}

// sameEvents compares two transaction bodies with every event's "age" and
// "unsigned.age" removed: those count the milliseconds since the event was
// sent, so a server recomputes them for each attempt without changing the
// events themselves.
func sameEvents(a, b []byte) bool {
	strip := func(data []byte) any {
		var body map[string]any
		if json.Unmarshal(data, &body) != nil {
			return nil
		}
		events, _ := body["events"].([]any)
		for _, ev := range events {
			if m, ok := ev.(map[string]any); ok {
				delete(m, "age")
				if u, ok := m["unsigned"].(map[string]any); ok {
					delete(u, "age")
				}
			}
		}
		return body
	}
	x, y := strip(a), strip(b)
	return x != nil && reflect.DeepEqual(x, y)
}
