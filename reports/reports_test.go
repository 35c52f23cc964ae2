package reports_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/reports/requirements"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// readWritten reads back the file a Write method reported, which must be
// the one named name.
func readWritten(t *testing.T, p string, err error, name string) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
	if filepath.Base(p) != name {
		t.Errorf("wrote %s, want %s", p, name)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Requirement IDs by level, checked against the catalogue so the tests do
// not silently change meaning if the catalogue is renumbered.
const (
	mustID      = "HS-TXN-02"
	mustNotID   = "HS-TXN-05"
	schemaID    = "HS-TXN-01"
	shouldID    = "HS-TXN-06"
	shouldNotID = "HS-LOGIN-02"
	historicID  = "HIST-REG-01"
	unknownID   = "HS-NOPE-99"
)

func TestRequirementFixtures(t *testing.T) {
	for id, level := range map[string]requirements.Level{
		mustID: requirements.Must, mustNotID: requirements.MustNot, schemaID: requirements.Schema,
		shouldID: requirements.Should, shouldNotID: requirements.ShouldNot, historicID: requirements.Historical,
	} {
		if r, ok := requirements.Lookup(id); !ok || r.Level != level {
			t.Errorf("fixture %s: catalogue has %+v (found %v), tests assume level %s", id, r.Level, ok, level)
		}
	}
	if _, ok := requirements.Lookup(unknownID); ok {
		t.Errorf("fixture %s is supposed to be unknown", unknownID)
	}
}

func TestApply(t *testing.T) {
	exp := reports.Expectations{ExpectedFailures: []reports.KnownFailure{
		{Spec: "Pushing events retries a failed transaction", Reason: "retries too late", Link: "https://example.org/issue/1"},
		{Requirement: shouldID, Reason: "no backoff"},
	}}
	tests := []struct {
		name    string
		in      reports.Result
		verdict reports.Verdict
		reason  []string // substrings of the resulting Reason; nil means unchanged
	}{
		{"baselined failure by spec text",
			reports.Result{Spec: "Pushing events retries a failed transaction", Requirements: []string{mustID}, Verdict: reports.Fail, Message: "boom"},
			reports.ExpectedFailure, []string{"retries too late", "(https://example.org/issue/1)"}},
		{"baselined non-strict failure by requirement",
			reports.Result{Spec: "something else", Requirements: []string{mustID, shouldID}, Verdict: reports.NonStrict},
			reports.ExpectedFailure, []string{"no backoff"}},
		{"baselined failure by requirement, strict verdict",
			reports.Result{Spec: "another", Requirements: []string{shouldID}, Verdict: reports.Fail},
			reports.ExpectedFailure, []string{"no backoff"}},
		{"baselined spec that passes",
			reports.Result{Spec: "Pushing events retries a failed transaction", Verdict: reports.Pass},
			reports.UnexpectedPass, []string{"retries too late", "tighten the expectations file"}},
		{"baselined requirement that passes",
			reports.Result{Spec: "x", Requirements: []string{shouldID}, Verdict: reports.Pass},
			reports.UnexpectedPass, []string{"no backoff"}},
		{"unrelated failure",
			reports.Result{Spec: "Pushing events delivers", Requirements: []string{mustID}, Verdict: reports.Fail, Message: "boom"},
			reports.Fail, nil},
		{"unrelated pass",
			reports.Result{Spec: "Pushing events delivers", Requirements: []string{mustID}, Verdict: reports.Pass},
			reports.Pass, nil},
		{"spec text must match exactly, not by prefix",
			reports.Result{Spec: "Pushing events retries a failed transaction twice", Verdict: reports.Fail},
			reports.Fail, nil},
		{"requirement must match exactly",
			reports.Result{Spec: "y", Requirements: []string{shouldID + "0"}, Verdict: reports.Fail},
			reports.Fail, nil},
		{"a harness error is never excused",
			reports.Result{Spec: "Pushing events retries a failed transaction", Verdict: reports.Error, Message: "docker went away"},
			reports.Error, nil},
		{"a skipped spec stays skipped",
			reports.Result{Spec: "Pushing events retries a failed transaction", Verdict: reports.Skipped},
			reports.Skipped, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exp.Apply(tt.in)
			if got.Verdict != tt.verdict {
				t.Fatalf("verdict = %s, want %s", got.Verdict, tt.verdict)
			}
			if tt.reason == nil {
				if !reflect.DeepEqual(got, tt.in) {
					t.Errorf("result changed:\n got %+v\nwant %+v", got, tt.in)
				}
				return
			}
			for _, w := range tt.reason {
				if !strings.Contains(got.Reason, w) {
					t.Errorf("reason %q does not mention %q", got.Reason, w)
				}
			}
			if got.Message != tt.in.Message || got.Spec != tt.in.Spec {
				t.Errorf("Apply changed more than verdict and reason: %+v", got)
			}
		})
	}
	t.Run("no expectations change nothing", func(t *testing.T) {
		in := reports.Result{Spec: "s", Verdict: reports.Fail}
		if got := (reports.Expectations{}).Apply(in); !reflect.DeepEqual(got, in) {
			t.Errorf("got %+v", got)
		}
	})
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "expectations.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadExpectations(t *testing.T) {
	t.Run("valid file", func(t *testing.T) {
		p := writeFile(t, `flavor: synapse
expected_failures:
  - spec: "Pushing events retries a failed transaction"
    reason: retries too late
    link: https://example.org/issue/1
  - requirement: `+shouldID+`
    reason: no backoff
`)
		e, err := reports.LoadExpectations(p)
		if err != nil {
			t.Fatalf("LoadExpectations: %v", err)
		}
		want := reports.Expectations{Flavor: "synapse", ExpectedFailures: []reports.KnownFailure{
			{Spec: "Pushing events retries a failed transaction", Reason: "retries too late", Link: "https://example.org/issue/1"},
			{Requirement: shouldID, Reason: "no backoff"},
		}}
		if !reflect.DeepEqual(e, want) {
			t.Fatalf("got %+v\nwant %+v", e, want)
		}
	})
	t.Run("no path means no expectations", func(t *testing.T) {
		e, err := reports.LoadExpectations("")
		if err != nil || len(e.ExpectedFailures) != 0 {
			t.Fatalf("got %+v, %v", e, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := reports.LoadExpectations(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
			t.Fatal("a missing expectations file was accepted")
		}
	})

	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"both spec and requirement", "expected_failures:\n  - spec: s\n    requirement: " + shouldID + "\n    reason: r\n", []string{"entry 0", "exactly one of spec or requirement"}},
		{"neither spec nor requirement", "expected_failures:\n  - spec: ok\n    reason: r\n  - reason: r\n", []string{"entry 1", "exactly one of spec or requirement"}},
		{"no reason", "expected_failures:\n  - spec: s\n", []string{"entry 0", "no reason"}},
		{"empty reason", "expected_failures:\n  - spec: s\n    reason: \"\"\n", []string{"entry 0", "no reason"}},
		{"unknown requirement ID", "expected_failures:\n  - requirement: " + unknownID + "\n    reason: r\n", []string{"entry 0", unknownID}},
		{"unknown field in an entry", "expected_failures:\n  - spec: s\n    reasn: r\n", []string{"reasn"}},
		{"unknown top-level field", "flavour: synapse\n", []string{"flavour"}},
		{"not YAML", "expected_failures: [\n", []string{"expectations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.doc)
			_, err := reports.LoadExpectations(p)
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.doc)
			}
			for _, w := range append(tt.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
		})
	}
}

