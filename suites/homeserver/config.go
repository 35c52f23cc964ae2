package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Registration" (unique id and as_token, the
// rate_limited flag), "Legacy routes", and "Server admin style
// permissions".
var _ = describe("Configuration, legacy routes and control of the namespace", func() {
	const timeout = 2 * time.Minute

	It("refuses a configuration in which two application services share an as_token", Label("HS-REG-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		twin := f.otherRegistration()
		twin.ASToken = f.Reg.ASToken
		f.expectRefusedToStart(ctx, twin, func() string {
			return fmt.Sprintf("the homeserver started with registrations %s and %s sharing an as_token; the shared token answers whoami %s",
				f.Reg.ID, twin.ID, whoAmI(ctx, f.ASClient))
		})
	}, NodeTimeout(timeout))

	It("refuses a configuration in which two application services share an id", Label("HS-REG-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		twin := f.otherRegistration()
		other := twin.ID
		twin.ID = f.Reg.ID
		f.expectRefusedToStart(ctx, twin, func() string {
			return fmt.Sprintf("the homeserver started with two registrations sharing the id %s (the second was %s's); whoami with the first's as_token: %s; with the second's: %s",
				f.Reg.ID, other, whoAmI(ctx, f.ASClient), whoAmI(ctx, f.client("appservice_twin", twin.ASToken)))
		})
	}, NodeTimeout(timeout))

	for _, answer := range []struct {
		name   string
		status int
		body   map[string]string
	}{
		{"404 M_UNRECOGNIZED", http.StatusNotFound, unrecognized},
		{"500", http.StatusInternalServerError, map[string]string{"errcode": "M_UNKNOWN", "error": "internal error"}},
	} {
		It("falls back to PUT /transactions/{txnId}, with the same transaction, when the AS answers the versioned path "+answer.name, Label("HS-LEG-01"), func(ctx SpecContext) {
			NewFixture(ctx).expectLegacyFallback(ctx, answer.status, answer.body)
		}, NodeTimeout(timeout))

		It("falls back to GET /rooms/{roomAlias} and GET /users/{userId} when the AS answers the versioned query paths "+answer.name, Label("HS-LEG-01"), func(ctx SpecContext) {
			NewFixture(ctx).expectLegacyQueryFallback(ctx, answer.status, answer.body)
		}, NodeTimeout(timeout))
	}

	It("tries the versioned transaction path again after falling back, once the AS serves it", Label("HS-LEG-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.OwnSUT(ctx) // it leaves the AS failing: the shared homeserver would back off from it
		f.AS.On(fakeas.Transactions).Always().Respond(http.StatusNotFound, unrecognized)
		f.serveLegacyTransactions()
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		eventID := room.Say(ctx, alice, "before the upgrade")
		if _, found := f.legacyDelivery(ctx, eventID); !found {
			Skip(fmt.Sprintf("not reached: the homeserver did not fall back to the legacy path within %s (HS-LEG-01), so it cannot try the versioned path again", wait(scenarios.DeliveryTimeout)))
		}
		// The AS is upgraded: it serves the versioned path, and still the
		// legacy one, so a homeserver that stays on the legacy path sees
		// no failure that would send it back.
		f.AS.Reset()
		upgraded := time.Now()
		f.serveLegacyTransactions()
		bound := wait(scenarios.DeliveryTimeout)
		deadline := time.Now().Add(bound)
		var versioned []recorder.Exchange
		for n := 1; time.Now().Before(deadline) && len(versioned) == 0; n++ {
			room.Say(ctx, alice, fmt.Sprintf("after the upgrade %d", n))
			time.Sleep(wait(time.Second))
			versioned = f.AS.Recorder().Filter(func(e recorder.Exchange) bool {
				return e.Start.After(upgraded) && strings.HasPrefix(e.Path, "/_matrix/app/v1/transactions/")
			})
		}
		legacy := f.AS.Recorder().Filter(func(e recorder.Exchange) bool {
			return e.Start.After(upgraded) && strings.HasPrefix(e.Path, "/transactions/")
		})
		suites.Observe("legacy PUTs after the upgrade", len(legacy))
		Expect(versioned).NotTo(BeEmpty(), "no PUT on the versioned path /_matrix/app/v1/transactions within %s after the AS was upgraded; %d transactions went on the legacy path", bound, len(legacy))
	}, NodeTimeout(timeout))

	It("does not rate-limit the AS's users under rate_limited: false, and does under rate_limited: true, where a normal user's burst meets 429", Label("HS-REG-06"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("rate limits")
		limited := f.AnotherAS()
		on := true
		limited.Reg.RateLimited = &on
		Expect(f.Reg.RateLimited).NotTo(BeNil())
		Expect(*f.Reg.RateLimited).To(BeFalse(), "the pool's registrations say rate_limited: false")
		f.OwnSUTConfigured(ctx, []func(*harness.Settings){func(s *harness.Settings) { s.RateLimits = true }})
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
		free := f.RegisterGhost(ctx, "free")
		f.ASClient.MustJoin(ctx, roomID, csapi.AsUser(free))
		capped := f.RegisterGhostOf(ctx, limited, "capped")
		limited.ASClient.MustJoin(ctx, roomID, csapi.AsUser(capped))

		// A burst of one kind of request a normal user is limited in:
		// messages (Synapse's rc_message), else typing notifications
		// (Dendrite limits those, and not messages).
		kinds := []struct {
			name string
			send func(c *csapi.Client, user string, i int, opts ...csapi.Option) (csapi.Response, error)
		}{
			{"messages", func(c *csapi.Client, _ string, i int, opts ...csapi.Option) (csapi.Response, error) {
				return c.SendMessage(ctx, roomID, fmt.Sprintf("burst %d", i), opts...)
			}},
			{"typing notifications", func(c *csapi.Client, user string, _ int, opts ...csapi.Option) (csapi.Response, error) {
				path := "/_matrix/client/v3/rooms/" + csapi.PathEscape(roomID) + "/typing/" + csapi.PathEscape(user)
				return c.Do(ctx, http.MethodPut, path, map[string]any{"typing": true, "timeout": 30000}, opts...)
			}},
		}
		n := 3 * harness.RateLimitBurst
		kind := kinds[0]
		burst := func(who, user string, c *csapi.Client, opts ...csapi.Option) int {
			for i := 1; i <= n; i++ {
				resp, err := kind.send(c, user, i, opts...)
				Expect(err).NotTo(HaveOccurred())
				if resp.Status == http.StatusTooManyRequests {
					suites.Observe(fmt.Sprintf("429 for %s at %s", who, kind.name), i)
					return i
				}
				Expect(resp).To(match.HaveStatus(http.StatusOK), "%s %d of %s", kind.name, i, who)
			}
			suites.Observe(fmt.Sprintf("429 for %s at %s", who, kind.name), fmt.Sprintf("none of %d", n))
			return 0
		}
		limitedKind := false
		for _, kind = range kinds {
			if limitedKind = burst("a normal user", alice.UserID(ctx), alice) > 0; limitedKind {
				break
			}
		}
		if !limitedKind {
			suites.HarnessError(fmt.Errorf("a normal user sent %d messages and %d typing notifications in a row without a 429: the homeserver's rate limits are not on, so the flag cannot be judged", n, n))
		}
		at := burst("a user of the AS with rate_limited: false", free, f.ASClient, csapi.AsUser(free))
		Expect(at).To(BeZero(), "the AS's user %s, under rate_limited: false, got 429 at %s %d of a burst", free, kind.name, at)
		Expect(burst("a user of the AS with rate_limited: true", capped, limited.ASClient, csapi.AsUser(capped))).NotTo(BeZero(),
			"the AS's user %s, under rate_limited: true, sent %d %s in a row without a 429, where a normal user met one", capped, n, kind.name)
	}, NodeTimeout(timeout))

	It("lets the AS make an alias of its namespace as one of its users, and delete it as itself, in a room the AS's own user is not in", Label("HS-NS-10"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		alias := f.Alias("managed")
		Expect(f.ASClient.CreateAlias(ctx, alias, room.ID, csapi.AsUser(room.Ghost))).To(match.HaveStatus(http.StatusOK),
			"the AS, acting as its user %s, could not make the alias %s of its namespace", room.Ghost, alias)
		path := "/_matrix/client/v3/directory/room/" + csapi.PathEscape(alias)
		Expect(f.ASClient.Do(ctx, http.MethodDelete, path, nil)).To(match.HaveStatus(http.StatusOK),
			"the AS could not delete the alias %s of its namespace, made by its user %s", alias, room.Ghost)
		Expect(alice.Do(ctx, http.MethodGet, path, nil)).To(match.HaveError(http.StatusNotFound, "M_NOT_FOUND"), "the alias still resolves after the AS deleted it")
	}, NodeTimeout(timeout))
})

