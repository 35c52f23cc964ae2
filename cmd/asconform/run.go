package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/reports/requirements"
	"github.com/asconform/asconform/suites"
)

// runSuite maps the command's flags onto the suites' environment variables
// (one way to configure a run, whether from go test or from here), makes
// sure the images exist, runs the specs (in this process, or in --procs
// processes under the ginkgo CLI) and judges the report they leave.
func runSuite(args []string, stdout, stderr io.Writer) int {
	o, err := parseRunFlags(args, stderr)
	if errors.Is(err, errFlagsSaid) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "asconform:", err)
		return 2
	}
	outDir, verbose, cfg := o.outDir, o.verbose, o.cfg
	r, err := startRun(outDir, stdout, verbose)
	if err != nil {
		fmt.Fprintln(stderr, "asconform:", err)
		return 2
	}
	defer r.close()
	r.con.phase("asconform %s, %s side, against %s; output of the run in %s", suites.SpecVersion, o.side, sutName(cfg, o.side), shortPath(r.log.Name()))
	if err := prepareImages(r, cfg, o.side); err != nil {
		r.restore()
		fmt.Fprintf(stderr, "asconform: %v (all output: %s)\n", err, shortPath(r.log.Name()))
		return 2
	}
	stopFollowing := r.con.follow(r.progress)
	if o.procs > 1 {
		err = runParallel(r, o.filter, o.procs, verbose)
	} else {
		runSerial(r, o.filter, verbose)
	}
	stopFollowing()
	r.restore()
	if err != nil {
		fmt.Fprintln(stderr, "asconform:", err)
		return 2
	}
	rep, err := readResultsFile(filepath.Join(outDir, "results.json"))
	if err != nil {
		fmt.Fprintf(stderr, "asconform: the run left no report (%v); its output is in %s\n", err, shortPath(r.log.Name()))
		return 2
	}
	r.con.table(rep)
	var written []string
	for _, name := range []string{"results.json", "summary.md", "junit.xml", "report.html", "run.log"} {
		written = append(written, shortPath(filepath.Join(outDir, name)))
	}
	fmt.Fprintf(r.con.w, "report: %s\n", strings.Join(written, ", "))
	return verdict(rep, r.con.w, stderr)
}

// runOptions are a run's settings once its flags are read and checked.
type runOptions struct {
	side, filter, outDir string
	procs                int
	verbose              bool
	cfg                  suites.Config
}

// errFlagsSaid: the flag set has already told the user what is wrong.
var errFlagsSaid = errors.New("bad flags")

