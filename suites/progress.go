package suites

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/asconform/asconform/reports"
)

// ProgressEnv names the file the asconform command follows for its console:
// one event a line, appended by every process of the run (appends of a
// short line are atomic, so parallel processes do not interleave).
//
//	phase <tab> text           a step of the run (starting the SUT, ...)
//	total <tab> N              how many specs will run
//	spec <tab> verdict <tab> unexpected(0|1) <tab> text
const ProgressEnv = "ASCONFORM_PROGRESS"

var progressMu sync.Mutex

func progress(fields ...string) {
	path := os.Getenv(ProgressEnv)
	if path == "" {
		return
	}
	line := strings.Join(fields, "\t")
	line = strings.NewReplacer("\n", " ", "\r", " ").Replace(line) + "\n"
	progressMu.Lock()
	defer progressMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line)
}

// Phase tells the console of a step of the run, e.g. the SUT starting.
func Phase(format string, args ...any) { progress("phase", fmt.Sprintf(format, args...)) }

var _ = ginkgo.ReportBeforeSuite(func(r ginkgo.Report) {
	if !r.SuiteConfig.DryRun {
		progress("total", fmt.Sprint(r.PreRunStats.SpecsThatWillRun))
	}
})

var _ = ginkgo.ReportAfterEach(func(s types.SpecReport) {
	if !selected(s) || os.Getenv(ProgressEnv) == "" {
		return
	}
	res := graded(s)
	unexpected := "0"
	if res.Verdict == reports.Fail || res.Verdict == reports.Error || res.Verdict == reports.UnexpectedPass {
		unexpected = "1"
	}
	progress("spec", string(res.Verdict), unexpected, res.Spec)
})

var (
	expectationsOnce sync.Once
	expectationsBy   map[string]reports.Expectations
)

// graded is a spec's result with the side's expectations applied.
func graded(s types.SpecReport) reports.Result {
	expectationsOnce.Do(func() {
		c, _ := Settings()
		expectationsBy = map[string]reports.Expectations{}
		for side, path := range map[string]string{"homeserver": c.Expectations, "appservice": c.ASExpectations} {
			e, err := reports.LoadExpectations(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "asconform:", err)
			}
			expectationsBy[side] = e
		}
	})
	res := result(s)
	res.Steps = stepsOf(s)
	return expectationsBy[res.Side].Apply(res)
}
