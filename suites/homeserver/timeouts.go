package homeserver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Specs where the fake AS never answers. How long they take is the
// homeserver's own timeout (Synapse: 60 s per request), so the scenarios
// are played once, all at the same time, each with its own fake AS, before
// the specs judge what was recorded: four timeouts cost the wall time of
// one. (Hence no Expect on what the SUT did while playing: only afterwards.)
// The longest container of the suite: scheduled first (SpecPriority), so a
// parallel run is not its length after whatever ran before it. The "slow" label lets a run leave them out (--label-filter='!slow').
var _ = Describe("When the AS never answers", Ordered, ContinueOnFailure, SpecPriority(2), Label("homeserver", "slow"), func() {
	var (
		txn, ping, alias, user *Fixture
		attempts               []scenarios.Delivered
		meanwhile              scenarios.ClientsMeanwhile
		attemptsErr            error
		pinged, joined         csapi.Response
		aliasQueries           []recorder.Exchange
		userQuery              scenarios.UserQueryHung
	)

	BeforeAll(requireEnv, NodeTimeout(startTimeout))
	BeforeAll(func(ctx SpecContext) {
		txn, ping, alias, user = newSharedFixture(ctx), newSharedFixture(ctx), newSharedFixture(ctx), newSharedFixture(ctx)
		// Synapse holds back event delivery to every AS while a user query
		// hangs: that scenario gets a homeserver of its own, so as not to
		// stall the others (or, in parallel runs, other processes' specs).
		// A second AS there measures the stall.
		bystander := user.AnotherAS()
		if user.Env.private != nil {
			user.OwnSUT(ctx)
		}
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
			room := txn.NewBridgedRoom(ctx, txn.NewUser(ctx, "alice"), "bob")
			txn.Settle(ctx, room)
			attempts, meanwhile, attemptsErr = txn.UnansweredTransaction(ctx, room)
		})
		play(func() { pinged = ping.UnansweredPing(ctx) })
		play(func() {
			joined, aliasQueries = alias.UnansweredAliasQuery(ctx, alias.NewUser(ctx, "alice"), alias.Alias("silent"))
		})
		play(func() {
			alice := user.NewUser(ctx, "alice")
			roomID := alice.MustCreateRoom(ctx, nil)
			elsewhere := user.BridgedRoomOf(ctx, bystander, alice, "bystander")
			userQuery = user.UnansweredUserQuery(ctx, roomID, user.Ghost("silent"), bystander, elsewhere)
		})
		wg.Wait()
	}, NodeTimeout(5*time.Minute))

	It("retries a transaction it gave up waiting for with the same ID and the same events", Label("HS-TXN-05"), func() {
		txn.attach()
		Expect(attemptsErr).NotTo(HaveOccurred())
		Expect(len(attempts)).To(BeNumerically(">=", 2), "the first attempt was never answered, so a retry was due")
		first, retry := attempts[0], attempts[1]
		suites.Observe("homeserver gave up on the first attempt after", first.Exchange.Duration().Round(time.Millisecond))
		suites.Observe("retry started after the first attempt by", retry.Exchange.Start.Sub(first.Exchange.Start).Round(time.Millisecond))
		Expect(attempts).To(scenarios.RetryAsSent())
	})

	It("answers a client's send and sync while a transaction to the AS goes unanswered", Label("HS-TXN-11"), func() {
		txn.attach()
		if !meanwhile.Hung {
			Skip(fmt.Sprintf("not reached: no transaction reached the AS within %s, so none hung", wait(scenarios.DeliveryTimeout)))
		}
		suites.Observe("send answered after", meanwhile.SendTook.Round(time.Millisecond))
		suites.Observe("sync answered after", meanwhile.SyncTook.Round(time.Millisecond))
		for _, call := range []struct {
			name   string
			answer csapi.Response
			took   time.Duration
		}{{"send", meanwhile.Sent, meanwhile.SendTook}, {"sync", meanwhile.Synced, meanwhile.SyncTook}} {
			Expect(call.took).To(BeNumerically("<", wait(heldUp)), "a client's %s was held up %s while a transaction to the AS went unanswered", call.name, call.took.Round(time.Millisecond))
			Expect(call.answer).To(match.HaveStatus(http.StatusOK), "a client's %s while a transaction to the AS went unanswered", call.name)
		}
	})

	It("answers 504 M_CONNECTION_TIMEOUT to a ping the AS does not answer in time", Label("HS-PING-06"), func() {
		ping.attach()
		suites.Observe("ping answered after", ping.clientCall("appservice", "/ping").Duration().Round(time.Millisecond))
		Expect(pinged).To(match.HaveError(http.StatusGatewayTimeout, "M_CONNECTION_TIMEOUT"))
	})

	observe := func(f *Fixture, call string, answer csapi.Response, queries []recorder.Exchange) {
		f.attach()
		suites.Observe(call+" answer", answer.String())
		suites.Observe(call+" answered after", f.clientCall("alice", "/"+call).Duration().Round(time.Millisecond))
		suites.Observe("queries sent", len(queries))
	}

	// asksAgain judges the queries of a call left unanswered (query names them).
	asksAgain := func(f *Fixture, call string, answer csapi.Response, queries []recorder.Exchange, query string) {
		observe(f, call, answer, queries)
		Expect(queries).NotTo(BeEmpty(), "the homeserver never sent the %s query", query)
		Expect(len(queries)).To(BeNumerically(">=", 2), "the homeserver gave up after one unanswered query")
	}

	It("asks again when an alias query gets no answer", Label("HS-QRY-05"), func() {
		asksAgain(alias, "join", joined, aliasQueries, "alias")
	})

	It("answers the joining client 408 once the alias query times out", Label("HS-QRY-06"), func() {
		observe(alias, "join", joined, aliasQueries)
		Expect(joined).To(match.HaveStatus(http.StatusRequestTimeout))
	})

	It("asks again when a user query gets no answer", Label("HS-QRY-05"), func() {
		asksAgain(user, "invite", userQuery.Invited, userQuery.Queries, "users")
	})

	It("answers the inviting client 408 once the user query times out", Label("HS-QRY-06"), func() {
		observe(user, "invite", userQuery.Invited, userQuery.Queries)
		Expect(userQuery.Invited).To(match.HaveStatus(http.StatusRequestTimeout))
	})

	It("keeps delivering to another AS while one AS leaves a user query unanswered", Label("HS-TXN-09"), func() {
		user.attach()
		if !userQuery.Hung {
			Skip("the homeserver never asked the AS about the invited user, so no query hung")
		}
		delay := userQuery.BystanderDelay.Round(time.Millisecond)
		suites.Observe("delivery to another AS of an event sent while the query hung", delay)
		Expect(userQuery.BystanderErr).NotTo(HaveOccurred(), "the other AS never got the event sent while the query hung")
		Expect(userQuery.BystanderDelay).To(BeNumerically("<", wait(heldUp)), "delivery to another AS was held up %s while one AS left a user query unanswered", delay)
	})
})

// heldUp is how long a delivery, or a client's call, may take before it
// counts as held up (the questions of HS-TXN-09 and HS-TXN-11); a
// homeserver left alone answers in milliseconds.
const heldUp = 10 * time.Second

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
