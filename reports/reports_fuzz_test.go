package reports

// Fuzz targets for what the report model reads from users and systems under
// test: expectations files, exchanges to redact, and the strings that end
// up in report.html, junit.xml and summary.md (SUT answers quoted in
// failure messages, bodies, headers, log tails). An internal test: the HTML
// checks take the vocabulary of tags and attributes from the templates.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/reports/requirements"
)

var fzVerdicts = []Verdict{Pass, Fail, NonStrict, ExpectedFailure, UnexpectedPass, Skipped, Error, Informational}

func FuzzLoadExpectations(f *testing.F) {
	for _, name := range []string{"synapse.yaml", "dendrite.yaml", "mautrix-sample.yaml"} {
		if data, err := os.ReadFile(filepath.Join("..", "expectations", name)); err == nil {
			f.Add(data, "Blocking user and room alias queries does not create the user and fails the invite when the AS answers 404", "HS-QRY-02")
		}
	}
	for _, s := range []string{
		"flavor: x\nexpected_failures:\n  - spec: a spec\n    reason: why\n    link: https://example.org/1\n  - requirement: HS-TXN-01\n    reason: because\n",
		"flavor: x\nexpected_failures: []\n",
		"flavor: x\n",
		"",
		"---\n",
		"null\n",
		"expected_failures:\n  - spec: a\n    requirement: HS-TXN-01\n    reason: both\n",
		"expected_failures:\n  - reason: neither\n",
		"expected_failures:\n  - spec: a\n",
		"expected_failures:\n  - requirement: NOT-A-REQ\n    reason: r\n",
		"expected_failures:\n  - spec: a\n    reason: r\n    unknown: 1\n",
		"flavour: typo\n",
		"expected_failures: {spec: a}\n",
		"expected_failures:\n  - &e {spec: a, reason: r}\n  - *e\n",
		"flavor: [unclosed\n",
		"flavor: x\n---\nflavor: y\n",
		"\xff\xfe",
	} {
		f.Add([]byte(s), "a", "HS-TXN-01")
	}
	dir := f.TempDir() // one file, rewritten for every input
	f.Fuzz(func(t *testing.T, data []byte, spec, req string) {
		path := filepath.Join(dir, "expectations.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		stop := fzHangGuard(10*time.Second, "LoadExpectations", data)
		e, err := LoadExpectations(path)
		stop()
		if err != nil {
			if !strings.Contains(err.Error(), "expectations") {
				t.Fatalf("error does not say it is about the expectations file: %v", err)
			}
			if !reflect.DeepEqual(e, Expectations{}) {
				t.Fatalf("rejected (%v) but returned %+v", err, e)
			}
			return
		}
		for i, k := range e.ExpectedFailures {
			if (k.Spec == "") == (k.Requirement == "") {
				t.Fatalf("entry %d accepted naming both or neither of spec and requirement: %+v", i, k)
			}
			if k.Reason == "" {
				t.Fatalf("entry %d accepted without a reason: %+v", i, k)
			}
			if k.Requirement != "" && requirements.Validate(k.Requirement) != nil {
				t.Fatalf("entry %d accepted with an unknown requirement: %+v", i, k)
			}
		}
		// Apply grades by the first matching entry; it is idempotent. (A
		// few entries suffice: Apply is linear in the entries, and checking
		// every entry of a long file would make this quadratic.)
		var results []Result
		some := e.ExpectedFailures[:min(len(e.ExpectedFailures), 16)]
		for _, k := range append(slices.Clone(some), KnownFailure{Spec: spec, Requirement: req}) {
			for _, v := range fzVerdicts {
				results = append(results, Result{Spec: k.Spec, Requirements: []string{k.Requirement}, Verdict: v, Message: "m"})
			}
		}
		for _, r := range results {
			got := e.Apply(r)
			want := fzApply(e, r)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Apply(%+v) = %+v, want %+v", r, got, want)
			}
			if again := e.Apply(got); !reflect.DeepEqual(again, got) {
				t.Fatalf("Apply is not idempotent: %+v then %+v", got, again)
			}
		}
	})
}

// fzHangGuard crashes the fuzzing worker, which makes the fuzzer keep the
// input, when a call on user input does not return in time: a file that
// hangs the harness is a bug like a crash.
func fzHangGuard(d time.Duration, what string, input []byte) (stop func()) {
	timer := time.AfterFunc(d, func() {
		panic(fmt.Sprintf("%s did not return within %v on %q", what, d, input))
	})
	return func() { timer.Stop() }
}

