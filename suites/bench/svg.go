package bench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Point is one (x, y) value of a series, optionally labelled on the chart.
type Point struct {
	X, Y  float64
	Label string
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Color  string // any SVG colour, e.g. "#1f77b4"
	Dashed bool
	Points []Point
}

// Chart is a line chart with linear x and linear or logarithmic y axes.
type Chart struct {
	Title, Subtitle string
	XLabel, YLabel  string
	// LogY draws y on a log10 scale; all y values must then be positive.
	LogY   bool
	Series []Series
	Notes  []string // small print under the plot
}

const (
	svgW, svgH          = 760, 460
	padL, padR          = 72, 190
	padT, padB          = 58, 78
	plotW, plotH        = svgW - padL - padR, svgH - padT - padB
	fontFamily          = "Helvetica, Arial, sans-serif"
	gridColor, axisGrey = "#e4e4e4", "#444"
)

// WriteSVG renders the chart as a self-contained SVG document.
func (c Chart) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	xmax, ymin, ymax := c.bounds()
	xs := linearTicks(0, xmax*1.04) // room for the last point's marker
	xhi := xs[len(xs)-1]
	var ys []float64
	var ylo, yhi float64
	if c.LogY {
		ys = logTicks(ymin, ymax)
		ylo, yhi = math.Log10(ys[0]), math.Log10(ys[len(ys)-1])
	} else {
		ys = linearTicks(0, ymax*1.04)
		ylo, yhi = 0, ys[len(ys)-1]
	}
	px := func(x float64) float64 { return padL + x/xhi*plotW }
	py := func(y float64) float64 {
		if c.LogY {
			y = math.Log10(y)
		}
		return padT + plotH - (y-ylo)/(yhi-ylo)*plotH
	}

	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s" font-size="12">`+"\n", svgW, svgH, svgW, svgH, fontFamily)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", padL, esc(c.Title))
	if c.Subtitle != "" {
		p(`<text x="%d" y="42" fill="#555">%s</text>`+"\n", padL, esc(c.Subtitle))
	}
	// Grid and ticks.
	for _, x := range xs {
		X := px(x)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", X, padT, X, padT+plotH, gridColor)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", X, padT+plotH+18, num(x))
	}
	for _, y := range ys {
		Y := py(y)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", padL, Y, padL+plotW, Y, gridColor)
		p(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", padL-6, Y, num(y))
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`+"\n", padL, padT, plotW, plotH, axisGrey)
	p(`<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", padL+plotW/2, padT+plotH+40, esc(c.XLabel))
	p(`<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, esc(c.YLabel))
	// Series.
	for i, s := range c.Series {
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts, labels []string
		lastLabelX := math.Inf(-1)
		for _, pt := range s.Points {
			if c.LogY && pt.Y <= 0 {
				continue
			}
			X, Y := px(pt.X), py(pt.Y)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", X, Y))
			if pt.Label == "" {
				continue
			}
			// Under the point; right of it when the previous label is close.
			lx, ly, anchor := X, Y+16, "middle"
			if math.Abs(X-lastLabelX) < 40 {
				lx, ly, anchor = X+8, Y+4, "start"
			}
			lastLabelX = X
			labels = append(labels, fmt.Sprintf(`<text x="%.1f" y="%.1f" text-anchor="%s" font-size="10.5" fill="%s">%s</text>`,
				lx, ly, anchor, esc(s.Color), esc(pt.Label)))
		}
		p(`<g fill="none" stroke="%s" stroke-width="2">`+"\n", esc(s.Color))
		if len(pts) > 1 {
			p(`<polyline points="%s"%s/>`+"\n", strings.Join(pts, " "), dash)
		}
		for _, pt := range pts {
			x, y, _ := strings.Cut(pt, ",")
			p(`<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`+"\n", x, y, esc(s.Color))
		}
		p("</g>\n")
		for _, l := range labels {
			p("%s\n", l)
		}
		// Legend.
		ly := padT + 10 + i*22
		lx := padL + plotW + 16
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+26, ly, esc(s.Color), dash)
		p(`<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", lx+32, ly, esc(s.Name))
	}
	for i, n := range c.Notes {
		p(`<text x="%d" y="%d" font-size="10.5" fill="#555">%s</text>`+"\n", padL, padT+plotH+58+i*14, esc(n))
	}
	p("</svg>\n")
	return bw.Flush()
}

func (c Chart) bounds() (xmax, ymin, ymax float64) {
	ymin = math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range c.Series {
		for _, pt := range s.Points {
			if c.LogY && pt.Y <= 0 {
				continue
			}
			xmax = math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, pt.Y), math.Max(ymax, pt.Y)
		}
	}
	if math.IsInf(xmax, -1) { // no points
		return 1, 1, 10
	}
	if xmax <= 0 {
		xmax = 1
	}
	if ymax <= 0 {
		ymax = 1
	}
	if ymin >= ymax {
		ymin = ymax / 10
	}
	return xmax, ymin, ymax
}

// linearTicks are round ticks from lo to at least hi: 0, 20, 40, ...
func linearTicks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	var ticks []float64
	for v := lo; ; v += step {
		ticks = append(ticks, roundTo(v, step))
		if v >= hi-step*1e-9 {
			break
		}
	}
	return ticks
}

func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// logTicks are 1-2-5 ticks covering [lo, hi] (lo > 0): the last one at or
// below lo, then every one up to the first at or above hi.
func logTicks(lo, hi float64) []float64 {
	var ticks []float64
	for e := math.Floor(math.Log10(lo)); ; e++ {
		for i, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			next := []float64{2, 5, 10}[i] * math.Pow(10, e)
			if next <= lo {
				continue
			}
			ticks = append(ticks, roundTo(v, math.Pow(10, e)/10))
			if v >= hi {
				return ticks
			}
		}
	}
}

func roundTo(v, step float64) float64 {
	if step <= 0 {
		return v
	}
	// Round to the step's decimal places to avoid 0.30000000000000004.
	dec := max(0, int(-math.Floor(math.Log10(step)))+1)
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', dec, 64), 64)
	return f
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func esc(s string) string { return html.EscapeString(s) }
