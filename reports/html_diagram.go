package reports

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// Geometry of the sequence diagram, in px. Labels are monospace so their
// width can be estimated without measuring text.
const (
	seqLeft     = 78  // time column, left of the first lane
	seqLaneGap  = 210 // between lifelines
	seqBoxW     = 124 // party box
	seqBoxH     = 26
	seqTop      = 40 // first row starts below the party boxes
	seqRowH     = 44 // one exchange: label, request, status, return
	seqCharW    = 6.7
	seqMaxWidth = 1280 // fits the page at 1400 px; wider scrolls
)

type diagram struct {
	Width, Height int
	Lanes         []lane
	Rows          []arrow
	Spans         []span // a request still open while others happen: its lifetime on the callee's lane
	BottomBoxes   bool   // repeat the party boxes at the bottom of long diagrams
	BottomY       int
	BottomText    int
	LineEnd       int
	// Constants the template needs, as it cannot do arithmetic.
	BoxW, BoxH, TimeX, StepX int
}

// Row kinds: a whole exchange on one row, or its request and its response
// on two rows with what happened meanwhile between them; a scenario step;
// the folded set-up.
const (
	rowWhole    = "whole"
	rowRequest  = "request"
	rowResponse = "response"
	rowStep     = "step"
	rowFolded   = "folded"
)

type lane struct {
	Name string
	Role string // client, homeserver or appservice: colours the box
	X    int
	BoxX int
}

type span struct {
	X, Y, H int
	Bad     bool
}

type arrow struct {
	Kind     string
	Anchor   string
	Title    string // full label, as a tooltip
	Label    string // possibly shortened
	Status   string // full, for the tooltip
	Shown    string // status and duration, possibly shortened
	Offset   string
	Bad      bool
	Push     bool // towards the appservice lane
	Lost     bool // no answer: no return arrow
	Key      bool // decides the verdict: highlighted
	X1, X2   int
	LabelX   int
	LabelY   int
	Y        int
	TimeY    int
	StatusY  int
	ReturnY  int
	Head     string // polygon points of the request arrowhead
	RetHead  string // polyline points of the return arrowhead
	CrossD   string // path of the × drawn where a request got no answer
	RowTop   int
	RowH     int
	RowBands bool // shade every other exchange, for reading across
}

// laneOrder puts clients first (in order of appearance), then the
// homeserver, then the appservice. "appservice" is one lane whether it acts
// as a client of the homeserver or receives its pushes.
func laneOrder(ex []recorder.Exchange) []lane {
	seen := map[string]bool{}
	var clients, services []string
	hs := false
	for _, e := range ex {
		for _, p := range []string{e.From, e.To} {
			if seen[p] {
				continue
			}
			seen[p] = true
			switch {
			case p == "homeserver":
				hs = true
			case strings.HasPrefix(p, "appservice"):
				services = append(services, p)
			default:
				clients = append(clients, p)
			}
		}
	}
	sort.Strings(services)
	var lanes []lane
	for _, c := range clients {
		lanes = append(lanes, lane{Name: c, Role: "client"})
	}
	if hs {
		lanes = append(lanes, lane{Name: "homeserver", Role: "homeserver"})
	}
	for _, a := range services {
		lanes = append(lanes, lane{Name: a, Role: "appservice"})
	}
	for i := range lanes {
		lanes[i].X = seqLeft + seqBoxW/2 + i*seqLaneGap
		lanes[i].BoxX = lanes[i].X - seqBoxW/2
	}
	return lanes
}

// event is a moment drawn in the diagram: a request sent, its answer, or a
// scenario step.
type event struct {
	at   time.Time
	ex   int // index of the exchange; -1 for a step
	end  bool
	step string
}

