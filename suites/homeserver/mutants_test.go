package homeserver_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/asconform/asconform/mutants"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/homeserver"
)

// TestMutantsAreKilled runs the specs of the requirements each mutant breaks
// (a real SUT broken on purpose from outside) and fails if a mutant
// survives, i.e. if none of those specs fails.
func TestMutantsAreKilled(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_URL") != "" {
		t.Skip("a mutation run itself, or external mode")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	// Against the reference (fakehs, no Docker, fast backoff) and against
	// the configured real SUT.
	t.Run("reference", func(t *testing.T) { killAll(t, homeserver.ReferenceFlavor, "homeserver") })
	if flavor := os.Getenv("ASCONFORM_HS_FLAVOR"); flavor != homeserver.ReferenceFlavor {
		if flavor == "" {
			flavor = "synapse"
		}
		t.Run(flavor, func(t *testing.T) { killAll(t, flavor, "homeserver on "+flavor) })
	}
}

// TestReferenceRun runs the whole suite against the reference homeserver:
// every spec must pass there, which shows each spec able to pass.
func TestReferenceRun(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_FLAVOR") == homeserver.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	rep, log, err := subRun(t, homeserver.ReferenceFlavor, "", nil)
	if err != nil {
		t.Fatalf("reference run: %v\n%s", err, tail(log, 30))
	}
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
	fmt.Printf("reference run: %d/%d specs passed, %d skipped as not modelled (homeserver suite against fakehs)\n", passed, len(rep.Results), skipped)
}

func killAll(t *testing.T, flavor, label string) {
	all := mutants.All()
	outcomes := make([]string, len(all))
	caughtBy := make([]bool, len(all))
	// Three at a time: each run starts its own SUT, which mostly waits on backoff.
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for i, m := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			caughtBy[i], outcomes[i] = runMutant(t, flavor, m)
		}()
	}
	wg.Wait()
	var matrix strings.Builder
	killed, applicable := 0, 0
	for i, m := range all {
		if outcomes[i] == "n/a" {
			fmt.Fprintf(&matrix, "  %-32s %-9s (its specs do not apply to %s)\n", m.Name, "n/a", flavor)
			continue
		}
		applicable++
		verdict := "SURVIVED"
		if caughtBy[i] {
			verdict = "killed"
			killed++
		} else {
			t.Errorf("mutant %s (%s) survived: no spec of %v failed", m.Name, m.Bug, m.Killers)
		}
		fmt.Fprintf(&matrix, "  %-32s %-9s by %s\n", m.Name, verdict, outcomes[i])
	}
	t.Logf("kill matrix (mutant, verdict, failing specs' requirements):\n%s", matrix.String())
	line := fmt.Sprintf("mutants killed: %d/%d (%s)", killed, applicable, label)
	if p, err := suites.WriteKillMatrix("homeserver", flavor, matrix.String(), line); err != nil {
		t.Errorf("kill matrix: %v", err)
	} else {
		t.Logf("kill matrix written to %s", p)
	}
	fmt.Println(line)
}

// runMutant runs the suite against one mutant and reports whether a spec
// of the requirements it breaks failed, and which specs failed.
func runMutant(t *testing.T, flavor string, m mutants.Mutant) (bool, string) {
	// A mutant of a feature the SUT does not model is not applicable there:
	// runMutant reports "n/a" and killAll leaves it out of the count.
	// Only the specs that should catch the mutant run: the suite in full
	// against every mutant would take minutes per mutant on a real SUT.
	rep, log, err := subRun(t, flavor, m.Name, m.Killers)
	if err != nil {
		t.Errorf("mutant %s: %v; output:\n%s", m.Name, err, tail(log, 20))
		return false, "(no report)"
	}
	var by []string
	caught, ran := false, false
	for _, r := range rep.Results {
		ran = ran || r.Verdict != scenarios.Skipped
		if r.Verdict == scenarios.Error {
			t.Errorf("mutant %s: harness error in %q: %s", m.Name, r.Spec, r.Message)
		}
		if r.Verdict != scenarios.Fail && r.Verdict != scenarios.NonStrict {
			continue
		}
		by = append(by, strings.Join(r.Requirements, ","))
		for _, id := range r.Requirements {
			caught = caught || slices.Contains(m.Killers, id)
		}
	}
	if !ran {
		return false, "n/a"
	}
	return caught, strings.Join(by, " ")
}

func subRun(t *testing.T, flavor, mutant string, only []string) (scenarios.Report, string, error) {
	return suites.SubRun(t.TempDir(), "TestHomeserver", []string{"ASCONFORM_HS_FLAVOR=" + flavor, "ASCONFORM_MUTANT=" + mutant}, only)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
