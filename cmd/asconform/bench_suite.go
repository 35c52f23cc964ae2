package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
)

// suiteRun is one measured run of the homeserver suite.
type suiteRun struct {
	Step    int           `json:"step"`
	Focus   string        `json:"focus"` // areas, or "" for the whole suite
	Procs   int           `json:"procs"`
	Specs   int           `json:"specs"` // specs that ran (not skipped)
	Wall    time.Duration `json:"wall_ns"`
	Suite   time.Duration `json:"suite_ns"` // Ginkgo's run time: SUT start to last spec
	Outcome int           `json:"exit_code"`
}

// benchSuite runs the homeserver suite against the configured SUT for
// growing sets of specs, serially and in parallel, alternating, and prints
// the times side by side: how the suite grows and what parallel specs
// sharing one SUT save.
func benchSuite(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench suite", flag.ContinueOnError)
	procsList := fs.String("procs", "1,4", "process counts to compare, comma separated (1 = serial, in process)")
	steps := fs.String("steps", "HS-NS,HS-LOGIN,HS-ID,HS-TS;HS-PING,HS-QRY,HS-EPH,HS-3PE,HS-DIR;all",
		"growing sets of specs: each step adds these areas (';' between steps); 'all' is the whole suite")
	flavor := fs.String("flavor", suites.Default("ASCONFORM_HS_FLAVOR"), "homeserver flavor")
	image := fs.String("image", "", "container image (default: the flavor's)")
	jsonPath := fs.String("json", "", "write the measured runs (JSON) to this file")
	if help, err := parseFlags(fs, args, benchUsage, stdout); help || err != nil {
		return err
	}
	var procs []int
	for _, p := range strings.Split(*procsList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return fmt.Errorf("bench suite: -procs %q: want positive integers", *procsList)
		}
		procs = append(procs, n)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "asconform-bench-suite-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var runs []suiteRun
	var areas []string
	for i, step := range strings.Split(*steps, ";") {
		focus := ""
		if strings.TrimSpace(step) != "all" {
			areas = append(areas, strings.Split(step, ",")...)
			focus = strings.Join(areas, ",")
		}
		for _, p := range procs {
			out := filepath.Join(tmp, fmt.Sprintf("step%d-procs%d", i+1, p))
			cmdArgs := []string{"run", "--side", "homeserver", "--flavor", *flavor, "--procs", strconv.Itoa(p), "--out", out, "-v=false"}
			if *image != "" {
				cmdArgs = append(cmdArgs, "--image", *image)
			}
			if focus != "" {
				cmdArgs = append(cmdArgs, "--focus", focus)
			}
			fmt.Fprintf(os.Stderr, "bench suite: step %d, %d process(es), focus %q\n", i+1, p, focus)
			cmd := exec.Command(self, cmdArgs...)
			cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
			began := time.Now()
			runErr := cmd.Run()
			r := suiteRun{Step: i + 1, Focus: focus, Procs: p, Wall: time.Since(began), Outcome: cmd.ProcessState.ExitCode()}
			var exit *exec.ExitError
			if runErr != nil && !errors.As(runErr, &exit) {
				return fmt.Errorf("bench suite: %w", runErr)
			}
			rep, err := readResultsFile(filepath.Join(out, "results.json"))
			if err != nil {
				return fmt.Errorf("bench suite: step %d with %d process(es) left no report (exit %d): %w", i+1, p, r.Outcome, err)
			}
			r.Suite = rep.Duration
			for _, res := range rep.Results {
				if res.Verdict != reports.Skipped {
					r.Specs++
				}
			}
			runs = append(runs, r)
		}
	}
	printSuiteRuns(stdout, runs, procs)
	if *jsonPath != "" {
		return writeJSON(*jsonPath, runs)
	}
	return nil
}

// printSuiteRuns prints one row per step: specs, then each process
// count's suite time (and wall time, which adds compiling and process
// start-up), then the ratio of the first count's suite time to the last's.
func printSuiteRuns(w io.Writer, runs []suiteRun, procs []int) {
	fmt.Fprintf(w, "| step | specs |")
	for _, p := range procs {
		fmt.Fprintf(w, " %d proc: suite (wall) |", p)
	}
	fmt.Fprintf(w, " ratio %d/%d | exit codes |\n|---|---|", procs[0], procs[len(procs)-1])
	for range procs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|---|")
	byStep := map[int][]suiteRun{}
	var order []int
	for _, r := range runs {
		if _, seen := byStep[r.Step]; !seen {
			order = append(order, r.Step)
		}
		byStep[r.Step] = append(byStep[r.Step], r)
	}
	for _, step := range order {
		rs := byStep[step]
		fmt.Fprintf(w, "| %d | %d |", step, rs[0].Specs)
		var codes []string
		for _, r := range rs {
			fmt.Fprintf(w, " %.1f s (%.1f s) |", r.Suite.Seconds(), r.Wall.Seconds())
			codes = append(codes, strconv.Itoa(r.Outcome))
		}
		first, last := rs[0].Suite, rs[len(rs)-1].Suite
		ratio := "—"
		if last > 0 {
			ratio = fmt.Sprintf("%.2f", first.Seconds()/last.Seconds())
		}
		fmt.Fprintf(w, " %s | %s |\n", ratio, strings.Join(codes, ","))
	}
}
