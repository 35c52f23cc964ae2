package homeserver_test

import (
	"sync"
	"testing"

	// Named so that the ginkgo CLI treats this as a Ginkgo suite (ginkgo -p).
	_ "github.com/onsi/ginkgo/v2"

	_ "github.com/asconform/asconform/suites/homeserver"

	"github.com/asconform/asconform/suites"
)

// TestHomeserver runs the homeserver suite against the configured SUT
// (by default Synapse in a container built offline from ci/images/synapse).
// It and TestChildRuns are parallel tests: most of their time is spent
// waiting on homeservers, so they overlap instead of queueing.
func TestHomeserver(t *testing.T) {
	t.Parallel()
	suites.Run(t, "asconform homeserver suite")
}

// TestChildRuns runs the suite in child processes, all at once: against
// the reference (ReferenceRun), against mutants (MutantsAreKilled) and
// against Dendrite (DendriteRun). They wait on child processes and
// containers, not on the CPU, so they are subtests started together
// rather than parallel tests, of which go test runs one per core (two on a
// CI machine, which queued the Dendrite run behind the suite's); Ginkgo
// refuses go test's -parallel.
func TestChildRuns(t *testing.T) {
	t.Parallel()
	runs := []struct {
		name string
		run  func(*testing.T)
	}{{"ReferenceRun", referenceRun}, {"MutantsAreKilled", mutantsAreKilled}, {"DendriteRun", dendriteRun}}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(r.name, r.run)
		}()
	}
	wg.Wait()
}
