package homeserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Querying" (GET /_matrix/app/v1/users/{userId}
// and /rooms/{roomAlias}): the seed's blocking User Query and Room Alias
// Query, where the AS creates the entity before answering.
var _ = Describe("Blocking user and room alias queries", Label("homeserver"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 90 * time.Second

	It("asks the AS about an unknown user in its namespace and lets the invite through once the AS created it", Label("HS-QRY-02", "HS-QRY-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room, err := alice.CreateRoom(ctx, nil)
		Expect(err).NotTo(HaveOccurred())
		ghost := f.Ghost("summoned")
		f.AS.On(fakeas.Users).Do(func(ctx context.Context, in fakeas.Request) error {
			// During the query, the AS creates the user it is asked about.
			resp, err := f.ASClient.RegisterAS(ctx, f.GhostLocalpart("summoned"), true)
			if err == nil && resp.Status != http.StatusOK {
				return errString("registering the ghost answered " + resp.String())
			}
			return err
		}).Respond(http.StatusOK, nil)

		invited, err := alice.Invite(ctx, room.Field("room_id"), ghost)
		Expect(err).NotTo(HaveOccurred())
		query := f.only(fakeas.Users)
		Expect(invited).To(match.HaveStatus(http.StatusOK))

		Expect(unescaped(query.Path)).To(Equal("/_matrix/app/v1/users/" + ghost))
		Expect(query).To(match.BeBearer(f.Reg.HSToken))
		register := f.clientCall("appservice", "/register")
		invite := f.clientCall("alice", "/invite")
		Expect(blocked(query, register, invite)).To(Succeed())
		suites.Observe("user query latency", query.Duration().Round(time.Millisecond))
		suites.Observe("invite latency", invite.Duration().Round(time.Millisecond))
	}, NodeTimeout(timeout))

	It("does not create the user and fails the invite when the AS answers 404", Label("HS-QRY-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room, err := alice.CreateRoom(ctx, nil)
		Expect(err).NotTo(HaveOccurred())
		ghost := f.Ghost("nobody")
		invited, err := alice.Invite(ctx, room.Field("room_id"), ghost)
		Expect(err).NotTo(HaveOccurred())
		Expect(f.only(fakeas.Users).Status).To(Equal(http.StatusNotFound))
		suites.Observe("invite answer", invited.String())
		Expect(invited.Status).To(BeNumerically(">=", 400), "the invite of a user the AS does not know must fail")
		profile, err := alice.Profile(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		Expect(profile).To(match.HaveStatus(http.StatusNotFound))
	}, NodeTimeout(timeout))

	It("does not ask any AS about a user outside every namespace", Label("HS-QRY-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room, err := alice.CreateRoom(ctx, nil)
		Expect(err).NotTo(HaveOccurred())
		stranger := "@" + f.Outside("ghost") + ":" + f.Server()
		_, err = alice.Invite(ctx, room.Field("room_id"), stranger)
		Expect(err).NotTo(HaveOccurred())
		// A homeserver may ask late (after answering the client): watch as
		// long as the suite waits for late queries elsewhere.
		asked := func() []string {
			var paths []string
			for _, a := range f.Env.pool {
				for _, e := range a.Recorder().Filter(recorder.PathPrefix("/_matrix/app/v1/users/")) {
					if unescaped(e.Path) == "/_matrix/app/v1/users/"+stranger {
						paths = append(paths, e.Path)
					}
				}
			}
			return paths
		}
		Consistently(asked).WithContext(ctx).WithTimeout(wait(lateQueryWait)).Should(BeEmpty(), "an AS was asked about %s, a user outside every namespace", stranger)
	}, NodeTimeout(timeout))

	It("does not ask any AS about an alias outside every namespace, and fails the join with 404 M_NOT_FOUND", Label("HS-QRY-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		stray := "#" + f.Outside("nowhere") + ":" + f.Server()
		joined, err := alice.Join(ctx, stray)
		Expect(err).NotTo(HaveOccurred())
		Expect(joined).To(match.HaveError(http.StatusNotFound, "M_NOT_FOUND"))
		// A query may come late: wait the suite's bound before judging.
		asked := func() []string {
			var paths []string
			for _, a := range f.Env.pool {
				for _, e := range a.Recorder().Filter(recorder.PathPrefix("/_matrix/app/v1/rooms/")) {
					if strings.Contains(unescaped(e.Path), f.Outside("nowhere")) {
						paths = append(paths, e.Path)
					}
				}
			}
			return paths
		}
		Consistently(asked, wait(lateQueryWait), 100*time.Millisecond).Should(BeEmpty(), "an AS was asked about an alias outside every namespace")
	}, NodeTimeout(timeout))

	It("asks the AS about an unknown alias in its namespace and lets the join through once the AS created the room", Label("HS-QRY-04", "HS-QRY-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		alias := f.Alias("portal")
		f.AS.On(fakeas.Rooms).Do(func(ctx context.Context, in fakeas.Request) error {
			return f.createPortal(ctx, alias, "Portal to the remote network")
		}).Respond(http.StatusOK, nil)

		joined, err := alice.Join(ctx, alias)
		Expect(err).NotTo(HaveOccurred())
		query := f.only(fakeas.Rooms)
		Expect(joined).To(match.HaveStatus(http.StatusOK))
		Expect(unescaped(query.Path)).To(Equal("/_matrix/app/v1/rooms/" + alias))
		Expect(query).To(match.BeBearer(f.Reg.HSToken))
		Expect(blocked(query, f.clientCall("appservice", "/directory/room/"), f.clientCall("alice", "/join/"))).To(Succeed())
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
		f.AS.On(fakeas.Rooms).Delay(delay).Do(func(ctx context.Context, in fakeas.Request) error {
			return f.createPortal(ctx, alias, "Slow portal")
		}).Respond(http.StatusOK, nil)
		joined, err := alice.Join(ctx, alias)
		Expect(err).NotTo(HaveOccurred())
		join := f.clientCall("alice", "/join/")
		suites.Observe("AS answer delay", delay)
		suites.Observe("join answer", joined.String())
		suites.Observe("join latency", join.Duration().Round(time.Millisecond))
		suites.Observe("alias queries sent", len(f.routed(fakeas.Rooms)))
		Expect(join.Duration()).To(BeNumerically(">=", delay), "the join was answered before the AS answered the query")
	}, NodeTimeout(timeout))

	It("fails the join with M_NOT_FOUND when the AS answers 404 to the alias query", Label("HS-QRY-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		joined, err := alice.Join(ctx, f.Alias("nowhere"))
		Expect(err).NotTo(HaveOccurred())
		Expect(f.only(fakeas.Rooms).Status).To(Equal(http.StatusNotFound))
		Expect(joined).To(match.HaveError(http.StatusNotFound, "M_NOT_FOUND"))
	}, NodeTimeout(timeout))
})

func unescaped(path string) string {
	if p, err := url.PathUnescape(path); err == nil {
		return p
	}
	return path
}

type errString string

func (e errString) Error() string { return string(e) }

// createPortal is what a bridge does on an alias query: create the room,
// name it, and publish the alias.
func (f *Fixture) createPortal(ctx context.Context, alias, name string) error {
	created, err := f.ASClient.CreateRoom(ctx, map[string]any{"preset": "public_chat", "name": name})
	if err != nil {
		return err
	}
	if created.Status != http.StatusOK {
		return errString("createRoom answered " + created.String())
	}
	published, err := f.ASClient.CreateAlias(ctx, alias, created.Field("room_id"))
	if err != nil {
		return err
	}
	if published.Status != http.StatusOK {
		return errString("publishing the alias answered " + published.String())
	}
	return nil
}

var routePrefix = map[fakeas.Route]string{fakeas.Users: "/_matrix/app/v1/users/", fakeas.Rooms: "/_matrix/app/v1/rooms/", fakeas.Ping: "/_matrix/app/v1/ping"}

// only returns the one request of a route the fake AS got in this spec. A
// homeserver that queries late (after answering the client) is still seen:
// the caller then judges the order.
func (f *Fixture) only(rt fakeas.Route) recorder.Exchange {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), wait(lateQueryWait))
	defer cancel()
	_, _ = f.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool { return len(f.routed(rt)) > 0 })
	got := f.routed(rt)
	Expect(got).To(HaveLen(1), "the homeserver should have sent exactly one %s request to the AS", rt)
	return got[0]
}

