package scenarios

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/scenarios/match"
)

// The checks over the transactions a fake AS received, as matchers of
// []Delivered.

// DeliverExactlyOnceInOrder matches deliveries where, across acknowledged
// transactions (first acknowledgement of each ID), every sent event
// appears exactly once, and each room's events keep the order they were
// sent in.
func DeliverExactlyOnceInOrder(sent []Sent) types.GomegaMatcher {
	return match.Check("every sent event acknowledged exactly once, each room's in the order sent", func(ds []Delivered) error {
		count := map[string]int{}
		position := map[string]int{}
		for i, id := range EventIDs(firstAcks(ds)) {
			count[id]++
			position[id] = i
		}
		last := map[string]int{}
		for _, s := range sent {
			switch n := count[s.ID]; {
			case n == 0:
				return fmt.Errorf("event %s was never delivered in an acknowledged transaction", s.ID)
			case n > 1:
				return fmt.Errorf("event %s was delivered in %d different transactions", s.ID, n)
			}
			if p, seen := last[s.Room]; seen && position[s.ID] < p {
				return fmt.Errorf("event %s of room %s arrived before an event sent earlier in that room", s.ID, s.Room)
			}
			last[s.Room] = position[s.ID]
		}
		return nil
	})
}

// DeliverInStreamOrder matches deliveries whose acknowledged transactions
// carry sent in the order it happened, across rooms (the event stream),
// counting each transaction ID once.
func DeliverInStreamOrder(sent []Sent) types.GomegaMatcher {
	return match.Check("the sent events acknowledged in the order they happened, across rooms", func(ds []Delivered) error {
		position := map[string]int{}
		for _, id := range EventIDs(firstAcks(ds)) {
			if _, seen := position[id]; !seen {
				position[id] = len(position)
			}
		}
		for i, s := range sent {
			p, ok := position[s.ID]
			if !ok {
				return fmt.Errorf("event %s was never delivered in an acknowledged transaction", s.ID)
			}
			if i > 0 && p < position[sent[i-1].ID] {
				return fmt.Errorf("event %s (room %s) arrived before %s (room %s), which happened earlier: not in stream order", s.ID, s.Room, sent[i-1].ID, sent[i-1].Room)
			}
		}
		return nil
	})
}

// firstAcks keeps the first acknowledged attempt of each transaction ID.
func firstAcks(ds []Delivered) []Delivered {
	acked := map[string]bool{}
	var out []Delivered
	for _, d := range ds {
		if d.Exchange.Status != 200 || acked[d.TxnID] {
			continue
		}
		acked[d.TxnID] = true
		out = append(out, d)
	}
	return out
}

// RetryAsSent matches the attempts of one transaction where every attempt
// after the first (which failed) reuses its transaction ID and carries the
// same events, age fields aside.
func RetryAsSent() types.GomegaMatcher {
	return match.Check("every retry under the first attempt's transaction ID, with the same events", func(attempts []Delivered) error {
		if len(attempts) == 0 {
			return fmt.Errorf("no attempt at all")
		}
		first := attempts[0]
		for i, retry := range attempts[1:] {
			if retry.TxnID != first.TxnID {
				return fmt.Errorf("retry %d was sent under a new transaction ID %q instead of %q", i+1, retry.TxnID, first.TxnID)
			}
			if !SameEvents(first.Exchange.Body, retry.Exchange.Body) {
				return fmt.Errorf("retry %d of transaction %q does not hold the same events in the same order (age fields aside)\nfirst: %s\nretry: %s", i+1, first.TxnID, first.Exchange.Body, retry.Exchange.Body)
			}
		}
		return nil
	})
}

// CarryNoEphemeral matches deliveries none of which has ephemeral data.
func CarryNoEphemeral() types.GomegaMatcher {
	return match.Check("no transaction with ephemeral data", func(ds []Delivered) error {
		for _, d := range ds {
			if len(d.Txn.Ephemeral) > 0 {
				return fmt.Errorf("transaction %s carried ephemeral data: %s", d.TxnID, d.Exchange.Body)
			}
		}
		return nil
	})
}

// Overtaking says (as an error) which transaction ID was sent while
// another was still unacknowledged, or nil.
func Overtaking(ds []Delivered) error {
	pending := ""
	for _, d := range ds {
		if pending != "" && d.TxnID != pending {
			return fmt.Errorf("transaction %s was sent while %s was still unacknowledged", d.TxnID, pending)
		}
		if d.Exchange.Status == 200 {
			pending = ""
		} else {
			pending = d.TxnID
		}
	}
	return nil
}

// SameEvents compares two transaction bodies with every event's "age" and
// "unsigned.age" removed: those count the milliseconds since the event was
// sent, so a server recomputes them for each attempt without changing the
// events themselves.
func SameEvents(a, b []byte) bool {
	strip := func(data []byte) any {
		var body map[string]any
		if json.Unmarshal(data, &body) != nil {
			return nil
		}
		events, _ := body["events"].([]any)
		for _, ev := range events {
			if m, ok := ev.(map[string]any); ok {
				delete(m, "age")
				if u, ok := m["unsigned"].(map[string]any); ok {
					delete(u, "age")
				}
			}
		}
		return body
	}
	x, y := strip(a), strip(b)
	return x != nil && reflect.DeepEqual(x, y)
}
