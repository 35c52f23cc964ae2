package fakehs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/asconform/asconform/internal/matrix"
)

// query asks an AS about a user or alias, trying again while it does not
// answer (spec: Querying). answered is false when no attempt got a response.
func (s *Server) query(ctx context.Context, as *appservice, path string) (status int, answered bool) {
	for range s.cfg.QueryAttempts {
		resp, err := s.callASOrLegacy(ctx, as, http.MethodGet, path, nil)
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
	as, sess := s.ownerLocked(token)
	same := as != nil && as.reg.ID == c.r.PathValue("appserviceId")
	s.mu.Unlock()
	switch {
	case as == nil && sess == nil:
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
