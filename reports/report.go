// Package scenarios holds the report model: what each scenario sent, what
// came back, and the verdict per requirement, plus the writers that turn a
// run into files for CI systems and spec reviewers.
package reports

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// Verdict grades one spec's outcome.
type Verdict string

const (
	Pass            Verdict = "pass"
	Fail            Verdict = "fail"             // a MUST (or schema rule) broken
	NonStrict       Verdict = "non-strict"       // only a SHOULD missed
	Informational   Verdict = "informational"    // behaviour observed where the spec leaves room; see the observations
	ExpectedFailure Verdict = "expected-failure" // failed, and baselined in the expectations file
	UnexpectedPass  Verdict = "unexpected-pass"  // baselined as failing, but passed
	Skipped         Verdict = "skipped"
	Error           Verdict = "error" // the harness or environment broke, not the SUT
)

// Observation is a value measured during a scenario (an interval, a latency).
type Observation struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Result is the outcome of one spec.
type Result struct {
	Side         string              `json:"side"`
	Spec         string              `json:"spec"`
	Requirements []string            `json:"requirements"`
	Verdict      Verdict             `json:"verdict"`
	Message      string              `json:"message,omitempty"`  // failure: expected vs actual
	Location     string              `json:"location,omitempty"` // where in our code it failed
	Reason       string              `json:"reason,omitempty"`   // for expected failures: why baselined
	Duration     time.Duration       `json:"duration_ns"`
	Observations []Observation       `json:"observations,omitempty"`
	Steps        []Step              `json:"steps,omitempty"` // the scenario's own steps, drawn as dividers
	Transcript   []recorder.Exchange `json:"transcript,omitempty"`
	SUTLog       string              `json:"sut_log,omitempty"` // tail, attached on failure
}

// Report is one run against one SUT.
type Report struct {
	Schema      int           `json:"schema"` // bumped on incompatible changes
	Tool        string        `json:"tool"`
	SpecVersion string        `json:"spec_version"`
	SUT         SUT           `json:"sut"`
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"duration_ns"`
	Results     []Result      `json:"results"`
}

// SUT names the system under test.
type SUT struct {
	Side   string `json:"side"`
	Flavor string `json:"flavor"`
	Image  string `json:"image,omitempty"`
	URL    string `json:"url,omitempty"`
	Mutant string `json:"mutant,omitempty"` // set when the SUT was broken on purpose
	// Profile names the opt-in profiles of unstable extensions the run
	// checked (comma-separated); empty: the stable spec only.
	Profile string `json:"profile,omitempty"`
	// Versions are the spec versions the SUT advertises (/versions), when known.
	Versions []string `json:"versions,omitempty"`
}

// Step is a named moment of a scenario ("3. Alice joins", "AS down"),
// placed in time among the exchanges.
type Step struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Counts tallies verdicts.
func (r Report) Counts() map[Verdict]int {
	c := map[Verdict]int{}
	for _, res := range r.Results {
		c[res.Verdict]++
	}
	return c
}

// Unexpected lists results that do not match the expectations: failures
// and errors not baselined, and baselined failures that now pass.
func (r Report) Unexpected() []Result {
	var out []Result
	for _, res := range r.Results {
		switch res.Verdict {
		case Fail, Error, UnexpectedPass:
			out = append(out, res)
		}
	}
	return out
}

// verdictOrder lists verdicts worst first: the order of summaries, tallies
// and sorted results.
var verdictOrder = []Verdict{Error, Fail, UnexpectedPass, NonStrict, ExpectedFailure, Informational, Skipped, Pass}

// verdictRank is v's place in verdictOrder.
func verdictRank(v Verdict) int { return slices.Index(verdictOrder, v) }

// Sorted returns the results failures first, then by side and spec text.
func (r Report) Sorted() []Result {
	out := append([]Result(nil), r.Results...)
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := verdictRank(out[i].Verdict), verdictRank(out[j].Verdict); ri != rj {
			return ri < rj
		}
		if out[i].Side != out[j].Side {
			return out[i].Side < out[j].Side
		}
		return out[i].Spec < out[j].Spec
	})
	return out
}

// WriteJSON writes the report as indented JSON to dir/results.json.
func (r Report) WriteJSON(dir string) (string, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return writeFile(dir, "results.json", data)
}

// writeRendered writes dir/name with what render produces, nothing if it fails.
func writeRendered(dir, name string, render func(io.Writer) error) (string, error) {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return "", err
	}
	return writeFile(dir, name, b.Bytes())
}

func writeFile(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, data, 0o644)
}
