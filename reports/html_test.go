package reports_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/reports"
)

func renderHTML(t *testing.T, r reports.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	return b.String()
}

// articles splits the page into the scenario sections, keyed by spec text
// as it appears (escaped) in the heading.
func articles(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	heading := regexp.MustCompile(`<h3><span class="badge [^"]+">[^<]+</span> (.*?)<a class="self"`)
	for _, part := range strings.Split(page, "<article ")[1:] {
		part, _, _ = strings.Cut(part, "</article>")
		m := heading.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("article without heading: %.300s", part)
		}
		out[m[1]] = part
	}
	return out
}

func mustContain(t *testing.T, where, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", where, w)
		}
	}
}

func TestHTMLReport(t *testing.T) {
	r := writersReport()
	page := renderHTML(t, r)

	mustContain(t, "page", page,
		"<!DOCTYPE html>", "<title>asconform: synapse (homeserver)</title>",
		"<code>example/synapse:1.0</code>", `<span class="mutant">txn-id-reused</span>`,
		"2026-03-04 05:06:07 UTC", "<dd>1m23.5s</dd>", "<dd>v1.19</dd>",
		"3 of 8 results do not match the expectations",
	)
	for _, v := range []string{"pass", "fail", "error", "non-strict", "expected-failure", "unexpected-pass", "skipped"} {
		mustContain(t, "verdict counts", page, `<b class="v-`+v+`">`)
		mustContain(t, "colours", page, ".v-"+v+" { background: var(--"+v+");")
	}

	t.Run("matrix", func(t *testing.T) {
		matrix, _, _ := strings.Cut(page[strings.Index(page, `<section id="matrix">`):], "</section>")
		for _, id := range []string{"HS-TXN-01", "HS-TXN-02", "HS-ID-01", "HS-TXN-06", "HS-TXN-04", "HS-TXN-05", "HS-TS-01", "HS-NS-01", "AS-AUTH-01"} {
			row := regexp.MustCompile(`<tr><td class="id"><a href="https://spec\.matrix\.org/[^"]+" title="[^"]*">` + id + `</a></td>`)
			if !row.MatchString(matrix) {
				t.Errorf("matrix has no linked row for %s", id)
			}
		}
		mustContain(t, "matrix", matrix, `<span class="level must-not">MUST NOT</span>`, `<th colspan="5">Pushing events<span>homeserver</span></th>`, `<th colspan="5">Querying<span>appservice</span></th>`)
		if strings.Contains(matrix, "HS-REG-01") {
			t.Error("matrix lists a requirement no spec checked")
		}
		if !regexp.MustCompile(`<a class="badge v-fail" href="#s-[0-9a-f]{8}" title="Identity assertion acts as the user">fail</a>`).MatchString(matrix) {
			t.Error("matrix verdict cell does not link to its scenario")
		}
	})

	t.Run("every in-page link has a target", func(t *testing.T) {
		ids := map[string]bool{}
		for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			if ids[m[1]] {
				t.Errorf("duplicate id %q", m[1])
			}
			ids[m[1]] = true
		}
		links := regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1)
		if len(links) < 20 {
			t.Fatalf("only %d in-page links", len(links))
		}
		for _, m := range links {
			if !ids[m[1]] {
				t.Errorf("link to #%s, which does not exist", m[1])
			}
		}
	})

	t.Run("failures first", func(t *testing.T) {
		order := []string{"Namespaces are exclusive", "Identity assertion acts as the user", "Retried transactions keep their events",
			"Retries back off", "Transaction IDs are distinct", "Timestamp massaging", "The AS checks the hs_token"}
		body := page[strings.Index(page, "<article "):]
		last := -1
		for _, spec := range order {
			i := strings.Index(body, "</span> "+spec+"<a class=\"self\"")
			if i < last {
				t.Errorf("%q is out of order (failures first)", spec)
			}
			last = i
		}
	})

	t.Run("nothing is loaded from elsewhere", func(t *testing.T) {
		assertSelfContained(t, page)
	})

	t.Run("escaping", func(t *testing.T) {
		if n := strings.Count(page, "<script"); n != 1 {
			t.Errorf("%d <script> elements, want only the page's own", n)
		}
		if strings.Contains(page, "alert(1)</script>") || strings.Contains(page, "</pre><script>") {
			t.Error("a recorded body was written unescaped")
		}
		mustContain(t, "page", page, "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
			"Transactions are PUT with &lt;events&gt; &amp; &#34;quotes&#34;")
		if strings.ContainsAny(page, "\x1b\x00") {
			t.Error("control characters reach the page")
		}
	})

	arts := articles(t, page)
	if len(arts) != len(r.Results) {
		t.Fatalf("%d scenario sections for %d results", len(arts), len(r.Results))
	}

	t.Run("failed scenario", func(t *testing.T) {
		a := arts["Identity assertion acts as the user"]
		mustContain(t, "failed scenario", a,
			`class="scenario v-fail"`, `<span class="badge v-fail">fail</span>`,
			`<b>HS-ID-01</b></a> <span class="level must">MUST</span> since v1.0: A client-server request`,
			`<pre class="message">Expected
    &lt;int&gt;: 403
to equal`,
			"<code>suites/homeserver/identity.go:27</code>",
			`<details class="log"><summary>SUT log: last 2 lines</summary><pre>synapse: starting
synapse: &lt;error&gt; user_id ignored</pre></details>`,
			`<details class="transcript" open><summary>Transcript: 3 exchange(s)</summary>`,
			// the sequence diagram
			`<text class="party" x="140" y="18" text-anchor="middle">homeserver</text>`,
			`<text class="party" x="350" y="18" text-anchor="middle">appservice</text>`,
			`<text class="lbl" x="148" y="53">#1 GET /_matrix/client/v3/account/whoami?user_id=@ghost:hs</text>`,
			`403 M_FORBIDDEN · 3.0 ms</text>`,
			`class="msg bad push key"`, `connection dropped after reading the request · 1.0 ms</text>`, `<path class="cross"`,
			`502 · 2.0 ms</text>`,
			`<text class="t" x="68" y="150" text-anchor="end">&#43;7.0 ms</text>`,
			// the exchanges
			`<tr><th>user_id</th><td>@ghost:hs</td></tr>`,
			`<tr><th>Authorization</th><td>Bearer &lt;as_token&gt;</td></tr>`,
			`<h5>Request body <small>3 bytes, not text ()</small></h5>`,
			`<pre>&lt;html&gt;bad gateway&lt;/html&gt;</pre>`,
			`<span class="status bad">403 M_FORBIDDEN</span>`,
		)
		if n := strings.Count(a, `<text class="party"`); n != 2 {
			t.Errorf("%d lanes, want 2: appservice is one lane whether it calls the homeserver or is pushed to", n)
		}
		if !strings.Contains(a, "200 ]]&gt;</pre>") {
			t.Error("message text was lost")
		}
	})

	t.Run("passed scenario", func(t *testing.T) {
		a := arts["Transactions are PUT with &lt;events&gt; &amp; &#34;quotes&#34;"]
		mustContain(t, "passed scenario", a,
			`<details class="transcript"><summary>`,
			`>alice</text>`, `>homeserver</text>`, `>appservice</text>`,
			`#2 PUT /_matrix/client/v3/rooms/!r:hs/send/m.room.message/1</text>`,
			`<pre>PUT /_matrix/client/v3/rooms/%21r:hs/send/m.room.message/1</pre>`,
			"<pre>{\n  &#34;preset&#34;: &#34;public_chat&#34;\n}</pre>",
			`<h5>Request body <small>JSON, 24 bytes</small></h5>`,
		)
		lanes := regexp.MustCompile(`<text class="party" x="(\d+)" y="18" text-anchor="middle">(\w+)</text>`).FindAllStringSubmatch(a, -1)
		var names []string
		for _, l := range lanes {
			names = append(names, l[2])
		}
		if strings.Join(names, ",") != "alice,homeserver,appservice" {
			t.Errorf("lanes %v, want clients, then the homeserver, then the appservice", names)
		}
	})

	t.Run("other verdicts", func(t *testing.T) {
		mustContain(t, "non-strict", arts["Retries back off"], "<h5>SHOULD missed: expected and actual</h5>",
			`<caption>Observations</caption><tr><th>retry intervals</th><td>1s, 1s, 1s</td></tr>`, "<p class=\"meta\">homeserver · 12.0 s ·")
		mustContain(t, "durations", page, `<td class="n">1.50 s</td>`, `<td class="n">250 ms</td>`, `<td class="n">2.0 ms</td>`)
		mustContain(t, "expected failure", arts["Transaction IDs are distinct"], `<p class="note"><b>Baselined:</b> reuses IDs (https://example.org/1)</p>`,
			"<h5>Failure (baselined)</h5>")
		mustContain(t, "unexpected pass", arts["Retried transactions keep their events"],
			`<p class="note"><b>Unexpected pass:</b> baselined as failing (drops events) but passed: tighten the expectations file</p>`)
		mustContain(t, "skipped", arts["Timestamp massaging"], "<h5>Skipped because</h5>", "after the targeted spec v1.2")
		mustContain(t, "error", arts["Namespaces are exclusive"], "<h5>Harness or environment error</h5>")
		if strings.Contains(arts["Timestamp massaging"], "<details class=\"transcript\"") {
			t.Error("a scenario without exchanges shows a transcript")
		}
	})

	t.Run("tags balance and diagrams are well-formed SVG", func(t *testing.T) {
		assertBalanced(t, page)
	})
}

