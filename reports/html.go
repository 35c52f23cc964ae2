package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/reports/requirements"
)

// WriteHTML writes dir/report.html: one self-contained page (inline CSS and
// SVG, nothing fetched to view it) with the verdict counts, a conformance
// matrix by requirement, and each scenario with its sequence diagram and
// exchanges.
func (r Report) WriteHTML(dir string) (string, error) {
	return writeRendered(dir, "report.html", r.HTML)
}

// HTML renders the report page.
func (r Report) HTML(w io.Writer) error {
	return reportTemplate.Execute(w, r.htmlPage())
}

// maxShownBody bounds a body shown in the page, so one huge response does
// not make the report unusable; results.json keeps it whole.
const maxShownBody = 64 << 10

type htmlPage struct {
	Title       string
	SUT         SUT
	SpecVersion string
	Tool        string
	Started     string
	Duration    string
	Total       int
	Unexpected  int
	// FirstUnexpected is the anchor of the first result that breaks the
	// expectations, for the nav bar.
	FirstUnexpected string
	Counts          []verdictCount
	// Claimed is the newest spec version the SUT advertises; Unclaimed
	// the misses of requirements newer than that, shown apart.
	Claimed   string
	Unclaimed []scenarioView
	Coverage  string
	Matrix    []matrixGroup
	Scenarios []scenarioView
}

type verdictCount struct {
	Verdict Verdict
	N       int
	Percent string // share of the bar, as CSS width
}

type matrixGroup struct {
	Area    string
	Section string
	Rows    []matrixRow
}

type matrixRow struct {
	RequirementView
	Cells []matrixCell
}

type matrixCell struct {
	Verdict Verdict
	Anchor  string
	Spec    string
}

// RequirementView is a requirement as the pages show it.
type RequirementView struct {
	ID       string
	Known    bool
	Level    string
	Since    string
	Section  string
	URL      string
	Summary  string
	Question string // where the spec is ambiguous
}

type scenarioView struct {
	Anchor       string
	Spec         string
	Side         string
	Verdict      Verdict
	Duration     string
	Message      string
	MessageLabel string
	Location     string
	Reason       string
	ReasonLabel  string
	Beyond       string // the miss is of a version after the newest the SUT claims
	Requirements []RequirementView
	Observations []Observation
	SUTLog       string
	LogLines     int
	Open         bool // transcript shown unfolded: the spec did not pass
	Diagram      *diagram
	FullDiagram  *diagram // with the set-up unfolded, when Diagram folds it
	SetUp        int
	Exchanges    []exchangeView
}

type exchangeView struct {
	Anchor   string
	Seq      int
	Offset   string
	From, To string
	Method   string
	Target   string // path and query, as sent
	Query    [][2]string
	Headers  [][2]string
	Body     shownBody
	Status   string
	Bad      bool
	RespBody shownBody
	Duration string
}

type shownBody struct {
	Text string
	Note string // e.g. "JSON, 1234 bytes" or "truncated"
}

func (r Report) htmlPage() htmlPage {
	p := htmlPage{
		Title:       "asconform: " + r.SUT.Flavor,
		SUT:         r.SUT,
		SpecVersion: r.SpecVersion,
		Tool:        r.Tool,
		Duration:    r.Duration.Round(100 * time.Millisecond).String(),
		Total:       len(r.Results),
		Unexpected:  len(r.Unexpected()),
		Claimed:     r.SUT.NewestClaimed(),
	}
	if r.SUT.Side != "" {
		p.Title += " (" + r.SUT.Side + ")"
	}
	if !r.Started.IsZero() {
		p.Started = r.Started.UTC().Format("2006-01-02 15:04:05 MST")
	}
	counts := r.Counts()
	for _, v := range verdictOrder {
		if counts[v] > 0 {
			p.Counts = append(p.Counts, verdictCount{v, counts[v], fmt.Sprintf("%.2f%%", 100*float64(counts[v])/float64(len(r.Results)))})
		}
	}
	anchors := map[string]int{}
	sorted := r.Sorted()
	views := make([]scenarioView, len(sorted))
	byReq := map[string][]matrixCell{}
	for i, res := range sorted {
		views[i] = scenarioFor(res, uniqueAnchor(anchors, res))
		if beyond, since := r.Unclaimed(res); beyond {
			views[i].Beyond = since
			p.Unclaimed = append(p.Unclaimed, views[i])
		}
		for _, id := range res.Requirements {
			byReq[id] = append(byReq[id], matrixCell{res.Verdict, views[i].Anchor, res.Spec})
		}
	}
	p.Scenarios = views
	for _, v := range views {
		if v.Verdict == Fail || v.Verdict == Error || v.Verdict == UnexpectedPass {
			p.FirstUnexpected = v.Anchor
			break
		}
	}
	p.Matrix = buildMatrix(byReq)
	if r.SUT.Side != "" {
		coverage := CoverageOf(func(id string) bool { return len(byReq[id]) > 0 })
		which, sides := r.SUT.Side, []requirements.Side{requirements.Side(r.SUT.Side)}
		if which == "both" {
			which, sides = "homeserver and appservice", nil
		}
		checked, total := coverage.OfSides(sides...)
		p.Coverage = fmt.Sprintf("%d of the %d %s requirements in the catalogue have a spec in this run.", checked, total, which)
		var beyond []string
		for _, req := range requirements.All() {
			if req.OutOfReach != "" && len(byReq[req.ID]) == 0 && (sides == nil || slices.Contains(sides, req.Side)) {
				beyond = append(beyond, req.ID)
			}
		}
		if len(beyond) > 0 {
			p.Coverage += fmt.Sprintf(" Out of reach of every flavor here: %s (asconform list uncovered says what each needs).", strings.Join(beyond, ", "))
		}
	}
	return p
}

