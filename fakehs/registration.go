package fakehs

import (
	"encoding/json"
	"fmt"

	"github.com/asconform/asconform/internal/matrix"
)

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
	// ephemeral are m.receipt EDUs for the AS not yet in a transaction
	// (only with receive_ephemeral).
	ephemeral []json.RawMessage
}

func (as *appservice) wakeUp() {
	select {
	case as.wake <- struct{}{}:
	default:
	}
}

// SetRegistration adds an application service, or replaces the one with the
// same id (e.g. to set its URL once the AS listens). Queue and users of a
// replaced registration are kept.
func (s *Server) SetRegistration(reg matrix.Registration) error {
	if err := reg.Validate(); err != nil {
		return fmt.Errorf("fakehs: %w", err)
	}
	s.mu.Lock()
	var existing *appservice
	for _, as := range s.ases {
		switch {
		case as.reg.ID == reg.ID:
			existing = as
		case as.reg.ASToken == reg.ASToken:
			s.mu.Unlock()
			return fmt.Errorf("fakehs: registrations %q and %q share an as_token", as.reg.ID, reg.ID)
		}
	}
	if existing != nil {
		delete(s.byToken, existing.reg.ASToken)
		existing.reg = reg
		existing.sender = s.userID(reg.SenderLocalpart)
	} else {
		existing = &appservice{reg: reg, sender: s.userID(reg.SenderLocalpart), wake: make(chan struct{}, 1)}
		s.ases = append(s.ases, existing)
	}
	s.byToken[reg.ASToken] = existing
	if _, ok := s.users[existing.sender]; !ok {
		s.users[existing.sender] = &user{id: existing.sender, appservice: reg.ID, devices: map[string]bool{}}
	}
	s.notifyLocked()
	s.mu.Unlock()

	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.life != nil && !s.cfg.ManualDelivery {
		s.startPusher(s.life, existing)
	}
	existing.wakeUp()
	return nil
}

// ownerLocked is whom an access token belongs to: an AS (the token is its
// as_token) or a user's session; neither for an unknown token. s.mu must be
// held.
func (s *Server) ownerLocked(token string) (*appservice, *session) {
	if as := s.byToken[token]; as != nil {
		return as, nil
	}
	return nil, s.sessions[token]
}
