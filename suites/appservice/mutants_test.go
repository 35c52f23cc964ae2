package appservice_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/appservice"
)

// TestReferenceRun runs the AS suite against the reference AS (fakeas as a
// compliant bridge): every spec must pass there.
func TestReferenceRun(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_AS_FLAVOR") == appservice.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	rep, log, err := suites.SubRun(t.TempDir(), "TestAppService", []string{"ASCONFORM_AS_FLAVOR=" + appservice.ReferenceFlavor, "ASCONFORM_MUTANT="}, nil)
	if err != nil {
		t.Fatalf("reference run: %v\n%s", err, log)
	}
	passed := 0
	for _, r := range rep.Results {
		if r.Verdict != scenarios.Pass && r.Verdict != scenarios.Informational {
			t.Errorf("%s against the reference: %s %s", r.Spec, r.Verdict, r.Message)
			continue
		}
		passed++
	}
	fmt.Printf("reference run: %d/%d specs passed (application-service suite against fakeas)\n", passed, len(rep.Results))
}

// TestMutantsAreKilled plants each AS mutant in the reference AS and runs
// the specs meant to catch it; a surviving mutant fails the test.
func TestMutantsAreKilled(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_AS_FLAVOR") == appservice.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	all := appservice.ASMutants()
	rows := make([]string, len(all))
	killed := make([]bool, len(all))
	var wg sync.WaitGroup
	for i, m := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, log, err := suites.SubRun(t.TempDir(), "TestAppService",
				[]string{"ASCONFORM_AS_FLAVOR=" + appservice.ReferenceFlavor, "ASCONFORM_MUTANT=" + m.Name}, m.Killers)
			if err != nil {
				t.Errorf("mutant %s: %v\n%s", m.Name, err, log)
				return
			}
			var by []string
			for _, r := range rep.Results {
				if r.Verdict == scenarios.Fail || r.Verdict == scenarios.NonStrict {
					by = append(by, strings.Join(r.Requirements, ","))
					for _, id := range r.Requirements {
						killed[i] = killed[i] || slices.Contains(m.Killers, id)
					}
				}
			}
			rows[i] = strings.Join(by, " ")
		}()
	}
	wg.Wait()
	var matrix strings.Builder
	n := 0
	for i, m := range all {
		verdict := "SURVIVED"
		if killed[i] {
			verdict = "killed"
			n++
		} else {
			t.Errorf("mutant %s (%s) survived: no spec of %v failed", m.Name, m.Bug, m.Killers)
		}
		fmt.Fprintf(&matrix, "  %-28s %-9s by %s\n", m.Name, verdict, rows[i])
	}
	t.Logf("kill matrix (mutant, verdict, failing specs' requirements):\n%s", matrix.String())
	line := fmt.Sprintf("mutants killed: %d/%d (appservice)", n, len(all))
	if p, err := suites.WriteKillMatrix("appservice", "appservice", matrix.String(), line); err != nil {
		t.Errorf("kill matrix: %v", err)
	} else {
		t.Logf("kill matrix written to %s", p)
	}
	fmt.Println(line)
}
