package homeserver

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Querying" (GET /_matrix/app/v1/users/{userId}
// and /rooms/{roomAlias}): the seed's blocking User Query and Room Alias
// Query, where the AS creates the entity before answering.
var _ = describe("Blocking user and room alias queries", func() {
	const timeout = 90 * time.Second

	It("asks the AS about an unknown user in its namespace and lets the invite through once the AS created it", Label("HS-QRY-02", "HS-QRY-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, nil)
		ghost := f.Ghost("summoned")
		// During the query, the AS creates the user it is asked about.
		f.RegisterOnUserQuery(f.GhostLocalpart("summoned"))

		invited, err := alice.Invite(ctx, roomID, ghost)
		query := f.Only(fakeas.Users)
		Expect(invited, err).To(match.HaveStatus(http.StatusOK))

		Expect(unescaped(query.Path)).To(Equal("/_matrix/app/v1/users/" + ghost))
		Expect(query).To(match.BeBearer(f.Reg.HSToken))
		invite := f.clientCall("alice", "/invite")
		Expect(query).To(match.BlockClientDuring(invite, f.clientCall("appservice", "/register")))
		suites.Observe("user query latency", query.Duration().Round(time.Millisecond))
		suites.Observe("invite latency", invite.Duration().Round(time.Millisecond))
	}, NodeTimeout(timeout))

	It("does not create the user and fails the invite when the AS answers 404", Label("HS-QRY-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, nil)
		ghost := f.Ghost("nobody")
		invited, err := alice.Invite(ctx, roomID, ghost)
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Only(fakeas.Users).Status).To(Equal(http.StatusNotFound))
		suites.Observe("invite answer", invited.String())
		Expect(invited.Status).To(BeNumerically(">=", 400), "the invite of a user the AS does not know must fail")
		Expect(alice.Profile(ctx, ghost)).To(match.HaveStatus(http.StatusNotFound))
	}, NodeTimeout(timeout))

	It("does not ask any AS about a user outside every namespace", Label("HS-QRY-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		stranger := "@" + f.Outside("ghost") + ":" + f.Server()
		f.AS.Expect(nil, fakeas.Transactions) // a query would be a bug; transactions may be an earlier spec's
		_, err := alice.Invite(ctx, alice.MustCreateRoom(ctx, nil), stranger)
		Expect(err).NotTo(HaveOccurred())
		// A homeserver may ask late (after answering the client): watch as
		// long as the suite waits for late queries elsewhere.
		Consistently(f.askedAbout("/_matrix/app/v1/users/", stranger)).WithContext(ctx).WithTimeout(wait(scenarios.LateQueryWait)).
			Should(BeEmpty(), "an AS was asked about %s, a user outside every namespace", stranger)
	}, NodeTimeout(timeout))

	It("does not ask any AS about an alias outside every namespace, and fails the join with 404 M_NOT_FOUND", Label("HS-QRY-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		f.AS.Expect(nil, fakeas.Transactions) // a query would be a bug; transactions may be an earlier spec's
		stray := "#" + f.Outside("nowhere") + ":" + f.Server()
		Expect(alice.Join(ctx, stray)).To(match.HaveError(http.StatusNotFound, "M_NOT_FOUND"))
		// A query may come late: wait the suite's bound before judging.
		Consistently(f.askedAbout("/_matrix/app/v1/rooms/", f.Outside("nowhere")), wait(scenarios.LateQueryWait), 100*time.Millisecond).
			Should(BeEmpty(), "an AS was asked about an alias outside every namespace")
	}, NodeTimeout(timeout))

	It("asks the AS about an unknown alias in its namespace and lets the join through once the AS created the room", Label("HS-QRY-04", "HS-QRY-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		alias := f.Alias("portal")
		f.OpenPortalOnAliasQuery(alias, "Portal to the remote network", 0)

		joined, err := alice.Join(ctx, alias)
		query := f.Only(fakeas.Rooms)
		Expect(joined, err).To(match.HaveStatus(http.StatusOK))
		Expect(unescaped(query.Path)).To(Equal("/_matrix/app/v1/rooms/" + alias))
		Expect(query).To(match.BeBearer(f.Reg.HSToken))
		Expect(query).To(match.BlockClientDuring(f.clientCall("alice", "/join/"), f.clientCall("appservice", "/directory/room/")))
		name, err := alice.State(ctx, joined.Field("room_id"), "m.room.name", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(name.Field("name")).To(Equal("Portal to the remote network"))
		suites.Observe("alias query latency", query.Duration().Round(time.Millisecond))
	}, NodeTimeout(timeout))

	It("(observed) blocks a join as long as the AS takes to answer the alias query", Label("HS-QRY-04", "HS-QRY-05", "informational"), func(ctx SpecContext) {
		// The spec leaves the timeout to the homeserver; the seed suggests
		// retries, then 408. This records what the SUT does with a slow AS.
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		alias := f.Alias("slow")
		delay := wait(5 * time.Second)
		f.OpenPortalOnAliasQuery(alias, "Slow portal", delay)
		joined, err := alice.Join(ctx, alias)
		Expect(err).NotTo(HaveOccurred())
		join := f.clientCall("alice", "/join/")
		suites.Observe("AS answer delay", delay)
		suites.Observe("join answer", joined.String())
		suites.Observe("join latency", join.Duration().Round(time.Millisecond))
		suites.Observe("alias queries sent", len(f.Routed(fakeas.Rooms)))
		Expect(join.Duration()).To(BeNumerically(">=", delay), "the join was answered before the AS answered the query")
	}, NodeTimeout(timeout))

	It("fails the join with M_NOT_FOUND when the AS answers 404 to the alias query", Label("HS-QRY-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		joined, err := alice.Join(ctx, f.Alias("nowhere"))
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Only(fakeas.Rooms).Status).To(Equal(http.StatusNotFound))
		Expect(joined).To(match.HaveError(http.StatusNotFound, "M_NOT_FOUND"))
	}, NodeTimeout(timeout))
})

func unescaped(path string) string {
	if p, err := url.PathUnescape(path); err == nil {
		return p
	}
	return path
}

// askedAbout polls the paths of the requests under prefix that any fake AS
// of the pool got about subject, whichever spec took it.
func (f *Fixture) askedAbout(prefix, subject string) func() []string {
	return func() []string {
		var paths []string
		for _, a := range f.Env.pool {
			for _, e := range a.Recorder().Filter(recorder.PathPrefix(prefix)) {
				if strings.Contains(unescaped(e.Path), subject) {
					paths = append(paths, e.Path)
				}
			}
		}
		return paths
	}
}

// clientCall returns the last client-server request of party whose path
// contains fragment.
func (f *Fixture) clientCall(party, fragment string) recorder.Exchange {
	GinkgoHelper()
	calls := f.clientRec.Filter(func(e recorder.Exchange) bool { return e.From == party && strings.Contains(e.Path, fragment) })
	Expect(calls).NotTo(BeEmpty(), "no %s request by %s was recorded", fragment, party)
	return calls[len(calls)-1]
}
