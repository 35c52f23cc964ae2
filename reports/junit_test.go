package reports_test

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/reports/requirements"
)

// writersReport has one result per verdict, two sides, text that needs
// escaping and transcripts with the awkward cases (dropped connection,
// non-JSON and non-UTF-8 bodies, a body trying to inject a script).
func writersReport() reports.Report {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	push := recorder.Exchange{
		Seq: 3, From: "homeserver", To: "appservice", Method: "PUT", Path: "/_matrix/app/v1/transactions/7",
		Header: http.Header{"Authorization": {"Bearer <hs_token>"}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"events":[{"type":"m.room.message","content":{"body":"</pre><script>alert(1)</script>"}}]}`),
		Status: 200, RespBody: []byte(`{}`), Start: at(40), End: at(41),
	}
	return reports.Report{
		Schema: 1, Tool: "asconform test", SpecVersion: "v1.19",
		SUT:     reports.SUT{Side: "homeserver", Flavor: "synapse", Image: "example/synapse:1.0", Mutant: "txn-id-reused"},
		Started: t0, Duration: 83456 * time.Millisecond,
		Results: []reports.Result{
			{Side: "homeserver", Spec: `Transactions are PUT with <events> & "quotes"`, Requirements: []string{"HS-TXN-01", "HS-TXN-02"},
				Verdict: reports.Pass, Duration: 1500 * time.Millisecond,
				Transcript: []recorder.Exchange{
					{Seq: 1, From: "alice", To: "homeserver", Method: "POST", Path: "/_matrix/client/v3/createRoom",
						Header: http.Header{"Authorization": {"Bearer <alice access_token>"}}, Body: []byte(`{"preset":"public_chat"}`),
						Status: 200, RespBody: []byte(`{"room_id":"!r:hs"}`), Start: at(0), End: at(20)},
					{Seq: 2, From: "alice", To: "homeserver", Method: "PUT", Path: "/_matrix/client/v3/rooms/%21r:hs/send/m.room.message/1",
						Body: []byte(`{"body":"hi"}`), Status: 200, RespBody: []byte(`{"event_id":"$e"}`), Start: at(25), End: at(38)},
					push,
				}},
			{Side: "homeserver", Spec: "Identity assertion acts as the user", Requirements: []string{"HS-ID-01"},
				Verdict: reports.Fail, Duration: 250 * time.Millisecond, Location: "suites/homeserver/identity.go:27",
				Message: "Expected\n    <int>: 403\nto equal\n    <int>: 200 \x1b[1m]]>\x1b[0m\x00",
				SUTLog:  "synapse: starting\nsynapse: <error> user_id ignored\n",
				Transcript: []recorder.Exchange{
					{Seq: 1, From: "appservice", To: "homeserver", Method: "GET", Path: "/_matrix/client/v3/account/whoami",
						Query: url.Values{"user_id": {"@ghost:hs"}}, Header: http.Header{"Authorization": {"Bearer <as_token>"}},
						Status: 403, RespBody: []byte(`{"errcode":"M_FORBIDDEN","error":"nope"}`), Start: at(0), End: at(3)},
					{Seq: 2, From: "homeserver", To: "appservice", Method: "PUT", Path: "/_matrix/app/v1/transactions/8",
						Body: []byte{0xff, 0xfe, 0x00}, Outcome: "connection dropped after reading the request", Start: at(5), End: at(6)},
					{Seq: 3, From: "appservice", To: "homeserver", Method: "GET", Path: "/_matrix/client/versions",
						Status: 502, RespBody: []byte("<html>bad gateway</html>"), Start: at(7), End: at(9)},
				}},
			{Side: "homeserver", Spec: "Retries back off", Requirements: []string{"HS-TXN-06"}, Verdict: reports.NonStrict,
				Duration: 12 * time.Second, Message: "Expected a growing interval\nActual: 1s, 1s, 1s",
				Observations: []reports.Observation{{Name: "retry intervals", Value: "1s, 1s, 1s"}}},
			{Side: "homeserver", Spec: "Transaction IDs are distinct", Requirements: []string{"HS-TXN-04"}, Verdict: reports.ExpectedFailure,
				Reason: "reuses IDs (https://example.org/1)", Message: "txn 3 reused"},
			{Side: "homeserver", Spec: "Retried transactions keep their events", Requirements: []string{"HS-TXN-05"}, Verdict: reports.UnexpectedPass,
				Reason: "baselined as failing (drops events) but passed: tighten the expectations file"},
			{Side: "homeserver", Spec: "Timestamp massaging", Requirements: []string{"HS-TS-01"}, Verdict: reports.Skipped,
				Message: "checks requirements introduced in v1.3, after the targeted spec v1.2"},
			{Side: "homeserver", Spec: "Namespaces are exclusive", Requirements: []string{"HS-NS-01"}, Verdict: reports.Error,
				Message: "harness error: docker went away", Location: "harness/container.go:80", Duration: 2 * time.Millisecond},
			{Side: "appservice", Spec: "The AS checks the hs_token", Requirements: []string{"AS-AUTH-01"}, Verdict: reports.Pass,
				Duration: 30 * time.Millisecond},
		},
	}
}

// Parsed JUnit, as a CI system reads it.
type jSuites struct {
	jCounts
	Time   string   `xml:"time,attr"`
	Suites []jSuite `xml:"testsuite"`
}

// jCounts are the totals <testsuites> and each <testsuite> carry.
type jCounts struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
}

type jSuite struct {
	Name string `xml:"name,attr"`
	jCounts
	Time       string      `xml:"time,attr"`
	Properties []jProperty `xml:"properties>property"`
	Cases      []jCase     `xml:"testcase"`
}

type jProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type jCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *jProblem `xml:"failure"`
	Error     *jProblem `xml:"error"`
	Skipped   *jProblem `xml:"skipped"`
	SystemOut string    `xml:"system-out"`
}

type jProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func parseJUnit(t *testing.T, data []byte) jSuites {
	t.Helper()
	var s jSuites
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, data)
	}
	return s
}

func TestJUnitGolden(t *testing.T) {
	got, err := writersReport().JUnit()
	if err != nil {
		t.Fatal(err)
	}
	got = withoutCatalogueText(got)
	checkGolden(t, "junit.golden.xml", got)
}

func TestJUnitParsesBack(t *testing.T) {
	r := writersReport()
	data, err := r.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration: %.60s", data)
	}
	s := parseJUnit(t, data)

	if want := (jCounts{Tests: 8, Failures: 2, Errors: 1, Skipped: 1}); s.jCounts != want || s.Time != "83.456" {
		t.Errorf("totals %+v time %s; want %+v time 83.456", s.jCounts, s.Time, want)
	}
	if len(s.Suites) != 2 || s.Suites[0].Name != "appservice" || s.Suites[1].Name != "homeserver" {
		t.Fatalf("want one suite per side, got %+v", s.Suites)
	}
	var sum jCounts
	for _, suite := range s.Suites {
		elements := jCounts{Tests: len(suite.Cases)}
		for _, c := range suite.Cases {
			elements.Failures += btoi(c.Failure != nil)
			elements.Errors += btoi(c.Error != nil)
			elements.Skipped += btoi(c.Skipped != nil)
		}
		if elements != suite.jCounts {
			t.Errorf("suite %s counts %+v, its testcase elements %+v", suite.Name, suite.jCounts, elements)
		}
		sum.Tests += suite.Tests
		sum.Failures += suite.Failures
		sum.Errors += suite.Errors
		sum.Skipped += suite.Skipped
	}
	if sum != s.jCounts {
		t.Errorf("root counts %+v do not add up from the suites' %+v", s.jCounts, sum)
	}
	hs := s.Suites[1]
	if hs.Time != "13.752" {
		t.Errorf("homeserver suite time %s, want the sum of its specs 13.752", hs.Time)
	}
	props := map[string]string{}
	for _, p := range hs.Properties {
		props[p.Name] = p.Value
	}
	if props["sut.flavor"] != "synapse" || props["sut.mutant"] != "txn-id-reused" || props["spec_version"] != "v1.19" {
		t.Errorf("properties %v", props)
	}
	if _, ok := props["sut.url"]; ok {
		t.Errorf("empty property written: %v", props)
	}

	cases := map[string]jCase{}
	for _, c := range hs.Cases {
		cases[c.Name] = c
	}
	pass := cases[`Transactions are PUT with <events> & "quotes"`]
	if pass.Classname != "homeserver.TXN" || pass.Time != "1.500" || pass.Failure != nil || pass.Error != nil || pass.Skipped != nil || pass.SystemOut != "" {
		t.Errorf("pass: %+v", pass)
	}
	fail := cases["Identity assertion acts as the user"]
	if fail.Failure == nil || fail.Failure.Message != "Expected" || fail.Failure.Type != "fail" {
		t.Fatalf("fail: %+v", fail)
	}
	for _, want := range []string{"<int>: 403", "to equal", "]]>", "at suites/homeserver/identity.go:27", "HS-ID-01 (MUST, since v1.0)", "https://spec.matrix.org/"} {
		if !strings.Contains(fail.Failure.Text, want) {
			t.Errorf("failure text lacks %q:\n%s", want, fail.Failure.Text)
		}
	}
	if strings.ContainsAny(fail.Failure.Text, "\x1b\x00") {
		t.Errorf("control characters survive: %q", fail.Failure.Text)
	}
	if c := cases["Namespaces are exclusive"]; c.Error == nil || c.Error.Message != "harness error: docker went away" || c.Failure != nil || c.Classname != "homeserver.NS" {
		t.Errorf("error: %+v", c)
	}
	if c := cases["Timestamp massaging"]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "after the targeted spec v1.2") {
		t.Errorf("skipped: %+v", c)
	}
	if c := cases["Transaction IDs are distinct"]; c.Failure != nil || c.Error != nil || c.Skipped != nil ||
		!strings.Contains(c.SystemOut, "baselined") || !strings.Contains(c.SystemOut, "reuses IDs (https://example.org/1)") || !strings.Contains(c.SystemOut, "txn 3 reused") {
		t.Errorf("expected failure must pass with a note: %+v", c)
	}
	if c := cases["Retried transactions keep their events"]; c.Failure == nil || c.Failure.Type != "unexpected-pass" ||
		!strings.Contains(c.Failure.Message, "expectations file") || !strings.Contains(c.Failure.Text, "drops events") {
		t.Errorf("unexpected pass must fail: %+v", c)
	}
	if c := cases["Retries back off"]; c.Failure != nil || !strings.Contains(c.SystemOut, "SHOULD") || !strings.Contains(c.SystemOut, "Actual: 1s, 1s, 1s") || c.Time != "12.000" {
		t.Errorf("non-strict must pass with a note: %+v", c)
	}
}

// CI goes red exactly when the outcome does not match the expectations.
func TestJUnitFailsExactlyOnUnexpected(t *testing.T) {
	for _, v := range []reports.Verdict{reports.Pass, reports.Fail, reports.NonStrict, reports.ExpectedFailure,
		reports.UnexpectedPass, reports.Skipped, reports.Error} {
		r := reports.Report{Results: []reports.Result{{Side: "homeserver", Spec: "s", Verdict: v}}}
		data, err := r.JUnit()
		if err != nil {
			t.Fatal(err)
		}
		s := parseJUnit(t, data)
		red := s.Failures+s.Errors > 0
		if want := len(r.Unexpected()) > 0; red != want {
			t.Errorf("%s: JUnit red=%v, but unexpected=%v", v, red, want)
		}
		if s.Suites[0].Cases[0].Classname != "homeserver.unlabelled" {
			t.Errorf("classname without requirements: %q", s.Suites[0].Cases[0].Classname)
		}
	}
}

func TestJUnitEmptyAndSideless(t *testing.T) {
	data, err := reports.Report{}.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if s := parseJUnit(t, data); s.Tests != 0 || len(s.Suites) != 0 {
		t.Errorf("empty report: %+v", s)
	}
	r := reports.Report{SUT: reports.SUT{Side: "appservice"}, Results: []reports.Result{{Spec: "x", Verdict: reports.Pass}}}
	data, err = r.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if s := parseJUnit(t, data); len(s.Suites) != 1 || s.Suites[0].Name != "appservice" {
		t.Errorf("a result without a side belongs to the SUT's side: %+v", s.Suites)
	}
}

func TestWriteJUnit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	p, err := writersReport().WriteJUnit(dir)
	parseJUnit(t, readWritten(t, p, err, "junit.xml"))
}

// withoutCatalogueText replaces the catalogue's paraphrases and links by
// placeholders, so rewording the catalogue does not break the golden file.
func withoutCatalogueText(data []byte) []byte {
	s := string(data)
	for _, res := range writersReport().Results {
		for _, id := range res.Requirements {
			if req, ok := requirements.Lookup(id); ok {
				s = strings.ReplaceAll(s, req.Summary, "{summary of "+id+"}")
				s = strings.ReplaceAll(s, req.URL, "{link to "+req.Section+"}")
			}
		}
	}
	return []byte(s)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
