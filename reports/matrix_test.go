package reports_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/reports"
)

func TestMatrix(t *testing.T) {
	hs := reports.Report{SUT: reports.SUT{Side: "homeserver", Flavor: "synapse", Image: "example/synapse:1.0", Versions: []string{"v1.11", "v1.12"}}, Results: []reports.Result{
		{Side: "homeserver", Spec: "pushes", Requirements: []string{"HS-TXN-01"}, Verdict: reports.Pass},
		{Side: "homeserver", Spec: "retries", Requirements: []string{"HS-TXN-01", "HS-TXN-05"}, Verdict: reports.Fail},
		{Side: "homeserver", Spec: "queue", Requirements: []string{"HS-TXN-07"}, Verdict: reports.Informational},
	}}
	ref := reports.Report{SUT: reports.SUT{Side: "homeserver", Flavor: "fakehs"}, Results: []reports.Result{
		{Side: "homeserver", Spec: "pushes", Requirements: []string{"HS-TXN-01"}, Verdict: reports.Pass},
		{Side: "homeserver", Spec: "retries", Requirements: []string{"HS-TXN-01", "HS-TXN-05"}, Verdict: reports.Pass},
	}}
	as := reports.Report{SUT: reports.SUT{Side: "appservice", Flavor: "fakeas"}, Results: []reports.Result{
		{Side: "appservice", Spec: "auth", Requirements: []string{"AS-AUTH-02"}, Verdict: reports.Pass},
	}}
	m := reports.BuildMatrix([]reports.MatrixColumn{
		{Name: "synapse", Report: hs, Link: "synapse/report.html"}, {Name: "fakehs", Report: ref}, {Name: "fakeas", Report: as},
	}, time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC))

	rows := map[string]reports.MatrixRow{}
	for _, g := range m.Groups {
		for _, r := range g.Rows {
			rows[r.ID] = r
			if r.Section != g.Section && !(r.Section == "" && g.Section == "Other") {
				t.Errorf("%s (section %q) grouped under %q", r.ID, r.Section, g.Section)
			}
		}
	}
	txn := rows["HS-TXN-01"]
	if c := txn.Cells[0]; c.Verdict != reports.Fail || c.Specs != 2 || !strings.HasPrefix(c.Href, "synapse/report.html#s-") {
		t.Errorf("HS-TXN-01 for synapse: %+v, want the worst of its 2 specs (fail) linking into its report", c)
	}
	if !txn.Differs {
		t.Error("HS-TXN-01 fails on synapse and passes on fakehs: the row should be marked as differing")
	}
	if c := txn.Cells[2]; !c.NA {
		t.Errorf("HS-TXN-01 for an appservice run: %+v, want n/a", c)
	}
	if c := rows["HS-TXN-07"].Cells[1]; c.Verdict != "" || c.NA {
		t.Errorf("HS-TXN-07 not run on fakehs: %+v, want an empty cell", c)
	}
	if rows["HS-TXN-07"].Question == "" {
		t.Error("HS-TXN-07 is ambiguous in the catalogue: its question should be carried")
	}
	counts := map[string]reports.LevelCount{}
	for _, lc := range m.LevelCounts() {
		counts[lc.Level] = lc
	}
	// HS-TXN-01 (SCHEMA) and HS-TXN-05 (MUST NOT) fail on synapse, pass on
	// fakehs; AS-AUTH-02 (MUST) passes on fakeas only.
	for level, want := range map[string][2][3]int{"SCHEMA": {{0, 1, 0}, {1, 1, 0}}, "MUST NOT": {{0, 1, 0}, {1, 1, 0}}, "MUST": {{0, 0, 1}, {0, 0, 1}}} {
		lc := counts[level]
		if len(lc.Met) != 3 || [3]int(lc.Met) != want[0] || [3]int(lc.Judged) != want[1] {
			t.Errorf("%s counts: met %v of judged %v, want %v of %v", level, lc.Met, lc.Judged, want[0], want[1])
		}
	}

	var md strings.Builder
	m.Markdown(&md)
	mustContain(t, "markdown", md.String(),
		"| synapse | homeserver | example/synapse:1.0 | v1.11 v1.12 | ",
		"| fakehs | homeserver | reference, in-process |",
		"| HS-TXN-01 | SCHEMA | v1.0 | [fail](synapse/report.html#s-",
		"| HS-TXN-07 [?](#questions) |",
		"| n/a |", "## Questions", "- **HS-TXN-07**: ",
	)

	dir := t.TempDir()
	if _, err := m.WriteMatrix(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	assertSelfContained(t, string(page))
	assertBalanced(t, string(page))
	mustContain(t, "page", string(page), `<tr class="req differs" data-id="HS-TXN-01"`, `advertises v1.11 v1.12`, `href="synapse/report.html#s-`, `<span class="q" title="Question: `)
}

