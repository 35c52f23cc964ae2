package homeserver_test

import (
	"os"
	"testing"

	"github.com/asconform/asconform/mutants"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/homeserver"
)

// TestMutantsAreKilled runs the specs of the requirements each mutant breaks
// (the SUT broken on purpose from outside), against the reference (fakehs,
// no Docker, fast backoff) and against the configured real SUT, and fails if
// a mutant survives.
func TestMutantsAreKilled(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_URL") != "" {
		t.Skip("a mutation run itself, or external mode")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	var ms []suites.Mutation
	for _, m := range mutants.All() {
		ms = append(ms, suites.Mutation{Name: m.Name, Bug: m.Bug, Killers: m.Killers})
	}
	flavors := []string{homeserver.ReferenceFlavor}
	if f := os.Getenv("ASCONFORM_HS_FLAVOR"); f != homeserver.ReferenceFlavor {
		flavors = append(flavors, map[bool]string{true: "synapse", false: f}[f == ""])
	}
	for _, flavor := range flavors {
		label := "homeserver"
		if flavor != homeserver.ReferenceFlavor {
			label = "homeserver on " + flavor
		}
		// The slow specs (the SUT's own 60 s timeouts) run against the
		// reference only: there they take seconds.
		filter := func(m suites.Mutation) string {
			if flavor == homeserver.ReferenceFlavor {
				return suites.AnyOf(m.Killers)
			}
			return suites.AnyOf(m.Killers) + " && !slow"
		}
		t.Run(flavor, func(t *testing.T) {
			suites.KillAll(t, "homeserver", label, ms, func(m suites.Mutation, out string) (scenarios.Report, string, error) {
				return suites.SubRun(out, "TestHomeserver", []string{"ASCONFORM_HS_FLAVOR=" + flavor, "ASCONFORM_MUTANT=" + m.Name}, filter(m))
			})
		})
	}
}

// TestReferenceRun runs the whole suite against the reference homeserver:
// every spec must pass there, which shows each spec able to pass.
func TestReferenceRun(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_FLAVOR") == homeserver.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	rep, log, err := suites.SubRun(t.TempDir(), "TestHomeserver", []string{"ASCONFORM_HS_FLAVOR=" + homeserver.ReferenceFlavor, "ASCONFORM_MUTANT="}, "")
	if err != nil {
		t.Fatalf("reference run: %v\n%s", err, log)
	}
	suites.CheckReference(t, rep, "homeserver suite against fakehs")
}
