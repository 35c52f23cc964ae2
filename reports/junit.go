package reports

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/asconform/asconform/reports/requirements"
)

// WriteJUnit writes dir/junit.xml for CI systems: one testsuite per side,
// one testcase per spec.
//
// JUnit knows only passed, failed, errored and skipped, so verdicts map as
// follows, chosen so that a CI job is red exactly when Unexpected() is not
// empty:
//
//	pass             passed
//	fail             <failure>, the message saying what was expected and what happened
//	error            <error>: the harness or environment broke, not the SUT
//	skipped          <skipped message="why">
//	expected-failure passed, <system-out> saying it is baselined and why
//	unexpected-pass  <failure>: the expectations file needs tightening
//	non-strict       passed, <system-out> naming the SHOULD missed
func (r Report) WriteJUnit(dir string) (string, error) {
	data, err := r.JUnit()
	if err != nil {
		return "", err
	}
	return writeFile(dir, "junit.xml", data)
}

// JUnit renders the report as JUnit XML.
func (r Report) JUnit() ([]byte, error) {
	root := junitSuites{Name: "asconform " + r.SUT.Flavor, Time: junitSeconds(r.Duration)}
	bySide := map[string]*junitSuite{}
	var sides []string
	for _, res := range r.Results {
		side := res.Side
		if side == "" {
			side = r.SUT.Side
		}
		if side == "" {
			side = "unknown"
		}
		s := bySide[side]
		if s == nil {
			s = &junitSuite{Name: side, Timestamp: junitTimestamp(r.Started), Properties: r.junitProperties()}
			bySide[side] = s
			sides = append(sides, side)
		}
		c := junitCaseFor(side, res)
		s.count(c)
		s.dur += res.Duration
		s.Cases = append(s.Cases, c)
	}
	sort.Strings(sides)
	for _, side := range sides {
		s := bySide[side]
		s.Time = junitSeconds(s.dur)
		root.add(s.junitCounts)
		root.Suites = append(root.Suites, *s)
	}
	out, err := xml.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	return append(append([]byte(xml.Header), out...), '\n'), nil
}

// junitCounts are the totals <testsuites> and each <testsuite> carry.
type junitCounts struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
}

func (n *junitCounts) count(c junitCase) {
	n.Tests++
	switch {
	case c.Failure != nil:
		n.Failures++
	case c.Error != nil:
		n.Errors++
	case c.Skipped != nil:
		n.Skipped++
	}
}

func (n *junitCounts) add(o junitCounts) {
	n.Tests += o.Tests
	n.Failures += o.Failures
	n.Errors += o.Errors
	n.Skipped += o.Skipped
}

type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Time   string       `xml:"time,attr"`
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`

	dur time.Duration
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

// Texts are CDATA so junit.xml stays readable: messages span lines.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

func (r Report) junitProperties() []junitProperty {
	var ps []junitProperty
	for _, p := range [][2]string{
		{"tool", r.Tool}, {"spec_version", r.SpecVersion}, {"sut.flavor", r.SUT.Flavor},
		{"sut.image", r.SUT.Image}, {"sut.url", r.SUT.URL}, {"sut.mutant", r.SUT.Mutant}, {"sut.profile", r.SUT.Profile},
	} {
		if p[1] != "" {
			ps = append(ps, junitProperty{p[0], xmlSafe(p[1])})
		}
	}
	return ps
}

func junitCaseFor(side string, res Result) junitCase {
	c := junitCase{Name: xmlSafe(res.Spec), Classname: side + "." + requirementArea(res.Requirements), Time: junitSeconds(res.Duration)}
	msg := xmlSafe(strings.TrimSpace(res.Message))
	detail := msg
	if res.Location != "" {
		detail += "\n\nat " + xmlSafe(res.Location)
	}
	if reqs := requirementLines(res.Requirements); reqs != "" {
		detail += "\n\n" + reqs
	}
	detail = strings.TrimSpace(detail)
	switch res.Verdict {
	case Fail:
		c.Failure = &junitProblem{Message: firstLine(msg), Type: string(Fail), Text: detail}
	case Error:
		c.Error = &junitProblem{Message: firstLine(msg), Type: string(Error), Text: detail}
	case Skipped:
		why := msg
		if why == "" {
			why = xmlSafe(res.Reason)
		}
		c.Skipped = &junitProblem{Message: why}
	case UnexpectedPass:
		c.Failure = &junitProblem{
			Message: "passed, but the expectations file lists it as failing: remove the entry",
			Type:    string(UnexpectedPass),
			Text:    strings.TrimSpace(xmlSafe(res.Reason) + "\n\n" + requirementLines(res.Requirements)),
		}
	case ExpectedFailure:
		c.SystemOut = &junitText{"expected failure, baselined in the expectations file: " + xmlSafe(res.Reason) + "\n\n" + detail + "\n"}
	case NonStrict:
		c.SystemOut = &junitText{"non-strict: only a SHOULD was missed, which does not fail the run\n\n" + detail + "\n"}
	case Informational:
		c.SystemOut = &junitText{"informational: behaviour observed where the spec leaves room\n\n" + detail + "\n"}
	}
	return c
}

// requirementArea is the area of the first requirement ("HS-TXN-01" gives "TXN"),
// so CI tools that group by class group a side's specs by area.
func requirementArea(ids []string) string {
	if len(ids) == 0 {
		return "unlabelled"
	}
	parts := strings.Split(ids[0], "-")
	if len(parts) != 3 {
		return ids[0]
	}
	return parts[1]
}

func requirementLines(ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		req, ok := requirements.Lookup(id)
		if !ok {
			fmt.Fprintf(&b, "%s: not in the catalogue\n", xmlSafe(id))
			continue
		}
		fmt.Fprintf(&b, "%s (%s, since %s): %s %s\n", id, req.Level, req.Since, req.Summary, req.URL)
		if req.Question != "" {
			fmt.Fprintf(&b, "  question: %s\n", req.Question)
		}
	}
	return strings.TrimSpace(b.String())
}

func junitSeconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// junitTimestamp follows the Ant schema: ISO 8601 without a zone, in UTC.
func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// xmlSafe drops terminal colour codes (Gomega's, when run on a terminal)
// and the control characters XML 1.0 cannot carry at all.
func xmlSafe(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return -1
		}
		if r == 0xFFFE || r == 0xFFFF {
			return -1
		}
		return r
	}, s)
}
