package homeserver_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/homeserver"
)

// TestSharedHomeserverChildRuns runs two child runs at once on one
// reference homeserver they share, each pinging its own fake AS after
// taking it down (HS-PING-05): the spec passes only if the child's socket
// is its alone, so that closing it refuses connections (a copy kept by the
// parent or by a process the child started kept it listening, and the
// ping timed out).
func TestSharedHomeserverChildRuns(t *testing.T) {
	if os.Getenv("ASCONFORM_MUTANT") != "" || os.Getenv("ASCONFORM_HS_FLAVOR") != "" || os.Getenv("ASCONFORM_SHARED_HS") != "" {
		t.Skip("a child run itself, or another homeserver chosen")
	}
	cfg, err := suites.Settings()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Flavor = homeserver.ReferenceFlavor
	children := []string{"first", "second"}
	shared, err := homeserver.StartShared(t.Context(), cfg, t.TempDir(), children)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shared.Stop(context.Background()) }()
	var wg sync.WaitGroup
	for _, name := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env, sockets := shared.Child(name)
			rep, log, err := suites.SubRun(t.TempDir(), "TestHomeserver", append(env, "ASCONFORM_HS_FLAVOR="+homeserver.ReferenceFlavor, "ASCONFORM_MUTANT="), "HS-PING-05", sockets...)
			if err != nil {
				t.Errorf("%s: %v\n%s", name, err, log)
				return
			}
			if c := rep.Counts(); c[reports.Pass] != 1 || len(rep.Unexpected()) > 0 {
				t.Errorf("%s: want HS-PING-05 to pass on the shared homeserver, got %v\n%s", name, c, log)
			}
		}()
	}
	wg.Wait()
}
