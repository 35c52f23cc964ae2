package reports

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// BaselinePlan is what updating a baseline from runs would do.
type BaselinePlan struct {
	Kept    []KnownFailure // still failing, intermittent, or not in the run: reasons kept
	Dropped []KnownFailure // passed in the latest run: no longer a known failure
	New     []NewFailure   // failed in each of the last N runs: to baseline, with a reason
	Refused []NewFailure   // failed in the latest run but not in each of the last N
}

// NewFailure is a failure not in the baseline.
type NewFailure struct {
	Spec     string
	Verdict  Verdict
	Message  string // first line of the failure
	FailedIn int    // of the last N runs
	Of       int
}

func failing(v Verdict) bool { return v == Fail || v == NonStrict || v == ExpectedFailure }
func passing(v Verdict) bool { return v == Pass || v == UnexpectedPass || v == Informational }

// PlanBaseline compares a baseline with runs of its implementation, oldest
// first. An entry is dropped only when the latest run shows it passing,
// and never when it is marked intermittent; a new failure is proposed
// only when each of the last n runs failed it, so one flaky run does not
// become a baseline.
func PlanBaseline(e Expectations, runs []Report, n int) BaselinePlan {
	var p BaselinePlan
	if len(runs) == 0 {
		p.Kept = e.ExpectedFailures
		return p
	}
	latest := runs[len(runs)-1]
	for _, k := range e.ExpectedFailures {
		var covered []Result
		for _, r := range latest.Results {
			if (k.Spec != "" && r.Spec == k.Spec) || (k.Requirement != "" && slices.Contains(r.Requirements, k.Requirement)) {
				covered = append(covered, r)
			}
		}
		allPass := len(covered) > 0
		for _, r := range covered {
			allPass = allPass && passing(r.Verdict)
		}
		if allPass && !k.Intermittent {
			p.Dropped = append(p.Dropped, k)
		} else {
			p.Kept = append(p.Kept, k)
		}
	}
	window := runs[max(0, len(runs)-n):]
	for _, r := range latest.Results {
		// Only a failure breaks the run: a missed SHOULD (non-strict) needs
		// no baseline, and a baselined one is an expected failure already.
		if r.Verdict != Fail {
			continue
		}
		nf := NewFailure{Spec: r.Spec, Verdict: r.Verdict, Message: firstLine(r.Message), Of: n}
		for _, run := range window {
			for _, o := range run.Results {
				if o.Spec == r.Spec && failing(o.Verdict) {
					nf.FailedIn++
					break
				}
			}
		}
		if nf.FailedIn >= n {
			p.New = append(p.New, nf)
		} else {
			p.Refused = append(p.Refused, nf)
		}
	}
	return p
}

// YAML writes an expectations file: header (comment lines, kept as they
// were), the flavor, then the entries with their reasons folded at 76
// columns.
func (e Expectations) YAML(header string) []byte {
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "flavor: %s\n", scalar(e.Flavor))
	if len(e.ExpectedFailures) == 0 {
		b.WriteString("expected_failures: []\n")
		return []byte(b.String())
	}
	b.WriteString("expected_failures:\n")
	for _, k := range e.ExpectedFailures {
		if k.Spec != "" {
			fmt.Fprintf(&b, "  - spec: %s\n", quoted(k.Spec))
		} else {
			fmt.Fprintf(&b, "  - requirement: %s\n", k.Requirement)
		}
		b.WriteString("    reason: " + folded(k.Reason))
		if k.Link != "" {
			fmt.Fprintf(&b, "    link: %s\n", scalar(k.Link))
		}
		if k.Intermittent {
			b.WriteString("    intermittent: true\n")
			b.WriteString("    evidence: " + folded(k.Evidence))
		}
	}
	return []byte(b.String())
}

// plainScalar is what YAML reads back unchanged without quotes: a flavor
// name, a URL.
var plainScalar = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:?=&%+-]*$`)

// scalar writes s plain when it can, quoted otherwise.
func scalar(s string) string {
	if plainScalar.MatchString(s) && !strings.Contains(s, ": ") && s != "true" && s != "false" && s != "null" {
		return s
	}
	return quoted(s)
}

// quoted is a YAML double-quoted scalar (JSON's string syntax is one).
func quoted(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// folded is a ">-" block of s wrapped at word boundaries; text a folded
// block cannot carry as is (line breaks, leading spaces) is quoted instead.
func folded(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "\n\r\t") || strings.Contains(s, "  ") {
		return quoted(s) + "\n"
	}
	var b strings.Builder
	b.WriteString(">-\n")
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > 72 {
			b.WriteString("      " + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	b.WriteString("      " + line + "\n")
	return b.String()
}

// CommentHeader is the leading comment lines of an expectations file.
func CommentHeader(data []byte) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") && strings.TrimSpace(l) != "" {
			break
		}
		b.WriteString(l)
	}
	return b.String()
}