// assertSelfContained fails if viewing the page would fetch anything:
// the only absolute URLs allowed are links (<a href>) to the spec.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"src=", "<link", "@import", "url(", "<iframe", "<object", "<embed", "srcset"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	tags := regexp.MustCompile(`<(\w+)[^>]*?\s(?:href|xlink:href)="((?:https?:)?//[^"]*)"`)
	for _, m := range tags.FindAllStringSubmatch(page, -1) {
		if m[1] != "a" || !strings.HasPrefix(m[2], "https://spec.matrix.org/") {
			t.Errorf("<%s> refers to %s", m[1], m[2])
		}
	}
}

func assertBalanced(t *testing.T, page string) {
	t.Helper()
	for _, tag := range []string{"article", "section", "details", "summary", "table", "tr", "pre", "svg", "a", "ol", "li", "ul", "script", "style"} {
		open := regexp.MustCompile(`<`+tag+`[\s>]`).FindAllStringIndex(page, -1)
		closed := strings.Count(page, "</"+tag+">")
		if len(open) != closed {
			t.Errorf("<%s>: %d opened, %d closed", tag, len(open), closed)
		}
	}
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1)
	for _, svg := range svgs {
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("diagram is not well-formed: %v\n%.500s", err, svg)
			}
		}
	}
}