// parseRunFlags reads run's flags, checks them, and puts them in the
// environment the suites read their settings from.
func parseRunFlags(args []string, stderr io.Writer) (runOptions, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	side := fs.String("side", "homeserver", "which side to test: homeserver, appservice or both")
	flavor := fs.String("flavor", suites.Default("ASCONFORM_HS_FLAVOR"), "homeserver implementation (see asconform list flavors; fakehs: the reference)")
	asFlavor := fs.String("as-flavor", suites.Default("ASCONFORM_AS_FLAVOR"), "application service implementation (see asconform list flavors; fakeas: the reference)")
	asImage := fs.String("as-image", "", "container image of the AS under test (default: the AS flavor's image)")
	asCaps := fs.String("as-capabilities", "", "what the AS under test does beyond the spec, e.g. joins-on-invite,thirdparty-protocol=irc, or none (default: its flavor's declaration; specs needing an undeclared one are skipped)")
	image := fs.String("image", "", "container image of the SUT (default: the flavor's image, built offline from ci/ when missing)")
	url := fs.String("hs-url", "", "external mode: base URL of a homeserver you run yourself")
	serverName := fs.String("server-name", "", "external mode: that homeserver's server name")
	regs := fs.String("registrations", "", "external mode: directory of the registration files installed on it (asconform registrations writes them)")
	listen := fs.String("listen", "", "external mode: address the fake ASes listen on (default 0.0.0.0)")
	out := fs.String("out", "", "report directory, relative to the working directory (default ./report)")
	expectations := fs.String("expectations", "", "expectations file of known failures (default expectations/<flavor>.yaml; none in external mode)")
	focus := fs.String("focus", "", "only specs checking these requirement IDs or areas, comma separated (e.g. HS-TXN-01,HS-NS)")
	spec := fs.String("spec", "", "target an older spec release (e.g. v1.16): specs for later requirements are skipped")
	profile := fs.String("profile", "", "also check the opt-in profile of unstable extensions NAME (comma separated; known: "+strings.Join(suites.ProfileNames(), ", ")+"); its specs are skipped otherwise")
	verbose := fs.Bool("v", false, "stream Ginkgo's and the SUT's output instead of writing it to the report's run.log")
	procs := fs.Int("procs", 1, "run the specs in this many parallel processes sharing one SUT (needs Go and this source tree: it runs go tool ginkgo)")
	if err := fs.Parse(args); err != nil {
		return runOptions{}, errFlagsSaid
	}
	sides := map[string]string{"homeserver": "homeserver", "appservice": "appservice", "both": "(homeserver || appservice)"}
	sideFilter, ok := sides[*side]
	if !ok {
		return runOptions{}, fmt.Errorf("--side %q: want homeserver, appservice or both", *side)
	}
	for _, c := range []struct{ name, side string }{{*flavor, "homeserver"}, {*asFlavor, "appservice"}} {
		if *url != "" {
			continue
		}
		f, err := harness.LookupFlavor(c.name)
		if err == nil && f.Side() != c.side {
			err = fmt.Errorf("flavor %q tests the %s side; it cannot be the %s under test", c.name, f.Side(), c.side)
		}
		if err != nil {
			return runOptions{}, err
		}
	}
	if *out == "" {
		*out = "report"
	}
	// The report lands where the user is, whichever process writes it.
	outDir, err := filepath.Abs(*out)
	if err != nil {
		return runOptions{}, fmt.Errorf("--out: %w", err)
	}
	for key, value := range map[string]string{
		"ASCONFORM_HS_FLAVOR": *flavor, "ASCONFORM_HS_IMAGE": *image, "ASCONFORM_HS_URL": *url,
		"ASCONFORM_HS_SERVER_NAME": *serverName, "ASCONFORM_REGISTRATIONS": *regs,
		"ASCONFORM_FAKES_LISTEN": *listen, "ASCONFORM_OUT": outDir,
		"ASCONFORM_EXPECTATIONS": *expectations, "ASCONFORM_SPEC_VERSION": *spec,
		"ASCONFORM_AS_FLAVOR": *asFlavor, "ASCONFORM_AS_IMAGE": *asImage, "ASCONFORM_AS_CAPABILITIES": *asCaps,
		"ASCONFORM_PROFILE": *profile,
	} {
		if value != "" {
			os.Setenv(key, value)
		}
	}
	cfg, err := suites.LoadConfig()
	if err != nil {
		return runOptions{}, err
	}
	filter, err := labelFilter(sideFilter, *focus)
	if err != nil {
		return runOptions{}, err
	}
	if *procs > 1 && *side != "homeserver" {
		return runOptions{}, errors.New("--procs shares one homeserver between processes: it applies to --side homeserver only")
	}
	return runOptions{side: *side, filter: filter, outDir: outDir, procs: *procs, verbose: *verbose, cfg: cfg}, nil
}

// sutName says what the run is against, for the first line.
func sutName(cfg suites.Config, side string) string {
	name := func(side string) string {
		sut := cfg.SUT(side)
		return cmp.Or(sut.URL, sut.Flavor)
	}
	if side == "both" {
		return name("homeserver") + " and " + name("appservice")
	}
	return name(side)
}