// fzApply is Apply as documented: the first entry naming the result's spec
// or one of its requirements baselines it.
func fzApply(e Expectations, r Result) Result {
	for _, k := range e.ExpectedFailures {
		if (k.Spec != "" && k.Spec == r.Spec) || (k.Requirement != "" && slices.Contains(r.Requirements, k.Requirement)) {
			switch r.Verdict {
			case Fail, NonStrict:
				r.Verdict, r.Reason = ExpectedFailure, k.Reason
				if k.Link != "" {
					r.Reason += " (" + k.Link + ")"
				}
			case Pass:
				if k.Intermittent {
					r.Reason = "baselined as intermittent (" + k.Reason + "); passed this time"
					break
				}
				r.Verdict = UnexpectedPass
				r.Reason = "baselined as failing (" + k.Reason + ") but passed: tighten the expectations file"
			}
			return r
		}
	}
	return r
}

func FuzzRedact(f *testing.F) {
	f.Add("/_matrix/app/v1/transactions/1", `{"events":[]}`, `{}`, "answered", "Bearer hs-secret", "x", "hs-secret", "as-secret", "hs-secret", "user-token")
	f.Add("/_matrix/client/v3/account/whoami", ``, `{"access_token":"user-token"}`, "transport error: hs-secret", "Bearer as-secret", "as-secret", "", "as-secret", "hs-secret", "user-token")
	f.Add("/p/as-secret/q", "as-secretas-secret", "xas-secrety", "", "as-secret", "Bearer as-secret", "as-secret&as-secret", "as-secret", "as-secret-longer", "secret")
	f.Add("/", "abc", "bcd", "", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", "", "ab", "bc", "cd")
	f.Add("", "", "", "", "", "", "", "", "", "")
	f.Add("/%74kn9", "\xff\xfetkn9", "tkn9\x00", "tkn9", "tkn9 extra", "a tkn9", "tkn9", "tkn9", "", "")
	f.Add("/x", "", "", "", "Bearer:tkn9 x", "", "", "tkn9", "", "")
	f.Add("/x", "Bearer  hs-secret", "", "", "Bearer  hs-secret", "", "", "", "hs-secret", "")
	f.Fuzz(func(t *testing.T, path, body, resp, outcome, authz, other, query, asTok, hsTok, userTok string) {
		secrets := map[string]string{"as_token": asTok, "hs_token": hsTok, "access_token": userTok}
		for _, s := range secrets {
			// Tokens are b64token strings (RFC 6750, as Matrix access
			// tokens are), and none is part of a placeholder.
			if strings.ContainsFunc(s, func(r rune) bool { return !fzTokenChar(r) }) {
				return
			}
			for _, placeholder := range []string{"<as_token>", "<hs_token>", "<access_token>", "<redacted>"} {
				if s != "" && strings.Contains(placeholder, s) {
					return
				}
			}
		}
		in := []recorder.Exchange{
			{
				Seq: 7, From: "homeserver", To: "appservice", Method: "PUT", Path: path, Body: []byte(body), RespBody: []byte(resp),
				Outcome: outcome, Status: 200, Start: time.Unix(1, 0), End: time.Unix(2, 0),
				Header: http.Header{"Authorization": {authz}, "X-Other": {other, authz}},
				Query:  url.Values{"access_token": {query}, "k": {other}},
			},
			{Seq: 8, Path: body, Outcome: path},
		}
		before := fzCloneExchanges(in)
		out := Redact(in, secrets)
		if !reflect.DeepEqual(in, before) {
			t.Fatal("Redact modified its input")
		}
		if len(out) != len(in) {
			t.Fatalf("Redact returned %d exchanges for %d", len(out), len(in))
		}
		for i := range out {
			a, b := in[i], out[i]
			if a.Seq != b.Seq || a.Status != b.Status || a.Method != b.Method || !a.Start.Equal(b.Start) {
				t.Fatalf("Redact changed more than text: %+v became %+v", a, b)
			}
			fields := map[string][2]string{
				"path": {a.Path, b.Path}, "body": {string(a.Body), string(b.Body)},
				"response body": {string(a.RespBody), string(b.RespBody)}, "outcome": {a.Outcome, b.Outcome},
			}
			for k, vs := range a.Query {
				for j, v := range vs {
					fields["query "+k] = [2]string{v, b.Query[k][j]}
				}
			}
			for k, vs := range a.Header {
				if k == "Authorization" {
					continue
				}
				for j, v := range vs {
					fields["header "+k+"["+string(rune('0'+j))+"]"] = [2]string{v, b.Header.Values(k)[j]}
				}
			}
			for name, f := range fields {
				for sn, s := range secrets {
					if s != "" && strings.Contains(f[1], s) {
						t.Fatalf("%s still holds the %s %q after redaction: %q (was %q)", name, sn, s, f[1], f[0])
					}
				}
				if !fzHoldsSecret(f[0], secrets) && f[1] != f[0] {
					t.Fatalf("%s has no secret but was changed: %q became %q", name, f[0], f[1])
				}
			}
			for j, v := range a.Header.Values("Authorization") {
				got := b.Header.Values("Authorization")[j]
				for sn, s := range secrets {
					if s != "" && strings.Contains(got, s) {
						t.Fatalf("Authorization %q still holds the %s after redaction: %q", v, sn, got)
					}
				}
				if !fzHoldsSecret(v, secrets) {
					scheme, _, found := strings.Cut(v, " ")
					want := "<redacted>"
					if found {
						want = strings.TrimSpace(scheme + " <redacted>")
					}
					if got != want {
						t.Fatalf("Authorization %q without a known secret became %q, want %q", v, got, want)
					}
				}
			}
		}
	})
}

func fzTokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/=", r)
}

