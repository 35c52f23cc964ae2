// Package appservice is the conformance suite for application services: the
// AS under test runs in a container (or externally) and fakehs, in the test
// process, plays its homeserver, pushing transactions and queries to it and
// serving the client-server calls it makes back.
package appservice

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
)

// Env is the AS under test and the fake homeserver in front of it.
type Env struct {
	HS  *fakehs.Server
	Reg matrix.Registration
	SUT harness.Deployment // the AS; BaseURL is where fakehs reaches it
}

const startTimeout = suites.StartTimeout

var shared = suites.NewEnvironment("appservice", suites.Starters[*Env]{
	Check: mutantFits, External: startExternal, Deployed: startDeployed,
})

// requireEnv is each container's BeforeEach: it skips a spec that needs a
// capability the AS has not declared, and starts the environment on first
// use, so a failure there is an error of the environment, not of a spec.
func requireEnv(ctx SpecContext) {
	skipUnlessDeclared()
	shared.Require(ctx)
}

// Shared is the suite's environment, started on first use; inside a
// spec, an environment that did not start ends the spec as a harness error.
func Shared(ctx context.Context) *Env { return shared.MustGet(ctx) }

// mutantFits refuses a mutant the AS under test cannot carry: they are
// bugs planted in the reference AS.
func mutantFits(cfg suites.Config) error {
	if cfg.Mutant == "" {
		return nil
	}
	if _, err := lookupASMutant(cfg.Mutant); err != nil {
		return fmt.Errorf("ASCONFORM_MUTANT=%s: %w; the application-service suite takes only its own mutants", cfg.Mutant, err)
	}
	if cfg.ASURL != "" || cfg.ASFlavor != ReferenceFlavor {
		// Recorded in results.json as the run's mutant: refuse rather
		// than report a run of an AS that did not carry it.
		return fmt.Errorf("ASCONFORM_MUTANT=%s is a bug planted in the reference AS; the AS under test (%s) cannot carry it: set ASCONFORM_AS_FLAVOR=%s or unset ASCONFORM_MUTANT",
			cfg.Mutant, cmp.Or(cfg.ASURL, cfg.ASFlavor), ReferenceFlavor)
	}
	return nil
}

// startDeployed starts the configured flavor's AS with fakehs as its
// homeserver.
func startDeployed(ctx context.Context, cfg suites.Config) (*Env, error) {
	t, err := suites.Prepare(ctx, "appservice", cfg)
	if err != nil {
		return nil, err
	}
	maker, ok := t.Flavor.(harness.RegistrationMaker)
	if !ok {
		return nil, fmt.Errorf("flavor %q does not say which registration its AS expects", cfg.ASFlavor)
	}
	hs, err := fakehs.New(net.JoinHostPort(t.Listen, "0"), fakehs.Config{ServerName: cfg.ServerName})
	if err != nil {
		return nil, err
	}
	suites.AtEnd(func(context.Context) error { return hs.Close() })
	// The AS's own URL is known only once it listens (a container's port
	// mapped): register it with a placeholder, then tell fakehs the real one.
	reg := maker.Registration(cfg.ServerName, "http://placeholder.invalid")
	name := t.Flavor.Name()
	suites.DescribeSUT(suites.Deployed("appservice", t, nil))
	suites.Phase("starting %s", t)
	started := time.Now()
	sut, err := t.Start(ctx, harness.Settings{
		ServerName: cfg.ServerName, Registrations: []matrix.Registration{reg},
		HomeserverURL: fmt.Sprintf("http://%s:%d", t.Advertise, hs.Port()),
	})
	if err != nil {
		return nil, err
	}
	suites.AtEnd(sut.Stop)
	suites.Phase("%s answered after %.1fs", name, time.Since(started).Seconds())
	url := sut.BaseURL()
	reg.URL = &url
	if err := hs.SetRegistration(reg); err != nil {
		return nil, err
	}
	suites.DescribeSUT(suites.Deployed("appservice", t, sut))
	return &Env{HS: hs, Reg: reg, SUT: sut}, nil
}

// startExternal drives an AS the user runs, with the registration file it
// uses; fakehs listens where that AS expects its homeserver.
func startExternal(ctx context.Context, cfg suites.Config) (*Env, error) {
	data, err := os.ReadFile(cfg.ASRegistration)
	if err != nil {
		return nil, err
	}
	reg, err := matrix.ParseRegistration(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.ASRegistration, err)
	}
	url := cfg.ASURL
	reg.URL = &url
	hs, err := fakehs.New(net.JoinHostPort(cfg.FakesListen, cfg.FakeHSPort), fakehs.Config{ServerName: cfg.ServerName, Registrations: []matrix.Registration{reg}})
	if err != nil {
		return nil, err
	}
	suites.AtEnd(func(context.Context) error { return hs.Close() })
	suites.DescribeSUT(reports.SUT{Side: "appservice", Flavor: cfg.ASFlavor, URL: cfg.ASURL})
	return &Env{HS: hs, Reg: reg, SUT: nil}, nil
}
