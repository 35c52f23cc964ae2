package reports

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/asconform/asconform/reports/requirements"
)

// MatrixColumn is one run in a conformance matrix: an implementation (or a
// reference, or another version of one) and where its own report lives.
type MatrixColumn struct {
	Name   string
	Report Report
	// Link is the path of the run's report.html relative to the matrix
	// page; empty when there is none to link to.
	Link string
}

// Matrix lines runs up requirement by requirement.
type Matrix struct {
	Columns   []MatrixColumn
	Groups    []MatrixGroup
	Generated time.Time
	Tool      string // what wrote it, e.g. "asconform v0.3.0"
}

// MatrixGroup is one spec section's requirements.
type MatrixGroup struct {
	Side    string
	Section string
	Rows    []MatrixRow
}

// MatrixRow is one requirement across the runs.
type MatrixRow struct {
	RequirementView
	Cells   []MatrixCell // one per column
	Differs bool         // the runs that judged it disagree
}

// MatrixCell is a requirement's verdict in one run: the worst among the
// specs that check it.
type MatrixCell struct {
	Verdict Verdict // "" when the run has no spec for it
	NA      bool    // the run is of the other side
	Specs   int
	Href    string // the deciding spec in the run's report
	Title   string // each spec and its verdict
}

// LevelCount tallies one column's judged requirements of one level.
type LevelCount struct {
	Level   string
	Met     []int // per column
	Judged  []int
	Failing []int
}

// cellRank orders verdicts as a matrix cell decides between them: worst
// first (verdictOrder), but a skip after any judgement; no verdict last.
func cellRank(v Verdict) int {
	r, skip := verdictRank(v), verdictRank(Skipped)
	switch {
	case r < 0:
		return len(verdictOrder) + 1
	case r == skip:
		return len(verdictOrder) - 1
	case r > skip:
		return r - 1
	}
	return r
}

// met says whether a verdict shows the requirement kept; judged whether
// the run said anything about it either way.
func met(v Verdict) bool { return v == Pass || v == Informational || v == UnexpectedPass }
func judged(v Verdict) bool {
	return v != "" && v != Skipped && v != Error
}

// BuildMatrix lines the columns up: rows are the requirements any run
// checked, grouped by side and spec section in ID order.
func BuildMatrix(cols []MatrixColumn, generated time.Time) Matrix {
	m := Matrix{Columns: cols, Generated: generated}
	per, ids := worstPerRequirement(cols)
	groupAt := map[string]int{}
	for _, id := range ids {
		side := ""
		if req, ok := requirements.Lookup(id); ok {
			side = string(req.Side)
		}
		row := requirementRow(cols, per, id, side)
		section := row.Section
		if section == "" {
			section = "Other"
		}
		key := side + "\x00" + section
		g, ok := groupAt[key]
		if !ok {
			g = len(m.Groups)
			groupAt[key] = g
			m.Groups = append(m.Groups, MatrixGroup{Side: side, Section: section})
		}
		m.Groups[g].Rows = append(m.Groups[g].Rows, row)
	}
	// The homeserver's requirements first: most of the catalogue.
	sideRank := func(side string) int {
		switch side {
		case string(requirements.Homeserver):
			return 0
		case string(requirements.AppService):
			return 1
		}
		return 2
	}
	sort.SliceStable(m.Groups, func(i, j int) bool { return sideRank(m.Groups[i].Side) < sideRank(m.Groups[j].Side) })
	return m
}

// requirementFound is one column's worst result for a requirement, where
// it is in the column's report, and every spec checking it.
type requirementFound struct {
	worst  Result
	anchor string
	specs  []string
}

// worstPerRequirement finds, per column, each requirement's worst result;
// ids are every requirement any column checked, sorted.
func worstPerRequirement(cols []MatrixColumn) (per []map[string]*requirementFound, ids []string) {
	per = make([]map[string]*requirementFound, len(cols))
	seenIDs := map[string]bool{}
	for c, col := range cols {
		per[c] = map[string]*requirementFound{}
		seen := map[string]int{}
		for _, res := range col.Report.Sorted() { // the report's order, for the same anchors
			a := uniqueAnchor(seen, res)
			for _, id := range res.Requirements {
				seenIDs[id] = true
				f := per[c][id]
				if f == nil {
					f = &requirementFound{worst: res, anchor: a}
					per[c][id] = f
				} else if cellRank(res.Verdict) < cellRank(f.worst.Verdict) {
					f.worst, f.anchor = res, a
				}
				f.specs = append(f.specs, string(res.Verdict)+": "+res.Spec)
			}
		}
	}
	for id := range seenIDs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return per, ids
}

