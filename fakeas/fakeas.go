// Package fakeas is a scriptable application service. By default it behaves
// as a compliant AS (spec v1.19, Application Service API); specs script it
// per route to fail, delay, drop ACKs, block, or act through the
// client-server API before answering. It records every request it gets.
package fakeas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

// Route names a group of AS endpoints that can be scripted.
type Route string

const (
	Transactions Route = "transactions" // PUT /_matrix/app/v1/transactions/{txnId}
	Users        Route = "users"        // GET /_matrix/app/v1/users/{userId}
	Rooms        Route = "rooms"        // GET /_matrix/app/v1/rooms/{roomAlias}
	Ping         Route = "ping"         // POST /_matrix/app/v1/ping
	ThirdParty   Route = "thirdparty"   // GET /_matrix/app/v1/thirdparty/...
	// Unstable: one-time key claims (MSC3983) and device key queries
	// (MSC3984) the homeserver forwards to the AS. Unscripted, the fake
	// answers {}: it holds no keys.
	KeysClaim Route = "keys/claim" // POST /_matrix/app/unstable/org.matrix.msc3983/keys/claim
	KeysQuery Route = "keys/query" // POST /_matrix/app/unstable/org.matrix.msc3984/keys/query
	Unknown   Route = "unknown"    // anything else
	// Legacy is the older paths a homeserver falls back to ("Legacy
	// routes"): /transactions/{txnId}, /users/{userId}, /rooms/{roomAlias}
	// and /_matrix/app/unstable/thirdparty/...; Param is the path after
	// the leading "/". A current AS serves none of them: unscripted, the
	// fake answers them as unknown (404 M_UNRECOGNIZED).
	Legacy Route = "legacy"
)

// Request is what a hook sees of an incoming request.
type Request struct {
	Route  Route
	Method string
	Path   string
	Param  string // txnId, userId or roomAlias, already unescaped
	Query  url.Values
	Body   []byte
}

// Response is what the fake answers. A nil Body becomes {}.
type Response struct {
	Status int
	Body   any
}

// RawBody is a Response body sent byte for byte instead of as JSON, for
// answers that are not what the spec defines: no body (nil Data), a body
// that is not JSON. ContentType "" sends no Content-Type header.
type RawBody struct {
	Data        []byte
	ContentType string
}

// Server is one fake application service.
type Server struct {
	reg      matrix.Registration
	rec      *recorder.Recorder
	listener net.Listener
	port     int
	http     *http.Server

	mu      sync.Mutex
	ingress func(*http.Request)
	mounted map[string]http.Handler // path prefix -> handler, beside the AS API
	scripts map[Route][]*Step
	gates   []*Gate

	expect     *expectation // set by Expect: the fake is strict
	unexpected []string
}

// New starts a fake AS listening on listenAddr (e.g. "172.17.0.1:0").
// The registration's hs_token authenticates the homeserver; its URL is not
// consulted (the caller builds it from Addr).
func New(listenAddr string, reg matrix.Registration) (*Server, error) {
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("fakeas: listen on %s: %w", listenAddr, err)
	}
	return Serve(ln, reg), nil
}

// Serve starts a fake AS on a listener made elsewhere (a socket handed
// down by a parent process, whose port a homeserver was configured with).
func Serve(ln net.Listener, reg matrix.Registration) *Server {
	s := &Server{
		reg:      reg,
		rec:      recorder.New(),
		listener: ln,
		scripts:  map[Route][]*Step{},
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.serveOn(ln)
	return s
}

// Port is the TCP port the fake listens on.
func (s *Server) Port() int { return s.port }

func (s *Server) serveOn(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.listener, s.http = ln, srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Pause takes the fake off the network: the port refuses connections and
// open connections are closed, as when an AS process is down.
func (s *Server) Pause() error {
	s.mu.Lock()
	srv := s.http
	s.mu.Unlock()
	return srv.Close()
}

// Resume listens again on the same address after Pause.
func (s *Server) Resume() error {
	s.mu.Lock()
	addr := s.listener.Addr().String()
	s.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fakeas: listen again on %s: %w", addr, err)
	}
	s.serveOn(ln)
	return nil
}

// Addr is the address the fake listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listener.Addr().String()
}

// Recorder holds every request the fake received.
func (s *Server) Recorder() *recorder.Recorder { return s.rec }

