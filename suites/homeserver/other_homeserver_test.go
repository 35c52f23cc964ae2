package homeserver_test

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/suites"
)

// dendriteRun runs the homeserver suite against Dendrite (built offline
// by ci/images/dendrite when missing) in a child process, as a second
// implementation beside the default one, and fails on any result that does
// not match expectations/dendrite.yaml. Its reports go beside the default
// run's, in <out>-dendrite. The slow specs (100 s of waiting for queries
// Dendrite never sends) are left out to keep CI within its time, as the
// mutation runs on real SUTs do; ASCONFORM_DENDRITE=full runs them too,
// ASCONFORM_DENDRITE=off skips the test.
func dendriteRun(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_FLAVOR") != "" || os.Getenv("ASCONFORM_HS_URL") != "" {
		t.Skip("a sub-run itself, or another homeserver chosen")
	}
	if os.Getenv("ASCONFORM_DENDRITE") == "off" {
		t.Skip("ASCONFORM_DENDRITE=off")
	}
	if testing.Short() {
		t.Skip("-short: runs Dendrite in Docker")
	}
	c, err := suites.Settings()
	if err != nil {
		t.Fatal(err)
	}
	out := c.OutFor("homeserver") + "-dendrite"
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// The image is built here, not in the child, whose -test.timeout is
	// 10 minutes: a cold build takes about 4 of them on two busy cores.
	flavor, err := harness.LookupFlavor("dendrite")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	image, err := harness.ResolveImage(t.Context(), flavor, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Dendrite image %s ready in %s", image, time.Since(start).Round(100*time.Millisecond))
	start = time.Now()
	filter := "!slow"
	if os.Getenv("ASCONFORM_DENDRITE") == "full" {
		filter = ""
	}
	rep, log, err := suites.SubRun(out, "TestHomeserver", []string{"ASCONFORM_HS_FLAVOR=dendrite", "ASCONFORM_MUTANT="}, filter)
	if err != nil {
		t.Fatalf("Dendrite run: %v\n%s", err, log)
	}
	counts := rep.Counts()
	t.Logf("Dendrite run in %s: %v; report in %s", time.Since(start).Round(time.Second), counts, out)
	if len(rep.Results) == 0 {
		t.Fatalf("Dendrite run reported no result\n%s", log)
	}
	for _, r := range rep.Unexpected() {
		t.Errorf("Dendrite: %s %s: %s", r.Verdict, r.Spec, r.Message)
	}
}
