package suites

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/reports/requirements"
)

// SpecVersion is the spec release the suites target.
const SpecVersion = "v1.19"

// Report entry names shared by the sides and the report builder.
const (
	entryTranscript   = "transcript"
	entryObservation  = "observation"
	entryHarnessError = "harness-error"
	entrySUTLog       = "sut-log"
	entrySUT          = "sut"
)

var (
	cfgOnce sync.Once
	cfg     Config
	cfgErr  error

	janitorOnce sync.Once
	janitor     *harness.Janitor
	janitorErr  error

	closersMu   sync.Mutex
	closers     []func(context.Context) error
	lastClosers []func(context.Context) error

	lastReport reports.Report
)

// Settings returns the run's configuration.
func Settings() (Config, error) {
	cfgOnce.Do(func() { cfg, cfgErr = LoadConfig() })
	return cfg, cfgErr
}

// Janitor starts, once, the sweeping of Docker resources for this run.
func Janitor(ctx context.Context) error {
	janitorOnce.Do(func() { janitor, janitorErr = harness.StartJanitor(ctx) })
	return janitorErr
}

// AtEnd registers a cleanup to run after this process's last spec, in
// reverse order.
func AtEnd(f func(context.Context) error) {
	closersMu.Lock()
	defer closersMu.Unlock()
	closers = append(closers, f)
}

// AtLastEnd registers a cleanup to run once every process is done (the
// shared SUT of a parallel run); serially it runs after AtEnd's.
func AtLastEnd(f func(context.Context) error) {
	closersMu.Lock()
	defer closersMu.Unlock()
	lastClosers = append(lastClosers, f)
}

