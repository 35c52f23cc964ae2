package reports

import (
	"math/rand"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// Random overlapping transcripts with steps: every exchange is drawn once
// (a whole row, or a request row and later its answer row), rows go down
// the page, and an open request's bar has a positive height.
func TestDiagramInTimeProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(19))
	parties := []string{"alice", "homeserver", "appservice", "appservice2", "bob"}
	t0 := time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC)
	for round := 0; round < 500; round++ {
		n := 1 + rng.Intn(20)
		var ex []recorder.Exchange
		for i := 0; i < n; i++ {
			start := t0.Add(time.Duration(rng.Intn(50)) * time.Millisecond)
			e := recorder.Exchange{Seq: i + 1, From: parties[rng.Intn(len(parties))], To: parties[rng.Intn(len(parties))], Method: "GET", Path: "/x",
				Status: []int{0, 200, 404, 500}[rng.Intn(4)], Start: start, End: start.Add(time.Duration(rng.Intn(30)) * time.Millisecond)}
			if rng.Intn(20) == 0 {
				e.End = time.Time{} // untimed: drawn in recorded order
			}
			ex = append(ex, e)
		}
		var steps []Step
		for i := rng.Intn(4); i > 0; i-- {
			steps = append(steps, Step{At: t0.Add(time.Duration(rng.Intn(60)) * time.Millisecond), Text: "step"})
		}
		views := make([]exchangeView, len(ex))
		for i, e := range ex {
			views[i] = exchangeFor(e, "s", t0)
		}
		folded := setUp(ex, steps)
		d := layoutDiagram(ex, views, steps, folded)
		requests, answers, lastTop := map[string]int{}, map[string]int{}, -1
		for _, r := range d.Rows {
			if r.RowTop <= lastTop {
				t.Fatalf("round %d: row at %d after a row at %d", round, r.RowTop, lastTop)
			}
			lastTop = r.RowTop
			switch r.Kind {
			case rowWhole:
				requests[r.Anchor]++
				answers[r.Anchor]++
			case rowRequest:
				requests[r.Anchor]++
			case rowResponse:
				answers[r.Anchor]++
			}
		}
		for i := range ex {
			a := views[i].Anchor
			if folded[i] {
				if requests[a] != 0 {
					t.Fatalf("round %d: folded exchange %d drawn", round, i)
				}
				continue
			}
			if requests[a] != 1 || answers[a] != 1 {
				t.Fatalf("round %d: exchange %d drawn with %d request and %d answer rows", round, i, requests[a], answers[a])
			}
		}
		for _, s := range d.Spans {
			if s.H <= 0 {
				t.Fatalf("round %d: a span of height %d", round, s.H)
			}
		}
	}
}
