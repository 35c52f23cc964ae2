package suites

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/asconform/asconform/scenarios"
)

// Mutation is a named bug, on either side, and the requirement IDs whose
// specs should catch it.
type Mutation struct {
	Name, Bug string
	Killers   []string
}

// Checker is the part of *testing.T the mutation and reference runs need.
type Checker interface {
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}

// KillAll runs each mutation's killer specs in a child process (three at a
// time) through run, reports every survivor as an error, saves the kill
// matrix beside side's reports and prints the "mutants killed: K/T (label)"
// line. A mutation whose specs were all skipped (a feature the SUT does not
// model) is not applicable and not counted.
func KillAll(t Checker, side, label string, ms []Mutation, run func(m Mutation, outDir string) (scenarios.Report, string, error)) {
	rows := make([]string, len(ms))
	killed := make([]bool, len(ms))
	applicable := make([]bool, len(ms))
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rep, log, err := run(m, t.TempDir())
			if err != nil {
				t.Errorf("mutant %s: no report (%v); output:\n%s", m.Name, err, tail(log, 20))
				applicable[i], rows[i] = true, "(no report)"
				return
			}
			var by []string
			for _, r := range rep.Results {
				applicable[i] = applicable[i] || r.Verdict != scenarios.Skipped
				if r.Verdict == scenarios.Error {
					t.Errorf("mutant %s: harness error in %q: %s", m.Name, r.Spec, r.Message)
				}
				if r.Verdict != scenarios.Fail && r.Verdict != scenarios.NonStrict {
					continue
				}
				by = append(by, strings.Join(r.Requirements, ","))
				for _, id := range r.Requirements {
					killed[i] = killed[i] || slices.Contains(m.Killers, id)
				}
			}
			rows[i] = strings.Join(by, " ")
		}()
	}
	wg.Wait()
	var matrix strings.Builder
	n, total := 0, 0
	for i, m := range ms {
		verdict := "SURVIVED"
		switch {
		case !applicable[i]:
			verdict, rows[i] = "n/a", "(its specs do not apply to this SUT)"
		case killed[i]:
			verdict = "killed"
			n++
		default:
			t.Errorf("mutant %s (%s) survived: no spec of %v failed", m.Name, m.Bug, m.Killers)
		}
		if applicable[i] {
			total++
		}
		fmt.Fprintf(&matrix, "  %-32s %-9s by %s\n", m.Name, verdict, rows[i])
	}
	line := fmt.Sprintf("mutants killed: %d/%d (%s)", n, total, label)
	t.Logf("kill matrix (mutant, verdict, failing specs' requirements):\n%s", matrix.String())
	if p, err := WriteKillMatrix(side, strings.ReplaceAll(label, " ", "-"), matrix.String(), line); err != nil {
		t.Errorf("kill matrix: %v", err)
	} else {
		t.Logf("kill matrix written to %s", p)
	}
	fmt.Println(line)
}

// CheckReference checks a reference run: every spec passes (or is
// informational), or is skipped as not modelled by the reference.
func CheckReference(t Checker, rep scenarios.Report, what string) {
	passed, skipped := 0, 0
	for _, r := range rep.Results {
		switch {
		case r.Verdict == scenarios.Pass || r.Verdict == scenarios.Informational:
			passed++
		case r.Verdict == scenarios.Skipped && strings.Contains(r.Message, "does not model"):
			skipped++
		default:
			t.Errorf("%s against the reference: %s %s", r.Spec, r.Verdict, r.Message)
		}
	}
	fmt.Printf("reference run: %d/%d specs passed, %d skipped as not modelled (%s)\n", passed, len(rep.Results), skipped, what)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
