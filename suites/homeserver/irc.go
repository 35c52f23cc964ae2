package homeserver

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// The IRC walkthrough of the 2015 design (seed documents), replayed against
// today's API: the fake AS plays an IRC bridge.
var _ = describe("The IRC bridge walkthrough", func() {
	It("bridges an IRC channel: alias query, scrollback with ts as a ghost, messages both ways",
		Label("HS-ID-03", "HS-QRY-03", "HS-QRY-04", "HS-ID-01", "HS-TS-01", "HS-REG-04"), func(ctx SpecContext) {
			f := NewFixture(ctx)
			bridge := f.ASClient
			bob := f.Ghost("irc_bob")

			By("1. the bridge is registered: with no user_id its requests act as its sender user")
			who, err := bridge.WhoAmI(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(who.Field("user_id")).To(Equal("@" + f.Reg.SenderLocalpart + ":" + f.Server()))

			By("2. Bob speaks on IRC in #matrix while nobody from Matrix is there: the bridge keeps it")
			scrollback := time.Now().Add(-10 * time.Minute).UnixMilli()

			By("3. Alice joins the channel's alias: the homeserver asks the bridge, which builds the room first")
			channel := f.BuildIRCChannelOnAliasQuery(f.Alias("irc_matrix"), "#matrix (IRC)", f.GhostLocalpart("irc_bob"), bob, "anyone around?", scrollback)
			alice := f.NewUser(ctx, "alice")
			joined, err := alice.Join(ctx, f.Alias("irc_matrix"))
			Expect(joined, err).To(match.HaveStatus(http.StatusOK))
			Expect(joined.Field("room_id")).To(Equal(channel.RoomID))

			By("4. Alice sees the room's name and Bob's scrollback, stamped with the IRC time")
			name, err := alice.State(ctx, channel.RoomID, "m.room.name", "")
			Expect(err).NotTo(HaveOccurred())
			Expect(name.Field("name")).To(Equal("#matrix (IRC)"))
			seen := eventOf(ctx, alice, channel.RoomID, channel.ScrollbackID)
			Expect(seen.Sender).To(Equal(bob), "Bob's scrollback as seen by Alice")
			Expect(seen.OriginServerTS).To(Equal(scrollback), "Bob's scrollback keeps its IRC time")

			By("5. Alice says hi!: the homeserver pushes it to the bridge")
			said := time.Now()
			pushed, event := f.ExpectEvent(ctx, alice.MustSend(ctx, channel.RoomID, "hi!"))
			Expect(event.Sender).To(Equal(alice.UserID(ctx)))
			suites.Observe("step 5: Alice's message reached the bridge after", pushed.Exchange.Start.Sub(said).Round(100*time.Microsecond))

			By("6. Bob answers on IRC: the bridge sends it as Bob with Bob's IRC timestamp")
			ircTime := time.Now().Add(-1500 * time.Millisecond).UnixMilli()
			answer := eventOf(ctx, alice, channel.RoomID, bridge.MustSend(ctx, channel.RoomID, "what's up?", csapi.AsUser(bob), csapi.TS(ircTime)))
			Expect(answer.Sender).To(Equal(bob))
			Expect(answer.OriginServerTS).To(Equal(ircTime))
		}, NodeTimeout(2*time.Minute))
})

// eventOf fetches one event as the client sees it.
func eventOf(ctx context.Context, c *csapi.Client, roomID, eventID string) matrix.ClientEvent {
	GinkgoHelper()
	resp := readEvent(ctx, c, roomID, eventID)
	Expect(resp).To(match.HaveStatus(http.StatusOK))
	var ev matrix.ClientEvent
	Expect(resp.JSON(&ev)).To(Succeed())
	return ev
}
