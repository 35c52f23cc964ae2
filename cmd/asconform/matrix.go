package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/asconform/asconform/reports"
)

const matrixUsage = `usage: asconform matrix [--out DIR] [NAME=]RUN ...

Lines several runs up requirement by requirement: one self-contained page
DIR/index.html (sortable and filterable offline) and one Markdown table
DIR/matrix.md. Each RUN is a results.json, or a directory of a run holding
one (or holding homeserver/ and appservice/ with one each). NAME labels the
column (default: the flavor). Each run's own report is written beside, as
DIR/NAME/report.html, summary.md and (unless --json=false) results.json, so
every cell links to the spec's transcript and diagram.
`

// matrix builds the cross-implementation matrix from earlier runs.
func matrixCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	out := fs.String("out", "matrix", "directory to write the matrix and the runs' reports to")
	keepJSON := fs.Bool("json", true, "also copy each run's results.json beside its report")
	runs, help, err := parseArgs(fs, args, matrixUsage, stdout)
	if help || err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("matrix: name at least one run (a results.json or its directory)\n%s", matrixUsage)
	}
	var cols []reports.MatrixColumn
	used := map[string]int{}
	for _, arg := range runs {
		name, path := splitRunArg(arg)
		files, err := resultFiles(path)
		if err != nil {
			return fmt.Errorf("matrix: %w", err)
		}
		for _, f := range files {
			r, err := readResultsFile(f)
			if err != nil {
				return fmt.Errorf("matrix: %w", err)
			}
			n := name
			if n == "" || len(files) > 1 {
				n = strings.Trim(n+" "+columnName(r), " ")
			}
			slug := slugOf(n)
			if used[slug]++; used[slug] > 1 {
				slug = fmt.Sprintf("%s-%d", slug, used[slug])
				n = fmt.Sprintf("%s (%d)", n, used[slug])
			}
			cols = append(cols, reports.MatrixColumn{Name: n, Report: r, Link: slug + "/report.html"})
		}
	}
	for _, c := range cols {
		dir := filepath.Join(*out, strings.TrimSuffix(c.Link, "/report.html"))
		writers := []func(string) (string, error){c.Report.WriteHTML, c.Report.WriteMarkdown}
		if *keepJSON {
			writers = append(writers, c.Report.WriteJSON)
		}
		for _, write := range writers {
			if _, err := write(dir); err != nil {
				return fmt.Errorf("matrix: %w", err)
			}
		}
	}
	m := reports.BuildMatrix(cols, time.Now())
	m.Tool = "asconform " + version
	written, err := m.WriteMatrix(*out)
	if err != nil {
		return fmt.Errorf("matrix: %w", err)
	}
	rows := 0
	for _, g := range m.Groups {
		rows += len(g.Rows)
	}
	fmt.Fprintf(stdout, "%d requirement(s) across %d run(s): %s\n", rows, len(cols), strings.Join(written, ", "))
	return nil
}

// splitRunArg separates "NAME=PATH"; a bare path has no name.
func splitRunArg(arg string) (string, string) {
	if name, path, ok := strings.Cut(arg, "="); ok && name != "" && !strings.ContainsAny(name, `/\`) {
		return name, path
	}
	return "", arg
}

// resultFiles finds the results.json of a run: the file itself, the
// directory's, or one per side subdirectory.
func resultFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	if f := filepath.Join(path, "results.json"); exists(f) {
		return []string{f}, nil
	}
	var files []string
	for _, side := range []string{"homeserver", "appservice"} {
		if f := filepath.Join(path, side, "results.json"); exists(f) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no results.json (nor homeserver/ or appservice/ with one)", path)
	}
	return files, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func columnName(r reports.Report) string {
	n := r.SUT.Flavor
	if n == "" {
		n = r.SUT.Side
	}
	if r.SUT.Mutant != "" {
		n += " (mutant " + r.SUT.Mutant + ")"
	}
	return n
}

var notSlug = regexp.MustCompile(`[^a-z0-9.]+`)

func slugOf(name string) string {
	s := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if s == "" {
		s = "run"
	}
	return s
}
