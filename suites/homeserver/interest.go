package homeserver

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Application Service API, "Registration": which events interest an AS
// beyond those of its namespaced users (the users case is in delivery.go).
var _ = describe("Which events reach an AS", func() {
	const timeout = 2 * time.Minute

	It("pushes the invite of the AS's own sender user, and the room's events once it joined", Label("HS-REG-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
		bot := "@" + f.Reg.SenderLocalpart + ":" + f.Server()

		alice.MustInvite(ctx, roomID, bot)
		Expect(f.WaitForMember(ctx, roomID, bot, "invite")).To(Succeed(), "the invite of the AS's sender_localpart user was not pushed to the AS")

		f.ASClient.MustJoin(ctx, roomID)
		f.ExpectEvent(ctx, alice.MustSend(ctx, roomID, "hello, bot"), "a message in a room the AS's sender user joined was not pushed to the AS")
	}, NodeTimeout(timeout))

	It("pushes the invite of a registered user of its namespace to a room none of its users is in", Label("HS-REG-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "invitee")
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
		alice.MustInvite(ctx, roomID, ghost)
		Expect(f.WaitForMember(ctx, roomID, ghost, "invite")).To(Succeed(), "the invite targeting a user of the AS's namespace was not pushed to the AS")
	}, NodeTimeout(timeout))

	It("pushes the events of a room whose alias is in the AS's aliases namespace, though none of its users is in it", Label("HS-REG-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
		f.ASClient.MustCreateAlias(ctx, f.Alias("hall"), roomID)
		f.ExpectEvent(ctx, alice.MustSend(ctx, roomID, "anyone here?"), "a message in a room with an alias in the AS's namespace was not pushed to the AS")
	}, NodeTimeout(timeout))
})
