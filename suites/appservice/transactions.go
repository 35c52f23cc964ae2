package appservice

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Pushing events": what the AS does with the
// transactions it is pushed, replays included (the seed's lost ACK).
var _ = describe("AS handling of pushed transactions", func() {
	const timeout = 90 * time.Second

	It("acknowledges a transaction with 200 and a JSON object", Label("AS-TXN-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		expectOKWithObject(f.Push.MustPushEvents(ctx, f.TxnID("ack"), f.Message(portal.ID, alice.UserID(ctx), "hello")), "acknowledgement")
	}, NodeTimeout(timeout))

	It("accepts large, ephemeral-only and unknown-type transactions", Label("AS-TXN-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		var many []matrix.ClientEvent
		for i := range 300 {
			ev := f.Message(portal.ID, alice.UserID(ctx), fmt.Sprintf("bulk %d", i))
			ev.Type = "org.asconform.unknown"
			many = append(many, ev)
		}
		bodies := map[string][]byte{
			"300 events of an unknown type": mustJSON(matrix.Transaction{Events: many}),
			"ephemeral only": []byte(`{"events":[],"ephemeral":[{"type":"m.typing","room_id":"` + portal.ID +
				`","content":{"user_ids":["` + alice.UserID(ctx) + `"]}}]}`),
		}
		for name, body := range bodies {
			resp := f.Push.MustPushTransaction(ctx, f.TxnID(name[:3]), body)
			Expect(resp).To(match.HaveStatus(http.StatusOK), name)
		}
	}, NodeTimeout(timeout))

	It("tells a state event from a message by its state_key, not its type", Label("AS-TXN-04"), needs(harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.NewPortal(ctx, alice)
		// One transaction: a state event whose type is m.room.message, then
		// a message that shows the AS has handled the transaction.
		state := f.Message(portal.ID, alice.UserID(ctx), "state, not a message "+f.unique)
		state.StateKey = new(string)
		control := f.Message(portal.ID, alice.UserID(ctx), "a message "+f.unique)
		resp := f.Push.MustPushEvents(ctx, f.TxnID("statekey"), state, control)
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		Eventually(func() int { return len(f.Echoes("a message " + f.unique)) }).WithContext(ctx).WithTimeout(30*time.Second).
			Should(Equal(1), "the message after the state event was not echoed")
		time.Sleep(2 * time.Second)
		echoes := f.Echoes("state, not a message " + f.unique)
		suites.Observe("echoes of the state event", len(echoes))
		Expect(echoes).To(BeEmpty(), "the AS handled a state event of type m.room.message as a message (state_key %q)", "")
	}, NodeTimeout(timeout))

	It("acknowledges a replayed transaction ID with 200 again", Label("AS-TXN-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		txnID := f.TxnID("ack-again")
		for attempt := range 2 {
			resp := f.Push.MustPushTransaction(ctx, txnID, []byte(`{"events":[]}`))
			Expect(resp).To(match.HaveStatus(http.StatusOK), "attempt %d", attempt+1)
		}
	}, NodeTimeout(timeout))

	replayed := func(ctx SpecContext, replay func(f *Fixture, txnID string, body []byte) []csapi.Response) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		text := "said once " + f.unique
		txnID := f.TxnID("replay")
		body := mustJSON(matrix.Transaction{Events: []matrix.ClientEvent{f.Message(portal.ID, alice.UserID(ctx), text)}})
		for i, resp := range replay(f, txnID, body) {
			Expect(resp).To(match.HaveStatus(http.StatusOK), "attempt %d of transaction %s", i+1, txnID)
		}
		// The first push makes the AS act; wait for that, then give a
		// repeated action time to show. Acting again is permitted (the AS
		// "can" NO-OP a replay, AS-TXN-02 is a MAY): observed, not judged.
		// An AS that echoes nothing shows nothing to observe.
		if !has(harness.JoinsOnInvite) || !has(harness.EchoesMessages) {
			suites.Observe("echoes of the replayed event", "not observed: that needs an AS declaring "+harness.JoinsOnInvite+" and "+harness.EchoesMessages)
			return
		}
		Eventually(func() int { return len(f.Echoes(text)) }).WithContext(ctx).WithTimeout(30 * time.Second).Should(BeNumerically(">=", 1))
		time.Sleep(3 * time.Second)
		suites.Observe("echoes of the replayed event (1: the replay was a no-op)", len(f.Echoes(text)))
	}

	It("acknowledges a sequentially replayed transaction with 200 each time (observed: whether it acts once)", Label("AS-TXN-03", "AS-TXN-02"), func(ctx SpecContext) {
		replayed(ctx, func(f *Fixture, txnID string, body []byte) []csapi.Response {
			var out []csapi.Response
			for range 3 {
				resp := f.Push.MustPushTransaction(ctx, txnID, body)
				out = append(out, resp)
			}
			return out
		})
	}, NodeTimeout(timeout))

	It("acknowledges concurrent replays of a transaction with 200 each (observed: whether it acts once)", Label("AS-TXN-03", "AS-TXN-02"), func(ctx SpecContext) {
		replayed(ctx, func(f *Fixture, txnID string, body []byte) []csapi.Response {
			out := make([]csapi.Response, 8)
			var wg sync.WaitGroup
			for i := range out {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer GinkgoRecover()
					resp := f.Push.MustPushTransaction(ctx, txnID, body)
					out[i] = resp
				}()
			}
			wg.Wait()
			return out
		})
	}, NodeTimeout(timeout))

	It("acknowledges a transaction replayed after many others with 200 (observed: whether it acts once)", Label("AS-TXN-03", "AS-TXN-02"), func(ctx SpecContext) {
		replayed(ctx, func(f *Fixture, txnID string, body []byte) []csapi.Response {
			first := f.Push.MustPushTransaction(ctx, txnID, body)
			for i := range 50 {
				resp := f.Push.MustPushTransaction(ctx, fmt.Sprintf("%s-between-%d", txnID, i), []byte(`{"events":[]}`))
				Expect(resp).To(match.HaveStatus(http.StatusOK))
			}
			again := f.Push.MustPushTransaction(ctx, txnID, body)
			return []csapi.Response{first, again}
		})
	}, NodeTimeout(timeout))

	// The seed's lost ACK, across a restart: the AS handled a transaction
	// but its 200 never reached the homeserver (it crashed, say), and the
	// homeserver sends the transaction again, same ID, same events, once
	// the AS is back. The answer must again be 200 (AS-TXN-03); acting on
	// the events once only is what the ID is for, but the spec's word is
	// "can NO-OP" (AS-TXN-02, MAY): observed, not judged.
	It("acknowledges a transaction replayed after the AS restarted with 200 (observed: whether it acts on it again)", Label("AS-TXN-03", "AS-TXN-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		observable := has(harness.JoinsOnInvite) && has(harness.EchoesMessages)
		text := "before the restart " + f.unique
		txnID := f.TxnID("restart")
		// The bot's membership rides along: an AS that keeps room state in
		// memory only learns from the replay itself where its bot is.
		body := mustJSON(matrix.Transaction{Events: []matrix.ClientEvent{f.BotJoined(portal.ID), f.Message(portal.ID, alice.UserID(ctx), text)}})

		By("the homeserver pushes a transaction; the AS handles it")
		first := f.Push.MustPushTransaction(ctx, txnID, body)
		Expect(first).To(match.HaveStatus(http.StatusOK), "attempt 1 of transaction %s", txnID)
		if observable {
			Eventually(func() int { return len(f.Echoes(text)) }).WithContext(ctx).WithTimeout(30*time.Second).
				Should(BeNumerically(">=", 1), "the AS did not act on the transaction before the restart")
		}

		By("AS restart")
		started := time.Now()
		f.RestartAS(ctx)
		suites.Observe("AS restart took", time.Since(started).Round(100*time.Millisecond))

		By("AS back: the homeserver replays the transaction, same ID, same events")
		again := f.Push.MustPushTransaction(ctx, txnID, body)
		Expect(again).To(match.HaveStatus(http.StatusOK), "after the AS restarted, attempt 2 of transaction %s", txnID)
		if !observable {
			suites.Observe("echoes of the event replayed after the restart", "not observed: that needs an AS declaring "+harness.JoinsOnInvite+" and "+harness.EchoesMessages)
			return
		}

		By("a new transaction shows whether the restarted AS acts in the room at all")
		control := "after the restart " + f.unique
		next := f.Push.MustPushEvents(ctx, f.TxnID("after-restart"), f.BotJoined(portal.ID), f.Message(portal.ID, alice.UserID(ctx), control))
		Expect(next).To(match.HaveStatus(http.StatusOK), "a new transaction after the AS restarted")
		acting := func() bool { return len(f.Echoes(control)) > 0 }
		for deadline := time.Now().Add(30 * time.Second); !acting() && time.Now().Before(deadline) && ctx.Err() == nil; {
			time.Sleep(200 * time.Millisecond)
		}
		if !acting() {
			suites.Observe("echoes of the event replayed after the restart", "not observable: the restarted AS did not echo a new message in the room either")
			return
		}
		time.Sleep(3 * time.Second)
		suites.Observe("echoes of the event replayed after the restart (1: the replay was a no-op; 2: acted on again)", len(f.Echoes(text)))
	}, NodeTimeout(3*time.Minute))
})

// expectOKWithObject checks that the AS answered 200 with a JSON object
// (its "acknowledgement", its "ping answer"), and observes the body.
func expectOKWithObject(resp csapi.Response, what string) {
	GinkgoHelper()
	Expect(resp).To(match.HaveStatus(http.StatusOK))
	Expect(resp.Body).To(match.BeJSONObject(), "the %s's body", what)
	suites.Observe(what+" body", string(resp.Body))
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return data
}
