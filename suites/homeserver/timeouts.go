package homeserver

import (
	"context"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/csapi"
	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/match"
	"github.com/asconform/asconform/recorder"
	"github.com/asconform/asconform/suites"
)

// Specs where the fake AS never answers. How long they take is the
// homeserver's own timeout (Synapse: 60 s per request), so the scenarios
// are played once, all at the same time, each with its own fake AS, before
// the specs judge what was recorded: four timeouts cost the wall time of
// one. The "slow" label lets a run leave them out (--label-filter='!slow').
var _ = Describe("When the AS never answers", Ordered, ContinueOnFailure, Label("homeserver", "slow"), func() {
	var (
		txn, ping, alias *Fixture
		attempts         []Delivered
		attemptsErr      error
		pinged, joined   csapi.Response
		queries          []recorder.Exchange
	)

	BeforeAll(requireEnv, NodeTimeout(startTimeout))
	BeforeAll(func(ctx SpecContext) {
		txn, ping, alias = newSharedFixture(ctx), newSharedFixture(ctx), newSharedFixture(ctx)
		var wg sync.WaitGroup
		play := func(scenario func()) {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				scenario()
			}()
		}
		play(func() {
			alice := txn.NewUser(ctx, "alice")
			room := txn.NewBridgedRoom(ctx, alice, "bob")
			txn.settle(ctx, room)
			txn.AS.On(fakeas.Transactions).Block()
			eventID := room.Say(ctx, alice, "anyone awake?")
			attempts, attemptsErr = txn.waitForAckWithin(ctx, eventID, 3*time.Minute)
		})
		play(func() {
			ping.ASClient.HTTP = patientHTTP
			ping.AS.On(fakeas.Ping).Block()
			var err error
			pinged, err = ping.ASClient.PingAS(ctx, ping.Reg.ID, "")
			Expect(err).NotTo(HaveOccurred())
		})
		play(func() {
			alice := alias.NewUser(ctx, "alice")
			alice.HTTP = patientHTTP
			alias.AS.On(fakeas.Rooms).Always().Block()
			var err error
			joined, err = alice.Join(ctx, alias.Alias("silent"))
			Expect(err).NotTo(HaveOccurred())
			// A query is recorded once the homeserver hangs up on it, which
			// may be just after it answered the client.
			Eventually(func() []recorder.Exchange { return alias.routed(fakeas.Rooms) }).
				WithTimeout(wait(5 * time.Second)).Should(Not(BeEmpty()))
			time.Sleep(wait(time.Second))
			queries = alias.routed(fakeas.Rooms)
		})
		wg.Wait()
	}, NodeTimeout(5*time.Minute))

	It("retries a transaction it gave up waiting for with the same ID and the same events", Label("HS-TXN-05"), func() {
		txn.attach()
		Expect(attemptsErr).NotTo(HaveOccurred())
		Expect(len(attempts)).To(BeNumerically(">=", 2), "the first attempt was never answered, so a retry was due")
		first, retry := attempts[0], attempts[len(attempts)-1]
		suites.Observe("homeserver gave up on the first attempt after", first.Exchange.Duration().Round(time.Millisecond))
		suites.Observe("retry started after the first attempt by", retry.Exchange.Start.Sub(first.Exchange.Start).Round(time.Millisecond))
		Expect(retry.TxnID).To(Equal(first.TxnID), "the retry must reuse the transaction ID")
		Expect(sameEvents(first.Exchange.Body, retry.Exchange.Body)).To(BeTrue(),
			"the retried body must hold the same events, in the same order (age fields aside)\nfirst: %s\nretry: %s", first.Exchange.Body, retry.Exchange.Body)
	})

	It("answers 504 M_CONNECTION_TIMEOUT to a ping the AS does not answer in time", Label("HS-PING-06"), func() {
		ping.attach()
		suites.Observe("ping answered after", ping.clientCall("appservice", "/ping").Duration().Round(time.Millisecond))
		Expect(pinged).To(match.HaveError(http.StatusGatewayTimeout, "M_CONNECTION_TIMEOUT"))
	})

	observeJoin := func() {
		alias.attach()
		suites.Observe("join answer", joined.String())
		suites.Observe("join answered after", alias.clientCall("alice", "/join/").Duration().Round(time.Millisecond))
		suites.Observe("alias queries sent", len(queries))
	}

	It("asks again when an alias query gets no answer", Label("HS-QRY-05"), func() {
		observeJoin()
		Expect(len(queries)).To(BeNumerically(">=", 2), "the homeserver gave up after one unanswered query")
	})

	It("answers the joining client 408 once the alias query times out", Label("HS-QRY-06"), func() {
		observeJoin()
		Expect(joined).To(match.HaveStatus(http.StatusRequestTimeout))
	})
})

// patientHTTP outlasts a homeserver's own timeout towards the AS, so the
// spec sees the homeserver's answer rather than its own client giving up.
var patientHTTP = &http.Client{Timeout: 3 * time.Minute}

// newSharedFixture is a fixture for a scenario that several specs of an
// Ordered container judge: each spec attaches the transcript itself.
func newSharedFixture(ctx context.Context) *Fixture {
	GinkgoHelper()
	f := NewFixture(ctx)
	f.shared = true
	return f
}

// attach adds a shared fixture's transcript to the current spec's report.
func (f *Fixture) attach() {
	suites.AttachTranscript(f.Transcript(), f.secrets)
}
