package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/reports"
)

// The pages are checked in a real browser: headless Chromium loads them
// from disk, a probe script injected into a copy records script errors and
// what is shown, and the test reads the probe back from the dumped DOM.

// chromium finds the browser; outside CI a machine without it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI must check the pages in a browser (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium): the pages are not checked in a browser here; CI checks them")
	return ""
}

// errorTrap goes first in <head>: it records every script error.
const errorTrap = `<script>window.__errors = []; window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });</script>`

// probe loads the page with the probe script and returns what it reported.
func probe(t *testing.T, browser, page, script string) map[string]any {
	t.Helper()
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(html), "<head>", "<head>\n"+errorTrap, 1)
	s = strings.Replace(s, "</body>", "<script>(function () { var out = {}; try { "+script+
		" } catch (e) { window.__errors.push('probe: ' + e.message); } out.errors = window.__errors; out.ready = document.body.getAttribute('data-ready');"+
		" document.documentElement.setAttribute('data-probe', JSON.stringify(out)); })();</script>\n</body>", 1)
	probed := filepath.Join(filepath.Dir(page), "probed-"+filepath.Base(page))
	if err := os.WriteFile(probed, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+probed)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`data-probe="([^"]*)"`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run: no data-probe in the dumped DOM (%d bytes)\n%s", len(dom), stderr.String())
	}
	raw := strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(string(m[1]))
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("probe output %q: %v", raw, err)
	}
	if errs, _ := out["errors"].([]any); len(errs) > 0 {
		t.Errorf("script errors on %s: %v", filepath.Base(page), errs)
	}
	if out["ready"] != "1" {
		t.Errorf("%s: the page's script did not finish (data-ready=%v)", filepath.Base(page), out["ready"])
	}
	return out
}

func walkthroughReport(t *testing.T) reports.Report {
	t.Helper()
	data, err := os.ReadFile("testdata/irc-walkthrough.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reports.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPagesInBrowser(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	walk := walkthroughReport(t)
	failing := writersReport()
	walk.Results = append(walk.Results, failing.Results...)
	if _, err := walk.WriteHTML(dir); err != nil {
		t.Fatal(err)
	}

	t.Run("report", func(t *testing.T) {
		got := probe(t, browser, filepath.Join(dir, "report.html"), `
			var arts = document.querySelectorAll("article.scenario");
			out.articles = arts.length;
			var irc = Array.prototype.filter.call(arts, function (a) { return /IRC bridge walkthrough/.test(a.querySelector("h3").textContent); })[0];
			irc.querySelector("details.transcript").open = true;
			var svg = irc.querySelector("svg.seqd");
			out.svgHeight = svg.getBoundingClientRect().height;
			out.steps = svg.querySelectorAll("g.step").length;
			out.spans = svg.querySelectorAll("rect.span").length;
			function y(re) {
				var t = Array.prototype.filter.call(svg.querySelectorAll("text.lbl, text.st"), function (e) { return re.test(e.textContent); })[0];
				return t ? t.getBoundingClientRect().top : -1;
			}
			out.joinSent = y(/^#3 POST .*\/join\//);
			out.aliasQuery = y(/^#4 GET .*\/app\/v1\/rooms\//);
			out.joinAnswered = y(/^#3 200/);
			out.rows = document.querySelectorAll("table.matrix tr:not(.group)").length;
		`)
		if int(got["articles"].(float64)) != len(walk.Results) {
			t.Errorf("%v scenario sections shown for %d results", got["articles"], len(walk.Results))
		}
		if got["svgHeight"].(float64) < 300 {
			t.Errorf("the walkthrough's diagram is %vpx high: not drawn", got["svgHeight"])
		}
		if got["steps"].(float64) != 6 {
			t.Errorf("the walkthrough's diagram shows %v step dividers, want its 6 steps", got["steps"])
		}
		if got["spans"].(float64) < 1 {
			t.Errorf("no open-request bar in the walkthrough's diagram")
		}
		js, aq, ja := got["joinSent"].(float64), got["aliasQuery"].(float64), got["joinAnswered"].(float64)
		t.Logf("join sent at y=%v, alias query at y=%v, join answered at y=%v", js, aq, ja)
		if js < 0 || aq < 0 || ja < 0 || !(js < aq && aq < ja) {
			t.Errorf("the alias query is not drawn inside the join's span: join sent at y=%v, query at y=%v, join answered at y=%v", js, aq, ja)
		}
		if got["rows"].(float64) < 4 {
			t.Errorf("the report's requirement matrix shows %v rows", got["rows"])
		}
	})

	t.Run("matrix", func(t *testing.T) {
		cols := []reports.MatrixColumn{{Name: "synapse", Report: walk, Link: "synapse/report.html"}, {Name: "sample", Report: writersReport(), Link: "sample/report.html"}}
		m := reports.BuildMatrix(cols, time.Now())
		if _, err := m.WriteMatrix(dir); err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, g := range m.Groups {
			want += len(g.Rows)
		}
		got := probe(t, browser, filepath.Join(dir, "index.html"), `
			function shown() { return Array.prototype.filter.call(document.querySelectorAll("tr.req"), function (r) { return r.getBoundingClientRect().height > 0; }).length; }
			out.rows = shown();
			out.columns = document.querySelectorAll("thead th.col").length;
			out.links = document.querySelectorAll("td.v a.badge").length;
			var q = document.getElementById("q");
			q.value = "HS-ID-03"; q.dispatchEvent(new Event("input"));
			out.filtered = shown();
			q.value = ""; q.dispatchEvent(new Event("input"));
			var th = document.querySelector('th[data-sort="c1"]'); th.click();
			out.sortedFirst = document.querySelector("tbody tr.req").getAttribute("data-id");
			out.afterSort = shown();
		`)
		if int(got["rows"].(float64)) != want {
			t.Errorf("%v requirement rows shown, want %d", got["rows"], want)
		}
		if got["columns"].(float64) != 2 {
			t.Errorf("%v implementation columns, want 2", got["columns"])
		}
		if got["links"].(float64) < 1 {
			t.Errorf("no cell links to a report")
		}
		if got["filtered"].(float64) != 1 {
			t.Errorf("filtering on HS-ID-03 shows %v rows, want 1", got["filtered"])
		}
		if int(got["afterSort"].(float64)) != want {
			t.Errorf("sorting lost rows: %v shown of %d", got["afterSort"], want)
		}
	})

	if out := os.Getenv("ASCONFORM_SCREENSHOTS"); out != "" {
		screenshot(t, browser, filepath.Join(dir, "report.html"), filepath.Join(out, "walkthrough.png"), 1400, 2000)
	}
}

// screenshot saves page as a PNG, showing only the walkthrough's scenario
// with its transcript unfolded.
func screenshot(t *testing.T, browser, page, png string, w, h int) {
	t.Helper()
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	focus := `<style>#summary, #matrix, table.index, nav.top, ol.exchanges, details.setup, footer, article.scenario:not(.walk) { display: none; }</style>
<script>document.querySelectorAll("article.scenario").forEach(function (a) { if (/IRC bridge walkthrough/.test(a.querySelector("h3").textContent)) { a.classList.add("walk"); a.querySelector("details.transcript").open = true; } });</script>`
	shot := filepath.Join(filepath.Dir(page), "shot.html")
	if err := os.WriteFile(shot, []byte(strings.Replace(string(html), "</body>", focus+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir="+t.TempDir(),
		"--window-size="+strconv.Itoa(w)+","+strconv.Itoa(h), "--screenshot="+png, "file://"+shot)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
}