func TestFailureVerdict(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want reports.Verdict
	}{
		{"MUST", []string{mustID}, reports.Fail},
		{"MUST NOT", []string{mustNotID}, reports.Fail},
		{"schema rule", []string{schemaID}, reports.Fail},
		{"SHOULD only", []string{shouldID}, reports.NonStrict},
		{"SHOULD NOT only", []string{shouldNotID}, reports.NonStrict},
		{"SHOULD and SHOULD NOT", []string{shouldID, shouldNotID}, reports.NonStrict},
		{"SHOULD then MUST", []string{shouldID, mustID}, reports.Fail},
		{"MUST then SHOULD", []string{mustID, shouldID}, reports.Fail},
		{"historical", []string{historicID}, reports.Fail},
		{"unknown ID", []string{unknownID}, reports.Fail},
		{"SHOULD with an unknown ID", []string{shouldID, unknownID}, reports.Fail},
		{"no IDs", nil, reports.Fail},
		{"empty list", []string{}, reports.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reports.FailureVerdict(tt.ids); got != tt.want {
				t.Errorf("FailureVerdict(%v) = %s, want %s", tt.ids, got, tt.want)
			}
		})
	}
}

func specs(rs []reports.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Spec)
	}
	return out
}

func mixedReport() reports.Report {
	return reports.Report{Results: []reports.Result{
		{Side: "homeserver", Spec: "b pass", Verdict: reports.Pass},
		{Side: "homeserver", Spec: "b fail", Verdict: reports.Fail},
		{Side: "homeserver", Spec: "skip", Verdict: reports.Skipped},
		{Side: "homeserver", Spec: "a fail", Verdict: reports.Fail},
		{Side: "appservice", Spec: "z fail", Verdict: reports.Fail},
		{Side: "homeserver", Spec: "expected", Verdict: reports.ExpectedFailure},
		{Side: "homeserver", Spec: "unexpected pass", Verdict: reports.UnexpectedPass},
		{Side: "homeserver", Spec: "should", Verdict: reports.NonStrict},
		{Side: "homeserver", Spec: "harness", Verdict: reports.Error},
		{Side: "homeserver", Spec: "a pass", Verdict: reports.Pass},
	}}
}

