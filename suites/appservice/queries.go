package appservice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Querying": the AS creates what it owns before
// answering 200, and answers 404 for what it does not.
var _ = Describe("AS answers to user and alias queries", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 60 * time.Second

	It("registers a queried user of its namespace before answering 200", Label("AS-QRY-02", "AS-QRY-01"), needs(harness.RegistersQueriedUsers), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.Ghost("asked")
		resp, err := f.Push.QueryUser(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		Expect(f.Env.HS.UserExists(ghost)).To(BeTrue(), "answered 200 but %s does not exist on the homeserver", ghost)
		query := f.lastPush("/_matrix/app/v1/users/")
		register := f.asCall("/register")
		Expect(register.End.Before(query.End)).To(BeTrue(), "the AS registered the user only after answering the query")
		suites.Observe("user query latency", query.Duration().Round(time.Millisecond))
	}, NodeTimeout(timeout))

	It("creates a room and binds a queried alias of its namespace before answering 200", Label("AS-QRY-03", "AS-QRY-01"), needs(harness.CreatesQueriedAliases), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alias := f.Alias("portal")
		resp, err := f.Push.QueryAlias(ctx, alias)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		roomID, ok := f.Env.HS.ResolveAlias(alias)
		Expect(ok).To(BeTrue(), "answered 200 but %s is not bound to a room", alias)
		Expect(roomID).NotTo(BeEmpty())
		query := f.lastPush("/_matrix/app/v1/rooms/")
		Expect(f.asCall("/createRoom").End.Before(query.End)).To(BeTrue(), "room created after the answer")
		Expect(f.asCall("/directory/room/").End.Before(query.End)).To(BeTrue(), "alias bound after the answer")
		suites.Observe("alias query latency", query.Duration().Round(time.Millisecond))
	}, NodeTimeout(timeout))

	It("answers 200 for a queried user of its namespace that is already registered (M_USER_IN_USE)", Label("AS-QRY-05"), needs(harness.RegistersQueriedUsers), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.Ghost("existing")
		// Registered beforehand with the AS's own token, as a previous run
		// of the bridge (before a database reset) would have done.
		localpart := strings.TrimPrefix(strings.SplitN(ghost, ":", 2)[0], "@")
		earlier := &csapi.Client{BaseURL: f.Env.HS.URL(), Token: f.Env.Reg.ASToken, Name: "earlier run"}
		pre, err := earlier.RegisterAS(ctx, localpart, true)
		if err != nil || pre.Status != http.StatusOK {
			suites.HarnessError(fmt.Errorf("registering %s beforehand: %v %v", ghost, pre, err))
		}
		mark := len(f.Exchanges())
		resp, err := f.Push.QueryUser(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		var registers []string
		for _, e := range f.Exchanges()[mark:] {
			if e.From == "appservice" && strings.HasSuffix(e.Path, "/register") {
				registers = append(registers, fmt.Sprintf("%d %s", e.Status, bytes.TrimSpace(e.RespBody)))
			}
		}
		suites.Observe("the AS's /register calls and their answers", registers)
		Expect(resp).To(match.HaveStatus(http.StatusOK), "the query for %s, already registered on the homeserver", ghost)
	}, NodeTimeout(timeout))

	It("answers 404 for a user or alias outside its namespaces and creates nothing", Label("AS-QRY-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		user := "@" + f.Outside("stranger") + ":" + f.Server()
		alias := "#" + f.Outside("elsewhere") + ":" + f.Server()
		u, err := f.Push.QueryUser(ctx, user)
		Expect(err).NotTo(HaveOccurred())
		Expect(u).To(match.HaveStatus(http.StatusNotFound))
		a, err := f.Push.QueryAlias(ctx, alias)
		Expect(err).NotTo(HaveOccurred())
		Expect(a).To(match.HaveStatus(http.StatusNotFound))
		Expect(f.Env.HS.UserExists(user)).To(BeFalse())
		_, bound := f.Env.HS.ResolveAlias(alias)
		Expect(bound).To(BeFalse())
	}, NodeTimeout(timeout))
})

