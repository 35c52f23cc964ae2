package homeserver

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Identity assertion", and "Timestamp massaging".
var _ = describe("Identity assertion and timestamp massaging", func() {
	const timeout = 90 * time.Second

	It("acts as a user in the AS's namespace named with ?user_id=", Label("HS-ID-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")

		who, err := f.ASClient.WhoAmI(ctx, csapi.AsUser(room.Ghost))
		Expect(who, err).To(match.HaveStatus(http.StatusOK))
		Expect(who.Field("user_id")).To(Equal(room.Ghost))

		eventID := room.Say(ctx, f.ASClient, "sent as the ghost", csapi.AsUser(room.Ghost))
		got := readEvent(ctx, alice, room.ID, eventID)
		Expect(got).To(match.HaveStatus(http.StatusOK))
		Expect(got.Field("sender")).To(Equal(room.Ghost))
	}, NodeTimeout(timeout))

	It("refuses ?user_id= of a user outside the AS's namespace with 403 M_FORBIDDEN", Label("HS-ID-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		Expect(f.ASClient.WhoAmI(ctx, csapi.AsUser(alice.UserID(ctx)))).To(match.HaveError(http.StatusForbidden, "M_FORBIDDEN"))
	}, NodeTimeout(timeout))

	It("sets origin_server_ts from ?ts= on send, as seen by clients and in the transaction", Label("HS-TS-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		// A remote network's timestamp from a day ago, to the millisecond.
		remoteTS := time.Now().Add(-24*time.Hour).UnixMilli() - 123

		eventID := room.Say(ctx, f.ASClient, "said on the remote network yesterday", csapi.AsUser(room.Ghost), csapi.TS(remoteTS))
		got := readEvent(ctx, alice, room.ID, eventID)
		var seen struct {
			OriginServerTS int64 `json:"origin_server_ts"`
		}
		Expect(got.JSON(&seen)).To(Succeed())
		Expect(seen.OriginServerTS).To(Equal(remoteTS), "origin_server_ts seen by a client")

		_, event := f.ExpectEvent(ctx, eventID)
		Expect(event.OriginServerTS).To(Equal(remoteTS), "origin_server_ts in the transaction")
	}, NodeTimeout(timeout))

	It("sets origin_server_ts from ?ts= on a state event sent by the AS", Label("HS-TS-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		// Bob needs the power to set the topic: give it to him.
		alice.MustSendState(ctx, room.ID, "m.room.power_levels", "", map[string]any{
			"users": map[string]any{alice.UserID(ctx): 100, room.Ghost: 50}, "state_default": 50,
		})
		remoteTS := time.Now().Add(-time.Hour).UnixMilli()
		set := f.ASClient.MustSendState(ctx, room.ID, "m.room.topic", "", map[string]any{"topic": "from the remote side"},
			csapi.AsUser(room.Ghost), csapi.TS(remoteTS))
		got := readEvent(ctx, alice, room.ID, set)
		var ev struct {
			OriginServerTS int64 `json:"origin_server_ts"`
		}
		Expect(got.JSON(&ev)).To(Succeed())
		Expect(ev.OriginServerTS).To(Equal(remoteTS), "origin_server_ts of the state event")
	}, NodeTimeout(timeout))

	It("does not stamp a kick sent by the AS with ?ts=: it refuses ts there or stamps the kick with its own clock", Label("HS-TS-06"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "moderator")
		// The ghost creates the room, so it has the power to kick.
		roomID := f.ASClient.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"}, csapi.AsUser(ghost))
		alice := f.NewUser(ctx, "alice")
		alice.MustJoin(ctx, roomID)
		yesterday := time.Now().Add(-24*time.Hour).UnixMilli() - 321
		before := time.Now()
		kicked, err := f.ASClient.Do(ctx, http.MethodPost, "/_matrix/client/v3/rooms/"+csapi.PathEscape(roomID)+"/kick",
			map[string]any{"user_id": alice.UserID(ctx), "reason": "kicked on the remote network yesterday"}, csapi.AsUser(ghost), csapi.TS(yesterday))
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("answer to a kick with ?ts=", kicked.String())
		if kicked.Status != http.StatusOK {
			suites.Observe("ts on kick", "refused")
			Expect(kicked.Status).To(BeNumerically(">=", 400), "a kick with ?ts= answered %s", kicked)
			return
		}
		suites.Observe("ts on kick", "accepted")
		Expect(f.WaitForMember(ctx, roomID, alice.UserID(ctx), "leave")).To(Succeed())
		var kick matrix.ClientEvent
		for _, d := range f.Deliveries() {
			for _, ev := range d.Txn.Events {
				if ev.Type == "m.room.member" && ev.RoomID == roomID && ev.StateKey != nil && *ev.StateKey == alice.UserID(ctx) && ev.Sender == ghost {
					kick = ev
				}
			}
		}
		suites.Observe("origin_server_ts of the kick", kick.OriginServerTS)
		Expect(kick.OriginServerTS).NotTo(Equal(yesterday), "the kick took origin_server_ts from ?ts=, which the spec defines only for send and state PUTs")
		Expect(kick.OriginServerTS).To(BeNumerically(">=", before.Add(-time.Second).UnixMilli()), "the kick's origin_server_ts is before the kick was sent")
	}, NodeTimeout(timeout))

	It("acts as the asserted user beyond messaging, e.g. setting the ghost's display name", Label("HS-ID-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "named")
		Expect(f.ASClient.SetDisplayName(ctx, ghost, "Bob (IRC)", csapi.AsUser(ghost))).To(match.HaveStatus(http.StatusOK), "setting the asserted user's display name")
		alice := f.NewUser(ctx, "alice")
		profile, err := alice.Profile(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		Expect(profile.Field("displayname")).To(Equal("Bob (IRC)"), "the asserted user's display name as others see it")
	}, NodeTimeout(timeout))

	It("(observed) lets the AS deactivate one of its users, who then cannot log in", Label("HS-ID-04", "informational"), func(ctx SpecContext) {
		// Account management is the exception to identity assertion, so a
		// homeserver may ask for user-interactive authentication instead;
		// if it says the account is gone, logging in must fail.
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "leaving")
		before, err := f.ASClient.LoginAS(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("login as the ghost before", before.String())
		gone, err := f.ASClient.Deactivate(ctx, csapi.AsUser(ghost))
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("deactivate answer", gone.String())
		if gone.Status == http.StatusUnauthorized {
			Expect(gone.Field("session")).NotTo(BeEmpty(), "a 401 here must be a user-interactive authentication challenge")
			return
		}
		Expect(gone).To(match.HaveStatus(http.StatusOK))
		after, err := f.ASClient.LoginAS(ctx, ghost)
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("login as the ghost after", after.String())
		Expect(after.Status).To(BeNumerically(">=", 400), "a deactivated user logged in")
	}, NodeTimeout(timeout))
})
