package match

import (
	"fmt"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/asconform/asconform/internal/recorder"
)

// Check makes a matcher of a check that says, as an error, what is wrong
// with actual: want describes what passes, and the failure message shows
// want and the check's finding.
func Check[T any](want string, check func(T) error) types.GomegaMatcher {
	return &checkMatcher[T]{want: want, check: check}
}

type checkMatcher[T any] struct {
	want    string
	check   func(T) error
	problem error
}

func (m *checkMatcher[T]) Match(actual any) (bool, error) {
	v, ok := actual.(T)
	if !ok {
		var zero T
		return false, fmt.Errorf("matcher of %s wants a %T, got %T", m.want, zero, actual)
	}
	m.problem = m.check(v)
	return m.problem == nil, nil
}

func (m *checkMatcher[T]) FailureMessage(any) string {
	return fmt.Sprintf("Expected %s\nActual: %v", m.want, m.problem)
}

func (m *checkMatcher[T]) NegatedFailureMessage(any) string {
	return fmt.Sprintf("Expected not %s, but it was", m.want)
}

// GrowEach matches intervals each clearly longer than the one before
// (by a third): growth, not absolute figures, since the spec names no
// schedule for backing off.
func GrowEach() types.GomegaMatcher {
	return Check("each interval clearly longer than the one before", func(intervals []time.Duration) error {
		for i := 1; i < len(intervals); i++ {
			if float64(intervals[i]) <= 1.3*float64(intervals[i-1]) {
				return fmt.Errorf("interval %d (%s) does not grow over interval %d (%s): %v", i+1, intervals[i], i, intervals[i-1], intervals)
			}
		}
		return nil
	})
}

// BlockClientDuring matches a query the homeserver made to the AS while
// the client's request was open, during which the AS made its own request
// (asAction), and which the AS answered before the client got its answer:
// the blocking query of the AS API.
func BlockClientDuring(client, asAction recorder.Exchange) types.GomegaMatcher {
	return Check("a query during the client's request, with the AS acting during it, answered before the client", func(query recorder.Exchange) error {
		switch {
		case !client.Start.Before(query.Start):
			return fmt.Errorf("the query (%s) did not happen during the client's request (%s)", span(query), span(client))
		case asAction.Start.Before(query.Start) || asAction.End.After(query.End):
			return fmt.Errorf("the AS's own request (%s) did not happen while the query was open (%s)", span(asAction), span(query))
		case client.End.Before(query.End):
			return fmt.Errorf("the client was answered (%s) before the AS answered the query (%s)", span(client), span(query))
		}
		return nil
	})
}

func span(e recorder.Exchange) string {
	return fmt.Sprintf("%s %s from %s to %s", e.Method, e.Path, e.Start.Format("15:04:05.000"), e.End.Format("15:04:05.000"))
}
