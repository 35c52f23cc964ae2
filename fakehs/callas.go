package fakehs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
)

// CallOption changes how one call to the AS is authenticated or addressed.
type CallOption func(*callConfig)

type callConfig struct {
	token  string // the hs_token sent, "" for none
	params url.Values
	from   string // the party recorded as making the call
}

// WithoutToken sends no hs_token at all.
func WithoutToken() CallOption { return func(c *callConfig) { c.token = "" } }

// WithToken sends token instead of the registration's hs_token.
func WithToken(token string) CallOption { return func(c *callConfig) { c.token = token } }

// WithQuery adds a query parameter (access_token too: with WithoutToken, the
// token travels in the query string only).
func WithQuery(key, value string) CallOption {
	return func(c *callConfig) { c.params.Add(key, value) }
}

// From records the call as made by party instead of the homeserver: the
// suite also plays the remote network a bridge serves on its own port.
func From(party string) CallOption { return func(c *callConfig) { c.from = party } }

var errNoURL = errors.New("fakehs: the registration has no url")

// callAS makes and records one request to an AS. path is already escaped.
func (s *Server) callAS(ctx context.Context, as *appservice, method, path string, body []byte, opts ...CallOption) (csapi.Response, error) {
	s.mu.Lock()
	reg := as.reg
	s.mu.Unlock()
	if reg.URL == nil {
		return csapi.Response{}, errNoURL
	}
	cc := callConfig{token: reg.HSToken, params: url.Values{}, from: "homeserver"}
	for _, o := range opts {
		o(&cc)
	}
	q := maps.Clone(cc.params)
	if s.cfg.LegacyQueryToken && cc.token != "" {
		q.Set("access_token", cc.token)
	}
	u := strings.TrimSuffix(*reg.URL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return csapi.Response{}, fmt.Errorf("fakehs: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cc.token != "" {
		req.Header.Set("Authorization", "Bearer "+cc.token)
	}
	return s.exchange(req, body, cc.from)
}

// callASOrLegacy is callAS on a versioned path (/_matrix/app/v1/…) with
// the spec's legacy routes: an answer that does not indicate success makes
// the homeserver ask the unprefixed path too, whose answer counts where
// the AS serves it (2xx); otherwise the first answer stands.
func (s *Server) callASOrLegacy(ctx context.Context, as *appservice, method, path string, body []byte) (csapi.Response, error) {
	resp, err := s.callAS(ctx, as, method, path, body)
	if err != nil || (resp.Status >= 200 && resp.Status <= 299) || ctx.Err() != nil {
		return resp, err
	}
	legacy, lerr := s.callAS(ctx, as, method, strings.TrimPrefix(path, "/_matrix/app/v1"), body)
	if lerr == nil && legacy.Status >= 200 && legacy.Status <= 299 {
		return legacy, nil
	}
	return resp, err
}

// exchange sends req and records it, with at most recorder.MaxBody of the
// answer, as one exchange from party (the homeserver) to the AS.
func (s *Server) exchange(req *http.Request, body []byte, party string) (csapi.Response, error) {
	ex := recorder.Exchange{
		From: party, To: "appservice", Method: req.Method, Path: req.URL.EscapedPath(),
		Query: req.URL.Query(), Header: req.Header.Clone(), Body: body,
	}
	resp, err := recorder.Send(s.cfg.HTTPClient, req, &ex)
	s.rec.Add(ex)
	if err != nil {
		return csapi.Response{}, fmt.Errorf("fakehs: %s %s: %w", req.Method, req.URL.EscapedPath(), err)
	}
	return csapi.Response{Status: resp.StatusCode, Header: resp.Header, Body: ex.RespBody}, nil
}