var _ = ginkgo.SynchronizedAfterSuite(func(ctx ginkgo.SpecContext) {
	failOn(runClosers(ctx, &closers))
}, func(ctx ginkgo.SpecContext) {
	errs := runClosers(ctx, &lastClosers)
	if janitor != nil {
		if err := janitor.Close(ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	failOn(errs)
}, ginkgo.NodeTimeout(2*time.Minute))

func runClosers(ctx context.Context, list *[]func(context.Context) error) []string {
	closersMu.Lock()
	fs := *list
	*list = nil
	closersMu.Unlock()
	var errs []string
	for i := len(fs) - 1; i >= 0; i-- {
		if err := fs[i](ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

func failOn(errs []string) {
	if len(errs) > 0 {
		ginkgo.Fail("cleanup: " + strings.Join(errs, "; "))
	}
}

// HarnessError fails the current spec as an error of the harness or the
// environment, kept apart from a failure of the SUT.
func HarnessError(err error) {
	ginkgo.GinkgoHelper()
	ginkgo.AddReportEntry(entryHarnessError, err.Error(), ginkgo.ReportEntryVisibilityNever)
	ginkgo.Fail("harness error: " + err.Error())
}

// Observe records a measured value in the spec's report.
func Observe(name string, value any) {
	ginkgo.AddReportEntry(entryObservation, reports.Observation{Name: name, Value: fmt.Sprint(value)})
}

// AttachTranscript adds the spec's exchanges, secrets redacted.
func AttachTranscript(exchanges []recorder.Exchange, secrets map[string]string) {
	exchanges = reports.Redact(exchanges, secrets)
	// Numbered per spec, whatever the recorder counted across the run.
	for i := range exchanges {
		exchanges[i].Seq = i + 1
	}
	ginkgo.AddReportEntry(entryTranscript, exchanges, ginkgo.ReportEntryVisibilityNever)
}

// AttachSUTLog adds the tail of the SUT's log (on failure).
func AttachSUTLog(log string) {
	ginkgo.AddReportEntry(entrySUTLog, harness.LastLines(log, 60), ginkgo.ReportEntryVisibilityNever)
}

// DescribeSUT names the SUT for the run's report; a run of both sides names both.
func DescribeSUT(s reports.SUT) {
	sutMu.Lock()
	defer sutMu.Unlock()
	if sut.Side != "" && sut.Side != s.Side {
		s = reports.SUT{Side: "both", Flavor: sut.Flavor + " + " + s.Flavor, Image: strings.Trim(sut.Image+" + "+s.Image, " +"), URL: strings.Trim(sut.URL+" + "+s.URL, " +")}
	}
	sut = s
}

var (
	sutMu sync.Mutex
	sut   reports.SUT
)

// T is the part of *testing.T the suites need.
type T interface {
	Helper()
	Fail()
	Logf(string, ...any)
}

// tolerant lets expected failures through: the run's outcome is decided by
// the expectations, not by Ginkgo's raw pass/fail.
type tolerant struct{}

func (tolerant) Fail() {}

// Run runs the specs registered in the importing binary and fails t when
// the outcome does not match the expectations.
func Run(t T, description string) {
	t.Helper()
	gomega.RegisterFailHandler(ginkgo.Fail)
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteFailures = nil
	ginkgo.RunSpecs(tolerant{}, description, suiteConfig, reporterConfig)
	if suiteConfig.DryRun {
		return
	}
	for _, f := range suiteFailures {
		t.Logf("asconform: %s", f)
		t.Fail()
	}
	if len(lastReport.Results) == 0 {
		t.Logf("asconform: no spec ran (check the focus and label filters)")
		t.Fail()
		return
	}
	if n := len(lastReport.Unexpected()); n > 0 {
		t.Logf("asconform: %d result(s) do not match the expectations", n)
		t.Fail()
	}
}

// suiteFailures are what went wrong outside any spec in the last run.
var suiteFailures []string

// outsideSpecs lists the failures of the suite-level nodes (BeforeSuite,
// AfterSuite, the report nodes) and why the run as a whole failed
// (interrupted, aborted), which no spec's verdict shows.
func outsideSpecs(r ginkgo.Report) []string {
	var out []string
	for _, s := range r.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt || s.State.Is(types.SpecStatePassed|types.SpecStateSkipped|types.SpecStatePending) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s: %s", s.LeafNodeType, s.State, headline(s.Failure.Message)))
	}
	for _, reason := range r.SpecialSuiteFailureReasons {
		out = append(out, "the run "+reason)
	}
	return out
}

func headline(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

var dryRun types.SpecReports

// DryRunSpecs are the specs a dry run (ginkgo.dry-run) walked.
func DryRunSpecs() types.SpecReports { return dryRun }

// LastReport is the report of the last run in this process.
func LastReport() reports.Report { return lastReport }

// Specs whose requirements all came after the targeted spec version are
// skipped, with the reason in the report.
var _ = ginkgo.BeforeEach(func() {
	c, err := Settings()
	if err != nil || c.SpecVersion == "" {
		return
	}
	var ids []string
	for _, l := range ginkgo.CurrentSpecReport().Labels() {
		if requirements.LooksLikeID(l) {
			ids = append(ids, l)
		}
	}
	if later, since := requirements.AllAfter(ids, c.SpecVersion); later {
		ginkgo.Skip(fmt.Sprintf("checks requirements introduced in %s, after the targeted spec %s", since, c.SpecVersion))
	}
})

var _ = ginkgo.ReportAfterSuite("asconform report", func(r ginkgo.Report) {
	if r.SuiteConfig.DryRun {
		lastReport = reports.Report{}
		dryRun = r.SpecReports
		return
	}
	c, _ := Settings()
	suiteFailures = outsideSpecs(r)
	sutMu.Lock()
	sut.Mutant = c.Mutant
	sut.Profile = strings.Join(c.Profiles, ",")
	rep := reports.Report{
		Schema: 1, Tool: "asconform", SpecVersion: SpecVersion, SUT: sut,
		Started: r.StartTime, Duration: r.RunTime,
	}
	sutMu.Unlock()
	for _, s := range r.SpecReports {
		if !selected(s) {
			continue
		}
		rep.Results = append(rep.Results, graded(s))
	}
	lastReport = rep
	if len(rep.Results) == 0 {
		return
	}
	var written []string
	for _, write := range []func(string) (string, error){rep.WriteJSON, rep.WriteMarkdown, rep.WriteJUnit, rep.WriteHTML} {
		p, err := write(c.OutFor(rep.SUT.Side))
		if err != nil {
			fmt.Fprintln(os.Stderr, "asconform: writing report:", err)
			continue
		}
		written = append(written, p)
	}
	PrintSummary(os.Stdout, rep)
	fmt.Printf("report: %s\n", strings.Join(written, ", "))
})

// selected says whether s is a spec the run meant to run: a spec left out
// by the focus or label filter is reported by Ginkgo as skipped with no
// reason, and is no result of ours.
func selected(s types.SpecReport) bool {
	return s.LeafNodeType == types.NodeTypeIt && (s.State != types.SpecStateSkipped || s.Failure.Message != "")
}

// result turns one Ginkgo spec report into a graded result.
func result(s types.SpecReport) reports.Result {
	res := reports.Result{Spec: s.FullText(), Duration: s.RunTime}
	for _, l := range s.Labels() {
		switch {
		case requirements.LooksLikeID(l):
			res.Requirements = append(res.Requirements, l)
		case l == string(requirements.Homeserver) || l == string(requirements.AppService):
			res.Side = l
		}
	}
	harnessErr := false
	for _, e := range s.ReportEntries {
		switch e.Name {
		case entryTranscript:
			res.Transcript, _ = entryValue[[]recorder.Exchange](e)
		case entryObservation:
			if o, ok := entryValue[reports.Observation](e); ok {
				res.Observations = append(res.Observations, o)
			}
		case entrySUTLog:
			res.SUTLog, _ = entryValue[string](e)
		case entryHarnessError:
			harnessErr = true
		}
	}
	informational := slices.Contains(s.Labels(), "informational")
	switch {
	case s.State == types.SpecStatePassed && informational:
		res.Verdict = reports.Informational
	case s.State == types.SpecStatePassed:
		res.Verdict = reports.Pass
	case s.State == types.SpecStateSkipped || s.State == types.SpecStatePending:
		res.Verdict = reports.Skipped
		res.Message = s.Failure.Message
	default:
		res.Message = s.Failure.Message
		res.Location = s.Failure.Location.String()
		if harnessErr || !judgesSUT(s) {
			res.Verdict = reports.Error
		} else {
			res.Verdict = reports.FailureVerdict(res.Requirements)
		}
	}
	if err := requirements.Validate(res.Requirements...); err != nil {
		res.Verdict, res.Message = reports.Error, "spec labels: "+err.Error()
	}
	if len(res.Requirements) == 0 {
		res.Verdict, res.Message = reports.Error, "spec names no requirement ID"
	}
	return res
}

// judgesSUT says whether a failed spec failed because of what the SUT did:
// an assertion or a timeout in the spec or its set-up (a scenario played in
// BeforeAll waits for the SUT too). A harness error, a panic, an interrupted
// run or a failing cleanup is ours, not the SUT's.
func judgesSUT(s types.SpecReport) bool {
	if !s.State.Is(types.SpecStateFailed | types.SpecStateTimedout) {
		return false
	}
	switch s.Failure.FailureNodeType {
	case types.NodeTypeIt, types.NodeTypeBeforeEach, types.NodeTypeJustBeforeEach, types.NodeTypeBeforeAll:
		return true
	}
	return false
}

// entryValue is a report entry's value: the value itself when the spec ran
// in this process, else decoded from the JSON another parallel process sent.
func entryValue[V any](e types.ReportEntry) (V, bool) {
	if v, ok := e.Value.GetRawValue().(V); ok {
		return v, true
	}
	var v V
	err := json.Unmarshal([]byte(e.Value.AsJSON), &v)
	return v, err == nil
}

// PrintSummary prints one line per spec and the counts.
func PrintSummary(w io.Writer, rep reports.Report) {
	fmt.Fprintf(w, "\nasconform %s against %s (%s)\n", SpecVersion, rep.SUT.Flavor, firstNonEmpty(rep.SUT.Image, rep.SUT.URL))
	if rep.SUT.Profile != "" {
		fmt.Fprintf(w, "profile: %s (opt-in unstable extensions)\n", rep.SUT.Profile)
	}
	for _, res := range rep.Sorted() {
		fmt.Fprintf(w, "  %-16s %-28s %s\n", strings.ToUpper(string(res.Verdict)), strings.Join(res.Requirements, ","), res.Spec)
		if res.Reason != "" {
			fmt.Fprintf(w, "  %-16s %s\n", "", res.Reason)
		}
	}
	counts := rep.Counts()
	var parts []string
	for _, v := range []reports.Verdict{reports.Pass, reports.Fail, reports.NonStrict, reports.ExpectedFailure, reports.UnexpectedPass, reports.Informational, reports.Skipped, reports.Error} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	fmt.Fprintf(w, "%s in %s; %d unexpected\n", strings.Join(parts, ", "), rep.Duration.Round(time.Second/10), len(rep.Unexpected()))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