// Application Service API, "Pinging" and unknown routes (v1.6, v1.7).
var _ = Describe("AS ping and unknown routes", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 30 * time.Second

	It("answers a ping with 200 and a JSON object", Label("AS-PING-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp, err := f.Push.Ping(ctx, "asc-ping-"+f.unique)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		Expect(resp.Body).To(match.BeJSONObject(), "the ping answer's body")
		suites.Observe("ping answer body", string(resp.Body))
	}, NodeTimeout(timeout))

	It("answers an unknown route with 404 M_UNRECOGNIZED", Label("AS-ERR-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp, err := f.Push.Do(ctx, http.MethodGet, "/_matrix/app/v1/asconform/no-such-endpoint", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveError(http.StatusNotFound, "M_UNRECOGNIZED"))
	}, NodeTimeout(timeout))

	It("answers a known route called with the wrong method with 405 M_UNRECOGNIZED", Label("AS-ERR-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp, err := f.Push.Do(ctx, http.MethodDelete, "/_matrix/app/v1/transactions/"+f.TxnID("method"), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveError(http.StatusMethodNotAllowed, "M_UNRECOGNIZED"))
	}, NodeTimeout(timeout))
})

// Client-server API as the AS uses it.
var _ = Describe("AS behaviour on the client-server API", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))

	It("sends its as_token in the Authorization header, not the query string", Label("AS-AUTH-04"), needs(harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.NewPortal(ctx, alice)
		text := "relay me " + f.unique
		msg := f.Message(portal.ID, alice.UserID(ctx), text)
		_, err := f.Push.PushEvents(ctx, f.TxnID("relay"), msg)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() int { return len(f.Echoes(text)) }).WithContext(ctx).WithTimeout(30 * time.Second).Should(Equal(1))
		calls := f.ASCalls()
		Expect(calls).NotTo(BeEmpty())
		for _, c := range calls {
			Expect(c).To(match.BeBearer(f.Env.Reg.ASToken))
			Expect(c.Query.Get("access_token")).To(BeEmpty(), "%s %s carried the token in the query string", c.Method, c.Path)
		}
		echo := f.Echoes(text)[0]
		suites.Observe("echo sender", echo.Sender)
		suites.Observe("echo origin_server_ts minus original", echo.OriginServerTS-msg.OriginServerTS)
		var withTS, asUser int
		for _, c := range calls {
			if c.Query.Get("ts") != "" {
				withTS++
			}
			if c.Query.Get("user_id") != "" {
				asUser++
			}
		}
		suites.Observe("calls with ?ts= / with ?user_id=", []int{withTS, asUser})
	}, NodeTimeout(60*time.Second))
})

// Application Service API, "Using /sync and /events".
var _ = Describe("AS use of /sync and /events", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))

	It("calls /sync or /events only as a virtual user named by user_id, never as its sender", Label("AS-ID-01", "AS-ID-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		// Give the AS things to do: a message, a user and an alias query.
		_, err := f.Push.PushEvents(ctx, f.TxnID("sync"), f.Message(portal.ID, alice.UserID(ctx), "sync "+f.unique))
		Expect(err).NotTo(HaveOccurred())
		_, err = f.Push.QueryUser(ctx, f.Ghost("sync"))
		Expect(err).NotTo(HaveOccurred())
		_, err = f.Push.QueryAlias(ctx, f.Alias("sync"))
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(3 * time.Second)
		var calls, problems []string
		for _, c := range f.ASCalls() {
			if !strings.HasSuffix(c.Path, "/sync") && !strings.HasSuffix(c.Path, "/events") {
				continue
			}
			calls = append(calls, c.Method+" "+c.Path+" user_id="+c.Query.Get("user_id"))
			if c.Query.Get("user_id") == "" {
				problems = append(problems, fmt.Sprintf("called %s %s without user_id (as its sender user)", c.Method, c.Path))
			}
		}
		if len(calls) == 0 {
			suites.Observe("/sync and /events calls", "none: nothing to judge")
		} else {
			suites.Observe("/sync and /events calls", calls)
		}
		if len(problems) > 0 {
			Fail(fmt.Sprintf("%d of %d /sync or /events calls named no virtual user:\n%s", len(problems), len(calls), strings.Join(problems, "\n")))
		}
	}, NodeTimeout(60*time.Second))
})

