package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestListPrintsOnItsStandardOutput runs the built command as a user does:
// the dry run behind list silences fd 1 for Ginkgo's own line, and the
// table must still reach the real standard output afterwards.
func TestListPrintsOnItsStandardOutput(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "asconform")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"list"}, {"list", "specs"}} {
		cmd := exec.Command(bin, args...)
		// Frequent collection: a finalizer once closed the descriptor the
		// table needed, when a collection fell inside the dry run.
		cmd.Env = append(os.Environ(), "GOGC=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("asconform %s: %v", strings.Join(args, " "), err)
		}
		lines := strings.Count(string(out), "\n")
		if lines < 50 {
			t.Errorf("asconform %s printed %d lines, want the table:\n%s", strings.Join(args, " "), lines, out)
		}
		if args[len(args)-1] == "list" && !strings.Contains(string(out), "coverage: ") {
			t.Errorf("asconform list: no coverage line:\n%s", out)
		}
		if strings.Contains(string(out), "Will run") || strings.Contains(string(out), "Ran ") {
			t.Errorf("asconform %s shows Ginkgo's own output:\n%s", strings.Join(args, " "), out)
		}
	}
}
