package scenarios

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/asconform/asconform/recorder"
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
	BottomBoxes   bool // repeat the party boxes at the bottom of long diagrams
	BottomY       int
	BottomText    int
	LineEnd       int
	// Constants the template needs, as it cannot do arithmetic.
	RowH, BoxW, BoxH, TimeX int
}

type lane struct {
	Name string
	Role string // client, homeserver or appservice: colours the box
	X    int
	BoxX int
}

type arrow struct {
	Anchor   string
	Title    string // full label, as a tooltip
	Label    string // possibly shortened
	Status   string // full, for the tooltip
	Shown    string // status and duration, possibly shortened
	Offset   string
	Bad      bool
	Push     bool // towards the appservice lane
	Lost     bool // no answer: no return arrow
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
	RowBands bool // shade every other row, for reading across
}

// laneOrder puts clients first (in order of appearance), then the
// homeserver, then the appservice. "appservice" is one lane whether it acts
// as a client of the homeserver or receives its pushes.
func laneOrder(ex []recorder.Exchange) []lane {
	seen := map[string]bool{}
	var clients []string
	hs, as := false, false
	for _, e := range ex {
		for _, p := range []string{e.From, e.To} {
			if seen[p] {
				continue
			}
			seen[p] = true
			switch p {
			case "homeserver":
				hs = true
			case "appservice":
				as = true
			default:
				clients = append(clients, p)
			}
		}
	}
	var lanes []lane
	for _, c := range clients {
		lanes = append(lanes, lane{Name: c, Role: "client"})
	}
	if hs {
		lanes = append(lanes, lane{Name: "homeserver", Role: "homeserver"})
	}
	if as {
		lanes = append(lanes, lane{Name: "appservice", Role: "appservice"})
	}
	for i := range lanes {
		lanes[i].X = seqLeft + seqBoxW/2 + i*seqLaneGap
		lanes[i].BoxX = lanes[i].X - seqBoxW/2
	}
	return lanes
}

func layoutDiagram(ex []recorder.Exchange, views []exchangeView) *diagram {
	d := &diagram{Lanes: laneOrder(ex), RowH: seqRowH, BoxW: seqBoxW, BoxH: seqBoxH, TimeX: seqLeft - 10}
	x := map[string]int{}
	for _, l := range d.Lanes {
		x[l.Name] = l.X
	}
	last := d.Lanes[len(d.Lanes)-1]
	d.Width = last.BoxX + seqBoxW + 8
	for i, e := range ex {
		v := views[i]
		top := seqTop + i*seqRowH
		a := arrow{
			Anchor: v.Anchor, Offset: v.Offset, Status: v.Status, Bad: v.Bad,
			Push: e.To == "appservice", Lost: e.Status == 0,
			X1: x[e.From], X2: x[e.To],
			RowTop: top, RowBands: i%2 == 1,
			LabelY: top + 13, Y: top + 18, TimeY: top + 22, StatusY: top + 33, ReturnY: top + 38,
		}
		a.Title = fmt.Sprintf("#%d %s %s", e.Seq, e.Method, readablePath(v.Target))
		if a.X1 == a.X2 { // a party calling itself: a short hop to the right
			a.X2 = a.X1 + 40
		}
		left := min(a.X1, a.X2)
		a.LabelX = left + 8
		room := int(float64(seqMaxWidth-a.LabelX-8) / seqCharW)
		a.Label = shortenMiddle(a.Title, room)
		status := v.Status
		if v.Duration != "" {
			status += " · " + v.Duration
		}
		a.Shown = shortenMiddle(status, room)
		need := a.LabelX + int(float64(max(utf8Len(a.Label), utf8Len(a.Shown)))*seqCharW) + 8
		d.Width = max(d.Width, need)
		dir := 1
		if a.X2 < a.X1 {
			dir = -1
		}
		a.Head = fmt.Sprintf("%d,%d %d,%d %d,%d", a.X2, a.Y, a.X2-dir*9, a.Y-4, a.X2-dir*9, a.Y+4)
		a.RetHead = fmt.Sprintf("%d,%d %d,%d %d,%d", a.X1+dir*8, a.ReturnY-4, a.X1, a.ReturnY, a.X1+dir*8, a.ReturnY+4)
		a.CrossD = fmt.Sprintf("M%d %d l10 10 m0 -10 l-10 10", a.X2-5, a.Y-5)
		d.Rows = append(d.Rows, a)
	}
	d.Width = min(d.Width, seqMaxWidth)
	rowsEnd := seqTop + len(ex)*seqRowH
	d.LineEnd = rowsEnd + 4
	d.Height = rowsEnd + 8
	if len(ex) > 12 {
		d.BottomBoxes = true
		d.BottomY = rowsEnd + 4
		d.BottomText = d.BottomY + 17
		d.LineEnd = d.BottomY
		d.Height = d.BottomY + seqBoxH + 4
	}
	return d
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