// Application Service API, "Identity assertion".
var _ = Describe("AS identity assertion", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))

	It("names in user_id only users its users namespaces cover", Label("AS-ID-05"), needs(harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.NewPortal(ctx, alice)
		_, err := f.Push.PushEvents(ctx, f.TxnID("assert"), f.Message(portal.ID, alice.UserID(ctx), "assert "+f.unique))
		Expect(err).NotTo(HaveOccurred())
		asserted := func() []recorder.Exchange {
			var out []recorder.Exchange
			for _, c := range f.ASCalls() {
				if c.Query.Get("user_id") != "" {
					out = append(out, c)
				}
			}
			return out
		}
		// The echo is sent as one of its users: wait for it (or for a
		// failed attempt), then judge every identity it asserted.
		Eventually(asserted).WithContext(ctx).WithTimeout(30*time.Second).ShouldNot(BeEmpty(), "the AS asserted no identity while echoing")
		time.Sleep(time.Second)
		// Its own sender is the default identity: naming it is allowed
		// (see the requirement's Question) and observed.
		sender := "@" + f.Env.Reg.SenderLocalpart + ":" + f.Server()
		var problems []string
		seen := map[string]bool{}
		for _, c := range asserted() {
			id := c.Query.Get("user_id")
			seen[id] = true
			if !f.Env.Reg.InUsers(id) && id != sender {
				problems = append(problems, fmt.Sprintf("asserted %s, outside its users namespaces, on %s %s (answered %d)", id, c.Method, c.Path, c.Status))
			}
		}
		suites.Observe("user_id values asserted", slices.Sorted(maps.Keys(seen)))
		suites.Observe("names its sender in user_id", seen[sender])
		if len(problems) > 0 {
			Fail(strings.Join(problems, "\n"))
		}
	}, NodeTimeout(60*time.Second))
})

// Application Service API, "Server admin style permissions" (v1.17): on a
// server without the legacy authentication API.
var _ = Describe("AS registration on a server without legacy login", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))

	It("registers a queried user with inhibit_login and never calls POST /login", Label("AS-LOGIN-01", "AS-LOGIN-02"), needs(harness.RegistersQueriedUsers), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.Env.HS.SetLegacyLogin(false)
		DeferCleanup(func() { f.Env.HS.SetLegacyLogin(true) })
		ghost := f.Ghost("nologin")
		resp, err := f.Push.QueryUser(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		// Give a login made after the answer time to arrive.
		time.Sleep(time.Second)
		var problems, seen []string
		for _, c := range f.ASCalls() {
			if !strings.HasSuffix(c.Path, "/register") && !strings.HasSuffix(c.Path, "/login") {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s %s %s -> %d", c.Method, c.Path, bytes.TrimSpace(c.Body), c.Status))
			var body struct {
				InhibitLogin any `json:"inhibit_login"`
			}
			switch {
			case strings.HasSuffix(c.Path, "/login") && c.Method == http.MethodPost:
				problems = append(problems, fmt.Sprintf("called POST %s (answered %d %s)", c.Path, c.Status, bytes.TrimSpace(c.RespBody)))
			case strings.HasSuffix(c.Path, "/register") && (json.Unmarshal(c.Body, &body) != nil || body.InhibitLogin != true):
				problems = append(problems, fmt.Sprintf("registered without inhibit_login: true: %s (answered %d)", bytes.TrimSpace(c.Body), c.Status))
			}
		}
		suites.Observe("the AS's /register and /login calls", seen)
		suites.Observe("user query answer", resp.String())
		if len(problems) > 0 {
			Fail("on a server without the legacy authentication API:\n" + strings.Join(problems, "\n"))
		}
		Expect(resp).To(match.HaveStatus(http.StatusOK), "the query for %s", ghost)
		Expect(f.Env.HS.UserExists(ghost)).To(BeTrue(), "answered 200 but %s does not exist on the homeserver", ghost)
	}, NodeTimeout(30*time.Second))
})

// lastPush is the last request fakehs sent the AS on a path.
func (f *Fixture) lastPush(prefix string) recorder.Exchange {
	GinkgoHelper()
	var got []recorder.Exchange
	for _, e := range f.Exchanges() {
		if e.From == "homeserver" && strings.HasPrefix(e.Path, prefix) {
			got = append(got, e)
		}
	}
	Expect(got).NotTo(BeEmpty(), "no request to %s was recorded", prefix)
	return got[len(got)-1]
}

// asCall is the first client-server request of the AS whose path contains fragment.
func (f *Fixture) asCall(fragment string) recorder.Exchange {
	GinkgoHelper()
	for _, e := range f.ASCalls() {
		if strings.Contains(e.Path, fragment) {
			return e
		}
	}
	Fail("the AS made no client-server request to " + fragment)
	return recorder.Exchange{}
}
