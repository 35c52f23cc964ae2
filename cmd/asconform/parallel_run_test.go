package main

import (
	"strings"
	"testing"
)

// (TestReadmeMainCommands runs the README's --procs 4 command and checks
// that several processes shared one homeserver.)

func TestProcsOnlyForTheHomeserverSide(t *testing.T) {
	t.Setenv("ASCONFORM_OUT", t.TempDir())
	var stdout, stderr strings.Builder
	code := run([]string{"run", "--side", "appservice", "--procs", "2"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--side homeserver only") {
		t.Errorf("run --side appservice --procs 2 = %d, stderr %q; want 2 and why", code, stderr.String())
	}
}