// Registration is the registration the fake authenticates against.
func (s *Server) Registration() matrix.Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reg
}

// SetRegistration replaces the registration, for callers that need the
// fake's port to write it.
func (s *Server) SetRegistration(reg matrix.Registration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reg = reg
}

// Close stops the fake and releases blocked handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	for _, steps := range s.scripts {
		for _, st := range steps {
			st.gate.release()
		}
	}
	for _, g := range s.gates {
		g.release()
	}
	srv := s.http
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return srv.Close()
	}
	return nil
}

// AckedTransactions lists the transaction IDs answered with 200, first
// acknowledgement only, in order.
// Read from the recording when asked, so that answering costs nothing more.
func (s *Server) AckedTransactions() []string {
	var acked []string
	seen := map[string]bool{}
	for _, e := range s.rec.All() {
		rt, param, methodOK := route(e.Method, e.Path)
		if rt != Transactions || !methodOK || e.Status != http.StatusOK {
			continue
		}
		if p, err := url.PathUnescape(param); err == nil {
			param = p
		}
		if !seen[param] {
			seen[param] = true
			acked = append(acked, param)
		}
	}
	return acked
}

// Paths of the unstable endpoints (MSC3983, MSC3984).
const (
	KeysClaimPath = "/_matrix/app/unstable/org.matrix.msc3983/keys/claim"
	KeysQueryPath = "/_matrix/app/unstable/org.matrix.msc3984/keys/query"
)

func route(method, path string) (Route, string, bool) {
	switch path {
	case KeysClaimPath:
		return KeysClaim, "", method == http.MethodPost
	case KeysQueryPath:
		return KeysQuery, "", method == http.MethodPost
	}
	const prefix = "/_matrix/app/v1/"
	if !strings.HasPrefix(path, prefix) {
		for _, old := range []string{"/transactions/", "/users/", "/rooms/", "/_matrix/app/unstable/thirdparty/"} {
			if strings.HasPrefix(path, old) && len(path) > len(old) {
				return Legacy, strings.TrimPrefix(path, "/"), true
			}
		}
		return Unknown, "", false
	}
	rest := strings.TrimPrefix(path, prefix)
	kind, param, _ := strings.Cut(rest, "/")
	switch {
	case kind == "transactions" && param != "" && !strings.Contains(param, "/"):
		return Transactions, param, method == http.MethodPut
	case kind == "users" && param != "":
		return Users, param, method == http.MethodGet
	case kind == "rooms" && param != "":
		return Rooms, param, method == http.MethodGet
	case kind == "ping" && param == "":
		return Ping, "", method == http.MethodPost
	case kind == "thirdparty" && param != "":
		return ThirdParty, param, method == http.MethodGet
	}
	return Unknown, "", false
}

// SetIngress installs a rewrite of every incoming request, applied before
// it is recorded; mutation runs use it to imitate a buggy homeserver.
func (s *Server) SetIngress(rewrite func(*http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ingress = rewrite
}

// Mount serves the paths under prefix with h, beside the AS API and
// outside it: the hs_token is checked as on the AS API, but no script
// runs and nothing is recorded (an AS's own endpoints, such as the remote
// network the reference AS bridges).
func (s *Server) Mount(prefix string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted == nil {
		s.mounted = map[string]http.Handler{}
	}
	s.mounted[prefix] = h
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	s.mu.Lock()
	rewrite := s.ingress
	var own http.Handler
	for prefix, h := range s.mounted {
		if strings.HasPrefix(req.URL.Path, prefix) {
			own = h
		}
	}
	s.mu.Unlock()
	if own != nil {
		if r, ok := s.authenticate(req); !ok {
			matrix.WriteJSON(w, r.Status, r.Body)
			return
		}
		own.ServeHTTP(w, req)
		return
	}
	if rewrite != nil {
		rewrite(req)
	}
	body := recorder.ReadBody(req)
	// Route on the escaped path: a txnId may contain an escaped "/".
	rt, param, methodOK := route(req.Method, req.URL.EscapedPath())
	if p, err := url.PathUnescape(param); err == nil {
		param = p
	}
	ex := recorder.Exchange{
		From: "homeserver", To: "appservice",
		Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.Query(),
		// Not cloned: net/http hands every request a header of its own
		// and nothing changes it after the ingress rewrite above.
		Header: req.Header, Body: body, Start: start,
	}
	finish := func(status int, respBody []byte, outcome string) {
		ex.Status, ex.RespBody, ex.Outcome, ex.End = status, respBody, outcome, time.Now()
		s.rec.Add(ex)
	}

	s.note(Request{Route: rt, Method: req.Method, Path: req.URL.Path, Param: param, Query: req.URL.Query(), Body: body})
	resp, drop := s.decide(req.Context(), rt, param, methodOK, req, body)
	if drop && req.Context().Err() != nil {
		// A blocked or delayed call the homeserver stopped waiting for.
		finish(0, nil, "no answer yet when the homeserver closed the connection")
		return
	}
	if drop {
		finish(0, nil, "connection dropped after reading the request")
		dropConnection(w)
		return
	}
	if raw, ok := resp.Body.(RawBody); ok {
		if raw.ContentType != "" {
			w.Header().Set("Content-Type", raw.ContentType)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(raw.Data)))
		w.WriteHeader(resp.Status)
		_, _ = w.Write(raw.Data) // refused for a 204, which has no body
		finish(resp.Status, raw.Data, "answered")
		return
	}
	finish(resp.Status, matrix.WriteJSON(w, resp.Status, resp.Body), "answered")
}