// lateQueryWait is how long a spec waits for a query the homeserver did not
// make while the client waited.
const lateQueryWait = 5 * time.Second

func (f *Fixture) routed(rt fakeas.Route) []recorder.Exchange {
	var got []recorder.Exchange
	for _, e := range f.Received() {
		if strings.HasPrefix(e.Path, routePrefix[rt]) {
			got = append(got, e)
		}
	}
	return got
}

// clientCall returns the last client-server request of party whose path
// contains fragment.
func (f *Fixture) clientCall(party, fragment string) recorder.Exchange {
	GinkgoHelper()
	calls := f.clientRec.Filter(func(e recorder.Exchange) bool { return e.From == party && strings.Contains(e.Path, fragment) })
	Expect(calls).NotTo(BeEmpty(), "no %s request by %s was recorded", fragment, party)
	return calls[len(calls)-1]
}

// blocked checks the blocking-query order: the client's request was open
// while the homeserver queried the AS, the AS acted during the query, and
// the client got its answer only after the AS answered.
func blocked(query, asAction, client recorder.Exchange) error {
	switch {
	case !client.Start.Before(query.Start):
		return errString("the query did not happen during the client's request")
	case asAction.Start.Before(query.Start) || asAction.End.After(query.End):
		return errString("the AS's own request did not happen while the query was open")
	case client.End.Before(query.End):
		return errString("the client was answered before the AS answered the query")
	}
	return nil
}