// requirementRow is requirement id's row: a cell per column, n/a where the
// column tested the other side.
func requirementRow(cols []MatrixColumn, per []map[string]*requirementFound, id, side string) MatrixRow {
	row := MatrixRow{RequirementView: lookupView(id)}
	var verdicts []bool
	for c, col := range cols {
		cell := MatrixCell{}
		if f := per[c][id]; f != nil {
			cell.Verdict, cell.Specs, cell.Title = f.worst.Verdict, len(f.specs), strings.Join(f.specs, "\n")
			if col.Link != "" {
				cell.Href = col.Link + "#" + f.anchor
			}
			if judged(cell.Verdict) {
				verdicts = append(verdicts, met(cell.Verdict))
			}
		} else if s := col.Report.SUT.Side; side != "" && s != "" && s != "both" && s != side {
			cell.NA = true
		}
		row.Cells = append(row.Cells, cell)
	}
	for _, v := range verdicts {
		row.Differs = row.Differs || v != verdicts[0]
	}
	return row
}

func (m Matrix) toolName() string {
	if m.Tool == "" {
		return "asconform"
	}
	return m.Tool
}

// ToolName is what wrote the matrix, for the page.
func (m Matrix) ToolName() string { return m.toolName() }

// LevelCounts are, per level and column, the requirements met among those judged.
func (m Matrix) LevelCounts() []LevelCount {
	by := map[string]*LevelCount{}
	for _, g := range m.Groups {
		for _, row := range g.Rows {
			lc := by[row.Level]
			if lc == nil {
				n := len(m.Columns)
				lc = &LevelCount{Level: row.Level, Met: make([]int, n), Judged: make([]int, n), Failing: make([]int, n)}
				by[row.Level] = lc
			}
			for c, cell := range row.Cells {
				if !judged(cell.Verdict) {
					continue
				}
				lc.Judged[c]++
				if met(cell.Verdict) {
					lc.Met[c]++
				} else {
					lc.Failing[c]++
				}
			}
		}
	}
	var out []LevelCount
	for _, l := range requirements.Levels {
		if lc := by[string(l)]; lc != nil {
			out = append(out, *lc)
			delete(by, string(l))
		}
	}
	var rest []string
	for l := range by {
		rest = append(rest, l)
	}
	sort.Strings(rest)
	for _, l := range rest {
		out = append(out, *by[l])
	}
	return out
}

// ColumnVersion says what a column ran against: the image (its tag is the
// implementation's version), the reference, or the URL of an external SUT.
func (c MatrixColumn) ColumnVersion() string {
	sut := c.Report.SUT
	switch {
	case sut.Image != "":
		return sut.Image
	case sut.Flavor == "fakehs" || sut.Flavor == "fakeas":
		return "reference, in-process"
	}
	return sut.URL
}