// The cell's link must land on the anchor the run's own report gives the spec.
func TestMatrixLinksMatchReportAnchors(t *testing.T) {
	r := writersReport()
	var page strings.Builder
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	m := reports.BuildMatrix([]reports.MatrixColumn{{Name: "x", Report: r, Link: "x.html"}}, time.Time{})
	for _, g := range m.Groups {
		for _, row := range g.Rows {
			for _, c := range row.Cells {
				if c.Href == "" {
					continue
				}
				anchor := strings.TrimPrefix(c.Href, "x.html#")
				if !strings.Contains(page.String(), `id="`+anchor+`"`) {
					t.Errorf("%s links to #%s, which the report does not have", row.ID, anchor)
				}
			}
		}
	}
}

func TestPlanBaseline(t *testing.T) {
	run := func(verdicts map[string]reports.Verdict) reports.Report {
		r := reports.Report{SUT: reports.SUT{Flavor: "synapse"}}
		for spec, v := range verdicts {
			r.Results = append(r.Results, reports.Result{Spec: spec, Requirements: []string{"HS-TXN-01"}, Verdict: v})
		}
		return r
	}
	e := reports.Expectations{Flavor: "synapse", ExpectedFailures: []reports.KnownFailure{
		{Spec: "still fails", Reason: "known"},
		{Spec: "now passes", Reason: "was broken"},
		{Spec: "flaky", Reason: "times out under load", Intermittent: true, Evidence: "failed in 2 of 10 runs on 2026-12-01"},
		{Spec: "not run", Reason: "kept"},
	}}
	runs := []reports.Report{
		run(map[string]reports.Verdict{"new steady": reports.Fail, "new flaky": reports.Pass}),
		run(map[string]reports.Verdict{"new steady": reports.Fail, "new flaky": reports.Fail}),
		run(map[string]reports.Verdict{"still fails": reports.ExpectedFailure, "now passes": reports.UnexpectedPass, "flaky": reports.Pass,
			"new steady": reports.Fail, "new flaky": reports.Fail, "should": reports.NonStrict}),
	}
	p := reports.PlanBaseline(e, runs, 3)
	names := func(ks []reports.KnownFailure) string {
		var s []string
		for _, k := range ks {
			s = append(s, k.Spec)
		}
		return strings.Join(s, ",")
	}
	if got := names(p.Kept); got != "still fails,flaky,not run" {
		t.Errorf("kept %s", got)
	}
	if got := names(p.Dropped); got != "now passes" {
		t.Errorf("dropped %s", got)
	}
	if len(p.New) != 1 || p.New[0].Spec != "new steady" || p.New[0].FailedIn != 3 {
		t.Errorf("new %+v, want only the failure seen in all 3 runs", p.New)
	}
	if len(p.Refused) != 1 || p.Refused[0].Spec != "new flaky" || p.Refused[0].FailedIn != 2 {
		t.Errorf("refused %+v, want the failure seen in 2 of 3 runs", p.Refused)
	}
	if p := reports.PlanBaseline(e, runs[2:], 3); len(p.New) != 0 || len(p.Refused) != 2 {
		t.Errorf("with one run for N=3, new %v refused %v: nothing can be baselined yet", p.New, p.Refused)
	}

	// The rewritten file loads back the same, header kept.
	header := "# Known deviations\n# of synapse.\n"
	next := reports.Expectations{Flavor: "synapse", ExpectedFailures: append(p.Kept, reports.KnownFailure{
		Spec: `a "quoted" spec: with a colon`, Reason: strings.Repeat("a long reason that wraps ", 8), Link: "https://example.org/1",
	})}
	data := next.YAML(header)
	if !strings.HasPrefix(string(data), header) || reports.CommentHeader(data) != header {
		t.Errorf("header not kept:\n%s", data)
	}
	path := writeFile(t, string(data))
	back, err := reports.LoadExpectations(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(back.ExpectedFailures) != len(next.ExpectedFailures) {
		t.Fatalf("%d entries back, wrote %d", len(back.ExpectedFailures), len(next.ExpectedFailures))
	}
	for i, k := range back.ExpectedFailures {
		want := next.ExpectedFailures[i]
		want.Reason = strings.TrimSpace(want.Reason)
		if k != want {
			t.Errorf("entry %d back as %+v, wrote %+v", i, k, want)
		}
	}
}

func TestIntermittentNeedsEvidenceAndToleratesPasses(t *testing.T) {
	if _, err := reports.LoadExpectations(writeFile(t, "flavor: x\nexpected_failures:\n  - spec: s\n    reason: r\n    intermittent: true\n")); err == nil || !strings.Contains(err.Error(), "evidence") {
		t.Errorf("an intermittent entry without evidence: %v", err)
	}
	e := reports.Expectations{ExpectedFailures: []reports.KnownFailure{{Spec: "s", Reason: "r", Intermittent: true, Evidence: "ev"}}}
	if got := e.Apply(reports.Result{Spec: "s", Verdict: reports.Pass}); got.Verdict != reports.Pass {
		t.Errorf("an intermittent entry passing: %s, want pass", got.Verdict)
	}
	if got := e.Apply(reports.Result{Spec: "s", Verdict: reports.Fail}); got.Verdict != reports.ExpectedFailure {
		t.Errorf("an intermittent entry failing: %s, want expected-failure", got.Verdict)
	}
}

// The walkthrough's join is answered only after the alias query it waited
// for: the diagram draws the query between the join and its answer, with
// the seed's numbered steps as dividers.
func TestWalkthroughDiagramInTime(t *testing.T) {
	r := walkthroughReport(t)
	var page strings.Builder
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	svg := page.String()[strings.Index(page.String(), `<svg class="seqd"`):]
	svg = svg[:strings.Index(svg, "</svg>")]
	join := strings.Index(svg, ">#3 POST /_matrix/client/v3/join/")
	query := strings.Index(svg, ">#4 GET /_matrix/app/v1/rooms/")
	answer := strings.Index(svg, ">#3 200")
	if join < 0 || query < 0 || answer < 0 || !(join < query && query < answer) {
		t.Errorf("join sent at %d, alias query at %d, join answered at %d in the SVG: the query is not inside the join's span", join, query, answer)
	}
	if n := strings.Count(svg, `<g class="step">`); n != 6 {
		t.Errorf("%d step dividers, want the walkthrough's 6", n)
	}
	if !strings.Contains(svg, `<rect class="span"`) {
		t.Error("no bar for the open join request")
	}
}

// The report's own matrix heads each row by its spec section: AS-AUTH-02
// is under "Authorisation", though AS-AUTH-01 (before it) is under "Querying".
func TestReportMatrixGroupsBySection(t *testing.T) {
	r := reports.Report{SUT: reports.SUT{Side: "appservice", Flavor: "x"}, Results: []reports.Result{
		{Side: "appservice", Spec: "no token", Requirements: []string{"AS-AUTH-01"}, Verdict: reports.Pass},
		{Side: "appservice", Spec: "wrong token", Requirements: []string{"AS-AUTH-02"}, Verdict: reports.Pass},
	}}
	var page strings.Builder
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	m := page.String()
	auth := strings.Index(m, `<th colspan="5">Authorisation<span>appservice</span></th>`)
	row := strings.Index(m, `>AS-AUTH-02</a>`)
	if auth < 0 || row < auth || strings.Contains(m[auth:row], "<tr class=\"group\">") {
		t.Errorf("AS-AUTH-02 is not under its section Authorisation (group at %d, row at %d)", auth, row)
	}
}
