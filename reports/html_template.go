package reports

// The page's templates. Everything is inline so the file can be mailed,
// attached to a CI run or opened offline; the only links out are to the
// spec. The script only unfolds what a link points into: without it the
// page reads the same, one click more.

const htmlStyle = `{{define "style"}}<style>
:root {
  --pass: #2e7d32; --fail: #c62828; --error: #4a148c; --non-strict: #e65100;
  --expected-failure: #c8bd74; --unexpected-pass: #1565c0; --skipped: #b0b0b0;
  --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --soft: #f6f8fa;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
a { color: #0b57d0; text-decoration: none; }
a:hover { text-decoration: underline; }
nav.top { position: sticky; top: 0; z-index: 5; background: #24292f; color: #fff; padding: 8px 24px; display: flex; gap: 18px; align-items: baseline; }
nav.top a { color: #d0e3ff; }
nav.top .brand { font-weight: 700; color: #fff; margin-right: 8px; }
nav.top .alert { color: #ffb4ab; font-weight: 600; }
main { max-width: 1440px; margin: 0 auto; padding: 8px 24px 64px; }
h1 { font-size: 24px; margin: 16px 0 4px; }
h1 small { font-weight: 400; color: var(--muted); font-size: 16px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0 0 6px; }
h5 { font-size: 12px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
h5 small { text-transform: none; letter-spacing: 0; font-weight: 400; }
dl.sut { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 12px; }
dl.sut dt { color: var(--muted); }
dl.sut dd { margin: 0; }
.outcome { display: inline-block; padding: 6px 12px; border-radius: 6px; font-weight: 600; margin: 4px 0 10px; }
.outcome.ok { background: #e6f4ea; color: #1e5b26; }
.outcome.bad { background: #fdecea; color: #8c1d18; }
.mutant { background: #fff4e5; color: #7a3e00; padding: 1px 6px; border-radius: 4px; font-weight: 600; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; }
.chip { border-radius: 14px; padding: 3px 12px 3px 4px; background: var(--soft); border: 1px solid var(--line); }
.chip b { display: inline-block; min-width: 26px; text-align: center; border-radius: 10px; padding: 0 6px; margin-right: 6px; }
.bar { display: flex; height: 10px; border-radius: 5px; overflow: hidden; max-width: 720px; margin: 8px 0 4px; background: var(--soft); }
.bar span { display: block; height: 100%; }
.badge, .chip b, .bar span { color: #fff; }
.badge { display: inline-block; border-radius: 4px; padding: 0 7px; font-size: 12px; font-weight: 600; white-space: nowrap; line-height: 20px; }
a.badge:hover { text-decoration: none; filter: brightness(1.12); }
.v-pass { background: var(--pass); }
.v-fail { background: var(--fail); }
.v-error { background: var(--error); }
.v-non-strict { background: var(--non-strict); }
.v-expected-failure { background: var(--expected-failure); color: #3a3408 !important; }
.v-unexpected-pass { background: var(--unexpected-pass); }
.v-skipped { background: var(--skipped); color: #2a2a2a !important; }
.v-informational { background: #00796b; }
.v-none { background: #fff; color: var(--muted) !important; border: 1px dashed var(--line); }
.legend { color: var(--muted); font-size: 12.5px; max-width: 1000px; }
table { border-collapse: collapse; }
table.matrix, table.index { width: 100%; }
table.matrix th, table.matrix td, table.index th, table.index td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
table.matrix thead th, table.index thead th { background: var(--soft); font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
table.matrix tr.group th { background: #eef2f6; font-size: 13px; padding-top: 8px; }
table.matrix tr.group th span { color: var(--muted); font-weight: 400; margin-left: 6px; }
table.matrix td.id { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
table.matrix td.cells { white-space: nowrap; }
table.matrix td.cells .badge { margin: 0 3px 3px 0; }
table.matrix td.sum { color: #33393f; max-width: 760px; }
.level { font-size: 11px; font-weight: 700; letter-spacing: .03em; color: #444; white-space: nowrap; }
.level.must, .level.must-not, .level.schema { color: #8c1d18; }
.level.should, .level.should-not { color: #7a3e00; }
.level.may { color: #1e5b26; }
table.index td.n { text-align: right; white-space: nowrap; color: var(--muted); }
article.scenario { border: 1px solid var(--line); border-left-width: 6px; border-radius: 6px; padding: 12px 16px; margin: 18px 0; scroll-margin-top: 48px; }
article.scenario.v-pass, article.scenario.v-fail, article.scenario.v-error, article.scenario.v-non-strict,
article.scenario.v-expected-failure, article.scenario.v-unexpected-pass, article.scenario.v-skipped { background: #fff; color: var(--ink) !important; }
article.v-pass { border-left-color: var(--pass); }
article.v-informational { border-left-color: #00796b; }
article.v-fail { border-left-color: var(--fail); }
article.v-error { border-left-color: var(--error); }
article.v-non-strict { border-left-color: var(--non-strict); }
article.v-expected-failure { border-left-color: var(--expected-failure); }
article.v-unexpected-pass { border-left-color: var(--unexpected-pass); }
article.v-skipped { border-left-color: var(--skipped); }
a.self { color: var(--muted); font-weight: 400; margin-left: 4px; }
.meta { color: var(--muted); margin: 0 0 8px; font-size: 13px; }
ul.reqs { margin: 4px 0 8px; padding-left: 18px; }
ul.reqs li { margin: 2px 0; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; overflow-x: auto; margin: 4px 0; white-space: pre-wrap; word-break: break-word; }
pre.message { background: #fdf3f2; border-color: #f1c4bf; }
.v-expected-failure pre.message, .v-non-strict pre.message { background: #fbf8ea; border-color: #e7dfb4; }
.v-skipped pre.message, .v-pass pre.message, .v-unexpected-pass pre.message { background: var(--soft); border-color: var(--line); }
.note { margin: 6px 0; padding: 6px 10px; border-radius: 4px; background: #fbf8ea; border: 1px solid #e7dfb4; }
table.kv { margin: 4px 0; font-size: 12.5px; }
table.kv caption { text-align: left; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; padding: 6px 0 2px; }
table.kv th, table.kv td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; vertical-align: top; }
table.kv th { background: var(--soft); font-weight: 600; white-space: nowrap; }
table.kv td { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; word-break: break-all; }
details > summary { cursor: pointer; }
details.transcript { margin-top: 10px; }
details.transcript > summary { font-weight: 600; padding: 4px 0; }
details.log > summary { color: var(--muted); padding: 2px 0; }
.seqwrap { width: fit-content; max-width: 100%; overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; margin: 6px 0 10px; background: #fff; }
svg.seqd { display: block; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 11px; }
svg.seqd .band { fill: #f7f9fb; }
svg.seqd .keyband { fill: #fff6d6; }
svg.seqd .span { fill: #dfe6ec; stroke: #8a99a8; stroke-width: 1; }
svg.seqd .span.bad { fill: #f8d7d4; stroke: #c62828; }
svg.seqd .step line { stroke: #0b57d0; stroke-width: 1.2; stroke-dasharray: 6 3; }
svg.seqd .step text { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 12px; font-weight: 700; fill: #0b3d91; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg.seqd .folded { fill: #6b7580; font-style: italic; }
svg.seqd .life { stroke: #aab4be; stroke-dasharray: 3 4; }
svg.seqd .box { stroke-width: 1; rx: 4; }
svg.seqd .box.client { fill: #e3f0ff; stroke: #7aa7d9; }
svg.seqd .box.homeserver { fill: #efe7f7; stroke: #9d7cc1; }
svg.seqd .box.appservice { fill: #e6f4ea; stroke: #6fae7b; }
svg.seqd .party { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 12px; font-weight: 600; fill: #1f2328; }
svg.seqd .lbl, svg.seqd .st { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg.seqd .lbl { fill: #1f2328; }
svg.seqd .st { fill: #1e5b26; }
svg.seqd .t { fill: #8a939c; font-size: 10px; }
svg.seqd .req { stroke: #37474f; stroke-width: 1.4; }
svg.seqd .head { fill: #37474f; }
svg.seqd .push .req { stroke: #00695c; }
svg.seqd .push .head { fill: #00695c; }
svg.seqd .ret, svg.seqd .rethead { stroke: #78909c; fill: none; stroke-dasharray: 4 3; }
svg.seqd .rethead { stroke-dasharray: none; }
svg.seqd .bad .req, svg.seqd .bad .ret, svg.seqd .bad .rethead, svg.seqd .cross { stroke: #c62828; }
svg.seqd .bad .head { fill: #c62828; }
svg.seqd .cross { stroke-width: 2; fill: none; }
svg.seqd .bad .st, svg.seqd .bad .lbl { fill: #b71c1c; font-weight: 700; }
svg.seqd a:hover .lbl { fill: #0b57d0; text-decoration: underline; }
ol.exchanges { padding-left: 0; list-style: none; margin: 0; }
ol.exchanges > li { border-top: 1px solid var(--line); }
ol.exchanges summary { padding: 3px 2px; font-size: 13px; }
ol.exchanges summary .seq { display: inline-block; min-width: 34px; color: var(--muted); }
ol.exchanges summary .off { display: inline-block; min-width: 70px; color: var(--muted); font-size: 12px; }
ol.exchanges summary .who { display: inline-block; min-width: 200px; }
ol.exchanges summary code { display: inline-block; max-width: calc(100% - 520px); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
ol.exchanges .status { font-weight: 600; color: #1e5b26; }
ol.exchanges .status.bad { color: #b71c1c; }
ol.exchanges .dur { color: var(--muted); font-size: 12px; }
ol.exchanges details[open] { background: #fcfcfd; }
ol.exchanges :target { outline: 2px solid #0b57d0; outline-offset: 1px; }
.ex { padding: 2px 8px 10px 36px; }
.ex pre { max-height: 36em; overflow: auto; }
.nowrap { white-space: nowrap; }
table.compare tr.differs td { background: #fff8e1; }
table.compare td:nth-child(n+3) { white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
</style>{{end}}`

