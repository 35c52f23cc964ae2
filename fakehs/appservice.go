package fakehs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

// maxBody bounds what is read from an AS under test.
const maxBody = 8 << 20

// appservice is one registration and its delivery queue. The queue is part
// of the homeserver's state and survives Restart; guarded by Server.mu.
type appservice struct {
	reg    matrix.Registration
	sender string
	wake   chan struct{} // nudges the delivery worker

	nextTxn int
	head    *txn                  // the transaction being delivered, frozen
	pending []*matrix.ClientEvent // events not yet in a transaction
	// toDevice are to-device messages for the AS's users' devices not yet
	// in a transaction (MSC4203; only with receive_ephemeral).
	toDevice []toDeviceMessage
	// changed are users whose device list changed, not yet in a
	// transaction (MSC3202; only with org.matrix.msc3202).
	changed []string
	acked   []string
}

// toDeviceMessage is a to-device message as pushed to an AS (MSC4203).
type toDeviceMessage struct {
	Type       string          `json:"type"`
	Sender     string          `json:"sender"`
	Content    json.RawMessage `json:"content"`
	ToUserID   string          `json:"to_user_id"`
	ToDeviceID string          `json:"to_device_id"`
}

// txnBody is a transaction's body: the spec's fields plus the to-device
// messages under MSC4203's stable name, left out when there are none.
type txnBody struct {
	matrix.Transaction
	ToDevice []toDeviceMessage `json:"to_device,omitempty"`
	// MSC3202, stable names, for registrations with org.matrix.msc3202.
	OneTimeKeysCount map[string]map[string]map[string]int `json:"device_one_time_keys_count,omitempty"`
	FallbackKeyTypes map[string]map[string][]string       `json:"device_unused_fallback_key_types,omitempty"`
	DeviceLists      *deviceLists                         `json:"device_lists,omitempty"`
}

type deviceLists struct {
	Changed []string `json:"changed"`
	Left    []string `json:"left"`
}

// txn is fixed when first sent: retries reuse its ID and exact bytes.
type txn struct {
	id     string
	body   []byte
	events int
}

func (as *appservice) wakeUp() {
	select {
	case as.wake <- struct{}{}:
	default:
	}
}

// push delivers the AS's queue one transaction at a time until ctx ends.
func (s *Server) push(ctx context.Context, as *appservice) {
	failures := 0
	for {
		t := s.nextTxn(as)
		if t == nil {
			select {
			case <-as.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		resp, err := s.callAS(ctx, as, http.MethodPut, "/_matrix/app/v1/transactions/"+url.PathEscape(t.id), t.body)
		if ctx.Err() != nil {
			return // restart or close: the transaction stays queued as it is
		}
		if err == nil && resp.Status == http.StatusOK {
			s.mu.Lock()
			if as.head == t {
				as.head = nil
				as.acked = append(as.acked, t.id)
			}
			s.notifyLocked()
			s.mu.Unlock()
			failures = 0
			continue
		}
		if s.cfg.Clock.Sleep(ctx, s.backoff(failures)) != nil {
			return
		}
		failures++
	}
}

// backoff is the delay after the n+1-th consecutive failure: exponential
// from the configured base, capped.
func (s *Server) backoff(n int) time.Duration {
	d := s.cfg.Backoff
	for range n {
		if d >= s.cfg.MaxBackoff/2 {
			return s.cfg.MaxBackoff
		}
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// nextTxn returns the transaction to (re)send, building one from pending
// events when none is in flight.
func (s *Server) nextTxn(as *appservice) *txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused || as.reg.URL == nil {
		return nil
	}
	if as.head != nil || len(as.pending)+len(as.toDevice)+len(as.changed) == 0 {
		return as.head
	}
	n := min(len(as.pending), s.cfg.BatchSize)
	events := make([]matrix.ClientEvent, n)
	for i, ev := range as.pending[:n] {
		events[i] = *ev
	}
	// A retry resends the frozen body, to-device messages included.
	var lists *deviceLists
	if len(as.changed) > 0 {
		lists = &deviceLists{Changed: as.changed, Left: []string{}}
	}
	counts, fallbacks := s.keyStateLocked(as, events, as.toDevice)
	body, err := json.Marshal(txnBody{Transaction: matrix.Transaction{Events: events}, ToDevice: as.toDevice, OneTimeKeysCount: counts, FallbackKeyTypes: fallbacks, DeviceLists: lists})
	as.toDevice, as.changed = nil, nil
	if err != nil {
		panic("fakehs: encoding a transaction: " + err.Error())
	}
	as.nextTxn++
	as.head = &txn{id: strconv.Itoa(as.nextTxn), body: body, events: n}
	as.pending = append([]*matrix.ClientEvent(nil), as.pending[n:]...)
	return as.head
}

// PauseDelivery holds automatic delivery after the transaction in flight;
// events keep queueing.
func (s *Server) PauseDelivery() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = true
}

// ResumeDelivery undoes PauseDelivery.
func (s *Server) ResumeDelivery() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = false
	for _, as := range s.ases {
		as.wakeUp()
	}
}

// WaitIdle blocks until every queued event has been acknowledged by its AS,
// or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		idle := true
		for _, as := range s.ases {
			// A service whose url was removed cannot drain its queue.
			if as.reg.URL != nil && (as.head != nil || len(as.pending)+len(as.toDevice)+len(as.changed) > 0) {
				idle = false
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("fakehs: delivery not idle: %w", ctx.Err())
		}
	}
}

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

