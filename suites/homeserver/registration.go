package homeserver

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/scenarios/match"
)

// Client-server API, "Appservice Login" / registration with
// m.login.application_service, and Application Service API, "Registration"
// (exclusive namespaces, M_EXCLUSIVE).
var _ = describe("Registration and namespaces", func() {
	const timeout = 60 * time.Second

	It("lets the AS register a user in its namespace and returns user_id, access_token and device_id", Label("HS-LOGIN-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp, err := f.ASClient.RegisterAS(ctx, f.GhostLocalpart("ghost"), false)
		Expect(resp, err).To(match.HaveJSONKeys("user_id", "access_token", "device_id"))
		Expect(resp.Field("user_id")).To(Equal(f.Ghost("ghost")))
	}, NodeTimeout(timeout))

	It("returns no access_token or device_id when the AS registers with inhibit_login", Label("HS-LOGIN-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp, err := f.ASClient.RegisterAS(ctx, f.GhostLocalpart("quiet"), true)
		Expect(resp, err).To(match.HaveJSONKeys("user_id"))
		Expect(resp).To(match.NotHaveJSONKeys("access_token", "device_id"))
	}, NodeTimeout(timeout))

	It("refuses the AS a user outside its namespaces with M_EXCLUSIVE", Label("HS-NS-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		Expect(f.ASClient.RegisterAS(ctx, f.Outside("stray"), true)).To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))

	It("refuses a normal user a user ID in an exclusive namespace with M_EXCLUSIVE", Label("HS-NS-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		anon := f.client("squatter", "")
		Expect(anon.Register(ctx, f.GhostLocalpart("taken"), "pw-"+f.unique)).To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))

	It("refuses a normal user an alias in an exclusive namespace with M_EXCLUSIVE", Label("HS-NS-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		roomID := alice.MustCreateRoom(ctx, nil)
		Expect(alice.CreateAlias(ctx, f.Alias("squat"), roomID)).To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))

	It("lets the AS create an alias in its namespace and refuses one outside with M_EXCLUSIVE", Label("HS-NS-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		roomID := f.ASClient.MustCreateRoom(ctx, nil)
		Expect(f.ASClient.CreateAlias(ctx, f.Alias("own"), roomID)).To(match.HaveStatus(http.StatusOK))
		Expect(f.ASClient.CreateAlias(ctx, "#"+f.Outside("elsewhere")+":"+f.Server(), roomID)).To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))

	It("lets a normal user register an ID in a non-exclusive namespace", Label("HS-NS-06"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		anon := f.client("carol", "")
		Expect(anon.Register(ctx, f.Shared("carol"), "pw-"+f.unique)).To(match.HaveJSONKeys("user_id"))
	}, NodeTimeout(timeout))

	It("refuses one AS a user in another AS's exclusive namespace with M_EXCLUSIVE", Label("HS-NS-07"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		other := f.AnotherAS()
		Expect(other.ASClient.RegisterAS(ctx, f.GhostLocalpart("claimed"), true)).To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))
})