func fzHoldsSecret(s string, secrets map[string]string) bool {
	for _, v := range secrets {
		if v != "" && strings.Contains(s, v) {
			return true
		}
	}
	return false
}

func fzCloneExchanges(in []recorder.Exchange) []recorder.Exchange {
	out := make([]recorder.Exchange, len(in))
	for i, e := range in {
		e.Header = e.Header.Clone()
		if e.Query != nil {
			q := url.Values{}
			for k, vs := range e.Query {
				q[k] = slices.Clone(vs)
			}
			e.Query = q
		}
		e.Body, e.RespBody = bytes.Clone(e.Body), bytes.Clone(e.RespBody)
		out[i] = e
	}
	return out
}

// FuzzWriters renders reports made of arbitrary strings with every writer:
// none may fail or panic, report.html must escape everything (no markup
// from the data, no "<script" but the page's own), junit.xml must be
// well-formed XML whose counts and texts say what the report says, and
// the Markdown tables of summary.md and the comparison must keep one row
// per spec with its columns.
func FuzzWriters(f *testing.F) {
	f.Add("synapse", "homeserver", "localhost/asconform/synapse:1.160.0", "Pushing events pushes a room event", "Expected\n    <int>: 200\nto equal\n    <int>: 403", "", "delivery.go:140", "HS-TXN-01,HS-TXN-02", "2026 INFO start\n2026 ERROR boom\n", "1.2 s", "alice", "homeserver", "/_matrix/client/v3/rooms/%21r:hs/send/m.room.message/t1", "<as_token>", "application/json", "answered", []byte(`{"msgtype":"m.text","body":"hi"}`), 200, uint8(1), uint8(0))
	f.Add("x", "", "", `<script>alert(1)</script>`, `</pre><script>alert("m")</script>`, `<img src=x onerror=alert(1)>`, `" onmouseover="alert(1)`, `HS-TXN-01,<b>,a|b`, "</details><script>", `javascript:alert(1)`, `<svg onload=alert(1)>`, `</text><script>`, `/x"><script>alert(1)</script>`, `'><script>`, `</title><script>`, "\x1b[31mred\x1b[0m", []byte(`{"a":"</pre><script>alert(1)</script>"}`), 403, uint8(4), uint8(6))
	f.Add("f|g", "h\ni", "`code`", "spec | with pipe\nand line", "first | line\r\nsecond", "reason\rwith CR", "loc", "A-B-C,HS-NS-01", "\x00\x01\x02\x7f", "\ufffe\uffff", "homeserver", "appservice", "/a b", "q\x00", "text/plain", "", []byte("\xff\xfe\x00binary"), 0, uint8(2), uint8(3))
	f.Add("", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", []byte(nil), 0, uint8(0), uint8(0))
	f.Add("x]]>y", "appservice", "i", "]]>", "a]]>b<![CDATA[c", "]]]]>>", "&amp;&lt;", "HS-TXN-01", "x]]>", "&#x3c;script&#x3e;", "appservice", "appservice", "%3Cscript%3E", "&", "+", "outcome]]>", []byte("\"\\u003cscript\\u003e\""), 599, uint8(5), uint8(1))
	f.Add("é😀", "homeserver", "\u2028\u2029", strings.Repeat("long ", 400), strings.Repeat("x", 2000), "r", "l", "HS-ID-01,HS-ID-01", "log", "v", strings.Repeat("w", 300), "client with a long name", strings.Repeat("/segment", 200), "v", "h", "o", []byte(strings.Repeat("é", 33000)), 500, uint8(0), uint8(1))
	// Known bug (knownJUnitUnsafeText): a control character in the location.
	f.Add("f", "homeserver", "", "spec", "message", "", "fixture.go:12\x1b", "HS-TXN-01", "", "", "alice", "homeserver", "/p", "", "", "", []byte(nil), 500, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, flavor, side, image, spec, message, reason, location, reqs, sutLog, obs, from, to, path, query, header, outcome string, body []byte, status int, v1, v2 uint8) {
		var ids []string
		if reqs != "" {
			ids = strings.Split(reqs, ",")
		}
		t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		ex := []recorder.Exchange{
			{
				Seq: 1, From: from, To: to, Method: "PUT", Path: path, Query: url.Values{"q": {query}, query: {"v"}},
				Header: http.Header{"Content-Type": {header}, "X-H": {header, outcome}}, Body: body,
				Status: status, RespBody: []byte(message), Outcome: outcome, Start: t0, End: t0.Add(12 * time.Millisecond),
			},
			{Seq: 2, From: "homeserver", To: "appservice", Method: "GET", Path: path, Outcome: outcome, Start: t0.Add(time.Second)},
			{Seq: 3, From: to, To: from, Method: header, Path: query, Status: 404, RespBody: body, Start: t0.Add(time.Second), End: t0.Add(3 * time.Second)},
		}
		r := Report{
			Schema: 1, Tool: "asconform fuzz", SpecVersion: "v1.19", Started: t0, Duration: 3 * time.Second,
			SUT: SUT{Side: side, Flavor: flavor, Image: image, URL: header, Mutant: outcome},
			Results: []Result{
				{
					Side: side, Spec: spec, Requirements: ids, Verdict: fzVerdicts[int(v1)%len(fzVerdicts)], Message: message,
					Location: location, Reason: reason, Duration: 1500 * time.Millisecond, SUTLog: sutLog,
					Observations: []Observation{{Name: obs, Value: sutLog}}, Transcript: ex,
				},
				{Side: "appservice", Spec: spec + " (2)", Requirements: []string{"HS-TXN-01"}, Verdict: fzVerdicts[int(v2)%len(fzVerdicts)], Message: reason, Reason: message},
			},
		}
		fzCheckHTML(t, r)
		fzCheckJUnit(t, r)
		fzCheckMarkdown(t, r)
		other := r
		other.SUT.Flavor = image
		other.Results = []Result{r.Results[1], r.Results[0]}
		other.Results[0].Verdict, other.Results[1].Verdict = r.Results[0].Verdict, r.Results[1].Verdict
		fzCheckCompare(t, Compare([]Report{r, other}, []string{flavor, ""}))
	})
}

