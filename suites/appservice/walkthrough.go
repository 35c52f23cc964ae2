package appservice

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// The IRC walkthrough of the 2015 design (seed documents) from the
// bridge's side: fakehs plays the homeserver, the AS under test the IRC
// bridge and, when it declares remote-network, the suite also plays IRC
// (suites/homeserver/irc.go has the homeserver's side).
var _ = describe("The IRC bridge walkthrough, from the bridge's side", func() {

	It("bridges a remote channel as in the seed's IRC example: builds the room of an alias a user joins before answering, brings in scrollback and answers as ghosts, passes the user's message on",
		Label("AS-QRY-03", "AS-QRY-01", "AS-TXN-01", "AS-ID-05", "AS-TS-01"), needs(harness.CreatesQueriedAliases), func(ctx SpecContext) {
			f := NewFixture(ctx)
			bot := "@" + f.Env.Reg.SenderLocalpart + ":" + f.Server()
			// As AS-ID-05's own spec: its sender is allowed (see the
			// requirement's Question), any other ID outside its namespace not.
			check := f.forbid(func(c recorder.Exchange) string {
				if id := c.Query.Get("user_id"); id != "" && !f.Env.Reg.InUsers(id) && id != bot {
					return "asserted " + id + ", outside its users namespaces"
				}
				return ""
			})
			By("1. the bridge is registered: the homeserver has its registration")
			alice := f.User(ctx, "alice")
			w := scenarios.BridgeWalkthrough{
				HS: f.Env.HS, Reg: f.Env.Reg, Alice: alice, Alias: f.Alias("irc_matrix"),
				Text: "hi! " + f.unique, Answers: has(harness.EchoesMessages), Check: check,
			}
			if has(harness.RemoteNetwork) {
				remote := f.Remote()
				bob := f.RemoteName("bob")
				w.Remote, w.Channel, w.BobGhost = &remote, f.RemoteName("irc_matrix"), f.Ghost("bob")
				w.Scrollback = remoteMessage(bob, w.Channel, "hello?", time.Now().Add(-10*time.Minute))
				w.Reply = remoteMessage(bob, w.Channel, "what's up?", time.Now().Add(-1500*time.Millisecond))
			} else {
				By("2. the remote channel #matrix exists; nobody from Matrix is in it yet (the AS declares no " + harness.RemoteNetwork + ": the suite cannot speak there)")
			}
			res := w.Run(ctx)
			suites.Observe("step 3: alias query answered after", res.Query.Duration().Round(time.Millisecond))
			suites.Observe("step 3: Alice's join answered after", res.Join.Duration().Round(time.Millisecond))
			if w.Remote != nil {
				observeBridged("step 3: Bob's scrollback", res.Scrollback, w.Scrollback)
				suites.Observe("step 3: Bob's scrollback sent before the alias query was answered", res.Scrollback.Send.End.Before(res.Query.End))
				suites.Observe("step 4: Alice's message on the remote channel, as", res.Relayed.Sender)
				observeBridged("step 5: Bob's answer", scenarios.Bridged{Event: res.AnswerEvent, Send: res.Answer}, w.Reply)
				return
			}
			if !w.Answers {
				suites.Observe("step 5: the bridge's answer", "not observed: that needs an AS declaring "+harness.EchoesMessages+" or "+harness.RemoteNetwork)
				return
			}
			sender := res.AnswerEvent.Sender
			Expect(sender == bot || f.Env.Reg.InUsers(sender)).To(BeTrue(), "the bridge's answer came from %s, not one of its users", sender)
			suites.Observe("step 5: answered as", sender)
			suites.Observe("step 5: ?user_id= of the answer", res.Answer.Query.Get("user_id"))
			observeTS("step 5: ?ts= of the answer minus Alice's origin_server_ts (ms)", res.Answer, res.Said.OriginServerTS)
			suites.Observe("step 5: the answer's origin_server_ts minus Alice's (ms)", res.AnswerEvent.OriginServerTS-res.Said.OriginServerTS)
		}, NodeTimeout(2*time.Minute))

	It("links a message it bridges in from the remote network to the original (external_url)",
		Label("AS-EVT-01"), needs(harness.CreatesQueriedAliases, harness.RemoteNetwork), func(ctx SpecContext) {
			f := NewFixture(ctx)
			alias, channel := f.Alias("evt"), f.RemoteName("evt")
			By("the homeserver asks the bridge about " + alias + ", the portal of remote channel " + channel)
			Expect(f.Push.MustQueryAlias(ctx, alias)).To(match.HaveStatus(http.StatusOK))
			room, bound := f.Env.HS.ResolveAlias(alias)
			Expect(bound).To(BeTrue(), "the bridge answered 200 but %s is not bound to a room", alias)

			carol := f.RemoteName("carol")
			m := remoteMessage(carol, channel, "see the original", time.Now().Add(-time.Minute))
			By(fmt.Sprintf("%s says %q on %s; the remote network links it at %s", carol, m.Body, channel, m.URL))
			f.Remote().MustSay(ctx, channel, m)
			b := f.Remote().MustAppear(ctx, room, f.Ghost("carol"), m)
			var content struct {
				ExternalURL *string `json:"external_url"`
			}
			Expect(json.Unmarshal(b.Event.Content, &content)).To(Succeed())
			Expect(content.ExternalURL).NotTo(BeNil(), "the event %s bridged from remote message %s carries no external_url (the original is at %s); content: %s", b.Event.EventID, m.ID, m.URL, b.Event.Content)
			Expect(*content.ExternalURL).To(Equal(m.URL), "the event %s bridged from remote message %s links elsewhere than the original", b.Event.EventID, m.ID)
		}, NodeTimeout(time.Minute))
})

// remoteMessage is a message of sender on channel at the remote time at,
// with the link the remote network gives it.
func remoteMessage(sender, channel, body string, at time.Time) scenarios.RemoteMessage {
	id := fmt.Sprintf("m%d-%d", at.UnixMilli(), fixtures.Add(1))
	return scenarios.RemoteMessage{ID: id, Sender: sender, Body: body, TS: at.UnixMilli(), URL: "https://remote.example/" + channel + "/" + id}
}

// observeBridged observes how a remote message was bridged in: as whom, at
// which time (AS-TS-01, a MAY: observed), with which link (AS-EVT-01 has
// its own spec).
func observeBridged(step string, b scenarios.Bridged, m scenarios.RemoteMessage) {
	suites.Observe(step+": ?user_id=", b.Send.Query.Get("user_id"))
	observeTS(step+": ?ts= minus its remote time (ms)", b.Send, m.TS)
	suites.Observe(step+": origin_server_ts minus its remote time (ms)", b.Event.OriginServerTS-m.TS)
	var content struct {
		ExternalURL string `json:"external_url"`
	}
	_ = json.Unmarshal(b.Event.Content, &content)
	suites.Observe(step+": external_url is the original's link", content.ExternalURL == m.URL)
}

// observeTS observes the ?ts= of a send relative to a time, or its absence.
func observeTS(what string, send recorder.Exchange, since int64) {
	ts := send.Query.Get("ts")
	if ts == "" {
		suites.Observe(what, "no ?ts=: the bridge does not massage the timestamp (permitted)")
		return
	}
	n, _ := strconv.ParseInt(ts, 10, 64)
	suites.Observe(what, n-since)
}
