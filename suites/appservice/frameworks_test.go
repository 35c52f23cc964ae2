package appservice_test

import (
	"os"
	"strings"
	"testing"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/appservice"
)

// subRunItself says whether this process is a sub-run of another test (or
// was pointed at one AS by the user), which must not start more runs.
func subRunItself() bool {
	return os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_AS_FLAVOR") != "" || os.Getenv("ASCONFORM_AS_CAPABILITIES") != ""
}

// TestMautrixGoSample runs the AS suite against the second framework, the
// sample AS on mautrix-go (TestAppService runs it against the
// mautrix-python sample): its outcome must match expectations/mautrix-go.yaml.
func TestMautrixGoSample(t *testing.T) {
	if subRunItself() {
		t.Skip("a sub-run itself")
	}
	out := t.TempDir()
	rep, log, err := suites.SubRun(out, "TestAppService", []string{"ASCONFORM_AS_FLAVOR=mautrix-go", "ASCONFORM_MUTANT="}, "")
	if err != nil {
		t.Fatalf("mautrix-go run: %v\n%s", err, log)
	}
	if rep.SUT.Flavor != "mautrix-go" || len(rep.Results) == 0 {
		t.Fatalf("the run was not against mautrix-go (%+v, %d results)\n%s", rep.SUT, len(rep.Results), log)
	}
	for _, r := range rep.Unexpected() {
		t.Errorf("%s: %s %s", r.Spec, r.Verdict, r.Message)
	}
	for _, r := range rep.Results {
		// A spec needing a capability the flavor does not declare, or a
		// behaviour the AS did not show (skipUnseen), is skipped by design
		// (the third-party ones: the sample bridges no protocol; AS-DIR-01,
		// AS-PING-02: it lists no rooms and does not ping at start-up); any
		// other skip or error is not.
		if r.Verdict == reports.Skipped && strings.HasPrefix(r.Message, "needs an AS that ") {
			continue
		}
		if r.Verdict == reports.Skipped || r.Verdict == reports.Error {
			t.Errorf("%s: %s %s", r.Spec, r.Verdict, r.Message)
		}
	}
	t.Logf("mautrix-go: %v", rep.Counts())
}

// TestUndeclaredCapabilitiesSkip runs the AS suite against the reference AS
// declaring no capability: exactly the specs labelled needs:<capability>
// are skipped, each saying what it needs, and every other spec still gives
// its verdict (all pass against the reference).
func TestUndeclaredCapabilitiesSkip(t *testing.T) {
	if subRunItself() {
		t.Skip("a sub-run itself")
	}
	specs, err := suites.ListSpecs("TestAppService")
	if err != nil {
		t.Fatal(err)
	}
	needs := map[string][]string{}
	for _, s := range specs {
		if n := harness.NeededBy(s.Labels); len(n) > 0 {
			needs[s.Spec] = n
		}
	}
	if len(needs) == 0 || len(needs) == len(specs) {
		t.Fatalf("%d of %d specs need a capability: the test shows nothing", len(needs), len(specs))
	}
	rep, log, err := suites.SubRun(t.TempDir(), "TestAppService", []string{"ASCONFORM_AS_FLAVOR=" + appservice.ReferenceFlavor, "ASCONFORM_AS_CAPABILITIES=none", "ASCONFORM_MUTANT="}, "")
	if err != nil {
		t.Fatalf("run without capabilities: %v\n%s", err, log)
	}
	if len(rep.Results) != len(specs) {
		t.Errorf("%d results for %d specs", len(rep.Results), len(specs))
	}
	skipped := 0
	for _, r := range rep.Results {
		n, needy := needs[r.Spec]
		switch {
		case needy && r.Verdict != reports.Skipped:
			t.Errorf("%s needs %v but was %s", r.Spec, n, r.Verdict)
		case needy && !strings.Contains(r.Message, n[0]) || needy && !strings.Contains(r.Message, "ASCONFORM_AS_CAPABILITIES"):
			t.Errorf("%s: the skip does not say what it needs: %q", r.Spec, r.Message)
		case needy:
			skipped++
		case r.Verdict != reports.Pass:
			t.Errorf("%s needs no capability but was %s %s", r.Spec, r.Verdict, r.Message)
		}
	}
	t.Logf("no capabilities declared: %d of %d specs skipped, the rest passed", skipped, len(rep.Results))
}