func fzCheckHTML(t *testing.T, r Report) {
	t.Helper()
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	out := b.String()
	if n := strings.Count(strings.ToLower(out), "<script"); n != 1 {
		t.Fatalf("report.html has %d \"<script\", the page has 1 of its own", n)
	}
	if err := fzMarkupWithin(out, reportVocabulary()); err != nil {
		t.Fatalf("report.html: %v", err)
	}
	for _, res := range r.Results {
		if want := fzEscape(res.Spec); !strings.Contains(out, want) {
			t.Fatalf("report.html does not show the spec %q escaped as %q", res.Spec, want)
		}
		if msg := xmlSafe(strings.Trim(res.Message, "\n")); msg != "" && !strings.Contains(out, ">"+fzEscape(msg)+"</pre>") {
			t.Fatalf("report.html does not show the message %q escaped in a <pre>", msg)
		}
	}
}

func fzCheckJUnit(t *testing.T, r Report) {
	t.Helper()
	out, err := r.JUnit()
	if err != nil {
		t.Fatalf("JUnit: %v", err)
	}
	if !utf8.Valid(out) {
		t.Fatalf("junit.xml is not UTF-8:\n%q", out)
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("junit.xml is not well-formed: %v\n%s", err, out)
		}
	}
	var doc junitSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("junit.xml does not decode: %v", err)
	}
	want := map[string]int{}
	for _, res := range r.Results {
		switch res.Verdict {
		case Fail, UnexpectedPass:
			want["failures"]++
		case Error:
			want["errors"]++
		case Skipped:
			want["skipped"]++
		}
	}
	if doc.Tests != len(r.Results) || doc.Failures != want["failures"] || doc.Errors != want["errors"] || doc.Skipped != want["skipped"] {
		t.Fatalf("junit.xml counts tests=%d failures=%d errors=%d skipped=%d, want %d %v", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, len(r.Results), want)
	}
	var names []string
	byName := map[string]junitCase{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			names = append(names, c.Name)
			byName[c.Name] = c
		}
	}
	for _, res := range r.Results {
		name := xmlSafe(res.Spec)
		c, ok := byName[name]
		if !ok {
			t.Fatalf("junit.xml has no testcase named %q; names: %q", name, names)
		}
		msg := fzNormalizeNewlines(strings.TrimSpace(xmlSafe(strings.TrimSpace(res.Message))))
		var text string
		switch res.Verdict {
		case Fail:
			text = c.Failure.Text
		case Error:
			text = c.Error.Text
		case NonStrict, ExpectedFailure, Informational:
			text = c.SystemOut.Text
		default:
			continue
		}
		if !strings.Contains(text, msg) {
			t.Fatalf("junit.xml testcase %q does not carry the message %q in %q", name, msg, text)
		}
	}
}

