package appservice

import (
	"bytes"
	"cmp"
	"context"
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
var _ = describe("AS answers to user and alias queries", func() {
	const timeout = 60 * time.Second

	It("registers a queried user of its namespace before answering 200", Label("AS-QRY-02", "AS-QRY-01"), needs(harness.RegistersQueriedUsers), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.Ghost("asked")
		resp := f.Push.MustQueryUser(ctx, ghost)
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		Expect(ghost).To(BeRegisteredOn(f.Env.HS), "answered 200 but %s does not exist on the homeserver", ghost)
		query := f.lastPush("/_matrix/app/v1/users/")
		register := f.asCall("/register")
		Expect(register).To(EndBefore(query), "the AS registered the user only after answering the query")
		suites.Observe("user query latency", query.Duration().Round(time.Millisecond))
	}, NodeTimeout(timeout))

	It("creates a room and binds a queried alias of its namespace before answering 200", Label("AS-QRY-03", "AS-QRY-01"), needs(harness.CreatesQueriedAliases), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alias := f.Alias("portal")
		resp := f.Push.MustQueryAlias(ctx, alias)
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		Expect(alias).To(BeBoundOn(f.Env.HS), "answered 200 but %s is not bound to a room", alias)
		query := f.lastPush("/_matrix/app/v1/rooms/")
		Expect(f.asCall("/createRoom")).To(EndBefore(query), "room created after the answer")
		Expect(f.asCall("/directory/room/")).To(EndBefore(query), "alias bound after the answer")
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
		resp := f.Push.MustQueryUser(ctx, ghost)
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
		u := f.Push.MustQueryUser(ctx, user)
		Expect(u).To(match.HaveStatus(http.StatusNotFound))
		a := f.Push.MustQueryAlias(ctx, alias)
		Expect(a).To(match.HaveStatus(http.StatusNotFound))
		Expect(user).NotTo(BeRegisteredOn(f.Env.HS))
		Expect(alias).NotTo(BeBoundOn(f.Env.HS))
	}, NodeTimeout(timeout))
})

// Application Service API, "Pinging" and unknown routes (v1.6, v1.7).
var _ = describe("AS ping and unknown routes", func() {
	const timeout = 30 * time.Second

	It("answers a ping with 200 and a JSON object", Label("AS-PING-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		expectOKWithObject(f.Push.MustPing(ctx, "asc-ping-"+f.unique), "ping answer")
	}, NodeTimeout(timeout))

	It("answers an unknown route with 404 M_UNRECOGNIZED", Label("AS-ERR-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp := f.Push.MustDo(ctx, http.MethodGet, "/_matrix/app/v1/asconform/no-such-endpoint", nil)
		Expect(resp).To(match.HaveError(http.StatusNotFound, "M_UNRECOGNIZED"))
	}, NodeTimeout(timeout))

	It("answers a known route called with the wrong method with 405 M_UNRECOGNIZED", Label("AS-ERR-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp := f.Push.MustDo(ctx, http.MethodDelete, "/_matrix/app/v1/transactions/"+f.TxnID("method"), nil)
		Expect(resp).To(match.HaveError(http.StatusMethodNotAllowed, "M_UNRECOGNIZED"))
	}, NodeTimeout(timeout))
})

