package match_test

import (
	"testing"
	"time"

	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
)

func TestGrowEach(t *testing.T) {
	s := time.Second
	verdict(t, match.GrowEach(), []time.Duration{2 * s, 4 * s, 8 * s}, true)
	for _, bad := range [][]time.Duration{{2 * s, 2 * s, 2 * s}, {2 * s, 4 * s, 4 * s}, {8 * s, 4 * s, 2 * s}} {
		verdict(t, match.GrowEach(), bad, false, "does not grow over interval")
	}
}

func TestBlockClientDuring(t *testing.T) {
	at := func(from, to int) recorder.Exchange {
		base := time.Unix(0, 0)
		return recorder.Exchange{Start: base.Add(time.Duration(from) * time.Millisecond), End: base.Add(time.Duration(to) * time.Millisecond)}
	}
	// query, the AS's own request, the client's request
	verdict(t, match.BlockClientDuring(at(0, 60), at(20, 30)), at(10, 50), true)
	cases := map[string][3]recorder.Exchange{
		"client answered before the AS": {at(10, 50), at(20, 30), at(0, 40)},
		"AS acted after answering":      {at(10, 50), at(55, 58), at(0, 60)},
		"query after the client":        {at(70, 80), at(72, 75), at(0, 60)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			verdict(t, match.BlockClientDuring(c[2], c[1]), c[0], false, "Expected a query during the client's request")
		})
	}
}

func TestCheckNamesTheTypeItWants(t *testing.T) {
	if _, err := match.GrowEach().Match("not durations"); err == nil {
		t.Error("a matcher of []time.Duration accepted a string")
	}
}
