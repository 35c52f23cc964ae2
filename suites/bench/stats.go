// Package bench measures asconform's moving parts: how many transactions the
// fake application service accepts and records and the latency it adds
// (Go benchmarks in this package), how long a homeserver container takes to
// answer its first request, and how fast events travel from a client's send
// to the fake AS (run by `asconform bench`). It reports figures; it never
// judges them: there are no timing assertions anywhere.
package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Summary describes a sample of durations.
type Summary struct {
	N   int           `json:"n"`
	Min time.Duration `json:"min_ns"`
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	Avg time.Duration `json:"avg_ns"`
}

// Summarize computes the summary of ds (nearest-rank percentiles). The
// input is not modified.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{
		N: len(s), Min: s[0], Max: s[len(s)-1],
		P50: rank(s, 50), P99: rank(s, 99),
		Avg: sum / time.Duration(len(s)),
	}
}

// Percentile is the nearest-rank p-th percentile of ds (0 < p <= 100).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return rank(s, p)
}

// rank is the nearest-rank percentile of sorted s.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Median of ds: the middle value, or the mean of the two middle ones.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Micros is d in microseconds, for b.ReportMetric.
func Micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Short formats a duration with about three significant digits: 812µs,
// 12.3ms, 2.41s; "-" for zero (not measured). Negative values get a sign.
func Short(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 0:
		return "-" + Short(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", Micros(d))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
