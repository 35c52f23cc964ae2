package reports

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
)

// ComparisonTable lines several runs up spec by spec, e.g. two releases of
// one homeserver, or two implementations.
type ComparisonTable struct {
	Names []string // one per run, the column headers
	Runs  []Report // without results: what each column ran against
	Rows  []ComparisonRow
}

// ComparisonRow is one spec across the runs.
type ComparisonRow struct {
	Side         string
	Spec         string
	Requirements []string
	Verdicts     []Verdict // one per run; "" when the run did not have the spec
	Differs      bool
}

// Compare builds the table: rows with a changed verdict first, then specs
// some runs lack, then the rest. names label the runs; missing or empty
// ones are derived from the SUT.
func Compare(reports []Report, names []string) ComparisonTable {
	t := ComparisonTable{}
	type key struct{ side, spec string }
	rows := map[key]*ComparisonRow{}
	var order []key
	seen := map[string]int{}
	for i, r := range reports {
		name := ""
		if i < len(names) {
			name = names[i]
		}
		if name == "" {
			name = runName(r, i)
		}
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s (%d)", name, seen[name])
		}
		t.Names = append(t.Names, name)
		head := r
		head.Results = nil
		t.Runs = append(t.Runs, head)
		for _, res := range r.Results {
			k := key{res.Side, res.Spec}
			row := rows[k]
			if row == nil {
				row = &ComparisonRow{Side: res.Side, Spec: res.Spec, Requirements: res.Requirements, Verdicts: make([]Verdict, len(reports))}
				rows[k] = row
				order = append(order, k)
			}
			row.Verdicts[i] = res.Verdict
		}
	}
	for _, k := range order {
		row := rows[k]
		for _, v := range row.Verdicts[1:] {
			if v != row.Verdicts[0] {
				row.Differs = true
			}
		}
		t.Rows = append(t.Rows, *row)
	}
	// Changed verdicts first, then specs some runs lack, then the rest.
	rank := func(r ComparisonRow) int {
		switch {
		case !r.Differs:
			return 2
		case slices.Contains(r.Verdicts, ""):
			return 1
		}
		return 0
	}
	sort.SliceStable(t.Rows, func(i, j int) bool {
		a, b := t.Rows[i], t.Rows[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.Side != b.Side {
			return a.Side < b.Side
		}
		return a.Spec < b.Spec
	})
	return t
}

func runName(r Report, i int) string {
	name := r.SUT.Flavor
	if name == "" {
		name = fmt.Sprintf("run %d", i+1)
	}
	if r.SUT.Mutant != "" {
		name += " (mutant " + r.SUT.Mutant + ")"
	}
	return name
}

// Differing counts the rows where the runs disagree.
func (t ComparisonTable) Differing() int {
	n := 0
	for _, row := range t.Rows {
		if row.Differs {
			n++
		}
	}
	return n
}

// Markdown renders the table for a terminal or a CI job summary.
func (t ComparisonTable) Markdown(w io.Writer) {
	fmt.Fprintf(w, "# asconform: %d runs compared\n\n", len(t.Names))
	for i, name := range t.Names {
		fmt.Fprintf(w, "- **%s**: %s\n", cell(name), cell(t.describe(i)))
	}
	fmt.Fprintf(w, "\n%d of %d specs differ (≠); — means the run did not have the spec.\n\n", t.Differing(), len(t.Rows))
	fmt.Fprint(w, "| | spec | requirements |")
	for _, name := range t.Names {
		fmt.Fprintf(w, " %s |", cell(name))
	}
	fmt.Fprint(w, "\n|---|---|---|")
	for range t.Names {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, row := range t.Rows {
		mark := ""
		if row.Differs {
			mark = "≠"
		}
		fmt.Fprintf(w, "| %s | %s | %s |", mark, cell(row.Spec), cell(strings.Join(row.Requirements, " ")))
		for _, v := range row.Verdicts {
			if v == "" {
				fmt.Fprint(w, " — |")
			} else {
				fmt.Fprintf(w, " %s |", cell(string(v)))
			}
		}
		fmt.Fprintln(w)
	}
}

// describe says what run i ran against, in one line.
func (t ComparisonTable) describe(i int) string {
	r := t.Runs[i]
	parts := []string{r.SUT.Flavor}
	if r.SUT.Image != "" {
		parts = append(parts, r.SUT.Image)
	}
	if r.SUT.URL != "" {
		parts = append(parts, r.SUT.URL)
	}
	if r.SUT.Mutant != "" {
		parts = append(parts, "mutant "+r.SUT.Mutant)
	}
	if r.SpecVersion != "" {
		parts = append(parts, "spec "+r.SpecVersion)
	}
	if !r.Started.IsZero() {
		parts = append(parts, r.Started.UTC().Format("2006-01-02 15:04 MST"))
	}
	counts := map[Verdict]int{}
	for _, row := range t.Rows {
		if v := row.Verdicts[i]; v != "" {
			counts[v]++
		}
	}
	var tally []string
	for _, v := range verdictOrder {
		if counts[v] > 0 {
			tally = append(tally, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	s := strings.Join(parts, ", ")
	if len(tally) > 0 {
		s += ": " + strings.Join(tally, ", ")
	}
	return s
}

// WriteHTML writes dir/compare.html, self-contained like report.html.
func (t ComparisonTable) WriteHTML(dir string) (string, error) {
	return writeRendered(dir, "compare.html", t.HTML)
}

// HTML renders the comparison page.
func (t ComparisonTable) HTML(w io.Writer) error {
	type run struct{ Name, About string }
	page := struct {
		Runs      []run
		Rows      []ComparisonRow
		Differing int
	}{Rows: t.Rows, Differing: t.Differing()}
	for i, name := range t.Names {
		page.Runs = append(page.Runs, run{name, t.describe(i)})
	}
	return compareTemplate.Execute(w, page)
}

var compareTemplate = template.Must(template.New("compare").Parse(htmlStyle + compareHTML))

const compareHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>asconform: {{len .Runs}} runs compared</title>
{{template "style"}}
</head>
<body>
<nav class="top"><span class="brand">asconform</span> comparison of {{len .Runs}} runs</nav>
<main>
<h1>{{len .Runs}} runs compared</h1>
<dl class="sut">
{{- range .Runs}}<dt><b>{{.Name}}</b></dt><dd>{{.About}}</dd>{{end}}
</dl>
<div class="outcome {{if .Differing}}bad{{else}}ok{{end}}">{{.Differing}} of {{len .Rows}} specs differ</div>
<table class="index compare">
<thead><tr><th>Spec</th><th>Requirements</th>{{range .Runs}}<th>{{.Name}}</th>{{end}}</tr></thead>
{{- range .Rows}}
<tr{{if .Differs}} class="differs"{{end}}><td>{{if .Differs}}<b title="the runs differ">≠</b> {{end}}{{.Spec}}</td>
<td class="mono">{{range $i, $id := .Requirements}}{{if $i}} {{end}}<span class="nowrap">{{$id}}</span>{{end}}</td>
{{- range .Verdicts}}<td>{{if .}}<span class="badge v-{{.}}">{{.}}</span>{{else}}<span class="badge v-none" title="not in this run">not run</span>{{end}}</td>{{end}}</tr>
{{- end}}
</table>
</main>
</body>
</html>
`