// query asks an AS about a user or alias, trying again while it does not
// answer (spec: Querying). answered is false when no attempt got a response.
func (s *Server) query(ctx context.Context, as *appservice, path string) (status int, answered bool) {
	for range s.cfg.QueryAttempts {
		resp, err := s.callAS(ctx, as, http.MethodGet, path, nil)
		if err == nil {
			return resp.Status, true
		}
		if ctx.Err() != nil {
			break
		}
	}
	return 0, false
}

// ensureUser makes sure a user exists before a request needs it; for an
// unknown local user in an AS's namespace it asks that AS and blocks the
// client's request meanwhile.
func (s *Server) ensureUser(ctx context.Context, id string) reply {
	s.mu.Lock()
	known := s.users[id] != nil || !s.local(id)
	s.mu.Unlock()
	if known {
		return reply{}
	}
	return s.askOwners(ctx, id, "/_matrix/app/v1/users/",
		func(ns matrix.Namespaces) []matrix.Namespace { return ns.Users },
		func() bool { return s.UserExists(id) }, "unknown user "+id)
}

// ensureAlias resolves an alias, asking the AS whose namespace holds it
// when it is unknown.
func (s *Server) ensureAlias(ctx context.Context, roomAlias string) (string, reply) {
	if roomID, found := s.ResolveAlias(roomAlias); found {
		return roomID, reply{}
	}
	notFound := "room alias " + roomAlias + " not found"
	if !s.local(roomAlias) {
		return "", fail(404, "M_NOT_FOUND", notFound)
	}
	rp := s.askOwners(ctx, roomAlias, "/_matrix/app/v1/rooms/",
		func(ns matrix.Namespaces) []matrix.Namespace { return ns.Aliases },
		func() bool { _, found := s.ResolveAlias(roomAlias); return found }, notFound)
	if rp.failed() {
		return "", rp
	}
	roomID, _ := s.ResolveAlias(roomAlias)
	return roomID, reply{}
}

// askOwners is the blocking query: it asks each AS whose namespace holds
// id, in turn, until one answers 200 and exists reports the entity
// created. The client gets 408 if an AS never answered, else 404.
func (s *Server) askOwners(ctx context.Context, id, pathPrefix string, namespaces func(matrix.Namespaces) []matrix.Namespace, exists func() bool, notFound string) reply {
	var owners []*appservice
	s.mu.Lock()
	for _, as := range s.ases {
		if as.reg.URL != nil && matchNS(namespaces(as.reg.Namespaces), id, false) {
			owners = append(owners, as)
		}
	}
	s.mu.Unlock()
	unanswered := false
	for _, as := range owners {
		status, answered := s.query(ctx, as, pathPrefix+url.PathEscape(id))
		unanswered = unanswered || !answered
		if status == http.StatusOK && exists() {
			return reply{}
		}
	}
	if unanswered {
		return fail(408, "M_UNKNOWN", "the application service did not answer the query for "+id)
	}
	return fail(404, "M_NOT_FOUND", notFound)
}

