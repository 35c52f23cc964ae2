package appservice

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// endpoint is one AS endpoint, called with the given options.
type endpoint struct {
	name string
	call func(ctx context.Context, f *Fixture, opts ...fakehs.CallOption) csapi.Response
}

// endpoints are the AS's endpoints of Application Service API v1.19.
var endpoints = []endpoint{
	{"PUT /transactions", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustPushTransaction(ctx, f.TxnID("auth"+time.Now().Format("150405.000000")), []byte(`{"events":[]}`), o...)
	}},
	{"GET /users", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustQueryUser(ctx, f.Ghost("auth"), o...)
	}},
	{"GET /rooms", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustQueryAlias(ctx, f.Alias("auth"), o...)
	}},
	{"POST /ping", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustPing(ctx, "", o...)
	}},
	{"GET /thirdparty/protocol", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustProtocol(ctx, f.protocol(), o...)
	}},
	{"GET /thirdparty/user", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustThirdPartyUsers(ctx, f.protocol(), url.Values{}, o...)
	}},
	{"GET /thirdparty/location", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustThirdPartyLocations(ctx, f.protocol(), url.Values{}, o...)
	}},
	{"GET /thirdparty/user?userid=", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustThirdPartyUserByID(ctx, f.Ghost("auth"), o...)
	}},
	{"GET /thirdparty/location?alias=", func(ctx context.Context, f *Fixture, o ...fakehs.CallOption) csapi.Response {
		return f.Push.MustThirdPartyLocationByAlias(ctx, f.Alias("auth"), o...)
	}},
}

// protocol is the third-party protocol the AS bridges: the one it declares
// (thirdparty-protocol=NAME), else the first its registration lists.
func (f *Fixture) protocol() string {
	if c, _, err := Declared(); err == nil && c[harness.ThirdPartyProtocol] != "" {
		return c[harness.ThirdPartyProtocol]
	}
	if len(f.Env.Reg.Protocols) > 0 {
		return f.Env.Reg.Protocols[0]
	}
	return ""
}

// implemented lists the endpoints the AS serves. The third-party ones are
// optional: without a protocol to ask about they are left out, and so is
// one that answers 404 even with the right token (both noted), rather than
// counted as an authorisation failure.
func (f *Fixture) implemented(ctx context.Context) []endpoint {
	GinkgoHelper()
	var out []endpoint
	for _, ep := range endpoints {
		if strings.HasPrefix(ep.name, "GET /thirdparty") && f.protocol() == "" {
			suites.Observe(ep.name+" left out", "the AS declares no "+harness.ThirdPartyProtocol+" and its registration lists no protocol")
			continue
		}
		if strings.HasPrefix(ep.name, "GET /thirdparty") {
			resp := ep.call(ctx, f)
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
var _ = describe("AS authorisation of homeserver requests", func() {
	const timeout = 60 * time.Second

	It("answers 401 on every endpoint when the request carries no token", Label("AS-AUTH-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.everyEndpoint(ctx, "without token", fakehs.WithoutToken(), func() types.GomegaMatcher { return match.HaveStatus(http.StatusUnauthorized) })
	}, NodeTimeout(timeout))

	It("answers 403 M_FORBIDDEN on every endpoint when the token is not its hs_token", Label("AS-AUTH-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.everyEndpoint(ctx, "with a wrong token", fakehs.WithToken("hs_not_the_right_one"), func() types.GomegaMatcher { return match.HaveError(http.StatusForbidden, "M_FORBIDDEN") })
	}, NodeTimeout(timeout))

	It("rejects a request whose header and access_token parameter disagree", Label("AS-AUTH-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		cases := map[string][]fakehs.CallOption{
			"right header, wrong parameter": {fakehs.WithQuery("access_token", "hs_not_the_right_one")},
			"wrong header, right parameter": {fakehs.WithToken("hs_not_the_right_one"), fakehs.WithQuery("access_token", f.Env.Reg.HSToken)},
		}
		var failures []string
		for _, name := range slices.Sorted(maps.Keys(cases)) {
			resp := f.Push.MustPushTransaction(ctx, f.TxnID("disagree"), []byte(`{"events":[]}`), cases[name]...)
			suites.Observe(name, resp.String())
			if resp.Status < 400 {
				failures = append(failures, fmt.Sprintf("%s: answered %s", name, resp))
			}
		}
		if len(failures) > 0 {
			Fail("the two tokens disagree, so the request must be rejected:\n" + strings.Join(failures, "\n"))
		}
	}, NodeTimeout(timeout))
})

// everyEndpoint calls every implemented endpoint with opt and checks each
// answer with a fresh want(): every endpoint's outcome is observed, and one
// failure lists each endpoint that failed.
func (f *Fixture) everyEndpoint(ctx context.Context, how string, opt fakehs.CallOption, want func() types.GomegaMatcher) {
	GinkgoHelper()
	eps := f.implemented(ctx)
	var failures []string
	for _, ep := range eps {
		resp := ep.call(ctx, f, opt)
		suites.Observe(ep.name+" "+how, resp.String())
		if failure := failureOf(want(), resp); failure != "" {
			failures = append(failures, ep.name+": "+failure)
		}
	}
	if len(failures) > 0 {
		Fail(fmt.Sprintf("%d of %d endpoints failed %s:\n%s", len(failures), len(eps), how, strings.Join(failures, "\n")))
	}
}

// failureOf is m's failure message for actual, "" when actual matches:
// for specs that judge many answers and fail once, listing each failure.
func failureOf(m types.GomegaMatcher, actual any) string {
	if ok, err := m.Match(actual); ok && err == nil {
		return ""
	}
	return m.FailureMessage(actual)
}
