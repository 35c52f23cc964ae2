package homeserver

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Client-server API, POST /_matrix/client/v1/appservice/{appserviceId}/ping,
// and Application Service API, POST /_matrix/app/v1/ping (since v1.7).
var _ = describe("Pinging the application service", func() {
	const timeout = 60 * time.Second

	It("calls the AS's ping endpoint with the transaction_id and reports duration_ms", Label("HS-PING-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		resp, err := f.ASClient.PingAS(ctx, f.Reg.ID, "ping-"+f.unique)
		Expect(resp, err).To(match.HaveStatus(http.StatusOK))
		var body struct {
			DurationMS *float64 `json:"duration_ms"`
		}
		Expect(resp.JSON(&body)).To(Succeed())
		Expect(body.DurationMS).NotTo(BeNil(), "duration_ms is required: %s", resp)
		suites.Observe("duration_ms", *body.DurationMS)

		ping := f.Only(fakeas.Ping)
		Expect(ping.Method).To(Equal(http.MethodPost))
		Expect(ping).To(match.BeBearer(f.Reg.HSToken))
		var sent struct {
			TransactionID string `json:"transaction_id"`
		}
		Expect(ping.JSON(&sent)).To(Succeed())
		Expect(sent.TransactionID).To(Equal("ping-"+f.unique), "the transaction_id handed to the AS")
	}, NodeTimeout(timeout))

	It("answers 502 M_BAD_STATUS when the AS answers the ping with an error", Label("HS-PING-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.AS.On(fakeas.Ping).Fail()
		resp, err := f.ASClient.PingAS(ctx, f.Reg.ID, "")
		Expect(resp, err).To(match.HaveError(http.StatusBadGateway, "M_BAD_STATUS"))
		suites.Observe("answer", resp.String())
	}, NodeTimeout(timeout))

	It("answers 502 M_CONNECTION_FAILED when the AS cannot be reached", Label("HS-PING-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		Expect(f.AS.Pause()).To(Succeed())
		DeferCleanup(func() { _ = f.AS.Resume() })
		Expect(f.ASClient.PingAS(ctx, f.Reg.ID, "")).To(match.HaveError(http.StatusBadGateway, "M_CONNECTION_FAILED"))
	}, NodeTimeout(timeout))

	It("answers 400 M_URL_NOT_SET to a ping of an AS whose registration has no url", Label("HS-PING-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		// A registration with url: null, on a homeserver of the spec's own:
		// the shared one's registrations are fixed when it starts.
		urlless := fakeas.Member(99).Registration(f.Server(), "")
		urlless.URL = nil
		f.OwnSUTWith(ctx, urlless)
		f.secrets["url-less as_token"] = urlless.ASToken
		client := f.client("url-less appservice", urlless.ASToken)
		Expect(client.PingAS(ctx, urlless.ID, "")).To(match.HaveError(http.StatusBadRequest, "M_URL_NOT_SET"), "pinging an AS whose registration has no url")
	}, NodeTimeout(2*timeout))

	It("refuses with 403 M_FORBIDDEN a ping of one AS made with another AS's token", Label("HS-PING-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		other := f.AnotherAS()
		Expect(other.ASClient.PingAS(ctx, f.Reg.ID, "")).To(match.HaveError(http.StatusForbidden, "M_FORBIDDEN"))
		Expect(f.Received()).To(BeEmpty(), "the pinged AS must not be called")
	}, NodeTimeout(timeout))

	It("refuses with 403 M_FORBIDDEN a ping of an AS made with a normal user's access token", Label("HS-PING-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		Expect(alice.PingAS(ctx, f.Reg.ID, "")).To(match.HaveError(http.StatusForbidden, "M_FORBIDDEN"), "a user's token is not the AS's as_token")
		Expect(f.Received()).To(BeEmpty(), "the pinged AS must not be called")
	}, NodeTimeout(timeout))
})
