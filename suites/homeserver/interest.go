package homeserver

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
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

	It("pushes the invite of a registered user of its namespace, and no event of the room after the user left it", Label("HS-REG-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "leaver")
		f.expectQuietAfterLeave(ctx, ghost, csapi.AsUser(ghost))
	}, NodeTimeout(timeout))

	It("pushes no event of a room after the AS's own sender user left it", Label("HS-REG-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.expectQuietAfterLeave(ctx, "@"+f.Reg.SenderLocalpart+":"+f.Server())
	}, NodeTimeout(timeout))

	It("pushes the events of a room whose alias is in the AS's aliases namespace, though none of its users is in it", Label("HS-REG-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
		f.ASClient.MustCreateAlias(ctx, f.Alias("hall"), roomID)
		f.ExpectEvent(ctx, alice.MustSend(ctx, roomID, "anyone here?"), "a message in a room with an alias in the AS's namespace was not pushed to the AS")
	}, NodeTimeout(timeout))

	It("pushes the events of a room whose ID matches the AS's rooms namespace, and not those of a room whose ID does not, though none of its users is in either", Label("HS-REG-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		// Room IDs are the homeserver's to choose: the namespace takes
		// those whose opaque part starts with a lower-case letter (about
		// half), on a homeserver of the spec's own, where no other spec's
		// rooms make the AS busy. Written to match whether the homeserver
		// anchors the regex or not.
		f.Reg.Namespaces.Rooms = []matrix.Namespace{{Exclusive: false, Regex: roomsRegex}}
		f.OwnSUT(ctx)
		alice := f.NewUser(ctx, "alice")
		matching, other := roomsBothSidesOf(ctx, alice, regexp.MustCompile("^(?:"+roomsRegex+")$"))
		suites.Observe("rooms namespace", roomsRegex)
		suites.Observe("room matching it, room not matching it", matching+", "+other)
		outside := alice.MustSend(ctx, other, "nobody bridges this room")
		f.ExpectEvent(ctx, alice.MustSend(ctx, matching, "anyone here?"), "a message in a room whose ID matches the AS's rooms namespace was not pushed to the AS")
		// Sent before the pushed one: it would have come first.
		Expect(scenarios.EventIDs(f.Deliveries())).NotTo(ContainElement(outside), "a message in room %s, whose ID does not match the AS's rooms namespace %s, was pushed to the AS", other, roomsRegex)
	}, NodeTimeout(timeout))
})

// roomsRegex is the rooms namespace of HS-REG-03's spec: room IDs whose
// opaque part starts with a lower-case letter.
const roomsRegex = "![a-z].*"

// roomsBothSidesOf has c create rooms until one's ID matches re and
// another's does not (each about as likely as not).
func roomsBothSidesOf(ctx context.Context, c *csapi.Client, re *regexp.Regexp) (matching, other string) {
	GinkgoHelper()
	for range 16 {
		id := c.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
		if re.MatchString(id) {
			matching = cmp.Or(matching, id)
		} else {
			other = cmp.Or(other, id)
		}
		if matching != "" && other != "" {
			return matching, other
		}
	}
	suites.HarnessError(fmt.Errorf("16 rooms created, none on one side of %s (matching: %q, not matching: %q)", re, matching, other))
	return "", ""
}

// expectQuietAfterLeave: alice invites member (the AS's, acting through the
// AS's client with opts) to a room of hers, the invite is pushed; member
// joins and leaves (its leave is pushed: it targets the AS's user); then
// alice's message in the room must not be pushed. A message alice sends
// after it in a room the AS bridges bounds the wait: the first would have
// come before it.
func (f *Fixture) expectQuietAfterLeave(ctx context.Context, member string, opts ...csapi.Option) {
	GinkgoHelper()
	alice := f.NewUser(ctx, "alice")
	bridged := f.NewBridgedRoom(ctx, alice, "bob")
	roomID := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"})
	alice.MustInvite(ctx, roomID, member)
	Expect(f.WaitForMember(ctx, roomID, member, "invite")).To(Succeed(), "the invite of %s, the AS's user, was not pushed to the AS", member)
	f.ASClient.MustJoin(ctx, roomID, opts...)
	f.ASClient.MustDo(ctx, http.MethodPost, "/_matrix/client/v3/rooms/"+csapi.PathEscape(roomID)+"/leave", map[string]any{}, opts...)
	Expect(f.WaitForMember(ctx, roomID, member, "leave")).To(Succeed(), "the leave of %s, the AS's user, was not pushed to the AS", member)
	after := alice.MustSend(ctx, roomID, "said after the AS's user left")
	f.ExpectEvent(ctx, bridged.Say(ctx, alice, "said in a bridged room"), "a message in a room the AS bridges was not pushed to the AS")
	Expect(scenarios.EventIDs(f.Deliveries())).NotTo(ContainElement(after), "alice's message in %s was pushed to the AS after %s, its only user there, left", roomID, member)
}
