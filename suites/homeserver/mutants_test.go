package homeserver_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/asconform/asconform/mutants"
	"github.com/asconform/asconform/scenarios"
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
			caughtBy[i], outcomes[i] = runMutant(t, m)
		}()
	}
	wg.Wait()
	var matrix strings.Builder
	killed := 0
	for i, m := range all {
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
	fmt.Printf("mutants killed: %d/%d (homeserver)\n", killed, len(all))
}

// runMutant runs the suite against one mutant and reports whether a spec
// of the requirements it breaks failed, and which specs failed.
func runMutant(t *testing.T, m mutants.Mutant) (bool, string) {
	out := t.TempDir()
	// Only the specs that should catch the mutant run: the suite in full
	// against every mutant would take minutes per mutant.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHomeserver$", "-test.timeout=10m",
		"-ginkgo.label-filter="+strings.Join(m.Killers, " || "))
	cmd.Env = append(os.Environ(), "ASCONFORM_MUTANT="+m.Name, "ASCONFORM_OUT="+out)
	log, _ := cmd.CombinedOutput() // fails by design when the mutant is caught
	var rep scenarios.Report
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	if err != nil {
		t.Errorf("mutant %s: no report (%v); output:\n%s", m.Name, err, tail(string(log), 20))
		return false, "(no report)"
	}
	var by []string
	caught := false
	for _, r := range rep.Results {
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
	return caught, strings.Join(by, " ")
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
