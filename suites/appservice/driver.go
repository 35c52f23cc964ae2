package appservice

import (
	"context"
	"fmt"
	"net/url"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
)

// Driver is fakehs's driver of the AS under test, for specs: each Must…
// call returns the AS's answer, whatever its status, and fails the spec
// when the AS gave none.
type Driver struct{ *fakehs.AppService }

// answered fails the spec when a call to the AS got no answer (err says
// which call).
func answered(resp csapi.Response, err error) csapi.Response {
	GinkgoHelper()
	if err != nil {
		Fail(fmt.Sprintf("Expected: an answer from the AS\nActual: none: %v", err))
	}
	return resp
}

// MustDo sends any request; path is already escaped.
func (d Driver) MustDo(ctx context.Context, method, path string, body []byte, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.Do(ctx, method, path, body, opts...))
}

// MustPushTransaction sends PUT /transactions/{txnId} with body as is.
func (d Driver) MustPushTransaction(ctx context.Context, txnID string, body []byte, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.PushTransaction(ctx, txnID, body, opts...))
}

// MustPushEvents sends a well-formed transaction of events.
func (d Driver) MustPushEvents(ctx context.Context, txnID string, events ...matrix.ClientEvent) csapi.Response {
	GinkgoHelper()
	return answered(d.PushEvents(ctx, txnID, events...))
}

// MustQueryUser sends GET /users/{userId}.
func (d Driver) MustQueryUser(ctx context.Context, userID string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.QueryUser(ctx, userID, opts...))
}

// MustQueryAlias sends GET /rooms/{roomAlias}.
func (d Driver) MustQueryAlias(ctx context.Context, roomAlias string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.QueryAlias(ctx, roomAlias, opts...))
}

// MustPing sends POST /ping; an empty transactionID sends {}.
func (d Driver) MustPing(ctx context.Context, transactionID string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.Ping(ctx, transactionID, opts...))
}

// MustProtocol sends GET /thirdparty/protocol/{protocol}.
func (d Driver) MustProtocol(ctx context.Context, protocol string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.Protocol(ctx, protocol, opts...))
}

// MustThirdPartyUsers sends GET /thirdparty/user/{protocol} with the search fields.
func (d Driver) MustThirdPartyUsers(ctx context.Context, protocol string, fields url.Values, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.ThirdPartyUsers(ctx, protocol, fields, opts...))
}

// MustThirdPartyLocations sends GET /thirdparty/location/{protocol} with the search fields.
func (d Driver) MustThirdPartyLocations(ctx context.Context, protocol string, fields url.Values, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.ThirdPartyLocations(ctx, protocol, fields, opts...))
}

// MustThirdPartyUserByID sends GET /thirdparty/user?userid=.
func (d Driver) MustThirdPartyUserByID(ctx context.Context, userID string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.ThirdPartyUserByID(ctx, userID, opts...))
}

// MustThirdPartyLocationByAlias sends GET /thirdparty/location?alias=.
func (d Driver) MustThirdPartyLocationByAlias(ctx context.Context, roomAlias string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	return answered(d.ThirdPartyLocationByAlias(ctx, roomAlias, opts...))
}
