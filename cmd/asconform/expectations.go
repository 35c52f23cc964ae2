package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/asconform/asconform/reports"
)

const expectationsUsage = `usage: asconform expectations update --file FILE [--runs N] [--dry-run] RUN ...

Rewrites an implementation's baseline (expectations/<flavor>.yaml) from its
latest runs (results.json or their directories, oldest first):
  - entries still failing, not in the run, or marked intermittent are kept,
    with the reasons already written;
  - entries whose specs all passed in the latest run are dropped;
  - a new failure is added only when each of the last N runs (default 3)
    failed it, and only with a reason: one is asked for each, on stdin (one
    line each; an empty line leaves it out). A failure seen in fewer runs
    is refused: if it is truly flaky, add it by hand with
    "intermittent: true" and the evidence (which runs failed, which passed).
`

// expectations dispatches "expectations update".
func expectations(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "update" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, expectationsUsage)
			return nil
		}
		return fmt.Errorf("expectations: the only subcommand is update\n%s", expectationsUsage)
	}
	fs := flag.NewFlagSet("expectations update", flag.ContinueOnError)
	file := fs.String("file", "", "the expectations file to rewrite")
	n := fs.Int("runs", 3, "consecutive runs a new failure must have failed in")
	dry := fs.Bool("dry-run", false, "say what would change, write nothing")
	runs, help, err := parseArgs(fs, args[1:], expectationsUsage, stdout)
	if help || err != nil {
		return err
	}
	if *file == "" || len(runs) == 0 {
		return fmt.Errorf("expectations: name the file (--file) and at least one run\n%s", expectationsUsage)
	}
	if *n < 1 {
		return fmt.Errorf("expectations: --runs must be at least 1")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("expectations: %w", err)
	}
	e, err := reports.LoadExpectations(*file)
	if err != nil {
		return err
	}
	loaded, err := loadRunsOf(e.Flavor, runs)
	if err != nil {
		return err
	}
	plan := reports.PlanBaseline(e, loaded, *n)
	for _, k := range plan.Dropped {
		fmt.Fprintf(stdout, "drop  %s: passed in the latest run\n", entryName(k))
	}
	for _, f := range plan.Refused {
		fmt.Fprintf(stdout, "refuse %q: failed in %d of the last %d run(s) given; not baselined (if truly flaky: intermittent: true with evidence)\n", f.Spec, f.FailedIn, f.Of)
	}
	next := reports.Expectations{Flavor: e.Flavor, ExpectedFailures: append(plan.Kept, askReasons(plan.New, *dry, stdin, stdout)...)}
	fmt.Fprintf(stdout, "%d kept, %d dropped, %d new proposed, %d refused\n", len(plan.Kept), len(plan.Dropped), len(plan.New), len(plan.Refused))
	if *dry {
		return nil
	}
	if err := os.WriteFile(*file, next.YAML(reports.CommentHeader(data)), 0o644); err != nil {
		return fmt.Errorf("expectations: %w", err)
	}
	if _, err := reports.LoadExpectations(*file); err != nil {
		return fmt.Errorf("expectations: the rewritten file does not load back: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *file)
	return nil
}

// loadRunsOf reads each run's results.json: one side's, of flavor (if the
// file names one).
func loadRunsOf(flavor string, runs []string) ([]reports.Report, error) {
	var loaded []reports.Report
	for _, r := range runs {
		files, err := resultFiles(r)
		if err != nil {
			return nil, fmt.Errorf("expectations: %w", err)
		}
		if len(files) != 1 {
			return nil, fmt.Errorf("expectations: %s holds runs of both sides; name the side's results.json", r)
		}
		rep, err := readResultsFile(files[0])
		if err != nil {
			return nil, fmt.Errorf("expectations: %w", err)
		}
		if flavor != "" && rep.SUT.Flavor != flavor {
			return nil, fmt.Errorf("expectations: %s is a run of %q, the file is for %q", files[0], rep.SUT.Flavor, flavor)
		}
		loaded = append(loaded, rep)
	}
	return loaded, nil
}

// askReasons proposes each new failure and asks for the sentence that
// baselines it; one left without a reason is left out (a dry run asks
// nothing).
func askReasons(failures []reports.NewFailure, dry bool, stdin io.Reader, stdout io.Writer) []reports.KnownFailure {
	var baselined []reports.KnownFailure
	in := bufio.NewScanner(stdin)
	for _, f := range failures {
		fmt.Fprintf(stdout, "new   %q (%s, failed in each of the last %d runs): %s\n", f.Spec, f.Verdict, f.Of, f.Message)
		if dry {
			continue
		}
		fmt.Fprint(stdout, "      reason (one sentence; empty to leave it out): ")
		reason := ""
		if in.Scan() {
			reason = strings.TrimSpace(in.Text())
		}
		if reason == "" {
			fmt.Fprintln(stdout, "\n      left out: no reason given")
			continue
		}
		baselined = append(baselined, reports.KnownFailure{Spec: f.Spec, Reason: reason})
	}
	return baselined
}

func entryName(k reports.KnownFailure) string {
	if k.Spec != "" {
		return fmt.Sprintf("%q", k.Spec)
	}
	return k.Requirement
}
