package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/scenarios"
)

// TestParallelRunSharesOneSUT runs part of the homeserver suite against
// Synapse in three processes (asconform run --procs 3, which runs the
// ginkgo CLI): the outcome must match the expectations, and specs of
// several processes must have run, each with its own fake ASes, against
// the one homeserver process 1 started.
func TestParallelRunSharesOneSUT(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs Synapse in Docker")
	}
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		t.Skip("Docker is not reachable")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".", "run", "--procs", "3", "--focus", "HS-NS,HS-ID,HS-TS,HS-LOGIN", "--out", out, "-v=false")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASCONFORM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("asconform run --procs 3: %v\n%s", err, tailLines(string(log), 40))
	}
	rep, err := readResultsFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	numbers := map[int]bool{}
	ascN := regexp.MustCompile(`asc(\d+)_`)
	for _, res := range rep.Results {
		if res.Verdict == scenarios.Skipped {
			continue
		}
		ran++
		if len(res.Transcript) == 0 {
			t.Errorf("%s: no transcript came back from its process", res.Spec)
		}
		for _, ex := range res.Transcript {
			for _, m := range ascN.FindAllStringSubmatch(ex.Path+string(ex.Body), -1) {
				n, _ := strconv.Atoi(m[1])
				numbers[n] = true
			}
		}
	}
	if ran < 10 {
		t.Errorf("%d specs ran; want the dozen or so of HS-NS, HS-ID, HS-TS and HS-LOGIN", ran)
	}
	// Process p's fake ASes are numbered 7(p-1)+1 to 7p.
	procs := map[int]bool{}
	for n := range numbers {
		procs[(n-1)/7+1] = true
	}
	if len(procs) < 2 {
		t.Errorf("the specs used the fake ASes of processes %v; want at least two processes", procs)
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func TestProcsOnlyForTheHomeserverSide(t *testing.T) {
	t.Setenv("ASCONFORM_OUT", t.TempDir())
	var stdout, stderr strings.Builder
	code := run([]string{"run", "--side", "appservice", "--procs", "2"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--side homeserver only") {
		t.Errorf("run --side appservice --procs 2 = %d, stderr %q; want 2 and why", code, stderr.String())
	}
}
