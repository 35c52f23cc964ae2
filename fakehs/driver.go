package fakehs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
)

// AppService drives calls to one registered application service by hand,
// for specs of the AS side. Every call is recorded (from "homeserver" to
// "appservice") and returns the AS's answer; an error means no answer.
type AppService struct {
	s  *Server
	id string
}

// AppService returns the handle for the registration with this id; "" is
// the first registration.
func (s *Server) AppService(id string) *AppService { return &AppService{s: s, id: id} }

func (a *AppService) lookup() (*appservice, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	for _, as := range a.s.ases {
		if a.id == "" || as.reg.ID == a.id {
			return as, nil
		}
	}
	return nil, fmt.Errorf("fakehs: no registration with id %q", a.id)
}

// Do sends any request; path is already escaped and body is sent as is.
func (a *AppService) Do(ctx context.Context, method, path string, body []byte, opts ...CallOption) (csapi.Response, error) {
	as, err := a.lookup()
	if err != nil {
		return csapi.Response{}, err
	}
	return a.s.callAS(ctx, as, method, path, body, opts...)
}

// PushTransaction sends PUT /_matrix/app/v1/transactions/{txnId} with an
// arbitrary body, malformed ones included.
func (a *AppService) PushTransaction(ctx context.Context, txnID string, body []byte, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodPut, "/_matrix/app/v1/transactions/"+url.PathEscape(txnID), body, opts...)
}

// PushEvents sends a well-formed transaction of client-format events.
func (a *AppService) PushEvents(ctx context.Context, txnID string, events ...matrix.ClientEvent) (csapi.Response, error) {
	if events == nil {
		events = []matrix.ClientEvent{}
	}
	body, err := json.Marshal(matrix.Transaction{Events: events})
	if err != nil {
		return csapi.Response{}, fmt.Errorf("fakehs: %w", err)
	}
	return a.PushTransaction(ctx, txnID, body)
}

// QueryUser sends GET /_matrix/app/v1/users/{userId}.
func (a *AppService) QueryUser(ctx context.Context, userID string, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/users/"+url.PathEscape(userID), nil, opts...)
}

// QueryAlias sends GET /_matrix/app/v1/rooms/{roomAlias}.
func (a *AppService) QueryAlias(ctx context.Context, roomAlias string, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/rooms/"+url.PathEscape(roomAlias), nil, opts...)
}

// Ping sends POST /_matrix/app/v1/ping; an empty transactionID sends {}.
func (a *AppService) Ping(ctx context.Context, transactionID string, opts ...CallOption) (csapi.Response, error) {
	body := []byte("{}")
	if transactionID != "" {
		body, _ = json.Marshal(map[string]string{"transaction_id": transactionID})
	}
	return a.Do(ctx, http.MethodPost, "/_matrix/app/v1/ping", body, opts...)
}

// Protocol sends GET /_matrix/app/v1/thirdparty/protocol/{protocol}.
func (a *AppService) Protocol(ctx context.Context, protocol string, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/thirdparty/protocol/"+url.PathEscape(protocol), nil, opts...)
}

// ThirdPartyUsers sends GET /_matrix/app/v1/thirdparty/user/{protocol} with
// the search fields as query parameters.
func (a *AppService) ThirdPartyUsers(ctx context.Context, protocol string, fields url.Values, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/thirdparty/user/"+url.PathEscape(protocol), nil, withFields(fields, opts)...)
}

// ThirdPartyLocations sends GET /_matrix/app/v1/thirdparty/location/{protocol}.
func (a *AppService) ThirdPartyLocations(ctx context.Context, protocol string, fields url.Values, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/thirdparty/location/"+url.PathEscape(protocol), nil, withFields(fields, opts)...)
}

// ThirdPartyUserByID sends GET /_matrix/app/v1/thirdparty/user?userid=.
func (a *AppService) ThirdPartyUserByID(ctx context.Context, userID string, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/thirdparty/user", nil, append([]CallOption{WithQuery("userid", userID)}, opts...)...)
}

// ThirdPartyLocationByAlias sends GET /_matrix/app/v1/thirdparty/location?alias=.
func (a *AppService) ThirdPartyLocationByAlias(ctx context.Context, roomAlias string, opts ...CallOption) (csapi.Response, error) {
	return a.Do(ctx, http.MethodGet, "/_matrix/app/v1/thirdparty/location", nil, append([]CallOption{WithQuery("alias", roomAlias)}, opts...)...)
}

func withFields(fields url.Values, opts []CallOption) []CallOption {
	var out []CallOption
	for k, vs := range fields {
		for _, v := range vs {
			out = append(out, WithQuery(k, v))
		}
	}
	return append(out, opts...)
}