const diagramSVG = `{{define "diagram"}}<svg class="seqd" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="sequence diagram of the exchanges, in time">
{{- range .Rows}}{{if .Key}}<rect class="keyband" x="0" y="{{.RowTop}}" width="{{$.Width}}" height="{{.RowH}}"/>{{else if .RowBands}}<rect class="band" x="0" y="{{.RowTop}}" width="{{$.Width}}" height="{{.RowH}}"/>{{end}}{{end}}
{{- range .Lanes}}
<line class="life" x1="{{.X}}" y1="{{$.BoxH}}" x2="{{.X}}" y2="{{$.LineEnd}}"/>
<rect class="box {{.Role}}" x="{{.BoxX}}" y="1" width="{{$.BoxW}}" height="{{$.BoxH}}" rx="4"/>
<text class="party" x="{{.X}}" y="18" text-anchor="middle">{{.Name}}</text>
{{- if $.BottomBoxes}}
<rect class="box {{.Role}}" x="{{.BoxX}}" y="{{$.BottomY}}" width="{{$.BoxW}}" height="{{$.BoxH}}" rx="4"/>
<text class="party" x="{{.X}}" y="{{$.BottomText}}" text-anchor="middle">{{.Name}}</text>
{{- end}}
{{- end}}
{{- range .Spans}}
<rect class="span{{if .Bad}} bad{{end}}" x="{{.X}}" y="{{.Y}}" width="8" height="{{.H}}"/>
{{- end}}
{{- range .Rows}}
{{- if eq .Kind "step"}}
<g class="step"><title>{{.Title}}</title><line x1="0" y1="{{.Y}}" x2="{{$.Width}}" y2="{{.Y}}"/><text x="{{$.StepX}}" y="{{.LabelY}}">{{.Label}}</text></g>
{{- else if eq .Kind "folded"}}
<text class="folded" x="{{.LabelX}}" y="{{.LabelY}}">{{.Label}}</text>
{{- else}}
<a href="#{{.Anchor}}" class="msg{{if .Bad}} bad{{end}}{{if .Push}} push{{end}}{{if .Key}} key{{end}}"><title>{{.Title}} → {{.Status}}</title>
<text class="t" x="{{$.TimeX}}" y="{{.TimeY}}" text-anchor="end">{{.Offset}}</text>
{{- if ne .Kind "response"}}
<text class="lbl" x="{{.LabelX}}" y="{{.LabelY}}">{{.Label}}</text>
<line class="req" x1="{{.X1}}" y1="{{.Y}}" x2="{{.X2}}" y2="{{.Y}}"/>
{{- if and .Lost (eq .Kind "whole")}}<path class="cross" d="{{.CrossD}}"/>{{else}}<polygon class="head" points="{{.Head}}"/>{{end}}
{{- end}}
{{- if ne .Kind "request"}}
{{- if .Lost}}{{if eq .Kind "response"}}<path class="cross" d="{{.CrossD}}"/>{{end}}{{else}}
<line class="ret" x1="{{.X2}}" y1="{{.ReturnY}}" x2="{{.X1}}" y2="{{.ReturnY}}"/><polyline class="rethead" points="{{.RetHead}}"/>{{end}}
<text class="st" x="{{.LabelX}}" y="{{.StatusY}}">{{.Shown}}</text>
{{- end}}</a>
{{- end}}
{{- end}}
</svg>{{end}}`