func fzCheckMarkdown(t *testing.T, r Report) {
	t.Helper()
	var b strings.Builder
	r.Markdown(&b)
	out := b.String()
	_, table, ok := strings.Cut(out, "\n| verdict | requirements | spec | detail |\n|---|---|---|---|\n")
	if !ok {
		t.Fatalf("summary.md has no results table:\n%s", out)
	}
	rows := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(rows) != len(r.Results) {
		t.Fatalf("summary.md has %d table rows for %d results:\n%s", len(rows), len(r.Results), table)
	}
	for _, row := range rows {
		if fzPipes(row) != 5 || strings.ContainsRune(row, '\r') {
			t.Fatalf("summary.md row %q does not have 4 cells on one line", row)
		}
	}
}

func fzCheckCompare(t *testing.T, c ComparisonTable) {
	t.Helper()
	var b strings.Builder
	c.Markdown(&b)
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	sep := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "|---|---|---|") })
	if sep < 0 {
		t.Fatalf("comparison has no table:\n%s", out)
	}
	rows := lines[sep+1:]
	if len(rows) != len(c.Rows) {
		t.Fatalf("comparison has %d table rows for %d specs:\n%s", len(rows), len(c.Rows), out)
	}
	for _, row := range rows {
		if fzPipes(row) != 4+len(c.Names) || strings.ContainsRune(row, '\r') {
			t.Fatalf("comparison row %q does not have %d cells on one line", row, 3+len(c.Names))
		}
	}
	var h bytes.Buffer
	if err := c.HTML(&h); err != nil {
		t.Fatalf("comparison HTML: %v", err)
	}
	if n := strings.Count(strings.ToLower(h.String()), "<script"); n != 0 {
		t.Fatalf("compare.html has %d \"<script\"", n)
	}
	if err := fzMarkupWithin(h.String(), compareVocabulary()); err != nil {
		t.Fatalf("compare.html: %v", err)
	}
	for _, row := range c.Rows {
		if !strings.Contains(h.String(), fzEscape(row.Spec)) {
			t.Fatalf("compare.html does not show the spec %q escaped", row.Spec)
		}
	}
}

// fzPipes counts the cell delimiters of a Markdown table row: pipes not
// escaped with a backslash.
func fzPipes(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		if row[i] == '|' && (i == 0 || row[i-1] != '\\') {
			n++
		}
	}
	return n
}

// fzEscape is html/template's escaping of text and quoted attribute values.
var fzEscape = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;").Replace

func fzNormalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// vocabulary is what markup a template can produce: per tag, the
// attributes it uses.
type vocabulary map[string]map[string]bool

var (
	reportVocab, compareVocab vocabulary
	templateAction            = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
)

func reportVocabulary() vocabulary {
	if reportVocab == nil {
		reportVocab = fzVocabulary(htmlStyle + diagramSVG + reportHTML)
	}
	return reportVocab
}