// aRun is one run's console, log and progress file.
type aRun struct {
	con      *console
	log      *os.File
	progress string
	out      string
	restore  func()
}

// startRun opens the run's log and progress file in outDir and, unless
// verbose, sends this process's own output (Ginkgo's reporter, the Docker
// client's banner) to the log, keeping the terminal for the console.
func startRun(outDir string, stdout io.Writer, verbose bool) (*aRun, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(outDir, "run.log"))
	if err != nil {
		return nil, err
	}
	r := &aRun{log: log, out: outDir, progress: filepath.Join(outDir, ".progress"), restore: func() {}}
	_ = os.Remove(r.progress)
	_ = os.Remove(filepath.Join(outDir, "results.json")) // never judge an older run
	os.Setenv(suites.ProgressEnv, r.progress)
	if !verbose {
		terminal, restore, err := redirectStdio(log)
		if err != nil {
			return nil, err
		}
		var once sync.Once
		r.restore = func() { once.Do(restore) }
		if stdout == os.Stdout {
			stdout = terminal
		}
	}
	r.con = newConsole(stdout)
	if verbose {
		r.con.live = false
	}
	return r, nil
}

func (r *aRun) close() {
	r.restore()
	_ = r.log.Close()
	_ = os.Remove(r.progress)
}