// pageEnd ends a page's last inline script, whose run marks the page ready
// (data-ready, which the browser tests wait for), and the page.
const pageEnd = `  document.body.setAttribute("data-ready", "1");
})();
</script>
</body>
</html>
`

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
{{template "style"}}
</head>
<body>
<nav class="top"><span class="brand">asconform</span>
<a href="#summary">Summary</a>
<a href="#matrix">Matrix</a>
<a href="#scenarios">Scenarios ({{.Total}})</a>
{{- with .FirstUnexpected}}
<a class="alert" href="#{{.}}">First unexpected result</a>{{end}}
</nav>
<main>
<header id="summary">
<h1>{{.SUT.Flavor}} <small>{{.SUT.Side}}{{with .SpecVersion}} · Matrix spec {{.}}{{end}}</small></h1>
<dl class="sut">
{{- if .SUT.Image}}<dt>Image</dt><dd><code>{{.SUT.Image}}</code></dd>{{end}}
{{- if .SUT.URL}}<dt>URL</dt><dd><code>{{.SUT.URL}}</code></dd>{{end}}
{{- if .SUT.Mutant}}<dt>Mutant</dt><dd><span class="mutant">{{.SUT.Mutant}}</span> the SUT was broken on purpose for this run</dd>{{end}}
{{- if .SUT.Profile}}<dt>Profile</dt><dd><code>{{.SUT.Profile}}</code> opt-in unstable extensions checked too</dd>{{end}}
{{- if .SpecVersion}}<dt>Spec version</dt><dd>{{.SpecVersion}}</dd>{{end}}
{{- if .SUT.Versions}}<dt>Advertises</dt><dd>{{range $i, $v := .SUT.Versions}}{{if $i}}, {{end}}{{$v}}{{end}}{{with .Claimed}} (newest {{.}}){{end}}</dd>{{end}}
{{- if .Started}}<dt>Started</dt><dd>{{.Started}}</dd>{{end}}
<dt>Duration</dt><dd>{{.Duration}}</dd>
{{- if .Tool}}<dt>Tool</dt><dd>{{.Tool}}</dd>{{end}}
</dl>
{{- if .Total}}
{{- if .Unexpected}}
<div class="outcome bad">{{.Unexpected}} of {{.Total}} results do not match the expectations</div>
{{- else}}
<div class="outcome ok">All {{.Total}} results match the expectations</div>
{{- end}}
<div class="counts">{{range .Counts}}<span class="chip"><b class="v-{{.Verdict}}">{{.N}}</b>{{.Verdict}}</span>{{end}}</div>
<div class="bar">{{range .Counts}}<span class="v-{{.Verdict}}" style="width: {{.Percent}}" title="{{.N}} {{.Verdict}}"></span>{{end}}</div>
{{- if .Unclaimed}}
<p class="note"><b>{{len .Unclaimed}} miss(es) beyond {{.Claimed}}</b>, the newest version the SUT claims: requirements it never claimed to meet, apart from misses of the versions it does claim (verdicts and exit status unchanged):
{{range $i, $s := .Unclaimed}}{{if $i}} · {{end}}<a href="#{{$s.Anchor}}">{{$s.Spec}}</a> <span class="badge v-{{$s.Verdict}}">{{$s.Verdict}}</span> since {{$s.Beyond}}{{end}}</p>
{{- end}}
{{- else}}
<p class="empty">No spec ran.</p>
{{- end}}
<p class="legend">Diagrams are drawn in time: an answer that came after other exchanges is drawn after them, the open request a bar on the callee's lane; blue dashed lines are the scenario's steps; highlighted rows (pushes to the application service and error answers) decide the verdict; the set-up before the first step is folded.</p>
<p class="legend"><b>fail</b>: a MUST or schema rule broken · <b>error</b>: the harness or environment broke, not the SUT ·
<b>non-strict</b>: only a SHOULD missed · <b>expected-failure</b>: failed, as baselined in the expectations file ·
<b>unexpected-pass</b>: baselined as failing but passed, tighten the expectations file · <b>skipped</b>: not run (e.g. requirement later than the targeted spec).</p>
</header>

