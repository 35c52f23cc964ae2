package scenarios

import (
	"testing"

	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

// The delivery checks over recordings, shown able to fail on recordings of
// broken homeservers (timing cannot be broken from outside a real SUT, so
// these stand in for mutants there).

func delivered(txnID string, status int, eventIDs ...string) Delivered {
	d := Delivered{TxnID: txnID, Exchange: recorder.Exchange{Status: status}}
	for _, id := range eventIDs {
		d.Txn.Events = append(d.Txn.Events, matrix.ClientEvent{EventID: id})
	}
	return d
}

// matches runs m on actual, failing the test on a matcher error.
func matches(t *testing.T, m types.GomegaMatcher, actual any) bool {
	t.Helper()
	ok, err := m.Match(actual)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestOvertaking(t *testing.T) {
	good := []Delivered{delivered("1", 500, "a"), delivered("1", 200, "a"), delivered("2", 200, "b")}
	if err := Overtaking(good); err != nil {
		t.Errorf("in-order retries rejected: %v", err)
	}
	bad := []Delivered{delivered("1", 500, "a"), delivered("2", 200, "b"), delivered("1", 200, "a")}
	if Overtaking(bad) == nil {
		t.Error("transaction 2 overtook unacknowledged transaction 1 unnoticed")
	}
}

func TestDeliverExactlyOnceInOrder(t *testing.T) {
	sent := []Sent{{"r1", "a"}, {"r2", "b"}, {"r1", "c"}}
	m := DeliverExactlyOnceInOrder(sent)
	good := []Delivered{delivered("1", 500, "a"), delivered("1", 200, "a"), delivered("2", 200, "b", "c")}
	if !matches(t, m, good) {
		t.Errorf("good delivery rejected: %s", m.FailureMessage(good))
	}
	cases := map[string][]Delivered{
		"missing":     {delivered("1", 200, "a"), delivered("2", 200, "b")},
		"twice":       {delivered("1", 200, "a"), delivered("2", 200, "a", "b", "c")},
		"reordered":   {delivered("1", 200, "c"), delivered("2", 200, "b", "a")},
		"never acked": {delivered("1", 200, "a", "b"), delivered("2", 500, "c")},
	}
	for name, ds := range cases {
		if matches(t, m, ds) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDeliverInStreamOrder(t *testing.T) {
	sent := []Sent{{"r1", "a"}, {"r2", "b"}, {"r1", "c"}}
	m := DeliverInStreamOrder(sent)
	if good := []Delivered{delivered("1", 200, "a", "b"), delivered("2", 200, "c")}; !matches(t, m, good) {
		t.Errorf("good delivery rejected: %s", m.FailureMessage(good))
	}
	for name, ds := range map[string][]Delivered{
		"across rooms out of order": {delivered("1", 200, "b", "a"), delivered("2", 200, "c")},
		"missing":                   {delivered("1", 200, "a", "b")},
	} {
		if matches(t, m, ds) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRetryAsSent(t *testing.T) {
	first := Delivered{TxnID: "1", Exchange: recorder.Exchange{Body: []byte(`{"events":[{"event_id":"$1","age":5}]}`)}}
	aged := Delivered{TxnID: "1", Exchange: recorder.Exchange{Body: []byte(`{"events":[{"event_id":"$1","age":2005}]}`)}}
	if !matches(t, RetryAsSent(), []Delivered{first, aged}) {
		t.Error("a retry differing in age alone rejected")
	}
	renamed := aged
	renamed.TxnID = "2"
	changed := Delivered{TxnID: "1", Exchange: recorder.Exchange{Body: []byte(`{"events":[{"event_id":"$2"}]}`)}}
	for name, attempts := range map[string][]Delivered{"new ID": {first, renamed}, "other events": {first, changed}, "none": nil} {
		if matches(t, RetryAsSent(), attempts) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSameEvents(t *testing.T) {
	a := `{"events":[{"event_id":"$1","age":5,"unsigned":{"age":5},"content":{"body":"x"}}]}`
	b := `{"events":[{"event_id":"$1","age":2005,"unsigned":{"age":2005},"content":{"body":"x"}}]}`
	if !SameEvents([]byte(a), []byte(b)) {
		t.Error("age alone made events differ")
	}
	for _, c := range []string{
		`{"events":[{"event_id":"$1","content":{"body":"changed"}}]}`,
		`{"events":[{"event_id":"$1","content":{"body":"x"}},{"event_id":"$2"}]}`,
		`{"events":[]}`,
		`not json`,
	} {
		if SameEvents([]byte(a), []byte(c)) {
			t.Errorf("accepted as the same events: %s", c)
		}
	}
}

func TestCarryNoEphemeral(t *testing.T) {
	plain := delivered("1", 200, "a")
	withTyping := delivered("2", 200)
	withTyping.Txn.Ephemeral = append(withTyping.Txn.Ephemeral, []byte(`{"type":"m.typing"}`))
	if !matches(t, CarryNoEphemeral(), []Delivered{plain}) {
		t.Error("a transaction without ephemeral data rejected")
	}
	if matches(t, CarryNoEphemeral(), []Delivered{plain, withTyping}) {
		t.Error("ephemeral data accepted")
	}
}
