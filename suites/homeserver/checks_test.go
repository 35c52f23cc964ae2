package homeserver

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

// The delivery specs' checks over recordings, shown able to fail on
// recordings of broken homeservers (timing cannot be broken from outside a
// real SUT, so these stand in for mutants there).

func TestGrowing(t *testing.T) {
	s := time.Second
	if err := growing([]time.Duration{2 * s, 4 * s, 8 * s}); err != nil {
		t.Errorf("doubling intervals rejected: %v", err)
	}
	for _, bad := range [][]time.Duration{{2 * s, 2 * s, 2 * s}, {2 * s, 4 * s, 4 * s}, {8 * s, 4 * s, 2 * s}} {
		if growing(bad) == nil {
			t.Errorf("intervals %v accepted as exponential backoff", bad)
		}
	}
}

func delivered(txnID string, status int, eventIDs ...string) Delivered {
	d := Delivered{TxnID: txnID, Exchange: recorder.Exchange{Status: status}}
	for _, id := range eventIDs {
		d.Txn.Events = append(d.Txn.Events, matrix.ClientEvent{EventID: id})
	}
	return d
}

func TestNoOvertaking(t *testing.T) {
	good := []Delivered{delivered("1", 500, "a"), delivered("1", 200, "a"), delivered("2", 200, "b")}
	if err := noOvertaking(good); err != nil {
		t.Errorf("in-order retries rejected: %v", err)
	}
	bad := []Delivered{delivered("1", 500, "a"), delivered("2", 200, "b"), delivered("1", 200, "a")}
	if noOvertaking(bad) == nil {
		t.Error("transaction 2 overtook unacknowledged transaction 1 unnoticed")
	}
}

func TestExactlyOnceInOrder(t *testing.T) {
	sent := []sentEvent{{"r1", "a"}, {"r2", "b"}, {"r1", "c"}}
	good := []Delivered{delivered("1", 500, "a"), delivered("1", 200, "a"), delivered("2", 200, "b", "c")}
	if err := exactlyOnceInOrder(good, sent); err != nil {
		t.Errorf("good delivery rejected: %v", err)
	}
	cases := map[string][]Delivered{
		"missing":     {delivered("1", 200, "a"), delivered("2", 200, "b")},
		"twice":       {delivered("1", 200, "a"), delivered("2", 200, "a", "b", "c")},
		"reordered":   {delivered("1", 200, "c"), delivered("2", 200, "b", "a")},
		"never acked": {delivered("1", 200, "a", "b"), delivered("2", 500, "c")},
	}
	for name, ds := range cases {
		if exactlyOnceInOrder(ds, sent) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSameEvents(t *testing.T) {
	a := `{"events":[{"event_id":"$1","age":5,"unsigned":{"age":5},"content":{"body":"x"}}]}`
	b := `{"events":[{"event_id":"$1","age":2005,"unsigned":{"age":2005},"content":{"body":"x"}}]}`
	if !sameEvents([]byte(a), []byte(b)) {
		t.Error("age alone made events differ")
	}
	for _, c := range []string{
		`{"events":[{"event_id":"$1","content":{"body":"changed"}}]}`,
		`{"events":[{"event_id":"$1","content":{"body":"x"}},{"event_id":"$2"}]}`,
		`{"events":[]}`,
		`not json`,
	} {
		if sameEvents([]byte(a), []byte(c)) {
			t.Errorf("accepted as the same events: %s", c)
		}
	}
	var v any
	if json.Unmarshal([]byte(a), &v) != nil {
		t.Fatal("fixture is not JSON")
	}
}

func TestBlocked(t *testing.T) {
	at := func(from, to int) recorder.Exchange {
		base := time.Unix(0, 0)
		return recorder.Exchange{Start: base.Add(time.Duration(from) * time.Millisecond), End: base.Add(time.Duration(to) * time.Millisecond)}
	}
	if err := blocked(at(10, 50), at(20, 30), at(0, 60)); err != nil {
		t.Errorf("a proper blocking query rejected: %v", err)
	}
	cases := map[string][3]recorder.Exchange{
		"client answered before the AS": {at(10, 50), at(20, 30), at(0, 40)},
		"AS acted after answering":      {at(10, 50), at(55, 58), at(0, 60)},
		"query after the client":        {at(70, 80), at(72, 75), at(0, 60)},
	}
	for name, c := range cases {
		if blocked(c[0], c[1], c[2]) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