// timeline orders requests, answers and steps by when they happened, so an
// answer that came after other exchanges is drawn after them. Without
// timestamps it falls back to the recorded order, one row per exchange.
func timeline(ex []recorder.Exchange, steps []Step) ([]event, bool) {
	timed := true
	for _, e := range ex {
		if e.Start.IsZero() || e.End.IsZero() {
			timed = false
		}
	}
	var evs []event
	for i, e := range ex {
		evs = append(evs, event{at: e.Start, ex: i})
		if timed {
			evs = append(evs, event{at: maxTime(e.Start, e.End), ex: i, end: true})
		}
	}
	if !timed {
		return evs, false
	}
	for _, st := range steps {
		if !st.At.IsZero() {
			evs = append(evs, event{at: st.At, ex: -1, step: st.Text})
		}
	}
	// At the same instant: a step first, then answers, then requests; an
	// exchange's own request before its answer.
	rank := func(e event) int {
		switch {
		case e.ex < 0:
			return 0
		case e.end:
			return 1
		}
		return 2
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		if a.ex >= 0 && a.ex == b.ex {
			return !a.end && b.end
		}
		return rank(a) < rank(b)
	})
	return evs, true
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// setUp is the exchanges over before the scenario's first step: the
// set-up the diagram folds. Empty when there is no step, or nothing after it.
func setUp(ex []recorder.Exchange, steps []Step) map[int]bool {
	if len(steps) == 0 || steps[0].At.IsZero() {
		return nil
	}
	out := map[int]bool{}
	for i, e := range ex {
		if !e.Start.IsZero() && !e.End.IsZero() && e.End.Before(steps[0].At) {
			out[i] = true
		}
	}
	if len(out) == len(ex) {
		return nil
	}
	return out
}

// layoutDiagram draws ex in time; the folded exchanges (the set-up) are
// one grey row.
func layoutDiagram(ex []recorder.Exchange, views []exchangeView, steps []Step, folded map[int]bool) *diagram {
	d := &diagram{Lanes: laneOrder(ex), BoxW: seqBoxW, BoxH: seqBoxH, TimeX: seqLeft - 10, StepX: 4}
	x := map[string]int{}
	for _, l := range d.Lanes {
		x[l.Name] = l.X
	}
	last := d.Lanes[len(d.Lanes)-1]
	d.Width = last.BoxX + seqBoxW + 8
	first := firstStart(ex)
	evs, timed := timeline(ex, steps)
	y := seqTop
	open := map[int]int{} // exchange -> Y of its request arrow, while unanswered
	shown := 0            // exchanges drawn, for banding
	foldDone := false
	for k := 0; k < len(evs); k++ {
		ev := evs[k]
		if ev.ex >= 0 && folded[ev.ex] {
			if !foldDone {
				foldDone = true
				d.Rows = append(d.Rows, arrow{Kind: rowFolded, RowTop: y, RowH: 24, LabelX: seqLeft, LabelY: y + 16,
					Label: fmt.Sprintf("▸ set-up: %d exchange(s) folded (unfold below)", len(folded))})
				y += 24
			}
			continue
		}
		if ev.ex < 0 {
			d.Rows = append(d.Rows, stepRow(ev, y, first))
			d.Width = max(d.Width, d.StepX+int(float64(utf8Len(ev.step))*seqCharW*1.1)+8)
			y += 26
			continue
		}
		e, v := ex[ev.ex], views[ev.ex]
		a := exchangeArrow(e, v, x)
		room := int(float64(seqMaxWidth-a.LabelX-8) / seqCharW)
		status := v.Status
		if v.Duration != "" {
			status += " · " + v.Duration
		}
		whole := !timed || k+1 >= len(evs) || (evs[k+1].ex == ev.ex && evs[k+1].end)
		switch {
		case ev.end: // the answer to a request drawn earlier
			a.Kind, a.RowTop, a.RowH = rowResponse, y, 26
			a.Shown = shortenMiddle(fmt.Sprintf("#%d ", e.Seq)+status, room)
			a.StatusY, a.ReturnY, a.TimeY = y+11, y+17, y+21
			if !e.End.IsZero() && !first.IsZero() {
				a.Offset = "+" + fmtMillis(e.End.Sub(first))
			}
			if top, ok := open[ev.ex]; ok {
				d.Spans = append(d.Spans, span{X: a.X2 - 4, Y: top, H: a.ReturnY - top, Bad: a.Bad})
				delete(open, ev.ex)
			}
		case whole:
			if k+1 < len(evs) && evs[k+1].ex == ev.ex {
				k++ // its answer is this row's
			}
			a.Kind, a.RowTop, a.RowH = rowWhole, y, seqRowH
			a.Label, a.Shown, a.Offset = shortenMiddle(a.Title, room), shortenMiddle(status, room), v.Offset
			a.LabelY, a.Y, a.TimeY, a.StatusY, a.ReturnY = y+13, y+18, y+22, y+33, y+38
			a.RowBands = shown%2 == 1
			shown++
		default: // answered later: the answer gets its own row
			a.Kind, a.RowTop, a.RowH = rowRequest, y, 26
			a.Label, a.Offset = shortenMiddle(a.Title, room), v.Offset
			a.LabelY, a.Y, a.TimeY = y+13, y+18, y+22
			open[ev.ex] = a.Y
			a.RowBands = shown%2 == 1
			shown++
		}
		need := a.LabelX + int(float64(max(utf8Len(a.Label), utf8Len(a.Shown)))*seqCharW) + 8
		d.Width = max(d.Width, need)
		a.drawHeads()
		d.Rows = append(d.Rows, a)
		y += a.RowH
	}
	d.Width = min(d.Width, seqMaxWidth)
	d.LineEnd = y + 4
	d.Height = y + 8
	if len(d.Rows) > 12 {
		d.BottomBoxes = true
		d.BottomY = y + 4
		d.BottomText = d.BottomY + 17
		d.LineEnd = d.BottomY
		d.Height = d.BottomY + seqBoxH + 4
	}
	return d
}