func TestUnexpected(t *testing.T) {
	r := mixedReport()
	want := []string{"b fail", "a fail", "z fail", "unexpected pass", "harness"}
	if got := specs(r.Unexpected()); !reflect.DeepEqual(got, want) {
		t.Errorf("Unexpected = %v, want %v", got, want)
	}
	clean := reports.Report{Results: []reports.Result{
		{Spec: "p", Verdict: reports.Pass}, {Spec: "e", Verdict: reports.ExpectedFailure},
		{Spec: "n", Verdict: reports.NonStrict}, {Spec: "s", Verdict: reports.Skipped},
	}}
	if got := clean.Unexpected(); len(got) != 0 {
		t.Errorf("Unexpected of a run matching its expectations = %v", specs(got))
	}
}

func TestSortedAndCounts(t *testing.T) {
	r := mixedReport()
	before := specs(r.Results)
	want := []string{"harness", "z fail", "a fail", "b fail", "unexpected pass", "should", "expected", "skip", "a pass", "b pass"}
	if got := specs(r.Sorted()); !reflect.DeepEqual(got, want) {
		t.Errorf("Sorted = %v\nwant     %v", got, want)
	}
	if !reflect.DeepEqual(specs(r.Results), before) {
		t.Errorf("Sorted reordered the report itself: %v", specs(r.Results))
	}
	counts := r.Counts()
	wantCounts := map[reports.Verdict]int{
		reports.Pass: 2, reports.Fail: 3, reports.Skipped: 1, reports.ExpectedFailure: 1,
		reports.UnexpectedPass: 1, reports.NonStrict: 1, reports.Error: 1,
	}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("Counts = %v, want %v", counts, wantCounts)
	}
}

var secrets = map[string]string{
	"as_token":           "AS-s3cr3t-Token",
	"hs_token":           "HS-s3cr3t-Token",
	"alice access_token": "syt_alice_s3cr3t",
	"unset":              "",
}

