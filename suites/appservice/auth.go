package appservice

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/csapi"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/match"
	"github.com/asconform/asconform/suites"
)

// endpoint is one AS endpoint, called with the given options.
type endpoint struct {
	name string
	call func(ctx context.Context, f *Fixture, opts ...fakehs.CallOption) (csapi.Response, error)
}

// endpoints are the AS's endpoints of Application Service API v1.19.
var endpoints = []endpoint{
	{"PUT /transactions", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) (csapi.Response, error) {
		return f.Push.PushTransaction(ctx, f.TxnID("auth"+time.Now().Format("150405.000000")), []byte(`{"events":[]}`), o...)
	}},
	{"GET /users", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) (csapi.Response, error) {
		return f.Push.QueryUser(ctx, f.Ghost("auth"), o...)
	}},
	{"GET /rooms", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) (csapi.Response, error) {
		return f.Push.QueryAlias(ctx, f.Alias("auth"), o...)
	}},
	{"POST /ping", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) (csapi.Response, error) {
		return f.Push.Ping(ctx, "", o...)
	}},
	{"GET /thirdparty/protocol", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) (csapi.Response, error) {
		return f.Push.Protocol(ctx, "sample", o...)
	}},
	{"GET /thirdparty/user", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) (csapi.Response, error) {
		return f.Push.ThirdPartyUsers(ctx, "sample", url.Values{}, o...)
	}},
}

// implemented lists the endpoints the AS serves: the third-party ones are
// optional, so one that answers 404 even with the right token is left out
// (and noted), rather than counted as an authorisation failure.
func (f *Fixture) implemented(ctx context.Context) []endpoint {
	GinkgoHelper()
	var out []endpoint
	for _, ep := range endpoints {
		if strings.HasPrefix(ep.name, "GET /thirdparty") {
			resp, err := ep.call(ctx, f)
			Expect(err).NotTo(HaveOccurred())
			if resp.Status == http.StatusNotFound && resp.ErrCode() != "M_NOT_FOUND" {
				suites.Observe(ep.name+" not implemented", resp.String())
				continue
			}
		}
		out = append(out, ep)
	}
	return out
}

// Application Service API, "Authorisation" (renamed from "Authorization"
// in v1.19): every endpoint checks the hs_token.
var _ = Describe("AS authorisation of homeserver requests", Label("appservice"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 60 * time.Second

	It("answers 401 on every endpoint when the request carries no token", Label("AS-AUTH-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		for _, ep := range f.implemented(ctx) {
			resp, err := ep.call(ctx, f, fakehs.WithoutToken())
			Expect(err).NotTo(HaveOccurred())
			suites.Observe(ep.name+" without token", resp.String())
			Expect(resp).To(match.HaveStatus(http.StatusUnauthorized), ep.name)
		}
	}, NodeTimeout(timeout))

	It("answers 403 M_FORBIDDEN on every endpoint when the token is not its hs_token", Label("AS-AUTH-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		for _, ep := range f.implemented(ctx) {
			resp, err := ep.call(ctx, f, fakehs.WithToken("hs_not_the_right_one"))
			Expect(err).NotTo(HaveOccurred())
			suites.Observe(ep.name+" with a wrong token", resp.String())
			Expect(resp).To(match.HaveError(http.StatusForbidden, "M_FORBIDDEN"), ep.name)
		}
	}, NodeTimeout(timeout))

	It("rejects a request whose header and access_token parameter disagree", Label("AS-AUTH-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		cases := map[string][]fakehs.CallOption{
			"right header, wrong parameter": {fakehs.WithQuery("access_token", "hs_not_the_right_one")},
			"wrong header, right parameter": {fakehs.WithToken("hs_not_the_right_one"), fakehs.WithQuery("access_token", f.Env.Reg.HSToken)},
		}
		for name, opts := range cases {
			resp, err := f.Push.PushTransaction(ctx, f.TxnID("disagree"), []byte(`{"events":[]}`), opts...)
			Expect(err).NotTo(HaveOccurred())
			suites.Observe(name, resp.String())
			Expect(resp.Status).To(BeNumerically(">=", 400), "%s: the two tokens disagree, so the request must be rejected", name)
		}
	}, NodeTimeout(timeout))
})
