package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/asconform/asconform/reports"
)

const compareUsage = `usage: asconform compare [--out DIR] results.json results.json ...

Prints the verdicts of several runs side by side as a Markdown table, the
specs where they differ first; with --out, also writes DIR/compare.html.
`

// compare reads result files of earlier runs and lines them up spec by spec.
func compare(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write compare.html to")
	files, help, err := parseArgs(fs, args, compareUsage, stdout)
	if help || err != nil {
		return err
	}
	if len(files) < 2 {
		return fmt.Errorf("compare: name at least two result files (results.json of earlier runs)\n%s", compareUsage)
	}
	runs := make([]reports.Report, len(files))
	for i, f := range files {
		r, err := readResultsFile(f)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		runs[i] = r
	}
	table := reports.Compare(runs, compareRunNames(files))
	table.Markdown(stdout)
	if *out != "" {
		p, err := table.WriteHTML(*out)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		fmt.Fprintf(stdout, "\nHTML: %s\n", p)
	}
	return nil
}

// resultsSchema is the results.json schema this build reads.
const resultsSchema = 1

func readResultsFile(path string) (reports.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return reports.Report{}, err
	}
	var r reports.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return reports.Report{}, fmt.Errorf("%s is not an asconform results file: %w", path, err)
	}
	if r.Schema != resultsSchema {
		return reports.Report{}, fmt.Errorf("%s has results schema %d; this asconform reads schema %d", path, r.Schema, resultsSchema)
	}
	return r, nil
}

// compareRunNames labels each run by its file: the directory for the usual
// DIR/results.json, else the file name. Clashing labels fall back to the
// path as given.
func compareRunNames(files []string) []string {
	names := make([]string, len(files))
	count := map[string]int{}
	for i, f := range files {
		base := filepath.Base(f)
		if base == "results.json" {
			if dir := filepath.Base(filepath.Dir(filepath.Clean(f))); dir != "." && dir != string(filepath.Separator) {
				base = dir
			}
		} else {
			base = strings.TrimSuffix(base, ".json")
		}
		names[i] = base
		count[base]++
	}
	for i, f := range files {
		if count[names[i]] > 1 {
			names[i] = f
		}
	}
	return names
}
