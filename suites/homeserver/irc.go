package homeserver

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// The IRC walkthrough of the 2015 design (seed documents), replayed against
// today's API: the fake AS plays an IRC bridge.
var _ = Describe("The IRC bridge walkthrough", Label("homeserver"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))

	It("bridges an IRC channel: alias query, scrollback with ts as a ghost, messages both ways",
		Label("HS-ID-03", "HS-QRY-03", "HS-QRY-04", "HS-ID-01", "HS-TS-01", "HS-REG-04"), func(ctx SpecContext) {
			f := NewFixture(ctx)
			bridge := f.ASClient
			bob := f.Ghost("irc_bob")
			channel := f.Alias("irc_matrix")

			By("1. the bridge is registered: with no user_id its requests act as its sender user")
			who, err := bridge.WhoAmI(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(who.Field("user_id")).To(Equal("@" + f.Reg.SenderLocalpart + ":" + f.Server()))

			By("2. Bob speaks on IRC in #matrix while nobody from Matrix is there: the bridge keeps it")
			scrollback := time.Now().Add(-10 * time.Minute).UnixMilli()

			By("3. Alice joins the channel's alias: the homeserver asks the bridge, which builds the room first")
			var roomID, scrollbackID string
			f.AS.On(fakeas.Rooms).Do(func(ctx context.Context, in fakeas.Request) error {
				created, err := bridge.CreateRoom(ctx, map[string]any{"preset": "public_chat", "name": "#matrix (IRC)"})
				if err != nil || created.Status != http.StatusOK {
					return errString("createRoom: " + created.String())
				}
				roomID = created.Field("room_id")
				steps := []func() (csapi.Response, error){
					func() (csapi.Response, error) { return bridge.CreateAlias(ctx, channel, roomID) },
					func() (csapi.Response, error) { return bridge.RegisterAS(ctx, f.GhostLocalpart("irc_bob"), true) },
					func() (csapi.Response, error) { return bridge.Join(ctx, roomID, csapi.AsUser(bob)) },
					func() (csapi.Response, error) {
						return bridge.SendMessage(ctx, roomID, "anyone around?", csapi.AsUser(bob), csapi.TS(scrollback))
					},
				}
				var last csapi.Response
				for _, step := range steps {
					resp, err := step()
					if err != nil || resp.Status != http.StatusOK {
						return errString("bridge step failed: " + resp.String())
					}
					last = resp
				}
				scrollbackID = last.Field("event_id")
				return nil
			}).Respond(http.StatusOK, nil)
			alice := f.NewUser(ctx, "alice")
			joined, err := alice.Join(ctx, channel)
			Expect(err).NotTo(HaveOccurred())
			Expect(joined).To(match.HaveStatus(http.StatusOK))
			Expect(joined.Field("room_id")).To(Equal(roomID))

			By("4. Alice sees the room's name and Bob's scrollback, stamped with the IRC time")
			name, err := alice.State(ctx, roomID, "m.room.name", "")
			Expect(err).NotTo(HaveOccurred())
			Expect(name.Field("name")).To(Equal("#matrix (IRC)"))
			seen := eventOf(ctx, alice, roomID, scrollbackID)
			Expect(seen.Sender).To(Equal(bob), "Bob's scrollback as seen by Alice")
			Expect(seen.OriginServerTS).To(Equal(scrollback), "Bob's scrollback keeps its IRC time")

			By("5. Alice says hi!: the homeserver pushes it to the bridge")
			said := time.Now()
			hi := joinedRoom(roomID, alice).Say(ctx, alice, "hi!")
			pushed, event, err := f.WaitForEvent(ctx, hi)
			Expect(err).NotTo(HaveOccurred())
			Expect(event.Sender).To(Equal(alice.UserID(ctx)))
			suites.Observe("step 5: Alice's message reached the bridge after", pushed.Exchange.Start.Sub(said).Round(100*time.Microsecond))

			By("6. Bob answers on IRC: the bridge sends it as Bob with Bob's IRC timestamp")
			ircTime := time.Now().Add(-1500 * time.Millisecond).UnixMilli()
			whatsUp := joinedRoom(roomID, alice).Say(ctx, bridge, "what's up?", csapi.AsUser(bob), csapi.TS(ircTime))
			answer := eventOf(ctx, alice, roomID, whatsUp)
			Expect(answer.Sender).To(Equal(bob))
			Expect(answer.OriginServerTS).To(Equal(ircTime))
		}, NodeTimeout(2*time.Minute))
})

func joinedRoom(roomID string, owner *csapi.Client) BridgedRoom {
	return BridgedRoom{ID: roomID, Owner: owner}
}

// eventOf fetches one event as the client sees it.
func eventOf(ctx context.Context, c *csapi.Client, roomID, eventID string) matrix.ClientEvent {
	GinkgoHelper()
	resp := readEvent(ctx, c, roomID, eventID)
	Expect(resp).To(match.HaveStatus(http.StatusOK))
	var ev matrix.ClientEvent
	Expect(resp.JSON(&ev)).To(Succeed())
	return ev
}