func TestRedact(t *testing.T) {
	in := []recorder.Exchange{
		{
			Method: "PUT", Path: "/_matrix/app/v1/transactions/1",
			Header: http.Header{"Authorization": {"Bearer HS-s3cr3t-Token"}, "Content-Type": {"application/json"}},
			Query:  url.Values{"access_token": {"HS-s3cr3t-Token"}, "user_id": {"@bot:hs"}},
			Body:   []byte(`{"events":[]}`), RespBody: []byte(`{}`),
		},
		{
			Method: "GET", Path: "/_matrix/client/v3/rooms/AS-s3cr3t-Token/state",
			Header:   http.Header{"Authorization": {"Bearer AS-s3cr3t-Token"}},
			Body:     []byte(`{"token":"AS-s3cr3t-Token","again":"AS-s3cr3t-Token"}`),
			RespBody: []byte(`{"user_id":"@alice:hs","access_token":"syt_alice_s3cr3t"}`),
		},
		{
			Method: "GET", Path: "/_matrix/client/v3/account/whoami",
			Header: http.Header{"Authorization": {"Bearer some-unlisted-token"}},
		},
		{Method: "GET", Path: "/nothing"},
	}
	orig, _ := json.Marshal(in)
	out := reports.Redact(in, secrets)

	if after, _ := json.Marshal(in); !bytes.Equal(orig, after) {
		t.Fatal("Redact modified its input")
	}
	if len(out) != len(in) {
		t.Fatalf("Redact returned %d exchanges for %d", len(out), len(in))
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"hs_token in Authorization", out[0].Header.Get("Authorization"), "Bearer <hs_token>"},
		{"other headers kept", out[0].Header.Get("Content-Type"), "application/json"},
		{"hs_token in query", out[0].Query.Get("access_token"), "<hs_token>"},
		{"other query kept", out[0].Query.Get("user_id"), "@bot:hs"},
		{"plain path kept", out[0].Path, "/_matrix/app/v1/transactions/1"},
		{"body without secrets kept", string(out[0].Body), `{"events":[]}`},
		{"as_token in Authorization", out[1].Header.Get("Authorization"), "Bearer <as_token>"},
		{"as_token in path", out[1].Path, "/_matrix/client/v3/rooms/<as_token>/state"},
		{"as_token in body, every occurrence", string(out[1].Body), `{"token":"<as_token>","again":"<as_token>"}`},
		{"user token in response body", string(out[1].RespBody), `{"user_id":"@alice:hs","access_token":"<alice access_token>"}`},
		{"unknown bearer token", out[2].Header.Get("Authorization"), "Bearer <redacted>"},
		{"no header stays no header", strings.Join(out[3].Header.Values("Authorization"), ","), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if out[3].Header != nil || out[3].Query != nil {
		t.Errorf("nil header/query became %v / %v", out[3].Header, out[3].Query)
	}
	assertNoSecret(t, out)
}

// assertNoSecret fails if any secret value survives anywhere in the
// exchanges as they would be written to a report.
func assertNoSecret(t *testing.T, out []recorder.Exchange) {
	t.Helper()
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range secrets {
		if v != "" && bytes.Contains(data, []byte(v)) {
			t.Errorf("%s survives redaction:\n%s", name, data)
		}
	}
}

func TestRedactNeverLeaks(t *testing.T) {
	tests := []struct {
		name string
		ex   recorder.Exchange
		bug  string
	}{
		{"bearer token", recorder.Exchange{Header: http.Header{"Authorization": {"Bearer AS-s3cr3t-Token"}}}, ""},
		{"lower-case header name", recorder.Exchange{Header: http.Header{"authorization": {"Bearer AS-s3cr3t-Token"}}}, ""},
		{"token in the middle of a path segment", recorder.Exchange{Path: "/x/prefixHS-s3cr3t-Tokensuffix"}, ""},
		{"bare token without a scheme", recorder.Exchange{Header: http.Header{"Authorization": {"HS-s3cr3t-Token"}}},
			"reports/redact.go redactHeader (Authorization without a space)"},
		{"token in another header", recorder.Exchange{Header: http.Header{"X-Access-Token": {"AS-s3cr3t-Token"}}},
			"reports/redact.go redactHeader (only Authorization is redacted)"},
		{"token in the outcome of a transport error", recorder.Exchange{
			Outcome: `transport error: Get "http://hs/_matrix/client/v3/sync?access_token=syt_alice_s3cr3t": EOF`},
			"reports/redact.go Redact (Outcome not redacted)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertNoSecret(t, reports.Redact([]recorder.Exchange{tt.ex}, secrets))
		})
	}
}

