package fakeas

import (
	"fmt"
	"slices"
)

// expectation is what a strict fake expects: requests of routes, each
// passing check (nil: any).
type expectation struct {
	routes []Route
	check  func(Request) error
}

// Expect makes the fake strict until Reset: every later request must be of
// one of routes and pass check (nil passes any). Any other is noted with
// its request line and why (Unexpected) and answered as usual, so that
// the homeserver's course does not change; the spec judges the notes.
func (s *Server) Expect(check func(Request) error, routes ...Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expect = &expectation{routes: routes, check: check}
	s.unexpected = nil
}

// Unexpected lists the requests a strict fake did not expect, as
// "METHOD /path: why".
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unexpected)
}

// note records in if a strict fake did not expect it.
func (s *Server) note(in Request) {
	s.mu.Lock()
	e := s.expect
	s.mu.Unlock()
	if e == nil {
		return
	}
	var why string
	if !slices.Contains(e.routes, in.Route) {
		why = fmt.Sprintf("expected only %v requests", e.routes)
	} else if e.check != nil {
		if err := e.check(in); err != nil {
			why = err.Error()
		}
	}
	if why == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expect == e { // not Reset meanwhile
		s.unexpected = append(s.unexpected, in.Method+" "+in.Path+": "+why)
	}
}
