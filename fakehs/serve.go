package fakehs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

// reply is what a handler answers; a nil body becomes {}. Checks return
// the zero reply (status 0) to let the request proceed.
type reply struct {
	status int
	body   any
}

func (rp reply) failed() bool { return rp.status != 0 }

func answer(body any) reply { return reply{status: http.StatusOK, body: body} }

func fail(status int, code, msg string) reply {
	return reply{status: status, body: matrix.Error{ErrCode: code, Error: msg}}
}

// call is one client-server request as a handler sees it.
type call struct {
	r    *http.Request
	ctx  context.Context
	body []byte
	who  *caller // nil when the request carried no token
}

// caller is the authenticated party of a request.
type caller struct {
	token    string
	as       *appservice // set when the token is an as_token
	userID   string      // the user the request acts as
	deviceID string
}

type authMode int

const (
	noAuth       authMode = iota // handler looks at the token itself, if at all
	optionalAuth                 // a token, if given, must be valid
	needAuth
)

// decode parses the JSON object body into v; an empty body counts as {}.
func (c *call) decode(v any) reply {
	body := bytes.TrimSpace(c.body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return fail(400, "M_NOT_JSON", "request body is not JSON")
	}
	if body[0] != '{' {
		return fail(400, "M_BAD_JSON", "request body is not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fail(400, "M_BAD_JSON", "request body does not have the expected shape: "+err.Error())
	}
	return reply{}
}

func tokenOf(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	// Still allowed by the client-server API, though discouraged.
	return r.URL.Query().Get("access_token")
}

// authenticate resolves the token and any identity assertion (spec:
// Identity assertion). A nil caller with a nil reply means no token.
func (s *Server) authenticate(r *http.Request, mode authMode) (*caller, reply) {
	token := tokenOf(r)
	if token == "" {
		if mode == needAuth {
			return nil, fail(401, "M_MISSING_TOKEN", "missing access token")
		}
		return nil, reply{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	as, sess := s.ownerLocked(token)
	if as != nil {
		c := &caller{token: token, as: as, userID: as.sender}
		q := r.URL.Query()
		if id := q.Get("user_id"); id != "" {
			if !s.ownsUser(as, id) {
				return nil, fail(403, "M_FORBIDDEN", "application service cannot masquerade as "+id)
			}
			if s.users[id] == nil {
				return nil, fail(403, "M_FORBIDDEN", "application service has not registered "+id)
			}
			c.userID = id
		}
		dev := q.Get("device_id")
		if dev == "" && as.reg.MSC3202 {
			// MSC3202's unstable name, for registrations that opted in.
			dev = q.Get("org.matrix.msc3202.device_id")
		}
		if dev != "" {
			if !s.users[c.userID].devices[dev] {
				return nil, fail(400, "M_UNKNOWN_DEVICE", "device "+dev+" does not belong to "+c.userID)
			}
			c.deviceID = dev
		}
		return c, reply{}
	}
	if sess != nil {
		return &caller{token: token, userID: sess.userID, deviceID: sess.deviceID}, reply{}
	}
	return nil, fail(401, "M_UNKNOWN_TOKEN", "unrecognised access token")
}

// party names the sender of a request in transcripts.
func (s *Server) party(r *http.Request) string {
	token := tokenOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch as, sess := s.ownerLocked(token); {
	case as != nil:
		return "appservice"
	case sess != nil:
		return sess.userID
	}
	return "client"
}

func (s *Server) endpoint(mode authMode, h func(*call) reply) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, ctx: r.Context(), body: recorder.ReadBody(r)}
		// noAuth handlers read the token themselves: /register ignores an
		// asserted user_id (the user it names may not exist yet), as
		// homeservers do.
		if mode != noAuth {
			who, denied := s.authenticate(r, mode)
			if denied.failed() {
				matrix.WriteJSON(w, denied.status, denied.body)
				return
			}
			c.who = who
		}
		rp := h(c)
		matrix.WriteJSON(w, rp.status, rp.body)
	})
}

// capture keeps what was answered, for the recorder.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

var methods = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete}