func compareVocabulary() vocabulary {
	if compareVocab == nil {
		compareVocab = fzVocabulary(htmlStyle + compareHTML)
	}
	return compareVocab
}

func fzVocabulary(src string) vocabulary {
	v := vocabulary{}
	err := fzScanMarkup(templateAction.ReplaceAllString(src, ""), func(tag, attr string) error {
		if v[tag] == nil {
			v[tag] = map[string]bool{}
		}
		if attr != "" {
			v[tag][attr] = true
		}
		return nil
	})
	if err != nil {
		panic("scanning the templates: " + err.Error())
	}
	return v
}

// fzMarkupWithin checks that every tag and attribute of doc is one the
// template uses for that tag, and that no tag repeats an attribute (the
// mark of a value that broke out of its quotes).
func fzMarkupWithin(doc string, v vocabulary) error {
	return fzScanMarkup(doc, func(tag, attr string) error {
		switch {
		case v[tag] == nil:
			return errors.New("tag <" + tag + "> is not one of the template's")
		case attr != "" && !v[tag][attr]:
			return errors.New("attribute " + attr + " on <" + tag + "> is not one of the template's")
		}
		return nil
	})
}

// fzScanMarkup is a small HTML tokenizer, enough for html/template output:
// it reports each start tag (attr "") and each of its attributes, skips
// comments, doctypes, end tags and the raw text of <style>, <script> and
// <title>, and fails on anything that is not well-formed markup.
func fzScanMarkup(doc string, visit func(tag, attr string) error) error {
	isName := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ':' || c == '_'
	}
	for i := 0; i < len(doc); {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			return nil
		}
		i += lt + 1
		switch {
		case strings.HasPrefix(doc[i:], "!--"):
			end := strings.Index(doc[i:], "-->")
			if end < 0 {
				return errors.New("unterminated comment")
			}
			i += end + 3
			continue
		case strings.HasPrefix(doc[i:], "!"), strings.HasPrefix(doc[i:], "/"):
			end := strings.IndexByte(doc[i:], '>')
			if end < 0 {
				return errors.New("unterminated end tag or declaration")
			}
			i += end + 1
			continue
		case i >= len(doc) || !isName(doc[i]):
			return errors.New("a bare \"<\" in text near " + strconv.Quote(doc[max(0, i-40):min(len(doc), i+40)]))
		}
		start := i
		for i < len(doc) && isName(doc[i]) {
			i++
		}
		tag := strings.ToLower(doc[start:i])
		if err := visit(tag, ""); err != nil {
			return err
		}
		seen := map[string]bool{}
		for {
			for i < len(doc) && strings.IndexByte(" \t\n\r\f", doc[i]) >= 0 {
				i++
			}
			if i >= len(doc) {
				return errors.New("unterminated <" + tag + ">")
			}
			if doc[i] == '>' {
				i++
				break
			}
			if strings.HasPrefix(doc[i:], "/>") {
				i += 2
				break
			}
			as := i
			for i < len(doc) && isName(doc[i]) {
				i++
			}
			if i == as {
				return errors.New("junk in <" + tag + "> near " + strconv.Quote(doc[i:min(len(doc), i+40)]))
			}
			attr := strings.ToLower(doc[as:i])
			if seen[attr] {
				return errors.New("attribute " + attr + " twice in <" + tag + ">")
			}
			seen[attr] = true
			if err := visit(tag, attr); err != nil {
				return err
			}
			if i < len(doc) && doc[i] == '=' {
				i++
				if i >= len(doc) || doc[i] != '"' {
					return errors.New("attribute " + attr + " of <" + tag + "> is not double-quoted")
				}
				end := strings.IndexByte(doc[i+1:], '"')
				if end < 0 {
					return errors.New("unterminated value of " + attr)
				}
				if strings.ContainsAny(doc[i+1:i+1+end], "<>") {
					return errors.New("unescaped markup in the value of " + attr + " of <" + tag + ">")
				}
				i += end + 2
			}
		}
		if tag == "style" || tag == "script" || tag == "title" {
			// The templates write their tags in lower case (and ToLower
			// would shift offsets past invalid UTF-8).
			end := strings.Index(doc[i:], "</"+tag)
			if end < 0 {
				return errors.New("unterminated <" + tag + ">")
			}
			if tag == "title" && strings.ContainsAny(doc[i:i+end], "<>") {
				return errors.New("unescaped markup in <title>")
			}
			i += end
		}
	}
	return nil
}