// Markdown writes the matrix as one table, sections as bold rows, then the
// counts by level and the open questions.
func (m Matrix) Markdown(w io.Writer) {
	fmt.Fprintf(w, "# Application Service API conformance matrix\n\n")
	if !m.Generated.IsZero() {
		fmt.Fprintf(w, "Generated %s by %s. ", m.Generated.UTC().Format("2006-01-02 15:04 MST"), m.toolName())
	}
	fmt.Fprintf(w, "A cell is the worst verdict among the specs that check the requirement; `—` no spec ran, `n/a` the other side.\n\n")
	fmt.Fprintln(w, "| run | side | ran against | advertises | spec targeted | date |\n|---|---|---|---|---|---|")
	for _, c := range m.Columns {
		r := c.Report
		date := ""
		if !r.Started.IsZero() {
			date = r.Started.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(c.Name), r.SUT.Side, cell(c.ColumnVersion()), cell(strings.Join(r.SUT.Versions, " ")), r.SpecVersion, date)
	}
	fmt.Fprint(w, "\n| requirement | level | since |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " %s |", cell(c.Name))
	}
	fmt.Fprint(w, "\n|---|---|---|"+strings.Repeat("---|", len(m.Columns))+"\n")
	var questions []MatrixRow
	for _, g := range m.Groups {
		fmt.Fprintf(w, "| **%s** (%s) | | |%s\n", cell(g.Section), g.Side, strings.Repeat(" |", len(m.Columns)))
		for _, row := range g.Rows {
			id := row.ID
			if row.Question != "" {
				id += " [?](#questions)"
				questions = append(questions, row)
			}
			fmt.Fprintf(w, "| %s | %s | %s |", id, row.Level, row.Since)
			for _, c := range row.Cells {
				fmt.Fprintf(w, " %s |", markdownCell(c))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprint(w, "\n## Requirements met, by level\n\nMet of judged (pass, informational or unexpected pass, of all but skipped and errors).\n\n| level |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " %s |", cell(c.Name))
	}
	fmt.Fprint(w, "\n|---|"+strings.Repeat("---|", len(m.Columns))+"\n")
	for _, lc := range m.LevelCounts() {
		fmt.Fprintf(w, "| %s |", lc.Level)
		for c := range m.Columns {
			if lc.Judged[c] == 0 {
				fmt.Fprint(w, " — |")
				continue
			}
			fmt.Fprintf(w, " %d of %d |", lc.Met[c], lc.Judged[c])
		}
		fmt.Fprintln(w)
	}
	if len(questions) > 0 {
		fmt.Fprint(w, "\n## Questions\n\nWhere the spec is ambiguous; verdicts on these rows follow asconform's reading.\n\n")
		for _, q := range questions {
			fmt.Fprintf(w, "- **%s**: %s\n", q.ID, strings.ReplaceAll(q.Question, "\n", " "))
		}
	}
}

func markdownCell(c MatrixCell) string {
	switch {
	case c.NA:
		return "n/a"
	case c.Verdict == "":
		return "—"
	case c.Href != "":
		return fmt.Sprintf("[%s](%s)", c.Verdict, c.Href)
	}
	return string(c.Verdict)
}

// WriteMatrix writes dir/index.html and dir/matrix.md.
func (m Matrix) WriteMatrix(dir string) ([]string, error) {
	p1, err := writeRendered(dir, "index.html", m.HTML)
	if err != nil {
		return nil, err
	}
	var md strings.Builder
	m.Markdown(&md)
	p2, err := writeFile(dir, "matrix.md", []byte(md.String()))
	return []string{p1, p2}, err
}

// HTML renders the matrix page: self-contained, sortable and filterable
// with its inline script, no server needed.
func (m Matrix) HTML(w io.Writer) error {
	data := struct {
		Matrix
		Counts    []LevelCount
		Generated string
		Questions int
		ColSpan   int
	}{Matrix: m, Counts: m.LevelCounts(), ColSpan: 4 + len(m.Columns)}
	if !m.Generated.IsZero() {
		data.Generated = m.Generated.UTC().Format("2006-01-02 15:04 MST")
	}
	for _, g := range m.Groups {
		for _, r := range g.Rows {
			if r.Question != "" {
				data.Questions++
			}
		}
	}
	return matrixTemplate.Execute(w, data)
}

var matrixTemplate = template.Must(template.New("matrix").Funcs(template.FuncMap{
	"levelClass": func(level string) string {
		class := strings.ToLower(strings.ReplaceAll(level, " ", "-"))
		if class == level {
			return "word-" + class
		}
		return class
	},
	"rank": cellRank,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 MST")
	},
	"join": strings.Join,
}).Parse(htmlStyle + matrixHTML))

const matrixHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>asconform: conformance matrix</title>
{{template "style"}}
<style>
.filters { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin: 10px 0; padding: 8px 10px; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
.filters input[type=search] { width: 280px; padding: 3px 6px; }
table.xm { border-collapse: collapse; width: 100%; }
table.xm th, table.xm td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
table.xm thead th { background: var(--soft); position: sticky; top: 38px; z-index: 2; font-size: 12.5px; }
table.xm thead th.sortable { cursor: pointer; }
table.xm thead th.sortable:hover { text-decoration: underline; }
table.xm thead th .ver { display: block; font-weight: 400; color: var(--muted); font-size: 11.5px; max-width: 220px; word-break: break-all; }
table.xm tr.group th { background: #eef2f6; }
table.xm tr.group th span { color: var(--muted); font-weight: 400; margin-left: 6px; }
table.xm td.id { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
table.xm td.sum { max-width: 560px; color: #33393f; font-size: 13px; }
table.xm td.v { white-space: nowrap; }
table.xm tr.differs td.v { background: #fff8e1; }
table.xm tfoot td, table.xm tfoot th { background: var(--soft); font-size: 12.5px; }
.q { color: #7a3e00; font-weight: 700; cursor: help; }
.na { color: var(--muted); }
.n { color: var(--muted); font-size: 11px; margin-left: 3px; }
</style>
</head>
<body>
<nav class="top"><span class="brand">asconform</span><a href="#matrix">Matrix</a><a href="#counts">Counts by level</a>{{if .Questions}}<a href="#questions">Questions ({{.Questions}})</a>{{end}}</nav>
<main>
<h1>Application Service API conformance matrix</h1>
<p class="meta">{{len .Columns}} run(s){{with .Generated}}, generated {{.}}{{end}} by {{.ToolName}}. Each cell is the worst verdict among the specs that check the requirement and links to that spec's transcript and diagram in the run's report; <span class="na">—</span> no spec ran, <span class="na">n/a</span> the run is of the other side. Rows where the runs disagree are shaded.</p>
<div class="filters" id="filters">
<label>Filter <input type="search" id="q" placeholder="ID, section or words"></label>
<label>Level <select id="level"><option value="">any</option>{{range .Counts}}<option>{{.Level}}</option>{{end}}</select></label>
<label><input type="checkbox" id="differs"> only where runs differ</label>
<label><input type="checkbox" id="unmet"> only with a failure</label>
<label><input type="checkbox" id="ambiguous"> only ambiguous (?)</label>
<span id="shown" class="meta"></span>
</div>
<table class="xm" id="matrix">
<thead><tr><th class="sortable" data-sort="id">Requirement</th><th class="sortable" data-sort="level">Level</th><th class="sortable" data-sort="since">Since</th><th>What the spec requires (paraphrase)</th>
{{- range $i, $c := .Columns}}<th class="sortable col" data-sort="c{{$i}}">{{if $c.Link}}<a href="{{$c.Link}}">{{$c.Name}}</a>{{else}}{{$c.Name}}{{end}}<span class="ver">{{$c.Report.SUT.Side}}{{with $c.ColumnVersion}} · {{.}}{{end}}</span>{{with $c.Report.SUT.Versions}}<span class="ver">advertises {{join . " "}}</span>{{end}}<span class="ver">{{with $c.Report.SpecVersion}}targets {{.}} · {{end}}{{date $c.Report.Started}}</span>{{with $c.Report.SUT.Mutant}}<span class="mutant">mutant {{.}}</span>{{end}}</th>{{end}}</tr></thead>
{{- range .Groups}}
<tbody>
<tr class="group"><th colspan="{{$.ColSpan}}">{{.Section}}<span>{{.Side}}</span></th></tr>
{{- range .Rows}}
<tr class="req{{if .Differs}} differs{{end}}" data-id="{{.ID}}" data-level="{{.Level}}" data-since="{{.Since}}"{{if .Question}} data-ambiguous="1"{{end}}>
<td class="id">{{if .URL}}<a href="{{.URL}}" title="{{.Section}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}{{if .Question}} <span class="q" title="Question: {{.Question}}">?</span>{{end}}</td>
<td><span class="level {{.Level | levelClass}}">{{.Level}}</span></td><td>{{.Since}}</td>
<td class="sum">{{.Summary}}{{with .Question}}<br><i>Question: {{.}}</i>{{end}}</td>
{{- range .Cells}}
<td class="v" data-rank="{{if .NA}}10{{else if .Verdict}}{{rank .Verdict}}{{else}}11{{end}}" data-v="{{.Verdict}}">{{if .NA}}<span class="na">n/a</span>{{else if not .Verdict}}<span class="na">—</span>{{else if .Href}}<a class="badge v-{{.Verdict}}" href="{{.Href}}" title="{{.Title}}">{{.Verdict}}</a>{{else}}<span class="badge v-{{.Verdict}}" title="{{.Title}}">{{.Verdict}}</span>{{end}}{{if gt .Specs 1}}<span class="n">×{{.Specs}}</span>{{end}}</td>
{{- end}}
</tr>
{{- end}}
</tbody>
{{- end}}
<tfoot id="counts">
{{- range .Counts}}
{{- $lc := .}}
<tr><th colspan="4"><span class="level {{.Level | levelClass}}">{{.Level}}</span> requirements met, of those judged</th>{{range $i, $n := .Judged}}<td>{{if $n}}{{index $lc.Met $i}} of {{$n}}{{else}}<span class="na">—</span>{{end}}</td>{{end}}</tr>
{{- end}}
</tfoot>
</table>
{{- if .Questions}}
<section id="questions"><h2>Questions</h2>
<p class="meta">Where the spec is ambiguous; the verdicts on these rows follow asconform's reading.</p>
<ul class="reqs">
{{- range .Groups}}{{range .Rows}}{{if .Question}}<li><b>{{.ID}}</b> <span class="level {{.Level | levelClass}}">{{.Level}}</span>: {{.Question}}</li>{{end}}{{end}}{{end}}
</ul></section>
{{- end}}
<footer>Written by asconform. Verdicts: <b>fail</b> a MUST or schema rule broken; <b>non-strict</b> only a SHOULD or a lower-case word missed; <b>expected-failure</b> failed as baselined; <b>informational</b> observed where the spec leaves room; <b>error</b> the harness broke, not the SUT.</footer>
</main>
<script>
(function () {
  var table = document.getElementById("matrix");
  var rows = Array.prototype.slice.call(table.querySelectorAll("tr.req"));
  var q = document.getElementById("q"), level = document.getElementById("level");
  var differs = document.getElementById("differs"), unmet = document.getElementById("unmet"), ambiguous = document.getElementById("ambiguous");
  function bad(tr) {
    return Array.prototype.some.call(tr.querySelectorAll("td.v"), function (td) {
      return ["fail", "error", "non-strict", "expected-failure"].indexOf(td.getAttribute("data-v")) >= 0;
    });
  }
  function apply() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean), n = 0;
    rows.forEach(function (tr) {
      var text = (tr.textContent + " " + tr.parentNode.querySelector("tr.group").textContent).toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
        (!level.value || tr.getAttribute("data-level") === level.value) &&
        (!differs.checked || tr.classList.contains("differs")) &&
        (!unmet.checked || bad(tr)) &&
        (!ambiguous.checked || tr.hasAttribute("data-ambiguous"));
      tr.hidden = !ok;
      if (ok) n++;
    });
    Array.prototype.forEach.call(table.tBodies, function (tb) {
      tb.hidden = !tb.querySelector("tr.req:not([hidden])");
    });
    document.getElementById("shown").textContent = n + " of " + rows.length + " requirements shown";
  }
  function key(tr, by) {
    if (by === "id") return tr.getAttribute("data-id");
    if (by === "level") return tr.getAttribute("data-level");
    if (by === "since") {
      var m = /^v1\.(\d+)$/.exec(tr.getAttribute("data-since"));
      return m ? 1000 + Number(m[1]) : 0;
    }
    var td = tr.querySelectorAll("td.v")[Number(by.slice(1))];
    return Number(td.getAttribute("data-rank"));
  }
  var last = "", dir = 1;
  Array.prototype.forEach.call(table.querySelectorAll("th.sortable"), function (th) {
    th.addEventListener("click", function (ev) {
      if (ev.target.tagName === "A") return;
      var by = th.getAttribute("data-sort");
      dir = by === last ? -dir : 1;
      last = by;
      Array.prototype.forEach.call(table.tBodies, function (tb) {
        var rs = Array.prototype.slice.call(tb.querySelectorAll("tr.req"));
        rs.sort(function (a, b) {
          var x = key(a, by), y = key(b, by);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        rs.forEach(function (r) { tb.appendChild(r); });
      });
    });
  });
  [q, level, differs, unmet, ambiguous].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  });
  apply();
` + pageEnd
