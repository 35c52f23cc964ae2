package fakehs

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asconform/asconform/internal/matrix"
)

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
		// The next attempt tries the versioned path first again, in case
		// the AS was upgraded.
		resp, err := s.callASOrLegacy(ctx, as, http.MethodPut, "/_matrix/app/v1/transactions/"+url.PathEscape(t.id), t.body)
		if ctx.Err() != nil {
			return // restart or close: the transaction stays queued as it is
		}
		if err == nil && resp.Status == http.StatusOK {
			s.mu.Lock()
			if as.head == t {
				as.head = nil
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
	if as.head != nil || len(as.pending)+len(as.toDevice)+len(as.changed)+len(as.ephemeral) == 0 {
		return as.head
	}
	n := min(len(as.pending), s.cfg.BatchSize)
	events := make([]matrix.ClientEvent, n)
	for i, ev := range as.pending[:n] {
		events[i] = *ev
	}
	// A retry resends the frozen body, to-device messages and ephemeral
	// data included.
	var lists *deviceLists
	if len(as.changed) > 0 {
		lists = &deviceLists{Changed: as.changed, Left: []string{}}
	}
	counts, fallbacks := s.keyStateLocked(as, events, as.toDevice)
	body, err := json.Marshal(txnBody{Transaction: matrix.Transaction{Events: events, Ephemeral: as.ephemeral}, ToDevice: as.toDevice, OneTimeKeysCount: counts, FallbackKeyTypes: fallbacks, DeviceLists: lists})
	as.toDevice, as.changed, as.ephemeral = nil, nil, nil
	if err != nil {
		panic("fakehs: encoding a transaction: " + err.Error())
	}
	as.nextTxn++
	as.head = &txn{id: strconv.Itoa(as.nextTxn), body: body, events: n}
	as.pending = append([]*matrix.ClientEvent(nil), as.pending[n:]...)
	return as.head
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
