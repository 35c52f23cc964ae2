package suites

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/asconform/asconform/reports"
)

// SubRun runs test function test of the current test binary in a child
// process with extra environment, optionally only the specs a Ginkgo label
// filter selects, and returns the child's report and output. Reference and
// mutation runs use it: Ginkgo runs one suite per process. files are
// handed down to the child as its files 3, 4, … (listening sockets) and
// closed here once it started.
func SubRun(outDir, test string, env []string, labelFilter string, files ...*os.File) (reports.Report, string, error) {
	args := []string{"-test.run=^" + test + "$", "-test.timeout=10m"}
	if labelFilter != "" {
		args = append(args, "-ginkgo.label-filter="+labelFilter)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), env...), "ASCONFORM_OUT="+outDir)
	cmd.ExtraFiles = files
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Start()
	// The child holds the files now; the parent's copies would keep a
	// socket listening after the child closed it (a fake AS taken down).
	for _, f := range files {
		_ = f.Close()
	}
	if err == nil {
		_ = cmd.Wait() // a caught mutant fails the child by design
	}
	var rep reports.Report
	data, err := os.ReadFile(filepath.Join(outDir, "results.json"))
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	return rep, log.String(), err
}

// WriteKillMatrix saves a mutation run's kill matrix beside side's reports
// (mutants-<name>.md) and returns its path.
func WriteKillMatrix(side, name, matrix, summary string) (string, error) {
	c, err := Settings()
	if err != nil {
		return "", err
	}
	dir := c.OutFor(side)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "mutants-"+name+".md")
	body := "# Mutation run: " + name + "\n\n" + summary + "\n\n```\n" + matrix + "```\n"
	return p, os.WriteFile(p, []byte(body), 0o644)
}

// AnyOf is the label filter selecting the specs of any of the requirement IDs.
func AnyOf(ids []string) string { return "(" + strings.Join(ids, " || ") + ")" }
