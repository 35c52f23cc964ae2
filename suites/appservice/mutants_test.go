package appservice_test

import (
	"os"
	"testing"

	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/appservice"
	"github.com/asconform/asconform/suites/mutants"
)

// TestReferenceRun runs the AS suite against the reference AS (fakeas as a
// compliant bridge): every spec must pass there.
func TestReferenceRun(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_AS_FLAVOR") == appservice.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	rep, log, err := suites.SubRun(t.TempDir(), "TestAppService", []string{"ASCONFORM_AS_FLAVOR=" + appservice.ReferenceFlavor, "ASCONFORM_MUTANT="}, "")
	if err != nil {
		t.Fatalf("reference run: %v\n%s", err, log)
	}
	suites.CheckReference(t, rep, "application-service suite against fakeas")
}

// shownByRealSUT names specs no AS mutant can break, with the run of a real
// application service that showed them able to fail.
var shownByRealSUT = map[string]string{}

// TestMutantsAreKilled plants each AS mutant in the reference AS and runs
// the specs meant to catch it; a surviving mutant fails the test.
func TestMutantsAreKilled(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_AS_FLAVOR") == appservice.ReferenceFlavor {
		t.Skip("a sub-run itself")
	}
	specs, err := suites.ListSpecs("TestAppService")
	if err != nil {
		t.Fatal(err)
	}
	var ms []suites.Mutation
	for _, m := range mutants.ASMutants() {
		ms = append(ms, suites.Mutation{Name: m.Name, Bug: m.Bug, Killers: m.Killers, Because: m.Because})
	}
	suites.CheckKillers(t, ms, specs)
	killed := suites.KillAll(t, "appservice", "appservice", ms, specs, shownByRealSUT, 3, func(m suites.Mutation, out string) (reports.Report, string, error) {
		return suites.SubRun(out, "TestAppService", []string{"ASCONFORM_AS_FLAVOR=" + appservice.ReferenceFlavor, "ASCONFORM_MUTANT=" + m.Name}, suites.AnyOf(m.Killers))
	})
	suites.CheckKilled(t, specs, shownByRealSUT, killed, appservice.ReferenceFlavor, true)
}
