package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/matrix"
)

func msec(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, msec(i))
	}
	s := Summarize(ds)
	want := Summary{N: 100, Min: msec(1), P50: msec(50), P99: msec(99), Max: msec(100), Avg: 50500 * time.Microsecond}
	if s != want {
		t.Fatalf("Summarize = %+v, want %+v", s, want)
	}
	if ds[0] != msec(100) {
		t.Error("Summarize sorted its input")
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v", got)
	}
	if got := Summarize([]time.Duration{msec(7)}); got.P50 != msec(7) || got.P99 != msec(7) {
		t.Errorf("one sample: %+v", got)
	}
	if got := Percentile([]time.Duration{msec(3), msec(1), msec(2)}, 50); got != msec(2) {
		t.Errorf("Percentile 50 of 1,2,3 = %s", got)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{msec(5)}, msec(5)},
		{[]time.Duration{msec(9), msec(1), msec(5)}, msec(5)},
		{[]time.Duration{msec(4), msec(1), msec(2), msec(3)}, 2500 * time.Microsecond},
	}
	for _, tt := range tests {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	tests := map[time.Duration]string{
		0:                        "-",
		812 * time.Microsecond:   "812µs",
		3456 * time.Microsecond:  "3.46ms",
		12345 * time.Microsecond: "12.3ms",
		msec(456):                "456ms",
		msec(2414):               "2.41s",
		msec(12345):              "12.3s",
		-msec(15):                "-15.0ms",
	}
	for d, want := range tests {
		if got := Short(d); got != want {
			t.Errorf("Short(%d) = %q, want %q", d, got, want)
		}
	}
}

func TestTicks(t *testing.T) {
	if got := fmt.Sprint(linearTicks(0, 61)); got != "[0 20 40 60 80]" {
		t.Errorf("linearTicks(0, 61) = %s", got)
	}
	if got := fmt.Sprint(linearTicks(0, 0.3)); got != "[0 0.1 0.2 0.3]" {
		t.Errorf("linearTicks(0, 0.3) = %s", got)
	}
	if got := fmt.Sprint(logTicks(3, 230)); got != "[2 5 10 20 50 100 200 500]" {
		t.Errorf("logTicks(3, 230) = %s", got)
	}
	if got := fmt.Sprint(logTicks(10, 10)); got != "[10]" {
		t.Errorf("logTicks(10, 10) = %s", got)
	}
}

// wellFormed fails unless data is well-formed XML with an <svg> root.
func wellFormed(t *testing.T, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, data)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
}

func TestChartSVG(t *testing.T) {
	for _, logY := range []bool{false, true} {
		c := Chart{
			Title: "T <&> title", Subtitle: "sub", XLabel: "x", YLabel: "y", LogY: logY,
			Series: []Series{
				{Name: "p50", Color: "#1f77b4", Points: []Point{{5, 3, "5/s"}, {50, 12, "50/s"}, {60, 40, "max/s"}}},
				{Name: "p99 & more", Color: "#d62728", Dashed: true, Points: []Point{{5, 9, ""}, {50, 80, ""}, {60, 230, ""}}},
			},
			Notes: []string{"note 1"},
		}
		var buf bytes.Buffer
		if err := c.WriteSVG(&buf); err != nil {
			t.Fatal(err)
		}
		wellFormed(t, buf.Bytes())
		s := buf.String()
		for _, want := range []string{"T &lt;&amp;&gt; title", "p99 &amp; more", "50/s", "note 1", "stroke-dasharray", "<polyline"} {
			if !strings.Contains(s, want) {
				t.Errorf("logY=%v: SVG lacks %q", logY, want)
			}
		}
		if n := strings.Count(s, "<circle"); n != 6 {
			t.Errorf("logY=%v: %d markers, want 6", logY, n)
		}
	}
	var buf bytes.Buffer
	if err := (Chart{Title: "empty"}).WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, buf.Bytes())
}

// putTxn sends a transaction to a local fake AS as a homeserver would.
func putTxn(t *testing.T, fake *fakeas.Server, id string, bodies ...string) {
	t.Helper()
	var events []string
	for i, b := range bodies {
		events = append(events, fmt.Sprintf(`{"event_id":"$%s%d","type":"m.room.message","room_id":"!r:x","sender":"@u:x","origin_server_ts":1,"content":{"msgtype":"m.text","body":%q}}`, id, i, b))
	}
	events = append(events, `{"event_id":"$m","type":"m.room.member","room_id":"!r:x","sender":"@u:x","origin_server_ts":1,"state_key":"@u:x","content":{"membership":"join"}}`)
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://127.0.0.1:%d/_matrix/app/v1/transactions/%s", fake.Port(), id),
		strings.NewReader(`{"events":[`+strings.Join(events, ",")+`]}`))
	req.Header.Set("Authorization", "Bearer hs")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %d", id, resp.StatusCode)
	}
}

