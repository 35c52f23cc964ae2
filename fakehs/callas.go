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
	"time"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
)

// maxBody bounds what is read from an AS under test.
const maxBody = 8 << 20

// CallOption changes how one call to the AS is authenticated or addressed.
type CallOption func(*callConfig)

type callConfig struct {
	token         string
	header, query bool
	params        url.Values
}

// WithoutToken sends no hs_token at all.
func WithoutToken() CallOption { return func(c *callConfig) { c.token = "" } }

// WithToken sends token instead of the registration's hs_token.
func WithToken(token string) CallOption { return func(c *callConfig) { c.token = token } }

// TokenInQuery sends the token only in the legacy access_token parameter.
func TokenInQuery() CallOption {
	return func(c *callConfig) { c.header, c.query = false, true }
}

// TokenInHeaderAndQuery sends the token both ways, as HS-AUTH-03 suggests
// for servers that still send the parameter.
func TokenInHeaderAndQuery() CallOption {
	return func(c *callConfig) { c.header, c.query = true, true }
}

// WithQuery adds a query parameter.
func WithQuery(key, value string) CallOption {
	return func(c *callConfig) { c.params.Add(key, value) }
}

var errNoURL = errors.New("fakehs: the registration has no url")

// callAS makes and records one request to an AS. path is already escaped.
func (s *Server) callAS(ctx context.Context, as *appservice, method, path string, body []byte, opts ...CallOption) (csapi.Response, error) {
	s.mu.Lock()
	reg := as.reg
	s.mu.Unlock()
	if reg.URL == nil {
		return csapi.Response{}, errNoURL
	}
	cc := callConfig{token: reg.HSToken, header: true, query: s.cfg.LegacyQueryToken, params: url.Values{}}
	for _, o := range opts {
		o(&cc)
	}
	q := maps.Clone(cc.params)
	if cc.query && cc.token != "" {
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
	if cc.header && cc.token != "" {
		req.Header.Set("Authorization", "Bearer "+cc.token)
	}
	ex := recorder.Exchange{
		From: "homeserver", To: "appservice", Method: method, Path: req.URL.EscapedPath(),
		Query: q, Header: req.Header.Clone(), Body: body, Start: time.Now(),
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		ex.End, ex.Outcome = time.Now(), "transport error: "+err.Error()
		s.rec.Add(ex)
		return csapi.Response{}, fmt.Errorf("fakehs: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	ex.End, ex.Status, ex.RespBody, ex.Outcome = time.Now(), resp.StatusCode, data, "answered"
	if err != nil {
		ex.Outcome = "response body unreadable: " + err.Error()
		s.rec.Add(ex)
		return csapi.Response{}, fmt.Errorf("fakehs: %s %s: reading response: %w", method, path, err)
	}
	s.rec.Add(ex)
	return csapi.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}
