package homeserver

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/csapi"
	"github.com/asconform/asconform/match"
)

// Application Service API, "Identity assertion", and "Timestamp massaging".
var _ = Describe("Identity assertion and timestamp massaging", Label("homeserver"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 90 * time.Second

	It("acts as a user in the AS's namespace named with ?user_id=", Label("HS-ID-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")

		who, err := f.ASClient.WhoAmI(ctx, csapi.AsUser(room.Ghost))
		Expect(err).NotTo(HaveOccurred())
		Expect(who).To(match.HaveStatus(http.StatusOK))
		Expect(who.Field("user_id")).To(Equal(room.Ghost))

		eventID := room.Say(ctx, f.ASClient, "sent as the ghost", csapi.AsUser(room.Ghost))
		got, err := alice.GetEvent(ctx, room.ID, eventID)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(match.HaveStatus(http.StatusOK))
		Expect(got.Field("sender")).To(Equal(room.Ghost))
	}, SpecTimeout(timeout))

	It("refuses ?user_id= of a user outside the AS's namespace with 403 M_FORBIDDEN", Label("HS-ID-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		resp, err := f.ASClient.WhoAmI(ctx, csapi.AsUser(alice.UserID(ctx)))
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveError(http.StatusForbidden, "M_FORBIDDEN"))
	}, SpecTimeout(timeout))

	It("sets origin_server_ts from ?ts= on send, as seen by clients and in the transaction", Label("HS-TS-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		// A remote network's timestamp from a day ago, to the millisecond.
		remoteTS := time.Now().Add(-24*time.Hour).UnixMilli() - 123

		eventID := room.Say(ctx, f.ASClient, "said on the remote network yesterday", csapi.AsUser(room.Ghost), csapi.TS(remoteTS))
		got, err := alice.GetEvent(ctx, room.ID, eventID)
		Expect(err).NotTo(HaveOccurred())
		var seen struct {
			OriginServerTS int64 `json:"origin_server_ts"`
		}
		Expect(got.JSON(&seen)).To(Succeed())
		Expect(seen.OriginServerTS).To(Equal(remoteTS), "origin_server_ts seen by a client")

		_, event, err := f.WaitForEvent(ctx, eventID)
		Expect(err).NotTo(HaveOccurred())
		Expect(event.OriginServerTS).To(Equal(remoteTS), "origin_server_ts in the transaction")
	}, SpecTimeout(timeout))
})
