package suites

import (
	"context"
	"sync"

	"github.com/onsi/ginkgo/v2"
)

// Lazy is a side's environment, started once on first use; a failure to
// start is remembered and given to every spec that needs it.
type Lazy[T any] struct {
	once  sync.Once
	start func(context.Context) (T, error)
	v     T
	err   error
}

// NewLazy wraps the function that starts an environment.
func NewLazy[T any](start func(context.Context) (T, error)) *Lazy[T] {
	return &Lazy[T]{start: start}
}

// Get starts the environment on first use.
func (l *Lazy[T]) Get(ctx context.Context) (T, error) {
	l.once.Do(func() { l.v, l.err = l.start(ctx) })
	return l.v, l.err
}

// MustGet is Get inside a spec: an environment that did not start ends the
// spec as an error of the environment.
func (l *Lazy[T]) MustGet(ctx context.Context) T {
	ginkgo.GinkgoHelper()
	v, err := l.Get(ctx)
	if err != nil {
		HarnessError(err)
	}
	return v
}

// Require is a BeforeEach body: it starts the environment, or ends the spec
// as an error of the environment rather than a failure of the SUT.
func (l *Lazy[T]) Require(ctx ginkgo.SpecContext) { l.MustGet(ctx) }
