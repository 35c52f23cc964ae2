package reports

import (
	"bytes"
	"fmt"
	"os"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/asconform/asconform/reports/requirements"
)

// Expectations is a per-implementation baseline of known failures, so CI
// stays green on known deviations while the report still shows them.
type Expectations struct {
	Flavor           string         `yaml:"flavor"`
	ExpectedFailures []KnownFailure `yaml:"expected_failures"`
}

// KnownFailure names a spec (by its full text) or a requirement ID that is
// known to fail, and why.
type KnownFailure struct {
	Spec        string `yaml:"spec,omitempty"`
	Requirement string `yaml:"requirement,omitempty"`
	Reason      string `yaml:"reason"`
	Link        string `yaml:"link,omitempty"`
	// Intermittent marks a failure that is truly flaky: it may pass, and
	// then is no unexpected pass. Evidence says which runs showed it.
	Intermittent bool   `yaml:"intermittent,omitempty"`
	Evidence     string `yaml:"evidence,omitempty"`
}

// LoadExpectations reads an expectations file; a missing path means none.
func LoadExpectations(path string) (Expectations, error) {
	if path == "" {
		return Expectations{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Expectations{}, fmt.Errorf("expectations: %w", err)
	}
	var e Expectations
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&e); err != nil {
		return Expectations{}, fmt.Errorf("expectations %s: %w", path, err)
	}
	for i, k := range e.ExpectedFailures {
		if (k.Spec == "") == (k.Requirement == "") {
			return Expectations{}, fmt.Errorf("expectations %s: entry %d must name exactly one of spec or requirement", path, i)
		}
		if k.Reason == "" {
			return Expectations{}, fmt.Errorf("expectations %s: entry %d has no reason", path, i)
		}
		if k.Intermittent && k.Evidence == "" {
			return Expectations{}, fmt.Errorf("expectations %s: entry %d is intermittent but gives no evidence (which runs failed, which passed)", path, i)
		}
		if k.Requirement != "" {
			if err := requirements.Validate(k.Requirement); err != nil {
				return Expectations{}, fmt.Errorf("expectations %s: entry %d: %w", path, i, err)
			}
		}
	}
	return e, nil
}

func (e Expectations) lookup(r Result) (KnownFailure, bool) {
	for _, k := range e.ExpectedFailures {
		if k.Spec != "" && k.Spec == r.Spec {
			return k, true
		}
		if k.Requirement != "" && slices.Contains(r.Requirements, k.Requirement) {
			return k, true
		}
	}
	return KnownFailure{}, false
}

// Apply grades a raw outcome against the baseline: a baselined failure
// becomes an expected failure, a baselined pass an unexpected pass.
func (e Expectations) Apply(r Result) Result {
	k, known := e.lookup(r)
	if !known {
		return r
	}
	switch r.Verdict {
	case Fail, NonStrict:
		r.Verdict = ExpectedFailure
		r.Reason = k.Reason
		if k.Link != "" {
			r.Reason += " (" + k.Link + ")"
		}
	case Pass:
		if k.Intermittent { // flaky by its evidence: passing proves nothing
			r.Reason = "baselined as intermittent (" + k.Reason + "); passed this time"
			return r
		}
		r.Verdict = UnexpectedPass
		r.Reason = "baselined as failing (" + k.Reason + ") but passed: tighten the expectations file"
	}
	return r
}

// FailureVerdict grades a failed spec by the strongest level among the
// requirements it checks: only MUST, MUST NOT and SCHEMA make it strict
// (see requirements.Level for the rule).
func FailureVerdict(ids []string) Verdict {
	for _, id := range ids {
		if r, ok := requirements.Lookup(id); !ok || r.Level.Strict() || r.Level == requirements.Historical {
			return Fail
		}
	}
	if len(ids) == 0 {
		return Fail
	}
	return NonStrict
}
