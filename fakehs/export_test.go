package fakehs

// What only the tests of the fake itself use: pausing and inspecting
// delivery and the model.

import (
	"context"
	"fmt"
	"slices"

	"github.com/asconform/asconform/internal/matrix"
)

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
			if as.reg.URL != nil && (as.head != nil || len(as.pending)+len(as.toDevice)+len(as.changed)+len(as.ephemeral) > 0) {
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

// Event returns an event the fake created.
func (s *Server) Event(eventID string) (matrix.ClientEvent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.events[eventID]
	if !ok {
		return matrix.ClientEvent{}, false
	}
	return *ev, true
}

// Published lists the rooms an AS made public in its directory for networkID.
func (s *Server) Published(asID, networkID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p := range s.published {
		if p.asID == asID && p.networkID == networkID {
			out = append(out, p.roomID)
		}
	}
	slices.Sort(out)
	return out
}

// Registrations lists the registrations in the order they were added.
func (s *Server) Registrations() []matrix.Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]matrix.Registration, 0, len(s.ases))
	for _, as := range s.ases {
		out = append(out, as.reg)
	}
	return out
}