// decide runs authentication, then the script for the route, then the
// compliant default.
func (s *Server) decide(ctx context.Context, rt Route, param string, methodOK bool, req *http.Request, body []byte) (Response, bool) {
	if rt == Unknown || rt == Legacy && !s.scripted(Legacy) {
		return errResp(http.StatusNotFound, "M_UNRECOGNIZED", "unknown endpoint"), false
	}
	if !methodOK {
		return errResp(http.StatusMethodNotAllowed, "M_UNRECOGNIZED", "method not allowed"), false
	}
	if r, ok := s.authenticate(req); !ok {
		return r, false
	}
	in := Request{Route: rt, Method: req.Method, Path: req.URL.Path, Param: param, Query: req.URL.Query(), Body: body}
	if st := s.nextStep(rt); st != nil {
		r, drop, handled := st.run(ctx, in)
		if handled {
			return r, drop
		}
	}
	if rt == Legacy { // scripted, but a step left it to the default
		return errResp(http.StatusNotFound, "M_UNRECOGNIZED", "unknown endpoint"), false
	}
	return s.compliant(in), false
}

func (s *Server) authenticate(req *http.Request) (Response, bool) {
	token, hasHeader := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	legacy := req.URL.Query().Get("access_token")
	if !hasHeader {
		// Deprecated since v1.4 but still to be accepted by an AS.
		token = legacy
	} else if legacy != "" && legacy != token {
		// AS-AUTH-03: both given, they must agree.
		return errResp(http.StatusForbidden, "M_FORBIDDEN", "Authorization header and access_token disagree"), false
	}
	switch {
	case token == "":
		return errResp(http.StatusUnauthorized, "M_UNAUTHORIZED", "missing token"), false
	case token != s.Registration().HSToken:
		return errResp(http.StatusForbidden, "M_FORBIDDEN", "wrong hs_token"), false
	}
	return Response{}, true
}

func (s *Server) compliant(in Request) Response {
	switch in.Route {
	case Transactions:
		// Only checked to be a JSON object: decoding the events was 40%
		// of the handler's CPU time, and specs read the recorded body.
		if body := bytes.TrimSpace(in.Body); !json.Valid(body) || len(body) == 0 || body[0] != '{' {
			return errResp(http.StatusBadRequest, "M_NOT_JSON", "transaction body is not a JSON object")
		}
		return Response{Status: http.StatusOK}
	case Ping:
		return Response{Status: http.StatusOK}
	case KeysClaim, KeysQuery:
		// An AS that serves these endpoints but has no keys to give.
		return Response{Status: http.StatusOK}
	default:
		// Users, rooms and third-party lookups: nothing exists unless a
		// spec scripts it.
		return errResp(http.StatusNotFound, "M_NOT_FOUND", "not found")
	}
}

func errResp(status int, code, msg string) Response {
	return Response{Status: status, Body: matrix.Error{ErrCode: code, Error: msg}}
}

func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without answering
}