func TestRedactSecretThatPrefixesAnother(t *testing.T) {
	overlapping := map[string]string{"as_token": "tok-abc", "hs_token": "tok-abc-def"}
	// Map iteration order varies between calls; repeat so an order
	// dependence shows up.
	for i := 0; i < 50; i++ {
		out := reports.Redact([]recorder.Exchange{{Body: []byte("tok-abc-def")}}, overlapping)
		if got := string(out[0].Body); got != "<hs_token>" {
			t.Fatalf("attempt %d: %q redacted as %q, leaking part of the hs_token", i, "tok-abc-def", got)
		}
	}
}

func goldenReport() reports.Report {
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	return reports.Report{
		Schema: 1, Tool: "asconform test", SpecVersion: "v1.19",
		SUT:     reports.SUT{Side: "homeserver", Flavor: "synapse", Image: "example/synapse:1.0", URL: "http://hs:8008"},
		Started: started, Duration: 83456 * time.Millisecond,
		Results: []reports.Result{
			{Side: "homeserver", Spec: "Transactions are PUT", Requirements: []string{mustID, schemaID}, Verdict: reports.Pass},
			{Side: "homeserver", Spec: "Retries | back off", Requirements: []string{shouldID}, Verdict: reports.NonStrict,
				Message: "\n  Expected a growing interval\n  Actual: 1s, 1s, 1s\n"},
			{Side: "homeserver", Spec: "Identity assertion", Requirements: []string{"HS-ID-01"}, Verdict: reports.Fail,
				Message: "Expected 200\nActual: 403 {\"errcode\":\"M_FORBIDDEN\"}"},
			{Side: "homeserver", Spec: "Known bug", Requirements: []string{"HS-TXN-04"}, Verdict: reports.ExpectedFailure,
				Reason: "reuses IDs (https://example.org/1)", Message: "ignored because a reason is set"},
			{Side: "homeserver", Spec: "Docker", Requirements: nil, Verdict: reports.Error, Message: "harness error: no docker"},
		},
	}
}

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	goldenReport().Markdown(&b)
	checkGolden(t, "summary.golden.md", b.Bytes())
}

func TestMarkdownEmptyReport(t *testing.T) {
	var b bytes.Buffer
	reports.Report{SUT: reports.SUT{Side: "appservice", Flavor: "x"}}.Markdown(&b)
	out := b.String()
	if !strings.HasPrefix(out, "# asconform: x (appservice)\n") || strings.Contains(out, "Image `") || strings.Contains(out, "URL `") {
		t.Errorf("unexpected header:\n%s", out)
	}
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "|") {
			rows = append(rows, line)
		}
	}
	want := []string{"| verdict | specs |", "|---|---|", "| verdict | requirements | spec | detail |", "|---|---|---|---|"}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("empty report: table rows %q, want only the headers %q", rows, want)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "report")
	r := goldenReport()
	r.Results[0].Transcript = []recorder.Exchange{{Seq: 1, Method: "PUT", Path: "/x", Status: 200}}

	p, err := r.WriteMarkdown(dir)
	var want bytes.Buffer
	r.Markdown(&want)
	if got := readWritten(t, p, err, "summary.md"); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("summary.md differs from Markdown's output")
	}

	p, err = r.WriteJSON(dir)
	data := readWritten(t, p, err, "results.json")
	var back reports.Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("results.json does not decode: %v", err)
	}
	if !back.Started.Equal(r.Started) {
		t.Errorf("started %v, want %v", back.Started, r.Started)
	}
	back.Started = r.Started
	if !reflect.DeepEqual(back, r) {
		t.Errorf("results.json does not round trip:\n got %+v\nwant %+v", back, r)
	}
}