func TestHTMLLargeTranscript(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ex []recorder.Exchange
	parties := [][2]string{{"alice", "homeserver"}, {"homeserver", "appservice"}, {"appservice", "homeserver"}, {"bob", "homeserver"}}
	for i := 0; i < 200; i++ {
		p := parties[i%len(parties)]
		status := 200
		if i%17 == 0 {
			status = 500
		}
		if i%53 == 0 {
			status = 0
		}
		ex = append(ex, recorder.Exchange{
			Seq: i + 1, From: p[0], To: p[1], Method: "PUT",
			Path:   fmt.Sprintf("/_matrix/client/v3/rooms/%%21room%d:asconform.test/send/m.room.message/txn-%d", i, i),
			Body:   []byte(fmt.Sprintf(`{"msgtype":"m.text","body":"message %d %s"}`, i, strings.Repeat("x", 200))),
			Status: status, RespBody: []byte(`{"event_id":"$abc"}`), Outcome: map[bool]string{true: "transport error: EOF"}[status == 0],
			Start: t0.Add(time.Duration(i) * 37 * time.Millisecond), End: t0.Add(time.Duration(i)*37*time.Millisecond + 5*time.Millisecond),
		})
	}
	ex[10].Path = "/_matrix/client/v3/" + strings.Repeat("very-long-segment/", 40) + "end"
	r := reports.Report{SUT: reports.SUT{Side: "homeserver", Flavor: "synapse"}, Results: []reports.Result{
		{Side: "homeserver", Spec: "a long scenario", Requirements: []string{"HS-TXN-08"}, Verdict: reports.Fail, Message: "x", Transcript: ex},
	}}
	page := renderHTML(t, r)
	if n := strings.Count(page, `<li><details id="s-`); n != 200 {
		t.Errorf("%d exchanges listed, want 200", n)
	}
	if n := regexp.MustCompile(`<a href="#s-[0-9a-f]{8}-x\d+" class="msg`).FindAllStringIndex(page, -1); len(n) != 200 {
		t.Errorf("%d arrows, want 200", len(n))
	}
	if n := strings.Count(page, `<path class="cross"`); n != 4 {
		t.Errorf("%d unanswered requests drawn, want 4", n)
	}
	if !strings.Contains(page, `>bob</text>`) || !strings.Contains(page, `&#43;7.36 s</text>`) {
		t.Error("missing the second client's lane or late time offsets")
	}
	// The long path is shortened in the diagram, whole in its tooltip and
	// in the exchange list.
	if !regexp.MustCompile(`<text class="lbl" [^>]*>#11 PUT /_matrix/client/v3/very-long-segment/[^<]*…[^<]*segment/end</text>`).MatchString(page) {
		t.Error("long label not shortened in the middle")
	}
	if !strings.Contains(page, "<title>#11 PUT "+ex[10].Path+" → ") {
		t.Error("long label's tooltip is not the full label")
	}
	m := regexp.MustCompile(`<svg class="seqd" width="(\d+)" height="(\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no diagram")
	}
	var w, h int
	fmt.Sscan(m[1], &w)
	fmt.Sscan(m[2], &h)
	if w > 1280 || h < 200*40 {
		t.Errorf("diagram %dx%d: width must stay bounded, height grow with the exchanges", w, h)
	}
	if strings.Count(page, `<text class="party"`) != 2*4 {
		t.Error("a long diagram repeats the party boxes at its foot")
	}
	if len(page) > 2<<20 {
		t.Errorf("page is %d bytes for 200 small exchanges", len(page))
	}
	assertBalanced(t, page)
	assertSelfContained(t, page)
}

func TestHTMLHugeBodyIsCut(t *testing.T) {
	big := []byte(`{"events":[` + strings.Repeat(`{"type":"m.room.message"},`, 10000) + `{}]}`)
	r := reports.Report{Results: []reports.Result{{Spec: "big", Verdict: reports.Pass, Transcript: []recorder.Exchange{
		{Seq: 1, From: "homeserver", To: "appservice", Method: "PUT", Path: "/t", Body: big, Status: 200},
	}}}}
	page := renderHTML(t, r)
	if len(page) > 200<<10 {
		t.Errorf("page is %d bytes: the body was not cut", len(page))
	}
	mustContain(t, "page", page, "first 64 KiB shown (results.json has it all)")
}

func TestHTMLEmptyReport(t *testing.T) {
	page := renderHTML(t, reports.Report{})
	mustContain(t, "empty page", page, "No spec ran.", "No requirement was checked.")
	assertBalanced(t, page)
}

func TestWriteHTML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	p, err := writersReport().WriteHTML(dir)
	if !bytes.Equal(readWritten(t, p, err, "report.html"), []byte(renderHTML(t, writersReport()))) {
		t.Error("report.html differs from HTML's output")
	}
}

// A requirement no flavor here can check is named in the coverage line,
// not left as a silent gap.
func TestHTMLNamesRequirementsOutOfReach(t *testing.T) {
	hs := renderHTML(t, reports.Report{SUT: reports.SUT{Side: "homeserver"}})
	mustContain(t, "homeserver page", hs, "Out of reach of every flavor here: HS-LOGIN-06")
	as := renderHTML(t, reports.Report{SUT: reports.SUT{Side: "appservice"}})
	if strings.Contains(as, "HS-LOGIN-06") {
		t.Errorf("an application-service report names homeserver requirements out of reach")
	}
}