// Client-server API as the AS uses it.
var _ = describe("AS behaviour on the client-server API", func() {

	It("sends its as_token in the Authorization header, not the query string", Label("AS-AUTH-04"), needs(harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.NewPortal(ctx, alice)
		text := "relay me " + f.unique
		msg := f.Message(portal.ID, alice.UserID(ctx), text)
		f.Push.MustPushEvents(ctx, f.TxnID("relay"), msg)
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
var _ = describe("AS use of /sync and /events", func() {

	It("calls /sync or /events only as a virtual user named by user_id, never as its sender", Label("AS-ID-01", "AS-ID-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		check := f.forbid(func(c recorder.Exchange) string {
			if syncOrEvents(c) && c.Query.Get("user_id") == "" {
				return "/sync or /events called without user_id, as its sender user"
			}
			return ""
		})
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		// Give the AS things to do: a message, a user and an alias query.
		f.Push.MustPushEvents(ctx, f.TxnID("sync"), f.Message(portal.ID, alice.UserID(ctx), "sync "+f.unique))
		f.Push.MustQueryUser(ctx, f.Ghost("sync"))
		f.Push.MustQueryAlias(ctx, f.Alias("sync"))
		time.Sleep(3 * time.Second)
		var calls []string
		for _, c := range f.ASCalls() {
			if syncOrEvents(c) {
				calls = append(calls, c.Method+" "+c.Path+" user_id="+c.Query.Get("user_id"))
			}
		}
		if len(calls) == 0 {
			suites.Observe("/sync and /events calls", "none: nothing to judge")
		} else {
			suites.Observe("/sync and /events calls", calls)
		}
		check()
	}, NodeTimeout(60*time.Second))
})

// Application Service API, "Identity assertion".
var _ = describe("AS identity assertion", func() {

	It("names in user_id only users its users namespaces cover", Label("AS-ID-05"), needs(harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		// Its own sender is the default identity: naming it is allowed
		// (see the requirement's Question) and observed.
		sender := "@" + f.Env.Reg.SenderLocalpart + ":" + f.Server()
		check := f.forbid(func(c recorder.Exchange) string {
			if id := c.Query.Get("user_id"); id != "" && !f.Env.Reg.InUsers(id) && id != sender {
				return "asserted " + id + ", outside its users namespaces"
			}
			return ""
		})
		// The echo is sent as one of its users.
		seen := map[string]bool{}
		for _, c := range f.echoing(ctx, alice, "user_id") {
			seen[c.Query.Get("user_id")] = true
		}
		suites.Observe("user_id values asserted", slices.Sorted(maps.Keys(seen)))
		suites.Observe("names its sender in user_id", seen[sender])
		check()
	}, NodeTimeout(60*time.Second))

	// v1.17: "MAY ... masquerade as a specific device ID belonging [to] the
	// user ID through use of the device_id query string parameter". fakehs
	// knows each user's devices and refuses another (400 M_UNKNOWN_DEVICE).
	It("acts as a device of the user it asserts when it names one with device_id", Label("AS-ID-03"),
		needs(harness.ActsAsDevices, harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
			f := NewFixture(ctx)
			check := f.forbid(func(c recorder.Exchange) string {
				if user := c.Query.Get("user_id"); user != "" && deviceRefused(c) {
					return "device_id " + c.Query.Get("device_id") + " is not a device of " + user + " (user_id)"
				}
				return ""
			})
			named := f.echoing(ctx, f.User(ctx, "alice"), "device_id")
			observeDevices(f, named)
			check()
		}, NodeTimeout(60*time.Second))

	// v1.17: "If no user_id is supplied, the device_id MUST belong to the
	// user implied by the sender_localpart property".
	It("names in device_id without user_id only a device of its sender_localpart user", Label("AS-ID-02"),
		needs(harness.ActsAsDevices, harness.JoinsOnInvite, harness.EchoesMessages), func(ctx SpecContext) {
			f := NewFixture(ctx)
			sender := "@" + f.Env.Reg.SenderLocalpart + ":" + f.Server()
			check := f.forbid(func(c recorder.Exchange) string {
				if c.Query.Get("user_id") == "" && deviceRefused(c) {
					return "device_id " + c.Query.Get("device_id") + " is not a device of " + sender + " (no user_id: its sender_localpart user)"
				}
				return ""
			})
			named := f.echoing(ctx, f.User(ctx, "alice"), "device_id")
			observeDevices(f, named)
			check()
			if !slices.ContainsFunc(named, func(c recorder.Exchange) bool { return c.Query.Get("user_id") == "" }) {
				skipUnseen("names a device with device_id but no user_id", fmt.Sprintf("the AS under test named one only with user_id (%d requests)", len(named)))
			}
		}, NodeTimeout(60*time.Second))
})

// echoing has the AS echo a message of owner's in a new portal and returns
// its requests carrying the query parameter param, once there is one (or
// a failed attempt at one) and a second more has passed.
func (f *Fixture) echoing(ctx context.Context, owner *csapi.Client, param string) []recorder.Exchange {
	GinkgoHelper()
	portal := f.NewPortal(ctx, owner)
	f.Push.MustPushEvents(ctx, f.TxnID("echo"), f.Message(portal.ID, owner.UserID(ctx), "echo "+f.unique))
	carrying := func() []recorder.Exchange {
		var out []recorder.Exchange
		for _, c := range f.ASCalls() {
			if c.Query.Get(param) != "" {
				out = append(out, c)
			}
		}
		return out
	}
	Eventually(carrying).WithContext(ctx).WithTimeout(30*time.Second).ShouldNot(BeEmpty(), "the AS sent no %s while echoing", param)
	time.Sleep(time.Second)
	return carrying()
}

// deviceRefused says whether fakehs refused a request's device_id as not a
// device of the user the request acts as.
func deviceRefused(c recorder.Exchange) bool {
	var body struct {
		ErrCode string `json:"errcode"`
	}
	return c.Query.Get("device_id") != "" && c.Status == http.StatusBadRequest &&
		json.Unmarshal(c.RespBody, &body) == nil && body.ErrCode == "M_UNKNOWN_DEVICE"
}

// observeDevices observes which devices the AS named, as whom, and the
// devices it created during the spec (PUT /devices/{deviceId}).
func observeDevices(f *Fixture, named []recorder.Exchange) {
	as := map[string]bool{}
	for _, c := range named {
		as[c.Query.Get("device_id")+" as "+cmp.Or(c.Query.Get("user_id"), "its sender (no user_id)")] = true
	}
	suites.Observe("device_id named", slices.Sorted(maps.Keys(as)))
	var created []string
	for _, c := range f.ASCalls() {
		if c.Method == http.MethodPut && strings.Contains(c.Path, "/devices/") {
			created = append(created, fmt.Sprintf("%s user_id=%s -> %d", c.Path, c.Query.Get("user_id"), c.Status))
		}
	}
	suites.Observe("devices created or updated in this spec", cmp.Or(strings.Join(created, "; "), "none (created before)"))
}

// Application Service API, "Server admin style permissions" (v1.17): on a
// server without the legacy authentication API.
var _ = describe("AS registration on a server without legacy login", func() {

	It("registers a queried user with inhibit_login and never calls POST /login", Label("AS-LOGIN-01", "AS-LOGIN-02"), needs(harness.RegistersQueriedUsers), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.Env.HS.SetLegacyLogin(false)
		DeferCleanup(func() { f.Env.HS.SetLegacyLogin(true) })
		check := f.forbid(func(c recorder.Exchange) string {
			var body struct {
				InhibitLogin any `json:"inhibit_login"`
			}
			switch {
			case strings.HasSuffix(c.Path, "/login") && c.Method == http.MethodPost:
				return "a login on a server without the legacy authentication API"
			case strings.HasSuffix(c.Path, "/register") && (json.Unmarshal(c.Body, &body) != nil || body.InhibitLogin != true):
				return "registered without inhibit_login: true"
			}
			return ""
		})
		ghost := f.Ghost("nologin")
		resp := f.Push.MustQueryUser(ctx, ghost)
		// Give a login made after the answer time to arrive.
		time.Sleep(time.Second)
		var seen []string
		for _, c := range f.ASCalls() {
			if strings.HasSuffix(c.Path, "/register") || strings.HasSuffix(c.Path, "/login") {
				seen = append(seen, fmt.Sprintf("%s %s %s -> %d", c.Method, c.Path, bytes.TrimSpace(c.Body), c.Status))
			}
		}
		suites.Observe("the AS's /register and /login calls", seen)
		suites.Observe("user query answer", resp.String())
		check()
		Expect(resp).To(match.HaveStatus(http.StatusOK), "the query for %s", ghost)
		Expect(ghost).To(BeRegisteredOn(f.Env.HS), "answered 200 but %s does not exist on the homeserver", ghost)
	}, NodeTimeout(30*time.Second))
})

// syncOrEvents says whether a request is to /sync or /events.
func syncOrEvents(c recorder.Exchange) bool {
	return strings.HasSuffix(c.Path, "/sync") || strings.HasSuffix(c.Path, "/events")
}

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
