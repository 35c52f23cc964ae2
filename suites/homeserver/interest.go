package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
)

// Application Service API, "Registration": which events interest an AS
// beyond those of its namespaced users (the users case is in delivery.go).
var _ = Describe("Which events reach an AS", Label("homeserver"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 2 * time.Minute

	It("pushes the invite of the AS's own sender user, and the room's events once it joined", Label("HS-REG-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		created, err := alice.CreateRoom(ctx, map[string]any{"preset": "public_chat"})
		Expect(err).NotTo(HaveOccurred())
		Expect(created).To(match.HaveStatus(http.StatusOK))
		roomID := created.Field("room_id")
		bot := "@" + f.Reg.SenderLocalpart + ":" + f.Server()

		invited, err := alice.Invite(ctx, roomID, bot)
		Expect(err).NotTo(HaveOccurred())
		Expect(invited).To(match.HaveStatus(http.StatusOK))
		Expect(f.waitForMember(ctx, roomID, bot, "invite")).To(Succeed(), "the invite of the AS's sender_localpart user was not pushed to the AS")

		joined, err := f.ASClient.Join(ctx, roomID)
		Expect(err).NotTo(HaveOccurred())
		Expect(joined).To(match.HaveStatus(http.StatusOK))
		said := BridgedRoom{ID: roomID, Owner: alice}.Say(ctx, alice, "hello, bot")
		_, _, err = f.WaitForEvent(ctx, said)
		Expect(err).NotTo(HaveOccurred(), "a message in a room the AS's sender user joined was not pushed to the AS")
	}, NodeTimeout(timeout))

	It("pushes the events of a room whose alias is in the AS's aliases namespace, though none of its users is in it", Label("HS-REG-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		created, err := alice.CreateRoom(ctx, map[string]any{"preset": "public_chat"})
		Expect(err).NotTo(HaveOccurred())
		Expect(created).To(match.HaveStatus(http.StatusOK))
		roomID := created.Field("room_id")
		aliased, err := f.ASClient.CreateAlias(ctx, f.Alias("hall"), roomID)
		Expect(err).NotTo(HaveOccurred())
		Expect(aliased).To(match.HaveStatus(http.StatusOK))

		said := BridgedRoom{ID: roomID, Owner: alice}.Say(ctx, alice, "anyone here?")
		_, _, err = f.WaitForEvent(ctx, said)
		Expect(err).NotTo(HaveOccurred(), "a message in a room with an alias in the AS's namespace was not pushed to the AS")
	}, NodeTimeout(timeout))
})

// waitForMember waits until a pushed m.room.member event of roomID puts
// userID in membership.
func (a *AppService) waitForMember(ctx context.Context, roomID, userID, membership string) error {
	ctx, cancel := context.WithTimeout(ctx, wait(deliveryTimeout))
	defer cancel()
	_, err := a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool {
		for _, d := range a.Deliveries() {
			for _, ev := range d.Txn.Events {
				var content struct {
					Membership string `json:"membership"`
				}
				if ev.Type == "m.room.member" && ev.RoomID == roomID && ev.StateKey != nil && *ev.StateKey == userID &&
					json.Unmarshal(ev.Content, &content) == nil && content.Membership == membership {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("no pushed m.room.member event made %s %q in %s: %w", userID, membership, roomID, err)
	}
	return nil
}