// prepareImages makes sure, before any spec starts, that Docker answers
// and that every image the run needs is there, building it with its
// flavor's recipe or pulling it: one cause of failure, one message.
func prepareImages(r *aRun, cfg suites.Config, side string) error {
	type need struct {
		flavor harness.ContainerFlavor
		image  string
		env    string
	}
	var needs []need
	for _, s := range []struct{ side, env string }{{"homeserver", "ASCONFORM_HS_IMAGE"}, {"appservice", "ASCONFORM_AS_IMAGE"}} {
		sut := cfg.SUT(s.side)
		if side != s.side && side != "both" || sut.URL != "" {
			continue
		}
		f, err := harness.LookupFlavor(sut.Flavor)
		if err != nil {
			return err
		}
		if c, ok := f.(harness.ContainerFlavor); ok {
			needs = append(needs, need{c, sut.Image, s.env})
		}
	}
	if len(needs) == 0 {
		return nil
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := harness.CheckDocker(ctx); err != nil {
		return err
	}
	for _, n := range needs {
		f := n.flavor
		started := time.Now()
		build := &buildWatch{con: r.con, log: r.log, name: f.Name()}
		ref, err := harness.ResolveImage(ctx, f, n.image, build)
		if err == nil {
			err = harness.EnsureImage(ctx, ref, r.log)
		}
		r.con.setStatus("")
		if err != nil {
			if build.failure != "" {
				return errors.New(build.failure)
			}
			return err
		}
		if build.built() {
			r.con.phase("built %s in %s (%s)", ref, elapsed(time.Since(started)), build.steps())
		} else {
			r.con.phase("image %s is there (%.1fs)", ref, time.Since(started).Seconds())
		}
		os.Setenv(n.env, ref)
	}
	return nil
}

// buildWatch reads an image recipe's progress lines (ci/images/lib.sh:
// "HH:MM:SS +  3s [name:step] text"): it keeps them in the log, shows the
// latest on the live line, times the steps and keeps the error it ends on.
type buildWatch struct {
	mu      sync.Mutex // the recipe's stderr and its relayed stdout arrive from two goroutines
	con     *console
	log     io.Writer
	name    string
	pending []byte
	order   []string
	start   map[string]int
	last    int
	failure string
}

var buildLine = regexp.MustCompile(`^\S+ \+\s*(\d+)s \[[^:\]]+:([^\]]+)\] ?(.*)$`)

func (b *buildWatch) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _ = b.log.Write(p)
	b.pending = append(b.pending, p...)
	for {
		i := bytes.IndexByte(b.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		b.line(string(b.pending[:i]))
		b.pending = b.pending[i+1:]
	}
}

func (b *buildWatch) line(line string) {
	m := buildLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	at, _ := strconv.Atoi(m[1])
	step, text := m[2], strings.TrimSpace(m[3])
	if b.start == nil {
		b.start = map[string]int{}
	}
	if _, seen := b.start[step]; !seen {
		b.start[step] = at
		b.order = append(b.order, step)
	}
	b.last = at
	if msg, ok := strings.CutPrefix(text, "ERROR: "); ok && b.failure == "" {
		b.failure = msg
	}
	if step != "check" {
		b.con.setStatus(fmt.Sprintf("building the %s image (first run only): %s: %s", b.name, step, text))
	}
}

// built says whether the recipe built rather than found the image.
func (b *buildWatch) built() bool { return len(b.order) > 1 }

// steps is where the build's time went, step by step.
func (b *buildWatch) steps() string {
	var parts []string
	for i, step := range b.order {
		end := b.last
		if i+1 < len(b.order) {
			end = b.start[b.order[i+1]]
		}
		parts = append(parts, fmt.Sprintf("%s %ds", step, end-b.start[step]))
	}
	return strings.Join(parts, ", ")
}

// runSerial runs the specs in this process.
func runSerial(r *aRun, filter string, verbose bool) {
	for name, value := range map[string]string{
		"ginkgo.label-filter": filter, "ginkgo.v": fmt.Sprint(verbose),
		"ginkgo.no-color": fmt.Sprint(!verbose || !isTerminal(os.Stdout)),
	} {
		if err := flag.CommandLine.Set(name, value); err != nil {
			fmt.Fprintln(r.log, "asconform:", err)
		}
	}
	r.con.phase("running the specs in this process")
	suites.Run(&cliT{out: r.log}, "asconform suite")
}

// verdict turns a run's report into the command's exit code.
func verdict(rep reports.Report, stdout, stderr io.Writer) int {
	errors := rep.Counts()[reports.Error]
	switch {
	case len(rep.Results) == 0:
		fmt.Fprintln(stderr, "asconform: no spec ran (check --focus and --spec)")
		return 2
	case errors > 0:
		fmt.Fprintf(stdout, "ERROR: %d spec(s) could not run: the harness or environment broke (their reasons are above and in the report)\n", errors)
		return 2
	case len(rep.Unexpected()) > 0:
		fmt.Fprintf(stdout, "FAIL: %d result(s) do not match the expectations\n", len(rep.Unexpected()))
		return 1
	}
	fmt.Fprintln(stdout, "OK: the outcome matches the expectations")
	return 0
}

// runParallel runs the homeserver suite under the ginkgo CLI in procs
// processes (Ginkgo's own parallel runner; process 1 starts the SUT that
// all share); they write the report.
func runParallel(r *aRun, filter string, procs int, verbose bool) error {
	root, err := harness.SourceRoot()
	if err != nil {
		return fmt.Errorf("--procs: run it from the asconform source tree: %w", err)
	}
	args := []string{"tool", "ginkgo", fmt.Sprintf("--procs=%d", procs), "--label-filter=" + filter}
	if verbose {
		args = append(args, "-v")
	}
	if !verbose || !isTerminal(os.Stdout) {
		args = append(args, "--no-color")
	}
	// Only the suite's own test: not the reference and mutation runs.
	cmd := exec.Command("go", append(args, "./suites/homeserver", "--", "-test.run=^TestHomeserver$")...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stdout, os.Stderr
	// On Ctrl-C the ginkgo CLI (same process group) runs its cleanup and
	// reports; stay alive to judge its report. A SIGTERM meant for us alone
	// is passed on as an interrupt.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	r.con.phase("compiling the suite and starting %d processes (go tool ginkgo)", procs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--procs: running the ginkgo CLI: %w", err)
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
			return fmt.Errorf("--procs: running the ginkgo CLI: %w", err)
		}
	}
	return nil
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