// uniqueAnchor derives a scenario's anchor from its text, so links into a
// report stay valid from one run to the next.
func uniqueAnchor(seen map[string]int, res Result) string {
	h := fnv.New32a()
	h.Write([]byte(res.Side + "\x00" + res.Spec))
	a := fmt.Sprintf("s-%08x", h.Sum32())
	seen[a]++
	if n := seen[a]; n > 1 {
		a = fmt.Sprintf("%s-%d", a, n)
	}
	return a
}

func lookupView(id string) RequirementView {
	req, ok := requirements.Lookup(id)
	if !ok {
		return RequirementView{ID: id, Level: "?", Summary: "not in the requirements catalogue"}
	}
	return RequirementView{ID: id, Known: true, Level: string(req.Level), Since: req.Since, Section: req.Section, URL: req.URL, Summary: req.Summary, Question: req.Question}
}

// buildMatrix groups the checked requirements by side and spec section
// (a requirement's ID area need not be its section: AS-AUTH-01 is under
// "Querying"), homeserver first, in ID order.
func buildMatrix(byReq map[string][]matrixCell) []matrixGroup {
	ids := make([]string, 0, len(byReq))
	for id := range byReq {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var groups []matrixGroup
	at := map[string]int{}
	for _, id := range ids {
		row := matrixRow{RequirementView: lookupView(id), Cells: byReq[id]}
		side := "other"
		if req, ok := requirements.Lookup(id); ok {
			side = string(req.Side)
		}
		key := side + "\x00" + row.Section
		g, ok := at[key]
		if !ok {
			g = len(groups)
			at[key] = g
			groups = append(groups, matrixGroup{Area: side, Section: row.Section})
		}
		groups[g].Rows = append(groups[g].Rows, row)
	}
	rank := map[string]int{string(requirements.Homeserver): 0, string(requirements.AppService): 1}
	sort.SliceStable(groups, func(i, j int) bool {
		ri, oki := rank[groups[i].Area]
		rj, okj := rank[groups[j].Area]
		if !oki {
			ri = 2
		}
		if !okj {
			rj = 2
		}
		return ri < rj
	})
	return groups
}

func scenarioFor(res Result, anchor string) scenarioView {
	v := scenarioView{
		Anchor:       anchor,
		Spec:         res.Spec,
		Side:         res.Side,
		Verdict:      res.Verdict,
		Duration:     fmtMillis(res.Duration),
		Message:      xmlSafe(strings.Trim(res.Message, "\n")),
		Location:     res.Location,
		Reason:       res.Reason,
		Observations: res.Observations,
		SUTLog:       xmlSafe(strings.TrimRight(res.SUTLog, "\n")),
		Open:         res.Verdict != Pass && res.Verdict != Skipped,
	}
	v.MessageLabel = map[Verdict]string{
		Fail: "Failure: expected and actual", NonStrict: "SHOULD missed: expected and actual",
		ExpectedFailure: "Failure (baselined)", Error: "Harness or environment error",
		Skipped: "Skipped because", Pass: "Message", UnexpectedPass: "Message",
	}[res.Verdict]
	v.ReasonLabel = "Note:"
	switch res.Verdict {
	case ExpectedFailure:
		v.ReasonLabel = "Baselined:"
	case UnexpectedPass:
		v.ReasonLabel = "Unexpected pass:"
	}
	if v.SUTLog != "" {
		v.LogLines = strings.Count(v.SUTLog, "\n") + 1
	}
	for _, id := range res.Requirements {
		v.Requirements = append(v.Requirements, lookupView(id))
	}
	if len(res.Transcript) == 0 {
		return v
	}
	first := res.Transcript[0].Start
	for _, e := range res.Transcript {
		if !e.Start.IsZero() && (first.IsZero() || e.Start.Before(first)) {
			first = e.Start
		}
	}
	for _, e := range res.Transcript {
		v.Exchanges = append(v.Exchanges, exchangeFor(e, anchor, first))
	}
	folded := setUp(res.Transcript, res.Steps)
	v.Diagram = layoutDiagram(res.Transcript, v.Exchanges, res.Steps, folded)
	if len(folded) > 0 {
		v.SetUp = len(folded)
		v.FullDiagram = layoutDiagram(res.Transcript, v.Exchanges, res.Steps, nil)
	}
	return v
}

func exchangeFor(e recorder.Exchange, scenario string, first time.Time) exchangeView {
	x := exchangeView{
		Anchor:   fmt.Sprintf("%s-x%d", scenario, e.Seq),
		Seq:      e.Seq,
		From:     e.From,
		To:       e.To,
		Method:   e.Method,
		Target:   e.Path,
		Query:    sortedPairs(e.Query),
		Headers:  sortedPairs(url.Values(e.Header)),
		Body:     showBody(e.Body, e.Header),
		RespBody: showBody(e.RespBody, nil),
		Status:   statusText(e),
		Bad:      e.Status == 0 || e.Status >= 400,
	}
	if q := plainQuery(x.Query); q != "" {
		x.Target += "?" + q
	}
	if !e.Start.IsZero() && !first.IsZero() {
		x.Offset = "+" + fmtMillis(e.Start.Sub(first))
	}
	if !e.Start.IsZero() && !e.End.IsZero() {
		x.Duration = fmtMillis(e.Duration())
	}
	return x
}

// statusText is the status with its Matrix errcode, or the outcome when
// no answer came.
func statusText(e recorder.Exchange) string {
	if e.Status == 0 {
		if e.Outcome != "" {
			return xmlSafe(e.Outcome)
		}
		return "no response"
	}
	s := fmt.Sprint(e.Status)
	// A map: struct decoding would also accept "ErrCode".
	var body map[string]json.RawMessage
	var code string
	if json.Unmarshal(e.RespBody, &body) == nil && json.Unmarshal(body["errcode"], &code) == nil && code != "" {
		s += " " + code
	}
	return s
}

func sortedPairs(m map[string][]string) [][2]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out [][2]string
	for _, k := range keys {
		for _, v := range m[k] {
			out = append(out, [2]string{k, xmlSafe(v)})
		}
	}
	return out
}

