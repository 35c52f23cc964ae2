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

// answered fails the spec when a call to the AS got no answer.
func answered(what string, resp csapi.Response, err error) csapi.Response {
	GinkgoHelper()
	if err != nil {
		Fail(fmt.Sprintf("%s\nExpected: an answer from the AS\nActual: none: %v", what, err))
	}
	return resp
}

// MustDo sends any request; path is already escaped.
func (d Driver) MustDo(ctx context.Context, method, path string, body []byte, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.Do(ctx, method, path, body, opts...)
	return answered(method+" "+path, resp, err)
}

// MustPushTransaction sends PUT /transactions/{txnId} with body as is.
func (d Driver) MustPushTransaction(ctx context.Context, txnID string, body []byte, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.PushTransaction(ctx, txnID, body, opts...)
	return answered("PUT /transactions/"+txnID, resp, err)
}

// MustPushEvents sends a well-formed transaction of events.
func (d Driver) MustPushEvents(ctx context.Context, txnID string, events ...matrix.ClientEvent) csapi.Response {
	GinkgoHelper()
	resp, err := d.PushEvents(ctx, txnID, events...)
	return answered("PUT /transactions/"+txnID, resp, err)
}

// MustQueryUser sends GET /users/{userId}.
func (d Driver) MustQueryUser(ctx context.Context, userID string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.QueryUser(ctx, userID, opts...)
	return answered("GET /users/"+userID, resp, err)
}

// MustQueryAlias sends GET /rooms/{roomAlias}.
func (d Driver) MustQueryAlias(ctx context.Context, roomAlias string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.QueryAlias(ctx, roomAlias, opts...)
	return answered("GET /rooms/"+roomAlias, resp, err)
}

// MustPing sends POST /ping; an empty transactionID sends {}.
func (d Driver) MustPing(ctx context.Context, transactionID string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.Ping(ctx, transactionID, opts...)
	return answered("POST /ping", resp, err)
}

// MustProtocol sends GET /thirdparty/protocol/{protocol}.
func (d Driver) MustProtocol(ctx context.Context, protocol string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.Protocol(ctx, protocol, opts...)
	return answered("GET /thirdparty/protocol/"+protocol, resp, err)
}

// MustThirdPartyUsers sends GET /thirdparty/user/{protocol} with the search fields.
func (d Driver) MustThirdPartyUsers(ctx context.Context, protocol string, fields url.Values, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.ThirdPartyUsers(ctx, protocol, fields, opts...)
	return answered("GET /thirdparty/user/"+protocol, resp, err)
}

// MustThirdPartyLocations sends GET /thirdparty/location/{protocol} with the search fields.
func (d Driver) MustThirdPartyLocations(ctx context.Context, protocol string, fields url.Values, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.ThirdPartyLocations(ctx, protocol, fields, opts...)
	return answered("GET /thirdparty/location/"+protocol, resp, err)
}

// MustThirdPartyUserByID sends GET /thirdparty/user?userid=.
func (d Driver) MustThirdPartyUserByID(ctx context.Context, userID string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.ThirdPartyUserByID(ctx, userID, opts...)
	return answered("GET /thirdparty/user?userid="+userID, resp, err)
}

// MustThirdPartyLocationByAlias sends GET /thirdparty/location?alias=.
func (d Driver) MustThirdPartyLocationByAlias(ctx context.Context, roomAlias string, opts ...fakehs.CallOption) csapi.Response {
	GinkgoHelper()
	resp, err := d.ThirdPartyLocationByAlias(ctx, roomAlias, opts...)
	return answered("GET /thirdparty/location?alias="+roomAlias, resp, err)
}
