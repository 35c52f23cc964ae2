package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/reports"
)

// TestCIRecipe runs ci/asconform-ci.sh, the CI entry point for implementers,
// for real against Synapse, from a directory outside the checkout as an
// implementer's CI would, so that the recipe cannot rot.
func TestCIRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the CI recipe runs Synapse in Docker")
	}
	for _, tool := range []string{"bash", "go", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		t.Skip("Docker is not reachable")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "ci", "asconform-ci.sh"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("outcome matches", func(t *testing.T) {
		r := runCIRecipe(t, script, "ASCONFORM_FOCUS=HS-NS")
		r.wantExit(t, 0)
		rep := r.checkReports(t)
		passed := 0
		for _, res := range rep.Results {
			if res.Verdict == reports.Pass && len(res.Requirements) > 0 && strings.HasPrefix(res.Requirements[0], "HS-NS-") {
				passed++
			}
		}
		if passed == 0 || len(rep.Unexpected()) != 0 {
			t.Errorf("results.json: %d HS-NS specs passed, %d unexpected results; want some passes and none unexpected", passed, len(rep.Unexpected()))
		}
	})

	t.Run("unexpected pass", func(t *testing.T) {
		baseline := filepath.Join(t.TempDir(), "expectations.yaml")
		ciWriteFile(t, baseline, `flavor: synapse
expected_failures:
  - requirement: HS-NS-02
    reason: baselined on purpose by TestCIRecipe, although Synapse passes it
`)
		r := runCIRecipe(t, script, "ASCONFORM_FOCUS=HS-NS-02", "ASCONFORM_EXPECTATIONS="+baseline)
		r.wantExit(t, 1)
		rep := r.checkReports(t)
		if u := rep.Unexpected(); len(u) != 1 || u[0].Verdict != reports.UnexpectedPass {
			t.Errorf("results.json: unexpected results %+v; want one unexpected-pass of HS-NS-02", u)
		}
		if junit := ciReadFile(t, filepath.Join(r.out, "junit.xml")); !strings.Contains(junit, "<failure") {
			t.Errorf("junit.xml has no <failure> for the unexpected pass:\n%s", junit)
		}
	})

	t.Run("Docker unreachable", func(t *testing.T) {
		r := runCIRecipe(t, script, "DOCKER_HOST=unix:///nonexistent/docker.sock")
		r.wantExit(t, 2)
		r.wantCouldNotRun(t, "Docker is not reachable")
	})

	t.Run("Go missing", func(t *testing.T) {
		// PATH without the directories that hold go; the script's other
		// tools must still be there.
		var dirs []string
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if _, err := os.Stat(filepath.Join(dir, "go")); err != nil {
				dirs = append(dirs, dir)
			}
		}
		path := strings.Join(dirs, string(os.PathListSeparator))
		for _, tool := range []string{"bash", "dirname", "mkdir", "sed", "docker"} {
			if !ciOnPath(tool, dirs) {
				t.Skipf("%s shares a directory with go: cannot hide go alone", tool)
			}
		}
		r := runCIRecipe(t, script, "PATH="+path)
		r.wantExit(t, 2)
		r.wantCouldNotRun(t, "Go is not installed")
	})
}

// ciRun is the outcome of one run of the recipe.
type ciRun struct {
	code   int
	log    string // stdout and stderr
	out    string // ASCONFORM_OUT
	step   string // GITHUB_STEP_SUMMARY
	ascPID string // the asconform process, as the script reports it
}

// runCIRecipe runs the script from an empty directory standing for an
// implementer's checkout, with a clean ASCONFORM_* environment plus env.
func runCIRecipe(t *testing.T, script string, env ...string) ciRun {
	t.Helper()
	dir := t.TempDir()
	r := ciRun{out: filepath.Join(dir, "asconform-report"), step: filepath.Join(dir, "step-summary.md")}
	ciWriteFile(t, r.step, "")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = dir
	// Interrupt, as a CI cancellation does: the script forwards it to
	// asconform and cleans up.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "ASCONFORM_") && k != "ASCONFORM_CACHE" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	// This machine may run other asconform runs at the same time (go test
	// ./... runs the suites in parallel): remove only this run's containers,
	// not everything `asconform clean` would.
	cmd.Env = append(cmd.Env, "ASCONFORM_OUT="+r.out, "GITHUB_STEP_SUMMARY="+r.step, "ASCONFORM_CLEAN=run")
	cmd.Env = append(cmd.Env, env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	err := cmd.Run()
	r.log = log.String()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run %s: %v\n%s", script, err, r.log)
	}
	if m := regexp.MustCompile(`asconform is process (\d+)`).FindStringSubmatch(r.log); m != nil {
		r.ascPID = m[1]
	}
	t.Logf("asconform-ci.sh exited %d after %s", r.code, time.Since(start).Round(time.Millisecond))
	return r
}

func (r ciRun) wantExit(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("asconform-ci.sh exited %d, want %d; its output:\n%s", r.code, code, r.log)
	}
}

// checkReports checks what a run that got to run asconform leaves behind:
// the four reports, the step summary, and no container or network of its
// own; it returns results.json.
func (r ciRun) checkReports(t *testing.T) reports.Report {
	t.Helper()
	for _, name := range []string{"results.json", "junit.xml", "report.html", "summary.md"} {
		if st, err := os.Stat(filepath.Join(r.out, name)); err != nil || st.Size() == 0 {
			t.Errorf("report %s missing or empty in ASCONFORM_OUT (%v)", name, err)
		}
	}
	summary := ciReadFile(t, filepath.Join(r.out, "summary.md"))
	if step := ciReadFile(t, r.step); summary == "" || !strings.Contains(step, summary) {
		t.Errorf("GITHUB_STEP_SUMMARY did not receive summary.md; it holds:\n%s", step)
	}
	if r.ascPID == "" {
		t.Errorf("the script did not say which process asconform was; its output:\n%s", r.log)
	} else {
		for _, kind := range [][]string{{"ps", "-aq"}, {"network", "ls", "-q"}} {
			args := append(kind, "--filter", "label=org.asconform.managed=true", "--filter", "label=org.asconform.owner-pid="+r.ascPID)
			out, err := exec.Command("docker", args...).Output()
			if err != nil {
				t.Errorf("docker %s: %v", strings.Join(args, " "), err)
			} else if left := strings.TrimSpace(string(out)); left != "" {
				t.Errorf("the run left Docker resources behind (docker %s):\n%s", strings.Join(args, " "), left)
			}
		}
	}
	var rep reports.Report
	if err := json.Unmarshal([]byte(ciReadFile(t, filepath.Join(r.out, "results.json"))), &rep); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	return rep
}

// wantCouldNotRun checks the run stopped before asconform, saying why, in the
// log, in a summary.md of its own and in the step summary.
func (r ciRun) wantCouldNotRun(t *testing.T, why string) {
	t.Helper()
	if !strings.Contains(r.log, why) {
		t.Errorf("output does not say %q:\n%s", why, r.log)
	}
	if summary := ciReadFile(t, filepath.Join(r.out, "summary.md")); !strings.Contains(summary, why) {
		t.Errorf("summary.md does not say %q:\n%s", why, summary)
	}
	if step := ciReadFile(t, r.step); !strings.Contains(step, why) {
		t.Errorf("GITHUB_STEP_SUMMARY does not say %q:\n%s", why, step)
	}
}

func ciOnPath(tool string, dirs []string) bool {
	for _, dir := range dirs {
		if st, err := os.Stat(filepath.Join(dir, tool)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

func ciWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ciReadFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
	}
	return string(data)
}