// firstStart is when the first exchange began (zero if none says).
func firstStart(ex []recorder.Exchange) time.Time {
	var first time.Time
	for _, e := range ex {
		if !e.Start.IsZero() && (first.IsZero() || e.Start.Before(first)) {
			first = e.Start
		}
	}
	return first
}

// stepRow is the row of a spec's step (By), at y.
func stepRow(ev event, y int, first time.Time) arrow {
	st := arrow{Kind: rowStep, RowTop: y, RowH: 26, Y: y + 20, LabelY: y + 15, TimeY: y + 15, Label: ev.step, Title: ev.step}
	if !first.IsZero() {
		st.Label += " · at +" + fmtMillis(max(0, ev.at.Sub(first)))
	}
	return st
}

// exchangeArrow is the arrow of exchange e between the lanes at x, before
// its row is placed.
func exchangeArrow(e recorder.Exchange, v exchangeView, x map[string]int) arrow {
	a := arrow{
		Anchor: v.Anchor, Status: v.Status, Bad: v.Bad,
		Push: strings.HasPrefix(e.To, "appservice"), Lost: e.Status == 0,
		X1: x[e.From], X2: x[e.To],
	}
	a.Key = a.Push || a.Bad
	a.Title = fmt.Sprintf("#%d %s %s", e.Seq, e.Method, readablePath(v.Target))
	if a.X1 == a.X2 { // a party calling itself: a short hop to the right
		a.X2 = a.X1 + 40
	}
	a.LabelX = min(a.X1, a.X2) + 8
	return a
}

// drawHeads places the arrow heads and the cross of a lost exchange, once
// the row is placed.
func (a *arrow) drawHeads() {
	dir := 1
	if a.X2 < a.X1 {
		dir = -1
	}
	a.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", a.X2, a.Y, a.X2-dir*9, a.Y-4, a.X2-dir*9, a.Y+4)
	a.RetHead = fmt.Sprintf("%d,%d %d,%d %d,%d", a.X1+dir*8, a.ReturnY-4, a.X1, a.ReturnY, a.X1+dir*8, a.ReturnY+4)
	crossY := a.Y
	if a.Kind == rowResponse {
		crossY = a.ReturnY
	}
	a.CrossD = fmt.Sprintf("M%d %d l10 10 m0 -10 l-10 10", a.X2-5, crossY-5)
}

// readablePath undoes percent-encoding for the diagram ("!room:hs"
// rather than "%21room:hs"); the exchange's details keep it as sent.
func readablePath(target string) string {
	if p, err := url.PathUnescape(target); err == nil {
		return p
	}
	return target
}

func utf8Len(s string) int { return len([]rune(s)) }

// shortenMiddle cuts s to n runes, keeping both ends: the start of a path names
// the API, its end the resource.
func shortenMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 5 {
		return s
	}
	head := (n - 1) * 2 / 3
	tail := n - 1 - head
	return string(r[:head]) + "…" + strings.TrimSpace(string(r[len(r)-tail:]))
}