<section id="matrix">
<h2>Conformance matrix</h2>
{{- with .Coverage}}
<p class="meta">{{.}} Summaries are paraphrases; the ID links to the spec section.</p>{{end}}
{{- if .Matrix}}
<table class="matrix">
<thead><tr><th>Requirement</th><th>Level</th><th>Since</th><th>What the spec requires (paraphrase)</th><th>Verdict</th></tr></thead>
{{- range .Matrix}}
<tbody>
<tr class="group"><th colspan="5">{{if .Section}}{{.Section}}{{else}}Other{{end}}<span>{{.Area}}</span></th></tr>
{{- range .Rows}}
<tr><td class="id">{{if .URL}}<a href="{{.URL}}" title="{{.Section}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td>
<td><span class="level {{.Level | levelClass}}">{{.Level}}</span></td><td>{{.Since}}</td><td class="sum">{{.Summary}}{{with .Question}}<br><i>Question: {{.}}</i>{{end}}</td>
<td class="cells">{{range .Cells}}<a class="badge v-{{.Verdict}}" href="#{{.Anchor}}" title="{{.Spec}}">{{.Verdict}}</a>{{end}}</td></tr>
{{- end}}
</tbody>
{{- end}}
</table>
{{- else}}
<p class="empty">No requirement was checked.</p>
{{- end}}
</section>

