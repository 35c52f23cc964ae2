// Package csapi is a small client for the Matrix client-server API, used by
// specs to act as a user or as the application service. Every request is
// recorded so that scenario transcripts show the client side too.
package csapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// Client talks to one homeserver with one identity.
type Client struct {
	BaseURL  string
	Token    string
	Name     string // party name in transcripts, e.g. "alice" or "appservice"
	HTTP     *http.Client
	Recorder *recorder.Recorder
	// Fail ends the current test when a Must call goes wrong; callerSkip
	// counts the frames from Fail's caller to the Must method's caller,
	// so a report points at the spec's line. Nil panics with the message.
	Fail func(message string, callerSkip int)

	userID string
}

var txnCounter atomic.Int64

// Option adjusts one request.
type Option func(*request)

type request struct {
	query url.Values
	token *string
}

// AsUser asserts an identity with ?user_id= (identity assertion).
func AsUser(userID string) Option { return Query("user_id", userID) }

// TS sets ?ts= (timestamp massaging), in milliseconds since the epoch.
func TS(ms int64) Option { return Query("ts", strconv.FormatInt(ms, 10)) }

// Query adds a query parameter.
func Query(key, value string) Option {
	return func(r *request) { r.query.Add(key, value) }
}

// WithToken overrides the client's token for one request; "" sends none.
func WithToken(token string) Option { return func(r *request) { r.token = &token } }

// Response is a completed HTTP exchange.
type Response struct {
	Request string // method and path, e.g. "POST /_matrix/client/v3/join/%21r:hs"
	Status  int
	Header  http.Header
	Body    []byte
}

// JSON decodes the body into v.
func (r Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("response %d is not the JSON expected: %w (body %.200q)", r.Status, err, r.Body)
	}
	return nil
}

// ErrCode is the Matrix errcode of the body, or "".
func (r Response) ErrCode() string {
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, and "ErrCode" is not "errcode".
	var m map[string]json.RawMessage
	var code string
	if json.Unmarshal(r.Body, &m) == nil {
		_ = json.Unmarshal(m["errcode"], &code)
	}
	return code
}

// Field returns a top-level string field of a JSON body, or "".
func (r Response) Field(name string) string {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	s, _ := m[name].(string)
	return s
}

func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

// Do sends a request. body is marshalled as JSON unless nil. Transport
// failures are errors; any HTTP status is a Response.
func (c *Client) Do(ctx context.Context, method, path string, body any, opts ...Option) (Response, error) {
	r := request{query: url.Values{}}
	for _, o := range opts {
		o(&r)
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return Response{}, fmt.Errorf("csapi: encode body: %w", err)
		}
	}
	u := strings.TrimSuffix(c.BaseURL, "/") + path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return Response{}, fmt.Errorf("csapi: %w", err)
	}
	token := c.Token
	if r.token != nil {
		token = *r.token
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ex := recorder.Exchange{
		From: c.Name, To: "homeserver", Method: method, Path: req.URL.EscapedPath(),
		Query: r.query, Header: req.Header.Clone(), Body: payload,
	}
	resp, err := recorder.Send(c.httpClient(), req, &ex)
	c.record(ex)
	if err != nil {
		return Response{}, fmt.Errorf("csapi: %s %s: %w", method, path, err)
	}
	return Response{Request: method + " " + ex.Path, Status: resp.StatusCode, Header: resp.Header, Body: ex.RespBody}, nil
}

func (c *Client) record(ex recorder.Exchange) {
	if c.Recorder != nil {
		c.Recorder.Add(ex)
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// A SUT that hangs must not hang the suite.
var defaultHTTP = &http.Client{Timeout: 60 * time.Second}

// TxnID returns a fresh client transaction ID for send and state requests.
func TxnID() string {
	return fmt.Sprintf("asc%d.%d", time.Now().UnixNano(), txnCounter.Add(1))
}

// PathEscape escapes one path segment (room IDs, aliases, user IDs).
func PathEscape(s string) string { return url.PathEscape(s) }
