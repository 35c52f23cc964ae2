package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/asconform/asconform/reports"
)

// writeResults writes a results.json into dir/name and returns its path.
func writeResults(t *testing.T, dir, name string, r reports.Report) string {
	t.Helper()
	p, err := r.WriteJSON(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func twoRuns(t *testing.T) (string, string) {
	dir := t.TempDir()
	a := writeResults(t, dir, "synapse-1.0", reports.Report{Schema: 1, SUT: reports.SUT{Flavor: "synapse"}, Results: []reports.Result{
		{Side: "homeserver", Spec: "same", Requirements: []string{"HS-TXN-01"}, Verdict: reports.Pass},
		{Side: "homeserver", Spec: "regressed", Requirements: []string{"HS-ID-01"}, Verdict: reports.Pass},
	}})
	b := writeResults(t, dir, "synapse-1.1", reports.Report{Schema: 1, SUT: reports.SUT{Flavor: "synapse"}, Results: []reports.Result{
		{Side: "homeserver", Spec: "same", Requirements: []string{"HS-TXN-01"}, Verdict: reports.Pass},
		{Side: "homeserver", Spec: "regressed", Requirements: []string{"HS-ID-01"}, Verdict: reports.Fail},
	}})
	return a, b
}

func TestCompareCommand(t *testing.T) {
	a, b := twoRuns(t)
	var out bytes.Buffer
	if err := compare([]string{a, b}, &out); err != nil {
		t.Fatalf("compare: %v", err)
	}
	got := out.String()
	for _, want := range []string{
		"| | spec | requirements | synapse-1.0 | synapse-1.1 |",
		"| ≠ | regressed | HS-ID-01 | pass | fail |",
		"|  | same | HS-TXN-01 | pass | pass |",
		"1 of 2 specs differ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "regressed") > strings.Index(got, "| same") {
		t.Error("rows that differ must come first")
	}
	if strings.Contains(got, "HTML:") {
		t.Error("wrote HTML without --out")
	}
}

func TestCompareCommandWritesHTML(t *testing.T) {
	a, b := twoRuns(t)
	for _, args := range [][]string{
		{"--out", "DIR", a, b},
		{a, b, "--out", "DIR"}, // flags after the files
		{a, "-out=DIR", b},
	} {
		dir := filepath.Join(t.TempDir(), "cmp")
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "DIR", dir)
		}
		var out bytes.Buffer
		if err := compare(args, &out); err != nil {
			t.Fatalf("compare %q: %v", args, err)
		}
		p := filepath.Join(dir, "compare.html")
		if !strings.HasSuffix(out.String(), "\nHTML: "+p+"\n") {
			t.Errorf("compare %q does not say where the HTML went:\n%s", args, out.String())
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, []byte(`<span class="badge v-fail">fail</span>`)) {
			t.Errorf("compare %q: compare.html: %v\n%.300s", args, err, data)
		}
	}
}

func TestCompareCommandErrors(t *testing.T) {
	a, b := twoRuns(t)
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "notes.json")
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(notJSON, []byte("hello"), 0o644)
	os.WriteFile(newer, []byte(`{"schema": 2, "results": []}`), 0o644)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no files", nil, []string{"at least two result files", "usage: asconform compare"}},
		{"one file", []string{a}, []string{"at least two result files"}},
		{"missing file", []string{a, filepath.Join(dir, "nope.json")}, []string{"nope.json"}},
		{"not a results file", []string{a, notJSON}, []string{notJSON, "not an asconform results file"}},
		{"other schema", []string{a, newer}, []string{newer, "schema 2", "reads schema 1"}},
		{"unknown flag", []string{"--outt", "x", a, b}, []string{"outt", "usage: asconform compare"}},
		{"flag without value", []string{a, b, "--out"}, []string{"needs an argument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := compare(tt.args, &out)
			if err == nil {
				t.Fatalf("accepted %q:\n%s", tt.args, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
			if out.Len() != 0 {
				t.Errorf("printed a table despite the error:\n%s", out.String())
			}
		})
	}
}

func TestCompareCommandHelp(t *testing.T) {
	var out bytes.Buffer
	if err := compare([]string{"-h"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "usage: asconform compare") {
		t.Errorf("help: %q", out.String())
	}
}

func TestCompareRunNames(t *testing.T) {
	files := []string{"x/results.json", "y/results.json/", "z.json", "p/q/results.json", "r/q/results.json", "results.json", "plain"}
	want := []string{"x", "y", "z", "p/q/results.json", "r/q/results.json", "results.json", "plain"}
	if got := compareRunNames(files); !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
}
