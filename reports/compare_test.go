package reports_test

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/reports"
)

func compareRuns() []reports.Report {
	res := func(spec string, v reports.Verdict, ids ...string) reports.Result {
		return reports.Result{Side: "homeserver", Spec: spec, Requirements: ids, Verdict: v}
	}
	started := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	return []reports.Report{
		{Schema: 1, SpecVersion: "v1.19", Started: started, SUT: reports.SUT{Flavor: "synapse", Image: "synapse:1.0"}, Results: []reports.Result{
			res("stable pass", reports.Pass, "HS-TXN-01"),
			res("regressed <b>|</b>", reports.Pass, "HS-ID-01", "HS-ID-02"),
			res("only in old runs", reports.Pass, "HS-NS-01"),
		}},
		{Schema: 1, SpecVersion: "v1.19", Started: started.Add(time.Hour), SUT: reports.SUT{Flavor: "synapse", Image: "synapse:1.1", Mutant: "ts-ignored"}, Results: []reports.Result{
			res("regressed <b>|</b>", reports.Fail, "HS-ID-01", "HS-ID-02"),
			res("stable pass", reports.Pass, "HS-TXN-01"),
			res("new spec", reports.Skipped, "HS-TS-01"),
		}},
		{Schema: 1, SpecVersion: "v1.19", SUT: reports.SUT{Flavor: "conduit"}, Results: []reports.Result{
			res("stable pass", reports.Pass, "HS-TXN-01"),
			res("regressed <b>|</b>", reports.Pass, "HS-ID-01", "HS-ID-02"),
			res("only in old runs", reports.Pass, "HS-NS-01"),
		}},
	}
}

func TestCompare(t *testing.T) {
	table := reports.Compare(compareRuns(), []string{"old", "", "old"})
	if want := []string{"old", "synapse (mutant ts-ignored)", "old (2)"}; !reflect.DeepEqual(table.Names, want) {
		t.Errorf("names %q, want %q", table.Names, want)
	}
	type row struct {
		spec     string
		verdicts []reports.Verdict
		differs  bool
	}
	var got []row
	for _, r := range table.Rows {
		got = append(got, row{r.Spec, r.Verdicts, r.Differs})
	}
	want := []row{
		{"regressed <b>|</b>", []reports.Verdict{reports.Pass, reports.Fail, reports.Pass}, true},
		{"new spec", []reports.Verdict{"", reports.Skipped, ""}, true},
		{"only in old runs", []reports.Verdict{reports.Pass, "", reports.Pass}, true},
		{"stable pass", []reports.Verdict{reports.Pass, reports.Pass, reports.Pass}, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %v\nwant %v", got, want)
	}
	if table.Differing() != 3 {
		t.Errorf("Differing = %d", table.Differing())
	}
	if len(table.Runs) != 3 || table.Runs[1].SUT.Mutant != "ts-ignored" || table.Runs[0].Results != nil {
		t.Errorf("runs: %+v", table.Runs)
	}
}

func TestCompareEdgeCases(t *testing.T) {
	if table := reports.Compare(nil, nil); len(table.Rows) != 0 || len(table.Names) != 0 {
		t.Errorf("nothing to compare: %+v", table)
	}
	one := reports.Compare(compareRuns()[:1], nil)
	if one.Differing() != 0 || one.Names[0] != "synapse" {
		t.Errorf("a single run differs from nothing: %+v", one)
	}
	anon := reports.Compare([]reports.Report{{}, {}}, nil)
	if !reflect.DeepEqual(anon.Names, []string{"run 1", "run 2"}) {
		t.Errorf("names of runs without a SUT: %q", anon.Names)
	}
}

func TestCompareMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	reports.Compare(compareRuns(), []string{"1.0", "1.1", "conduit"}).Markdown(&b)
	checkGolden(t, "compare.golden.md", b.Bytes())
}

func TestCompareHTML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	p, err := reports.Compare(compareRuns(), []string{"1.0", "1.1 <x>", "conduit"}).WriteHTML(dir)
	data := readWritten(t, p, err, "compare.html")
	page := string(data)
	mustContain(t, "compare.html", page,
		"<title>asconform: 3 runs compared</title>",
		`<div class="outcome bad">3 of 4 specs differ</div>`,
		"<th>1.1 &lt;x&gt;</th>",
		"<dd>synapse, synapse:1.1, mutant ts-ignored, spec v1.19, 2026-05-06 08:08 UTC: 1 fail, 1 skipped, 1 pass</dd>",
		`regressed &lt;b&gt;|&lt;/b&gt;</td>`,
		`<span class="badge v-fail">fail</span>`,
		`<span class="badge v-none" title="not in this run">not run</span>`,
	)
	if n := strings.Count(page, `<tr class="differs">`); n != 3 {
		t.Errorf("%d rows marked as differing, want 3", n)
	}
	if strings.Index(page, "stable pass") < strings.Index(page, "new spec") {
		t.Error("rows that differ must come first")
	}
	if strings.Contains(page, "<b>|</b>") {
		t.Error("spec text written unescaped")
	}
	assertSelfContained(t, page)
	assertBalanced(t, page)
}