// plainQuery joins query pairs without percent-encoding, so a redacted
// "<hs_token>" reads as such.
func plainQuery(ps [][2]string) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, "&")
}

func showBody(data []byte, h http.Header) shownBody {
	if len(data) == 0 {
		return shownBody{}
	}
	if !utf8.Valid(data) {
		return shownBody{Note: fmt.Sprintf("%d bytes, not text (%s)", len(data), h.Get("Content-Type"))}
	}
	b := shownBody{Text: string(data), Note: fmt.Sprintf("%d bytes", len(data))}
	var pretty bytes.Buffer
	if json.Valid(data) && json.Indent(&pretty, data, "", "  ") == nil {
		b.Text, b.Note = pretty.String(), fmt.Sprintf("JSON, %d bytes", len(data))
	}
	if len(b.Text) > maxShownBody {
		cut := maxShownBody
		for cut > 0 && !utf8.RuneStart(b.Text[cut]) {
			cut--
		}
		b.Text = b.Text[:cut] + "\n…"
		b.Note += fmt.Sprintf(", first %d KiB shown (results.json has it all)", maxShownBody>>10)
	}
	b.Text = xmlSafe(b.Text)
	return b
}

// fmtMillis formats a duration in milliseconds below a second (with a
// decimal below 10 ms), in seconds from there on.
func fmtMillis(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 10000:
		return fmt.Sprintf("%.1f s", f/1000)
	case f >= 1000:
		return fmt.Sprintf("%.2f s", f/1000)
	}
	if f < 10 {
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.0f ms", f)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"levelClass": func(level string) string {
		class := strings.ToLower(strings.ReplaceAll(level, " ", "-"))
		if class == level { // the spec's lower-case word, apart from its keyword
			return "word-" + class
		}
		return class
	},
}).Parse(htmlStyle + diagramSVG + reportHTML))
