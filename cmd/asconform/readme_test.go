package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/reports"
)

// readmeCommands are the shell commands of README.md's sh code blocks, in
// order, so that the tests below run what the README tells a user to.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```sh":
			inBlock = true
		case strings.HasPrefix(line, "```"):
			inBlock = false
		case inBlock && line != "" && !strings.HasPrefix(line, "#"):
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// readmeCommand is the first command of README.md that contains all of want.
func readmeCommand(t *testing.T, want ...string) string {
	t.Helper()
	for _, c := range readmeCommands(t) {
		matches := true
		for _, w := range want {
			matches = matches && strings.Contains(c, w)
		}
		if matches {
			return c
		}
	}
	t.Fatalf("README.md has no command containing %q", want)
	return ""
}

// TestReadmeMainCommands runs the README's main command, and its command
// for the application-service side, exactly as written, in a fresh copy
// of the working tree with no ASCONFORM_ variable set, as a new user would:
// each must end with a verdict, leave the four report forms in that copy's
// ./report, and fit one screen (the table and at most 12 more lines).
func TestReadmeMainCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the SUTs in Docker")
	}
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		t.Skip("Docker is not reachable")
	}
	main := readmeCommands(t)[0]
	if !strings.HasPrefix(main, "go run ./cmd/asconform run") {
		t.Fatalf("README.md's first command is %q; want the main job, go run ./cmd/asconform run ...", main)
	}
	for _, c := range []struct{ name, command string }{
		{"homeserver", main},
		{"appservice", readmeCommand(t, "go run ./cmd/asconform run", "--side appservice")},
	} {
		t.Run(c.name, func(t *testing.T) {
			clone := copyWorkingTree(t)
			output := runInClone(t, clone, c.command)
			rep := checkReadmeRun(t, clone, c.command, output)
			if c.name == "homeserver" && strings.Contains(c.command, "--procs") {
				checkProcessesShared(t, rep)
			}
		})
	}
}

// copyWorkingTree copies the files git knows of (tracked, or untracked and
// not ignored) as they are in the working tree, so that uncommitted work is
// tested too; no report or build output comes along.
func copyWorkingTree(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	list := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout?)", err)
	}
	clone := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the working tree, or not a plain file
		}
		dst := filepath.Join(clone, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyFile(src, dst, info.Mode()); err != nil {
			t.Fatal(err)
		}
	}
	return clone
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runInClone runs command with sh in dir, with no ASCONFORM_ variable from
// the test's environment, and returns its combined output.
func runInClone(t *testing.T, dir, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASCONFORM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", command, err)
	}
	t.Logf("%s: %s, %d lines, exit %d", command, time.Since(start).Round(time.Second), strings.Count(string(out), "\n"), cmd.ProcessState.ExitCode())
	return string(out)
}

// checkReadmeRun checks what the user sees and finds after the command.
func checkReadmeRun(t *testing.T, clone, command, output string) reports.Report {
	t.Helper()
	lines := strings.Split(strings.TrimRight(output, "\n"), "\n")
	// go run turns the program's exit 1 and 2 alike into 1: the last line
	// says which verdict it was.
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "OK: ") && !strings.HasPrefix(last, "FAIL: ") {
		t.Fatalf("%s ended without a verdict (want OK: or FAIL:, not an error); its output:\n%s", command, output)
	}
	for _, name := range []string{"results.json", "summary.md", "junit.xml", "report.html", "run.log"} {
		if _, err := os.Stat(filepath.Join(clone, "report", name)); err != nil {
			t.Errorf("after %s, ./report/%s: %v", command, name, err)
		}
	}
	rep, err := readResultsFile(filepath.Join(clone, "report", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bound := len(rep.Results) + 12; len(lines) > bound {
		t.Errorf("%s printed %d lines for %d specs; want at most %d (the table and 12 more):\n%s", command, len(lines), len(rep.Results), bound, output)
	}
	for _, noise := range []string{"Ginkgo", "Testcontainers", "[FAILED]", "FAIL!"} {
		if strings.Contains(output, noise) {
			t.Errorf("%s printed %q: Ginkgo's and testcontainers' own output belongs in report/run.log", command, noise)
		}
	}
	if strings.HasPrefix(last, "FAIL: ") {
		t.Logf("%s: the outcome does not match the expectations:\n%s", command, output)
	}
	return rep
}

// checkProcessesShared checks that specs of several processes ran, each
// with its own fake ASes (process p's are numbered 7(p-1)+1 to 7p),
// against the one homeserver process 1 started.
func checkProcessesShared(t *testing.T, rep reports.Report) {
	t.Helper()
	procs := map[int]bool{}
	ascN := regexp.MustCompile(`asc(\d+)_`)
	for _, res := range rep.Results {
		if res.Verdict == reports.Skipped {
			continue
		}
		// A spec whose SUT refused to start exchanged nothing over HTTP; its
		// observations (what the SUT said) must still come back.
		if len(res.Transcript) == 0 && len(res.Observations) == 0 {
			t.Errorf("%s: neither a transcript nor an observation came back from its process", res.Spec)
		}
		for _, ex := range res.Transcript {
			for _, m := range ascN.FindAllStringSubmatch(ex.Path+string(ex.Body), -1) {
				n, _ := strconv.Atoi(m[1])
				procs[(n-1)/7+1] = true
			}
		}
	}
	if len(procs) < 2 {
		t.Errorf("the specs used the fake ASes of processes %v; want at least two processes", procs)
	}
}

// TestCIRunsReadmeTestCommand keeps .ci/run running the README's test command.
func TestCIRunsReadmeTestCommand(t *testing.T) {
	test := readmeCommand(t, "go test")
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\n"+test+"\n") {
		t.Errorf(".ci/run does not run the README's test command %q", test)
	}
}
