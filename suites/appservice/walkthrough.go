package appservice

import (
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
)

// The IRC walkthrough of the 2015 design (seed documents) from the
// bridge's side: fakehs plays the homeserver, the AS under test the IRC
// bridge (suites/homeserver/irc.go has the homeserver's side).
var _ = describe("The IRC bridge walkthrough, from the bridge's side", func() {

	It("builds the room of an alias a user joins before answering, takes the user's message and answers as one of its users",
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
			By("2. the remote channel #matrix exists; nobody from Matrix is in it yet")
			alice := f.User(ctx, "alice")
			answers := has(harness.EchoesMessages)
			res := scenarios.BridgeWalkthrough{
				HS: f.Env.HS, Reg: f.Env.Reg, Alice: alice, Alias: f.Alias("irc_matrix"),
				Text: "hi! " + f.unique, Answers: answers, Check: check,
			}.Run(ctx)
			suites.Observe("step 3: alias query answered after", res.Query.Duration().Round(time.Millisecond))
			suites.Observe("step 3: Alice's join answered after", res.Join.Duration().Round(time.Millisecond))
			if !answers {
				suites.Observe("step 5: the bridge's answer", "not observed: that needs an AS declaring "+harness.EchoesMessages)
				return
			}
			sender := res.AnswerEvent.Sender
			Expect(sender == bot || f.Env.Reg.InUsers(sender)).To(BeTrue(), "the bridge's answer came from %s, not one of its users", sender)
			suites.Observe("step 5: answered as", sender)
			suites.Observe("step 5: ?user_id= of the answer", res.Answer.Query.Get("user_id"))
			if ts := res.Answer.Query.Get("ts"); ts != "" {
				n, _ := strconv.ParseInt(ts, 10, 64)
				suites.Observe("step 5: ?ts= of the answer minus Alice's origin_server_ts (ms)", n-res.Said.OriginServerTS)
			} else {
				suites.Observe("step 5: ?ts= of the answer", "none: the bridge does not massage the answer's timestamp (permitted)")
			}
			suites.Observe("step 5: the answer's origin_server_ts minus Alice's (ms)", res.AnswerEvent.OriginServerTS-res.Said.OriginServerTS)
		}, NodeTimeout(2*time.Minute))
})
