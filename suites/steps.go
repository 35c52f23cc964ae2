package suites

import (
	"github.com/onsi/ginkgo/v2/types"

	"github.com/asconform/asconform/reports"
)

// stepsOf are a spec's By steps, in order, with the time each began: the
// report draws them as dividers among the exchanges.
func stepsOf(s types.SpecReport) []reports.Step {
	var out []reports.Step
	for _, ev := range s.SpecEvents {
		if ev.SpecEventType == types.SpecEventByStart {
			out = append(out, reports.Step{At: ev.TimelineLocation.Time, Text: ev.Message})
		}
	}
	return out
}
