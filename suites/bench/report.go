package bench

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"
)

// WriteStarts prints every start and the summary per kind.
func WriteStarts(w io.Writer, results []StartResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tkind\tready\ttotal\tstop\tCPU hs/rest\tnote")
	for _, r := range results {
		cpu := "-"
		if r.HSCPU > 0 {
			cpu = fmt.Sprintf("%.2f/%.2f", r.HSCPU, r.RestCPU)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Kind, Short(r.Ready), Short(r.Total), Short(r.Stop), cpu, r.Note)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "  kind\tn\tready min / median / max\ttotal min / median / max")
	sums := SummarizeStarts(results)
	for _, s := range sums {
		fmt.Fprintf(tw, "  %s\t%d\t%s / %s / %s\t%s / %s / %s\n", s.Kind, s.N,
			Short(s.ReadyMin), Short(s.ReadyMedian), Short(s.ReadyMax),
			Short(s.TotalMin), Short(s.TotalMedian), Short(s.TotalMax))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ratio, ok := ColdWarmRatio(sums); ok {
		_, err := fmt.Fprintf(w, "  cold/warm, median ready: %.2f×\n", ratio)
		return err
	}
	return nil
}

// ColdWarmRatio is the ratio of the median ready times, when both kinds
// were measured.
func ColdWarmRatio(sums []StartSummary) (float64, bool) {
	var warm, cold time.Duration
	for _, s := range sums {
		switch s.Kind {
		case Warm:
			warm = s.ReadyMedian
		case Cold:
			cold = s.ReadyMedian
		}
	}
	if warm <= 0 || cold <= 0 {
		return 0, false
	}
	return float64(cold) / float64(warm), true
}

// WritePush prints one row per rate.
func WritePush(w io.Writer, results []PushResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "offered/s\tsent/s\tsent\tfailed\tdelivered\tdelivered/s\tp50\tp99\tmax\tPUT p50\t200→AS p50\ttxns\tevents/txn\tmax/txn\tCPU hs/self/rest\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%d\t%s\t%s\n",
			r.Label(), r.SendRate, r.Sent, r.Failed, r.Delivered, r.Throughput,
			Short(r.Latency.P50), Short(r.Latency.P99), Short(r.Latency.Max), Short(r.SendRTT.P50), Short(r.AfterResponse.P50),
			r.Txns, r.EventsPerTxn, r.MaxEventsTxn, cpuCell(r), noteCell(r.Note))
	}
	return tw.Flush()
}

// PushChart plots p50 and p99 push latency against the achieved send rate.
func PushChart(results []PushResult, subtitle string, notes ...string) Chart {
	p50 := Series{Name: "p50", Color: "#1f77b4"}
	p99 := Series{Name: "p99", Color: "#d62728", Dashed: true}
	lo, hi := math.Inf(1), 0.0
	for _, r := range results {
		if r.Delivered == 0 {
			continue
		}
		a, b := millis(r.Latency.P50), millis(r.Latency.P99)
		p50.Points = append(p50.Points, Point{X: r.SendRate, Y: a, Label: rateLabel(r)})
		p99.Points = append(p99.Points, Point{X: r.SendRate, Y: b})
		lo, hi = math.Min(lo, a), math.Max(hi, b)
	}
	return Chart{
		Title:    "Push latency: client send → transaction at the fake AS",
		Subtitle: subtitle,
		XLabel:   "send rate achieved (events/s)",
		YLabel:   "latency (ms)",
		LogY:     hi/lo > 20,
		Series:   []Series{p50, p99},
		Notes:    notes,
	}
}

func rateLabel(r PushResult) string {
	if r.Offered == 0 {
		return "max"
	}
	return r.Label() + "/s"
}

// cpuCell is homeserver / this process / the rest of the machine.
func cpuCell(r PushResult) string {
	if r.MachineCPU <= 0 || r.HSCPU <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f/%.2f/%.2f", r.HSCPU, r.SelfCPU, max(0, r.MachineCPU-r.HSCPU-r.SelfCPU))
}

func noteCell(n string) string {
	if n == "" {
		return ""
	}
	return "  " + n
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