func TestCollectorMatchesSendsToTransactions(t *testing.T) {
	fake, err := fakeas.New("127.0.0.1:0", matrix.Registration{HSToken: "hs"})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	t0 := time.Now()
	sends := []sent{
		{body: "asc-bench r5 #0", start: t0, done: t0.Add(msec(1)), status: 200},
		{body: "asc-bench r5 #1", start: t0.Add(msec(2)), done: t0.Add(msec(3)), status: 200},
		{body: "asc-bench r5 #2", start: t0.Add(msec(4)), done: t0.Add(msec(5)), status: 200},
		{body: "asc-bench r5 #3", start: t0.Add(msec(6)), done: t0.Add(msec(7)), status: 429},
	}
	putTxn(t, fake, "t1", "asc-bench r5 #0")
	putTxn(t, fake, "t2", "asc-bench r5 #1", "asc-bench r5 #2", "not ours")
	putTxn(t, fake, "t3", "asc-bench other #0") // another rate's event
	putTxn(t, fake, "t4", "asc-bench r5 #1")    // a repeat keeps the first arrival

	col := &collector{arrivals: map[string]arrival{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := col.waitAll(ctx, fake.Recorder(), sends, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := col.arrivals["asc-bench r5 #1"].txnPath; !strings.HasSuffix(got, "/t2") {
		t.Errorf("#1 first arrived in %q, want t2", got)
	}
	r := col.result(5, sends)
	if r.Sent != 3 || r.Failed != 1 || r.Delivered != 3 {
		t.Errorf("sent/failed/delivered = %d/%d/%d, want 3/1/3", r.Sent, r.Failed, r.Delivered)
	}
	// t1 (2 events), t2 (4 events), t4 (2 events) carry this rate's events.
	if r.Txns != 3 || r.MaxEventsTxn != 4 || fmt.Sprintf("%.2f", r.EventsPerTxn) != "2.67" {
		t.Errorf("txns %d, max %d, mean %.2f; want 3, 4, 2.67", r.Txns, r.MaxEventsTxn, r.EventsPerTxn)
	}
	if r.Latency.N != 3 || r.SendRTT.N != 3 || r.AfterResponse.N != 3 {
		t.Errorf("sample sizes: latency %d, rtt %d, after %d; want 3 each", r.Latency.N, r.SendRTT.N, r.AfterResponse.N)
	}
	if r.Label() != "5" || (PushResult{}).Label() != "max" {
		t.Errorf("labels %q %q", r.Label(), (PushResult{}).Label())
	}

	// An event that never arrives ends the wait with an error.
	missing := append(sends, sent{body: "asc-bench r5 #9", start: t0, done: t0, status: 200})
	if err := col.waitAll(ctx, fake.Recorder(), missing, 100*time.Millisecond); err == nil {
		t.Error("waitAll returned nil with an event missing")
	}
}

func TestReports(t *testing.T) {
	starts := []StartResult{
		{Seq: 1, Kind: Warm, Ready: msec(2000), Total: msec(2500)},
		{Seq: 2, Kind: Cold, Ready: msec(5000), Total: msec(5500)},
		{Seq: 3, Kind: Warm, Ready: msec(2200), Total: msec(2700)},
		{Seq: 4, Kind: Cold, Total: msec(6000), Note: "ready not observed"},
	}
	sums := SummarizeStarts(starts)
	if len(sums) != 2 || sums[0].Kind != Warm || sums[0].N != 2 || sums[0].ReadyMedian != msec(2100) || sums[1].N != 2 || sums[1].ReadyMedian != msec(5000) {
		t.Fatalf("SummarizeStarts = %+v", sums)
	}
	if r, ok := ColdWarmRatio(sums); !ok || fmt.Sprintf("%.2f", r) != "2.38" {
		t.Errorf("ratio %v %v", r, ok)
	}
	if _, ok := ColdWarmRatio(sums[:1]); ok {
		t.Error("ratio with one kind only")
	}
	var buf bytes.Buffer
	if err := WriteStarts(&buf, starts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ready not observed", "2.00s / 2.10s / 2.20s", "cold/warm, median ready: 2.38×"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("starts table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	push := []PushResult{{Offered: 5, SendRate: 5, Sent: 20, Delivered: 20, Latency: Summary{N: 20, P50: msec(30), P99: msec(40)}}, {Offered: 0, SendRate: 61}}
	if err := WritePush(&buf, push); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[2], "max") {
		t.Errorf("push table:\n%s", buf.String())
	}
	c := PushChart(push, "sub")
	if len(c.Series) != 2 || len(c.Series[0].Points) != 1 { // the rate with nothing delivered is left out
		t.Errorf("chart series %+v", c.Series)
	}
}

func TestSampleCPU(t *testing.T) {
	a := sampleCPU()
	if !a.ok {
		t.Skip("no /proc here")
	}
	x := 0
	for i := range 20_000_000 { // burn a little CPU
		x += i % 7
	}
	b := sampleCPU()
	if !b.ok || b.machine < a.machine || b.self < a.self || a.self <= 0 && b.self <= 0 {
		t.Errorf("samples %+v then %+v (x=%d)", a, b, x)
	}
}