// pingAS is POST /_matrix/client/v1/appservice/{appserviceId}/ping.
func (s *Server) pingAS(c *call) reply {
	token := tokenOf(c.r)
	if token == "" {
		return fail(401, "M_MISSING_TOKEN", "missing access token")
	}
	s.mu.Lock()
	as, isUser := s.byToken[token], s.sessions[token] != nil
	same := as != nil && as.reg.ID == c.r.PathValue("appserviceId")
	s.mu.Unlock()
	switch {
	case as == nil && !isUser:
		return fail(401, "M_UNKNOWN_TOKEN", "unrecognised access token")
	case !same:
		return fail(403, "M_FORBIDDEN", "provided access token is not the appservice's as_token")
	}
	var b struct {
		TransactionID *string `json:"transaction_id"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	payload := []byte("{}")
	if b.TransactionID != nil {
		payload, _ = json.Marshal(map[string]string{"transaction_id": *b.TransactionID})
	}
	start := time.Now()
	resp, err := s.callAS(c.ctx, as, http.MethodPost, "/_matrix/app/v1/ping", payload)
	var ne net.Error
	switch {
	case errors.Is(err, errNoURL):
		return fail(400, "M_URL_NOT_SET", "application service doesn't have a URL configured")
	case err != nil && errors.As(err, &ne) && ne.Timeout():
		return fail(504, "M_CONNECTION_TIMEOUT", "connection to application service timed out")
	case err != nil:
		return reply{status: 502, body: matrix.Error{ErrCode: "M_CONNECTION_FAILED", Error: err.Error()}}
	case resp.Status != http.StatusOK:
		return reply{status: 502, body: map[string]any{
			"errcode": "M_BAD_STATUS", "error": fmt.Sprintf("ping returned status %d", resp.Status),
			"status": resp.Status, "body": string(resp.Body),
		}}
	}
	return answer(map[string]int64{"duration_ms": time.Since(start).Milliseconds()})
}

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

// Delivered lists the IDs of the automatic transactions the AS
// acknowledged, in order.
func (a *AppService) Delivered() []string {
	as, err := a.lookup()
	if err != nil {
		return nil
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return append([]string(nil), as.acked...)
}

// Queued is the number of events waiting for the AS's acknowledgement.
func (a *AppService) Queued() int {
	as, err := a.lookup()
	if err != nil {
		return 0
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	n := len(as.pending)
	if as.head != nil {
		n += as.head.events
	}
	return n
}

// sendToDevice queues a to-device message for each named device of a local
// user in the namespace of an AS with receive_ephemeral ("*": all its
// devices); fakehs has no /sync, so other recipients' messages are dropped.
func (s *Server) sendToDevice(c *call) reply {
	var in struct {
		Messages map[string]map[string]json.RawMessage `json:"messages"`
	}
	if rp := c.decode(&in); rp.failed() {
		return rp
	}
	typ := c.r.PathValue("type")
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.Join([]string{c.who.token, c.who.userID, "sendToDevice", c.r.PathValue("txnId")}, "\x00")
	if _, seen := s.sent[key]; seen {
		return answer(map[string]any{})
	}
	s.sent[key] = ""
	for userID, devices := range in.Messages {
		u := s.users[userID]
		if u == nil {
			continue
		}
		for device, content := range devices {
			targets := []string{device}
			if device == "*" {
				targets = slices.Sorted(maps.Keys(u.devices))
			} else if !u.devices[device] {
				continue
			}
			for _, as := range s.ases {
				if !as.reg.ReceiveEphemeral || !s.ownsUser(as, userID) {
					continue
				}
				for _, d := range targets {
					as.toDevice = append(as.toDevice, toDeviceMessage{Type: typ, Sender: c.who.userID, Content: content, ToUserID: userID, ToDeviceID: d})
				}
				as.wakeUp()
			}
		}
	}
	return answer(map[string]any{})
}

// keyStateLocked are the one-time key counts and unused fallback key types
// (MSC3202) of the AS's users a transaction concerns: its sender, the
// senders and targets of its events and the recipients of its to-device
// messages; nil unless the registration opted in.
func (s *Server) keyStateLocked(as *appservice, events []matrix.ClientEvent, toDevice []toDeviceMessage) (map[string]map[string]map[string]int, map[string]map[string][]string) {
	if !as.reg.MSC3202 {
		return nil, nil
	}
	users := []string{as.sender}
	for _, ev := range events {
		users = append(users, ev.Sender)
		if ev.StateKey != nil {
			users = append(users, *ev.StateKey)
		}
	}
	for _, m := range toDevice {
		users = append(users, m.ToUserID)
	}
	counts := map[string]map[string]map[string]int{}
	fallbacks := map[string]map[string][]string{}
	for _, id := range users {
		u := s.users[id]
		if u == nil || !s.ownsUser(as, id) {
			continue
		}
		for device, c := range u.oneTimeKeys {
			if counts[id] == nil {
				counts[id] = map[string]map[string]int{}
			}
			counts[id][device] = maps.Clone(c)
		}
		for device, types := range u.fallbackKeys {
			if fallbacks[id] == nil {
				fallbacks[id] = map[string][]string{}
			}
			fallbacks[id][device] = slices.Clone(types)
		}
	}
	if len(counts) == 0 {
		counts = nil
	}
	if len(fallbacks) == 0 {
		fallbacks = nil
	}
	return counts, fallbacks
}

// deviceListChangedLocked queues userID's device list change for every AS
// that opted in to MSC3202 and tracks the user: its own, or one sharing a
// room with one of its users.
func (s *Server) deviceListChangedLocked(userID string) {
	for _, as := range s.ases {
		if !as.reg.MSC3202 || slices.Contains(as.changed, userID) || !s.tracksLocked(as, userID) {
			continue
		}
		as.changed = append(as.changed, userID)
		as.wakeUp()
	}
}

func (s *Server) tracksLocked(as *appservice, userID string) bool {
	if s.ownsUser(as, userID) {
		return true
	}
	for _, rm := range s.rooms {
		members := rm.joined()
		if !slices.Contains(members, userID) {
			continue
		}
		for _, id := range members {
			if s.ownsUser(as, id) {
				return true
			}
		}
	}
	return false
}
