package fakehs

import (
	"fmt"

	"github.com/asconform/asconform/internal/recorder"
)

// A Rule judges, in strict mode, one client-server request an AS made
// (with the fake's answer): why the request should not have come, or ""
// when it is fine.
type Rule func(recorder.Exchange) string

// Strict switches strict mode on with rule, forgetting what it caught
// before: every client-server request from an AS that rule calls
// unexpected is still answered, but is marked so in the recording and kept
// for Unexpected. Strict(nil) switches it off.
func (s *Server) Strict(rule Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict, s.unexpected = rule, nil
}

// Unexpected lists what strict mode caught, one line a request: the reason,
// the request line and the answer.
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// judge applies strict mode to an answered request from an AS.
func (s *Server) judge(ex *recorder.Exchange, requestURI string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.strict == nil || ex.From != "appservice" {
		return
	}
	if reason := s.strict(*ex); reason != "" {
		ex.Outcome += "; unexpected: " + reason
		s.unexpected = append(s.unexpected, fmt.Sprintf("%s: %s %s (answered %d)", reason, ex.Method, requestURI, ex.Status))
	}
}