// expectRefusedToStart starts a homeserver of the spec's own with twin
// beside the spec's registration and passes when it refuses to; when it
// starts, the spec fails with what started says the conflict does there.
func (f *Fixture) expectRefusedToStart(ctx context.Context, twin matrix.Registration, started func() string) {
	GinkgoHelper()
	if refusal := f.OwnSUTUnlessRefused(ctx, twin); refusal != "" {
		suites.Observe("refusal", harness.LastLines(refusal, 6))
		return
	}
	Fail(started())
}

// whoAmI is whoami's answer to c, or why there is none, for a message.
func whoAmI(ctx context.Context, c *csapi.Client) string {
	resp, err := c.WhoAmI(ctx)
	if err != nil {
		return err.Error()
	}
	return resp.String()
}

// unrecognized is an AS's answer on a route it does not serve.
var unrecognized = map[string]string{"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}

// otherRegistration is the registration of another fake AS of the pool:
// its own id, token, namespaces and URL.
func (f *Fixture) otherRegistration() matrix.Registration {
	for range poolSize {
		if reg := f.Env.take().Registration(); reg.ID != f.Reg.ID {
			return reg
		}
	}
	suites.HarnessError(fmt.Errorf("the pool has no fake AS besides the spec's"))
	return matrix.Registration{}
}

// serveLegacyTransactions makes the fake AS accept transactions on the
// legacy path /transactions/{txnId} too.
func (f *Fixture) serveLegacyTransactions() {
	f.AS.On(fakeas.Legacy).Always().Do(func(_ context.Context, in fakeas.Request) error {
		if in.Method == http.MethodPut && strings.HasPrefix(in.Param, "transactions/") {
			return fakeas.Answer{Status: http.StatusOK, Body: map[string]any{}}
		}
		return nil
	})
}

// legacyDelivery waits (DeliveryTimeout, scaled) for a PUT on the legacy
// path carrying eventID.
func (f *Fixture) legacyDelivery(ctx context.Context, eventID string) (recorder.Exchange, bool) {
	waitCtx, cancel := context.WithTimeout(ctx, wait(scenarios.DeliveryTimeout))
	defer cancel()
	var found recorder.Exchange
	_, err := f.AS.Recorder().WaitFor(waitCtx, func(all []recorder.Exchange) bool {
		for _, e := range all {
			d := scenarios.Delivered{Exchange: e}
			if e.Method == http.MethodPut && strings.HasPrefix(e.Path, "/transactions/") && json.Unmarshal(e.Body, &d.Txn) == nil && d.Carries(eventID) {
				found = e
				return true
			}
		}
		return false
	})
	return found, err == nil
}

// expectLegacyFallback: the AS answers every PUT on the versioned path with
// status and body and serves the legacy path; an event must reach it on the
// legacy path, in a transaction first tried on the versioned path with the
// same ID and body.
func (f *Fixture) expectLegacyFallback(ctx context.Context, status int, body any) {
	GinkgoHelper()
	// The AS is left failing on the versioned path, which would make the
	// shared homeserver back off from it in the next spec.
	f.OwnSUT(ctx)
	f.AS.On(fakeas.Transactions).Always().Respond(status, body)
	f.serveLegacyTransactions()
	alice := f.NewUser(ctx, "alice")
	room := f.NewBridgedRoom(ctx, alice, "bob")
	eventID := room.Say(ctx, alice, "over the older path")
	legacy, found := f.legacyDelivery(ctx, eventID)
	versioned := f.AppService.Deliveries()
	suites.Observe("PUTs on the versioned path", len(versioned))
	Expect(found).To(BeTrue(), "no PUT on the legacy path /transactions/{txnId} carried the event within %s, while the AS answered %d PUTs on the versioned path with %d: the homeserver did not fall back", wait(scenarios.DeliveryTimeout), len(versioned), status)
	txnID := strings.TrimPrefix(legacy.Path, "/transactions/")
	suites.Observe("legacy transaction", txnID)
	var first *scenarios.Delivered
	for i, d := range versioned {
		if d.TxnID == txnID && d.Exchange.Start.Before(legacy.Start) {
			first = &versioned[i]
			break
		}
	}
	Expect(first).NotTo(BeNil(), "transaction %s went to the legacy path without being tried on the versioned path first", txnID)
	Expect(string(legacy.Body)).To(MatchJSON(string(first.Exchange.Body)), "the legacy path got another body than the versioned path under transaction %s", txnID)
}

// expectLegacyQueryFallback: the AS answers alias and user queries on the
// versioned paths with status and body, and on the legacy paths 404
// M_NOT_FOUND (it knows neither); a join by an alias and an invite of a
// user of its namespaces must each be asked on the legacy path after the
// versioned one. A query the homeserver never made (e.g. no user query on
// an invite) is observed, not judged; neither made: not reached.
func (f *Fixture) expectLegacyQueryFallback(ctx context.Context, status int, body any) {
	GinkgoHelper()
	f.AS.On(fakeas.Rooms).Always().Respond(status, body)
	f.AS.On(fakeas.Users).Always().Respond(status, body)
	f.AS.On(fakeas.Legacy).Always().Respond(http.StatusNotFound, map[string]string{"errcode": "M_NOT_FOUND", "error": "unknown here too"})
	alice := f.NewUser(ctx, "alice")
	alias, ghost := f.Alias("legacy"), f.Ghost("legacy")
	_, err := alice.Join(ctx, alias)
	Expect(err).NotTo(HaveOccurred())
	_, err = alice.Invite(ctx, alice.MustCreateRoom(ctx, nil), ghost)
	Expect(err).NotTo(HaveOccurred())
	// The queries of each, by their unescaped path, in order.
	asked := func(path string) []recorder.Exchange {
		return f.AS.Recorder().Filter(func(e recorder.Exchange) bool {
			p, err := url.PathUnescape(e.Path)
			return err == nil && e.Method == http.MethodGet && p == path
		})
	}
	judged := 0
	for _, q := range []struct{ kind, subject, route string }{{"alias", alias, "rooms"}, {"user", ghost, "users"}} {
		versioned, legacy := "/_matrix/app/v1/"+q.route+"/"+q.subject, "/"+q.route+"/"+q.subject
		waitCtx, cancel := context.WithTimeout(ctx, wait(scenarios.DeliveryTimeout))
		_, _ = f.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool { return len(asked(versioned)) > 0 && len(asked(legacy)) > 0 })
		cancel()
		tried, fellBack := asked(versioned), asked(legacy)
		suites.Observe(q.kind+" queries on the versioned path, on the legacy path", fmt.Sprintf("%d, %d", len(tried), len(fellBack)))
		if len(tried) == 0 {
			continue
		}
		judged++
		Expect(fellBack).NotTo(BeEmpty(), "no GET %s within %s, while the AS answered the versioned %s query %d: the homeserver did not fall back to the legacy query path", legacy, wait(scenarios.DeliveryTimeout), q.kind, status)
		Expect(fellBack[0].Start.After(tried[0].Start)).To(BeTrue(), "the legacy %s query was made before the versioned one", q.kind)
	}
	if judged == 0 {
		Skip("not reached: the homeserver asked the AS neither about the alias nor about the user")
	}
}