<section id="scenarios">
<h2>Scenarios</h2>
{{- if .Scenarios}}
<table class="index">
<thead><tr><th>Verdict</th><th>Spec</th><th>Requirements</th><th>Exchanges</th><th>Time</th></tr></thead>
{{- range .Scenarios}}
<tr><td><span class="badge v-{{.Verdict}}">{{.Verdict}}</span>{{with .Beyond}} <small title="introduced after the newest version the SUT claims">beyond claim ({{.}})</small>{{end}}</td><td><a href="#{{.Anchor}}">{{.Spec}}</a></td>
<td class="mono">{{range $i, $r := .Requirements}}{{if $i}} {{end}}<span class="nowrap">{{$r.ID}}</span>{{end}}</td><td class="n">{{len .Exchanges}}</td><td class="n">{{.Duration}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- range .Scenarios}}

<article class="scenario v-{{.Verdict}}" id="{{.Anchor}}">
<h3><span class="badge v-{{.Verdict}}">{{.Verdict}}</span> {{.Spec}}<a class="self" href="#{{.Anchor}}" title="link to this scenario">¶</a></h3>
<p class="meta">{{if .Side}}{{.Side}} · {{end}}{{.Duration}} · {{len .Exchanges}} exchange(s){{with .Location}} · <code>{{.}}</code>{{end}}</p>
{{- if .Requirements}}
<ul class="reqs">
{{- range .Requirements}}
<li>{{if .URL}}<a href="{{.URL}}"><b>{{.ID}}</b></a>{{else}}<b>{{.ID}}</b>{{end}} <span class="level {{.Level | levelClass}}">{{.Level}}</span>{{with .Since}} since {{.}}{{end}}: {{.Summary}}{{with .Question}} <i>Question: {{.}}</i>{{end}}{{if .URL}} <a href="{{.URL}}">§ {{.Section}}</a>{{end}}</li>
{{- end}}
</ul>
{{- end}}
{{- if .Reason}}
<p class="note"><b>{{.ReasonLabel}}</b> {{.Reason}}</p>{{end}}
{{- if .Message}}
<h5>{{.MessageLabel}}</h5>
<pre class="message">{{.Message}}</pre>
{{- end}}
{{- if .Observations}}
<table class="kv"><caption>Observations</caption>
{{- range .Observations}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}
</table>
{{- end}}
{{- if .SUTLog}}
<details class="log"><summary>SUT log: last {{.LogLines}} lines</summary><pre>{{.SUTLog}}</pre></details>
{{- end}}
{{- if .Exchanges}}
<details class="transcript"{{if .Open}} open{{end}}><summary>Transcript: {{len .Exchanges}} exchange(s)</summary>
<div class="seqwrap">{{template "diagram" .Diagram}}</div>
{{- if .FullDiagram}}
<details class="setup"><summary>Unfold the set-up ({{.SetUp}} exchange(s) before the first step)</summary>
<div class="seqwrap">{{template "diagram" .FullDiagram}}</div></details>
{{- end}}
<ol class="exchanges">
{{- range .Exchanges}}
<li><details id="{{.Anchor}}"><summary><span class="seq">#{{.Seq}}</span><span class="off">{{.Offset}}</span><span class="who">{{.From}} → {{.To}}</span> <code>{{.Method}} {{.Target}}</code> <span class="status{{if .Bad}} bad{{end}}">{{.Status}}</span>{{with .Duration}} <span class="dur">{{.}}</span>{{end}}</summary>
<div class="ex">
<h5>Request</h5>
<pre>{{.Method}} {{.Target}}</pre>
{{- if .Query}}
<table class="kv"><caption>Query</caption>{{range .Query}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{- end}}
{{- if .Headers}}
<table class="kv"><caption>Headers</caption>{{range .Headers}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{- end}}
{{- with .Body}}{{if or .Text .Note}}
<h5>Request body <small>{{.Note}}</small></h5>{{with .Text}}
<pre>{{.}}</pre>{{end}}{{end}}{{end}}
<h5>Response <small>{{with .Duration}}after {{.}}{{end}}</small></h5>
<p><span class="status{{if .Bad}} bad{{end}}">{{.Status}}</span></p>
{{- with .RespBody}}{{if or .Text .Note}}
<h5>Response body <small>{{.Note}}</small></h5>{{with .Text}}
<pre>{{.}}</pre>{{end}}{{end}}{{end}}
</div></details></li>
{{- end}}
</ol>
</details>
{{- end}}
</article>
{{- end}}
</section>
<footer>Written by {{if .Tool}}{{.Tool}}{{else}}asconform{{end}}. Headers, queries and bodies are shown as recorded, secrets already replaced by their names (e.g. &lt;as_token&gt;).</footer>
</main>
<script>
// Unfold the exchange or transcript a link points into.
(function () {
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var p = el; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
    // A link to a scenario (from the matrix) is to see its diagram.
    var t = el.tagName === "ARTICLE" && el.querySelector("details.transcript");
    if (t) t.open = true;
    el.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  reveal();
` + pageEnd