// serve records every request and answers unknown endpoints with JSON
// errors instead of net/http's plain-text ones.
func (s *Server) serve(l *life, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body := recorder.ReadBody(r)
	ex := recorder.Exchange{
		From: s.party(r), To: "homeserver",
		Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body, Start: start,
	}
	// A restart aborts whatever the request is waiting for.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(l.ctx, cancel)
	defer stop()
	r = r.WithContext(ctx)

	cw := &capture{ResponseWriter: w}
	// ServeMux would redirect paths it cleans ("//", "." and ".."
	// segments); a homeserver answers them as unknown endpoints.
	if p := r.URL.Path; path.Clean(p) != p && !(strings.HasSuffix(p, "/") && path.Clean(p)+"/" == p) {
		rp := fail(404, "M_UNRECOGNIZED", "unrecognised endpoint")
		matrix.WriteJSON(cw, rp.status, rp.body)
	} else if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(cw, r)
	} else {
		rp := fail(404, "M_UNRECOGNIZED", "unrecognised endpoint")
		for _, m := range methods {
			probe := r.Clone(ctx)
			probe.Method = m
			if _, p := s.mux.Handler(probe); p != "" {
				rp = fail(405, "M_UNRECOGNIZED", "method not allowed")
				break
			}
		}
		matrix.WriteJSON(cw, rp.status, rp.body)
	}
	ex.Status, ex.RespBody, ex.End, ex.Outcome = cw.status, cw.body.Bytes(), time.Now(), "answered"
	s.judge(&ex, r.URL.RequestURI())
	s.rec.Add(ex)
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	// An AS may still use r0 paths; both map to the same handlers.
	client := func(method, path string, mode authMode, h func(*call) reply) {
		for _, v := range []string{"v3", "r0"} {
			m.Handle(method+" /_matrix/client/"+v+path, s.endpoint(mode, h))
		}
	}
	m.Handle("GET /_matrix/client/versions", s.endpoint(noAuth, s.versions))
	client("GET", "/account/whoami", needAuth, s.whoami)
	client("POST", "/account/deactivate", needAuth, s.deactivate)
	client("GET", "/devices", needAuth, s.getDevices)
	client("PUT", "/devices/{deviceId}", needAuth, s.putDevice)
	client("DELETE", "/devices/{deviceId}", needAuth, s.deleteDevice)
	client("POST", "/delete_devices", needAuth, s.deleteDevices)
	client("POST", "/keys/device_signing/upload", needAuth, s.uploadCrossSigning)
	client("POST", "/keys/upload", needAuth, s.uploadKeys)
	client("POST", "/keys/claim", needAuth, s.claimKeys)
	client("POST", "/keys/query", needAuth, s.queryKeys)
	client("POST", "/register", noAuth, s.register)
	client("GET", "/register/available", noAuth, s.registerAvailable)
	client("GET", "/login", noAuth, s.loginFlows)
	client("POST", "/login", noAuth, s.login)
	client("POST", "/refresh", noAuth, s.refresh)
	client("GET", "/profile/{userId}", optionalAuth, s.getProfile)
	client("GET", "/profile/{userId}/{field}", optionalAuth, s.getProfileField)
	client("PUT", "/profile/{userId}/{field}", needAuth, s.setProfileField)
	client("POST", "/createRoom", needAuth, s.createRoom)
	client("POST", "/join/{roomIdOrAlias}", needAuth, s.join)
	client("POST", "/rooms/{roomId}/join", needAuth, s.join)
	client("POST", "/rooms/{roomId}/invite", needAuth, s.invite)
	client("POST", "/rooms/{roomId}/leave", needAuth, s.leave)
	client("POST", "/rooms/{roomId}/kick", needAuth, s.kick)
	client("PUT", "/rooms/{roomId}/send/{type}/{txnId}", needAuth, s.send)
	client("PUT", "/sendToDevice/{type}/{txnId}", needAuth, s.sendToDevice)
	client("POST", "/rooms/{roomId}/receipt/{receiptType}/{eventId}", needAuth, s.receipt)
	client("PUT", "/rooms/{roomId}/state/{type}", needAuth, s.putState)
	client("PUT", "/rooms/{roomId}/state/{type}/{stateKey...}", needAuth, s.putState)
	client("GET", "/rooms/{roomId}/state/{type}", needAuth, s.getState)
	client("GET", "/rooms/{roomId}/state/{type}/{stateKey...}", needAuth, s.getState)
	client("GET", "/rooms/{roomId}/state", needAuth, s.getAllState)
	client("GET", "/rooms/{roomId}/event/{eventId}", needAuth, s.getEvent)
	client("GET", "/rooms/{roomId}/joined_members", needAuth, s.joinedMembers)
	client("GET", "/rooms/{roomId}/messages", needAuth, s.messages)
	client("GET", "/sync", needAuth, s.sync)
	client("PUT", "/directory/room/{alias}", needAuth, s.putAlias)
	client("GET", "/directory/room/{alias}", optionalAuth, s.getAlias)
	client("DELETE", "/directory/room/{alias}", needAuth, s.deleteAlias)
	client("PUT", "/directory/list/appservice/{networkId}/{roomId}", needAuth, s.publish)
	m.Handle("POST /_matrix/client/v1/appservice/{appserviceId}/ping", s.endpoint(noAuth, s.pingAS))
	return m
}
