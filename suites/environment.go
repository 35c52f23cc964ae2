package suites

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/reports"
)

// StartTimeout bounds building the default image (minutes on a fresh
// machine) plus starting the SUT; it is apart from each spec's own timeout.
const StartTimeout = 25 * time.Minute

// Starters are how a side starts its environment (its SUT and the fakes
// around it) in each mode.
type Starters[T any] struct {
	// Check, if set, refuses a configuration before anything starts.
	Check func(Config) error
	// External starts against a SUT the user runs (its URL is configured).
	External func(context.Context, Config) (T, error)
	// Deployed starts against the configured flavor, deployed by the
	// harness (readied with Prepare).
	Deployed func(context.Context, Config) (T, error)
}

// NewEnvironment is a side's environment, started once, on first use
// (Lazy.Require is each spec container's BeforeEach).
func NewEnvironment[T any](side string, s Starters[T]) *Lazy[T] {
	return NewLazy(func(ctx context.Context) (T, error) {
		var none T
		cfg, err := Settings()
		if err != nil {
			return none, err
		}
		if s.Check != nil {
			if err := s.Check(cfg); err != nil {
				return none, err
			}
		}
		if cfg.SUT(side).URL != "" {
			return s.External(ctx, cfg)
		}
		return s.Deployed(ctx, cfg)
	})
}

// Prepare readies the flavor cfg names for side to start. In process that
// is all; for a container it starts the janitor, resolves (or builds) the
// image and finds the address containers reach us at.
func Prepare(ctx context.Context, side string, cfg Config) (harness.Target, error) {
	sut := cfg.SUT(side)
	flavorName := sut.Flavor
	flavor, err := harness.LookupFlavor(flavorName)
	if err != nil {
		return harness.Target{}, err
	}
	if flavor.Side() != side {
		return harness.Target{}, fmt.Errorf("flavor %q tests the %s side, not the %s", flavorName, flavor.Side(), side)
	}
	if f, ok := flavor.(harness.InProcessFlavor); ok {
		return harness.InProcessTarget(f), nil
	}
	if err := Janitor(ctx); err != nil {
		return harness.Target{}, err
	}
	image, err := harness.ResolveImage(ctx, flavor, sut.Image, os.Stderr)
	if err != nil {
		return harness.Target{}, err
	}
	gateway, err := harness.GatewayIP(ctx)
	if err != nil {
		return harness.Target{}, err
	}
	return harness.Target{Flavor: flavor, Image: image, Listen: gateway, Advertise: harness.HostAlias, ReadyTimeout: cfg.ReadyTimeout}, nil
}

// Deployed is what the report says of a SUT the harness started: its
// image, or where it listens when it has none (in process).
func Deployed(side string, t harness.Target, d harness.Deployment) reports.SUT {
	sut := reports.SUT{Side: side, Flavor: t.Flavor.Name(), Image: t.Image}
	if t.Image == "" && d != nil {
		sut.URL = d.BaseURL()
	}
	return sut
}
