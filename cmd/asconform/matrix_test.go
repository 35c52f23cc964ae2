package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asconform/asconform/reports"
)

func TestMatrixCommand(t *testing.T) {
	a, b := twoRuns(t)
	out := filepath.Join(t.TempDir(), "m")
	var stdout bytes.Buffer
	// A directory, and a named file.
	if err := matrixCmd([]string{"--out", out, filepath.Dir(a), "newer=" + b}, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "2 requirement(s) across 2 run(s)") {
		t.Errorf("output: %s", stdout.String())
	}
	for _, f := range []string{"index.html", "matrix.md", "synapse/report.html", "synapse/results.json", "newer/report.html", "newer/summary.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("not written: %v", err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "matrix.md"))
	if !strings.Contains(string(md), "| HS-ID-01 | MUST | v1.0 | [pass](synapse/report.html#s-") || !strings.Contains(string(md), "[fail](newer/report.html#s-") {
		t.Errorf("matrix.md:\n%s", md)
	}

	for _, bad := range [][]string{
		{},
		{"--out", out, filepath.Join(t.TempDir(), "nothing-here")},
		{"--out", out, t.TempDir()},
		{"--bogus", a},
	} {
		if err := matrixCmd(bad, &stdout); err == nil || strings.Count(err.Error(), "\n") > 12 {
			t.Errorf("matrix %q: %v; want one clear error", bad, err)
		}
	}
}

func TestExpectationsUpdateCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "synapse.yaml")
	header := "# Known deviations of Synapse.\n"
	if err := os.WriteFile(file, []byte(header+"flavor: synapse\nexpected_failures:\n  - spec: \"fixed\"\n    reason: was broken\n  - spec: \"still\"\n    reason: still broken, with a reason to keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, v map[string]reports.Verdict) string {
		r := reports.Report{Schema: 1, SUT: reports.SUT{Side: "homeserver", Flavor: "synapse"}}
		for spec, verdict := range v {
			r.Results = append(r.Results, reports.Result{Side: "homeserver", Spec: spec, Requirements: []string{"HS-TXN-01"}, Verdict: verdict, Message: "Expected 200\ngot 500"})
		}
		return writeResults(t, dir, name, r)
	}
	r1 := run("r1", map[string]reports.Verdict{"new": reports.Fail, "flaky": reports.Pass})
	r2 := run("r2", map[string]reports.Verdict{"new": reports.Fail, "flaky": reports.Fail, "fixed": reports.UnexpectedPass, "still": reports.ExpectedFailure})
	var stdout bytes.Buffer
	err := expectations([]string{"update", "--file", file, "--runs", "2", r1, r2}, strings.NewReader("Synapse answers 500 here.\n"), &stdout)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	got, _ := os.ReadFile(file)
	e, err := reports.LoadExpectations(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	var specs []string
	for _, k := range e.ExpectedFailures {
		specs = append(specs, k.Spec+": "+k.Reason)
	}
	want := "still: still broken, with a reason to keep|new: Synapse answers 500 here."
	if strings.Join(specs, "|") != want || !strings.HasPrefix(string(got), header) {
		t.Errorf("rewritten file:\n%s\nwant entries %s", got, want)
	}
	for _, line := range []string{`drop  "fixed"`, `refuse "flaky": failed in 1 of the last 2`, `new   "new"`, "1 kept, 1 dropped, 1 new proposed, 1 refused"} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, stdout.String())
		}
	}

	other := writeResults(t, dir, "mautrix", reports.Report{Schema: 1, SUT: reports.SUT{Flavor: "mautrix-sample"}})
	for _, bad := range [][]string{{}, {"update"}, {"update", "--file", file}, {"update", "--file", file, other}, {"update", "--file", filepath.Join(dir, "none.yaml"), r1}} {
		if err := expectations(bad, strings.NewReader(""), &stdout); err == nil {
			t.Errorf("expectations %q: no error", bad)
		}
	}
}
