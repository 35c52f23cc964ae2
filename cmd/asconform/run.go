package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/requirements"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
)

// runSuite maps the command's flags onto the suites' environment variables
// (one way to configure a run, whether from go test or from here) and runs
// the specs in this process.
func runSuite(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	side := fs.String("side", "homeserver", "which side to test: homeserver, appservice or both")
	flavor := fs.String("flavor", "synapse", "homeserver implementation (see asconform list flavors)")
	asFlavor := fs.String("as-flavor", "mautrix-sample", "application service implementation (see asconform list flavors)")
	asImage := fs.String("as-image", "", "container image of the AS under test (default: the AS flavor's image)")
	image := fs.String("image", "", "container image of the SUT (default: the flavor's image, built offline from ci/ when missing)")
	url := fs.String("hs-url", "", "external mode: base URL of a homeserver you run yourself")
	serverName := fs.String("server-name", "", "external mode: that homeserver's server name")
	regs := fs.String("registrations", "", "external mode: directory of the registration files installed on it")
	listen := fs.String("listen", "", "external mode: address the fake ASes listen on (default 0.0.0.0)")
	out := fs.String("out", "", "report directory (default ./report)")
	expectations := fs.String("expectations", "", "expectations file of known failures (default expectations/<flavor>.yaml)")
	focus := fs.String("focus", "", "only specs checking these requirement IDs or areas, comma separated (e.g. HS-TXN-01,HS-NS)")
	spec := fs.String("spec", "", "target an older spec release (e.g. v1.16): specs for later requirements are skipped")
	verbose := fs.Bool("v", true, "print each spec as it finishes")
	procs := fs.Int("procs", 1, "run the specs in this many parallel processes sharing one SUT (needs Go and this source tree: it runs go tool ginkgo)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sides := map[string]string{"homeserver": "homeserver", "appservice": "appservice", "both": "(homeserver || appservice)"}
	sideFilter, ok := sides[*side]
	if !ok {
		fmt.Fprintf(stderr, "asconform: --side %q: want homeserver, appservice or both\n", *side)
		return 2
	}
	for _, c := range []struct{ name, side string }{{*flavor, "homeserver"}, {*asFlavor, "appservice"}} {
		f, err := harness.LookupFlavor(c.name)
		if err == nil && f.Side() != c.side {
			err = fmt.Errorf("flavor %q tests the %s side; it cannot be the %s under test", c.name, f.Side(), c.side)
		}
		if err != nil && *url == "" {
			fmt.Fprintln(stderr, "asconform:", err)
			return 2
		}
	}
	if *out == "" {
		*out = "report"
	}
	for key, value := range map[string]string{
		"ASCONFORM_HS_FLAVOR": *flavor, "ASCONFORM_HS_IMAGE": *image, "ASCONFORM_HS_URL": *url,
		"ASCONFORM_HS_SERVER_NAME": *serverName, "ASCONFORM_REGISTRATIONS": *regs,
		"ASCONFORM_FAKES_LISTEN": *listen, "ASCONFORM_OUT": *out,
		"ASCONFORM_EXPECTATIONS": *expectations, "ASCONFORM_SPEC_VERSION": *spec,
		"ASCONFORM_AS_FLAVOR": *asFlavor, "ASCONFORM_AS_IMAGE": *asImage,
	} {
		if value != "" {
			os.Setenv(key, value)
		}
	}
	if _, err := suites.Settings(); err != nil {
		fmt.Fprintln(stderr, "asconform:", err)
		return 2
	}
	filter, err := labelFilter(sideFilter, *focus)
	if err != nil {
		fmt.Fprintln(stderr, "asconform:", err)
		return 2
	}
	if *procs > 1 {
		return runParallel(*side, filter, *procs, *verbose, stdout, stderr)
	}
	ginkgoFlags := map[string]string{"ginkgo.label-filter": filter, "ginkgo.v": fmt.Sprint(*verbose)}
	if !isTerminal(os.Stdout) {
		ginkgoFlags["ginkgo.no-color"] = "true"
	}
	for name, value := range ginkgoFlags {
		if err := flag.CommandLine.Set(name, value); err != nil {
			fmt.Fprintln(stderr, "asconform:", err)
			return 2
		}
	}
	suites.Run(&cliT{out: stderr}, "asconform "+*side+" suite")
	return verdict(suites.LastReport(), stdout, stderr)
}

// verdict turns a run's report into the command's exit code.
func verdict(rep scenarios.Report, stdout, stderr io.Writer) int {
	errors := rep.Counts()[scenarios.Error]
	switch {
	case len(rep.Results) == 0:
		fmt.Fprintln(stderr, "asconform: no spec ran (check --focus and --spec)")
		return 2
	case errors > 0:
		fmt.Fprintf(stdout, "ERROR: %d spec(s) could not run: the harness or environment broke (see their messages above and in the report)\n", errors)
		return 2
	case len(rep.Unexpected()) > 0:
		fmt.Fprintf(stdout, "FAIL: %d result(s) do not match the expectations\n", len(rep.Unexpected()))
		return 1
	}
	fmt.Fprintln(stdout, "OK: the outcome matches the expectations")
	return 0
}

// runParallel runs one side's suite under the ginkgo CLI in procs
// processes (Ginkgo's own parallel runner; process 1 starts the SUT that
// all share) and judges the report process 1 wrote.
func runParallel(side, filter string, procs int, verbose bool, stdout, stderr io.Writer) int {
	if side != "homeserver" {
		fmt.Fprintln(stderr, "asconform: --procs shares one homeserver between processes: it applies to --side homeserver only")
		return 2
	}
	root, err := suites.SourceRoot()
	if err != nil {
		fmt.Fprintln(stderr, "asconform: --procs: run it from the asconform source tree:", err)
		return 2
	}
	cfg, _ := suites.Settings()
	out := cfg.OutFor(side)
	_ = os.Remove(filepath.Join(out, "results.json")) // never judge an older run
	args := []string{"tool", "ginkgo", fmt.Sprintf("--procs=%d", procs), "--label-filter=" + filter}
	if verbose {
		args = append(args, "-v")
	}
	if !isTerminal(os.Stdout) {
		args = append(args, "--no-color")
	}
	// Only the suite's own test: not the reference and mutation runs.
	cmd := exec.Command("go", append(args, "./suites/homeserver", "--", "-test.run=^TestHomeserver$")...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, stdout, stderr
	// On Ctrl-C the ginkgo CLI (same process group) runs its cleanup and
	// reports; stay alive to judge its report. A SIGTERM meant for us alone
	// is passed on as an interrupt.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "asconform: --procs: running the ginkgo CLI:", err)
		return 2
	}
	go func() {
		for sig := range signals {
			if sig == syscall.SIGTERM {
				_ = cmd.Process.Signal(os.Interrupt)
			}
		}
	}()
	// The ginkgo CLI fails on any spec failure, expected ones included: the
	// report decides.
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(stderr, "asconform: --procs: running the ginkgo CLI:", err)
			return 2
		}
	}
	rep, err := readResultsFile(filepath.Join(out, "results.json"))
	if err != nil {
		fmt.Fprintln(stderr, "asconform: --procs: the parallel run left no report:", err)
		return 2
	}
	fmt.Fprintln(stdout, "(Ginkgo's own count above takes known deviations for failures; the expectations decide:)")
	return verdict(rep, stdout, stderr)
}

// labelFilter builds a Ginkgo label filter from the side and --focus.
func labelFilter(side, focus string) (string, error) {
	filter := side
	if focus == "" {
		return filter, nil
	}
	var terms []string
	for _, f := range strings.Split(focus, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case requirements.Validate(f) == nil:
			terms = append(terms, f)
		case isArea(f):
			terms = append(terms, "/^"+f+"-/")
		default:
			return "", fmt.Errorf("--focus %q is neither a requirement ID nor an area prefix such as HS-TXN (see asconform list)", f)
		}
	}
	return filter + " && (" + strings.Join(terms, " || ") + ")", nil
}

func isArea(prefix string) bool {
	for _, r := range requirements.All() {
		if strings.HasPrefix(r.ID, prefix+"-") {
			return true
		}
	}
	return false
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// cliT stands in for *testing.T.
type cliT struct {
	out    io.Writer
	failed bool
}

func (t *cliT) Helper()                      {}
func (t *cliT) Fail()                        { t.failed = true }
func (t *cliT) Logf(format string, a ...any) { fmt.Fprintf(t.out, format+"\n", a...) }
