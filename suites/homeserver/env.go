// Package homeserver is the conformance suite for homeservers: it deploys
// the homeserver under test with registrations pointing at fake application
// services and checks what the homeserver does on both sides.
package homeserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/mutants"
)

// poolSize is how many fake ASes specs take in turn, so that one spec's late
// traffic rarely reaches the next spec's fake. One more, ephemeralAS, also
// receives ephemeral data; only the specs about it take that one, since
// typing and receipts would interleave with other specs' transactions.
const (
	poolSize    = 6
	ephemeralAS = poolSize + 1
)

// Env is the homeserver under test and its pool of fake ASes.
type Env struct {
	Deployment harness.Deployment
	pool       []*fakeas.Server
	// lacks names features the SUT does not model (harness.Model); specs
	// needing one are skipped there, saying so.
	lacks map[string]bool
	// private starts another homeserver like the shared one, with regs
	// only and the settings changed by opts (nil where the harness
	// cannot: external mode).
	private func(ctx context.Context, regs []matrix.Registration, opts ...func(*harness.Settings)) (harness.Deployment, error)

	mu   sync.Mutex
	next int
}

var shared = suites.NewEnvironment("homeserver", suites.Starters[*Env]{
	External: func(ctx context.Context, cfg suites.Config) (*Env, error) {
		e, err := startExternal(ctx, cfg)
		return withMutant(cfg, e, err)
	},
	Deployed: func(ctx context.Context, cfg suites.Config) (*Env, error) {
		e, err := startDeployed(ctx, cfg)
		return withMutant(cfg, e, err)
	},
})

func init() { suites.StartEagerly(shared) }

const startTimeout = suites.StartTimeout

// requireEnv is each container's BeforeEach: it starts the environment on
// first use, so a failure there is an error of the environment, not of a spec.
func requireEnv(ctx SpecContext) { shared.Require(ctx) }

// Shared is the suite's environment, started on first use; inside a
// spec, an environment that did not start ends the spec as a harness error.
func Shared(ctx context.Context) *Env { return shared.MustGet(ctx) }

// withMutant puts the run's mutant, if any, in a started environment.
func withMutant(cfg suites.Config, e *Env, err error) (*Env, error) {
	if err != nil || cfg.Mutant == "" {
		return e, err
	}
	return e.mutate(cfg.Mutant)
}

// mutate puts a named mutant between the specs and the SUT, and between
// the SUT and the fake ASes.
func (e *Env) mutate(name string) (*Env, error) {
	m, ok := mutants.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown mutant %q", name)
	}
	d, err := behind(m, e.Deployment)
	if err != nil {
		return nil, err
	}
	suites.AtEnd(func(context.Context) error { return d.srv.Close() })
	e.Deployment = d
	// A spec's own homeserver (OwnSUT) is reached through the mutant too.
	if start := e.private; start != nil {
		e.private = func(ctx context.Context, regs []matrix.Registration, opts ...func(*harness.Settings)) (harness.Deployment, error) {
			own, err := start(ctx, regs, opts...)
			if err != nil {
				return nil, err
			}
			return behind(m, own)
		}
	}
	if m.Push != nil {
		for _, f := range e.pool {
			f.SetIngress(m.Push)
		}
	}
	var services []mutants.Service
	for _, f := range e.pool {
		reg := f.Registration()
		s := mutants.Service{Addr: f.Addr(), HSToken: reg.HSToken, ASToken: reg.ASToken}
		if reg.URL != nil {
			if u, err := url.Parse(*reg.URL); err == nil {
				s.Port = u.Port()
			}
		}
		for _, ns := range reg.Namespaces.Users {
			if ns.Exclusive {
				s.ExclusiveUsers = append(s.ExclusiveUsers, ns.Regex)
			}
		}
		services = append(services, s)
	}
	mutants.SetServices(e.Deployment.ServerName(), services)
	return e, nil
}

// behind serves d's client-server API through the mutant's proxy.
func behind(m mutants.Mutant, d harness.Deployment) (mutated, error) {
	handler := m.Proxy(d.BaseURL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return mutated{}, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return mutated{Deployment: d, url: "http://" + ln.Addr().String(), srv: srv}, nil
}

// mutated is a deployment reached through a mutant's proxy.
type mutated struct {
	harness.Deployment
	url string
	srv *http.Server
}

func (m mutated) BaseURL() string { return m.url }

// Stop stops the proxy and the SUT behind it.
func (m mutated) Stop(ctx context.Context) error {
	_ = m.srv.Close()
	return m.Deployment.Stop(ctx)
}

// Restart restarts the SUT behind the mutant's proxy.
func (m mutated) Restart(ctx context.Context, readyTimeout time.Duration) error {
	r, ok := m.Deployment.(restarter)
	if !ok {
		return fmt.Errorf("this deployment cannot restart")
	}
	if err := r.Restart(ctx, readyTimeout); err != nil {
		return err
	}
	mutants.Restarted()
	return nil
}

// startDeployed starts the configured flavor's homeserver with the pool
// of fake ASes registered on it.
func startDeployed(ctx context.Context, cfg suites.Config) (*Env, error) {
	if cfg.SharedHS != "" {
		return joinShared(ctx, cfg)
	}
	if proc, total := suites.Parallel(); total > 1 {
		return startShared(ctx, cfg, proc, total)
	}
	e := &Env{}
	t, err := e.prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	regs, err := e.startFakes(cfg.ServerName, t.Listen, t.Advertise, 0)
	if err != nil {
		return nil, err
	}
	return e, e.deploy(ctx, t, regs)
}

// prepare readies the flavor and takes on what it says of itself: a model
// of a server is waited for less and lacks some features.
func (e *Env) prepare(ctx context.Context, cfg suites.Config) (harness.Target, error) {
	t, err := suites.Prepare(ctx, "homeserver", cfg)
	if err != nil {
		return t, err
	}
	e.private = func(ctx context.Context, regs []matrix.Registration, opts ...func(*harness.Settings)) (harness.Deployment, error) {
		s := harness.Settings{ServerName: cfg.ServerName, Registrations: regs, Extensions: cfg.Extensions()}
		for _, o := range opts {
			o(&s)
		}
		return t.Start(ctx, s)
	}
	if m, ok := t.Flavor.(harness.Model); ok {
		patience = m.TimeScale()
		e.lacks = map[string]bool{}
		for _, feature := range m.Unmodelled() {
			e.lacks[feature] = true
		}
	}
	return t, nil
}

// deploy starts the shared homeserver with regs installed.
func (e *Env) deploy(ctx context.Context, t harness.Target, regs []matrix.Registration) error {
	name := t.Flavor.Name()
	suites.DescribeSUT(suites.Deployed("homeserver", t, nil))
	suites.Phase("starting %s", t)
	started := time.Now()
	d, err := e.private(ctx, regs)
	if err != nil {
		return err
	}
	suites.Phase("%s answered /versions after %.1fs", name, time.Since(started).Seconds())
	suites.AtLastEnd(d.Stop)
	e.Deployment = d
	describeWithVersions(ctx, suites.Deployed("homeserver", t, d), d.BaseURL())
	return nil
}

// sharedSUT is what process 1 of a parallel run tells the others.
type sharedSUT struct {
	URL, ServerName, Error string
}

// fakesOf is what each process of a parallel run tells process 1.
type fakesOf struct {
	Registrations []matrix.Registration
	Error         string
}

// startShared starts this process's fakes, numbered apart from the other
// processes', and meets them: process 1 deploys the homeserver with every
// process's registrations, the others connect to it.
func startShared(ctx context.Context, cfg suites.Config, proc, total int) (*Env, error) {
	rv, err := suites.NewRendezvous("homeserver")
	if err != nil {
		return nil, err
	}
	e := &Env{}
	if proc == 1 {
		suites.AtLastEnd(func(context.Context) error { return rv.Remove() })
	}
	// Every process may start a homeserver of a spec's own (OwnSUT).
	t, err := e.prepare(ctx, cfg)
	var mine fakesOf
	if err == nil {
		mine.Registrations, err = e.startFakes(cfg.ServerName, t.Listen, t.Advertise, (proc-1)*(poolSize+1))
	}
	if err != nil {
		mine.Error = err.Error()
	}
	if perr := rv.Put(fmt.Sprintf("fakes-%d", proc), mine); perr != nil && err == nil {
		err = perr
	}
	if proc > 1 {
		var sut sharedSUT
		if err == nil {
			err = rv.Get(ctx, "sut", &sut)
		}
		if err == nil && sut.Error != "" {
			err = fmt.Errorf("process 1 could not start the shared homeserver: %s", sut.Error)
		}
		if err != nil {
			return nil, err
		}
		err = e.connect(ctx, cfg, reports.SUT{Side: "homeserver", Flavor: cfg.Flavor, URL: sut.URL}, sut.URL, sut.ServerName)
		return e, err
	}
	// Process 1: gather everyone's registrations, deploy, tell the others.
	var regs []matrix.Registration
	for p := 1; p <= total && err == nil; p++ {
		var theirs fakesOf
		waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = rv.Get(waitCtx, fmt.Sprintf("fakes-%d", p), &theirs)
		cancel()
		if err == nil && theirs.Error != "" {
			err = fmt.Errorf("process %d could not start its fake ASes: %s", p, theirs.Error)
		}
		regs = append(regs, theirs.Registrations...)
	}
	if err == nil {
		err = e.deploy(ctx, t, regs)
	}
	sut := sharedSUT{Error: fmt.Sprint(err)}
	if err == nil {
		sut = sharedSUT{URL: e.Deployment.BaseURL(), ServerName: e.Deployment.ServerName()}
	}
	if perr := rv.Put("sut", sut); perr != nil && err == nil {
		err = perr
	}
	return e, err
}

// connect takes as the environment's homeserver one that another process
// started (process 1 of a parallel run, the parent of mutation runs),
// described in the report as sut.
func (e *Env) connect(ctx context.Context, cfg suites.Config, sut reports.SUT, url, serverName string) error {
	suites.DescribeSUT(sut)
	d, err := harness.ConnectExternal(ctx, url, serverName, cfg.ReadyTimeout)
	if err != nil {
		return err
	}
	e.Deployment = d
	describeWithVersions(ctx, sut, url)
	return nil
}

// ReferenceFlavor is the reference homeserver's flavor (fakehs, in the
// test process): it shows every spec able to pass.
const ReferenceFlavor = harness.ReferenceHomeserver

// patience scales the waits of specs for what a SUT does by itself
// (delivery, retries, late queries): a model of a server (the reference)
// retries within milliseconds and says by how much to scale them.
var patience = 1.0

func wait(d time.Duration) time.Duration { return time.Duration(float64(d) * patience) }

// restarter is a deployment that can restart its SUT, keeping its data.
type restarter interface {
	Restart(ctx context.Context, readyTimeout time.Duration) error
}

// startExternal uses a homeserver the user runs, with the registration
// files they installed on it; each fake listens on its registration's port.
func startExternal(ctx context.Context, cfg suites.Config) (*Env, error) {
	if _, total := suites.Parallel(); total > 1 {
		return nil, fmt.Errorf("external mode runs serially: each registration's fake AS listens on the one port its url names")
	}
	paths, err := filepath.Glob(filepath.Join(cfg.RegistrationsDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("external mode: no *.yaml registration files in %s", cfg.RegistrationsDir)
	}
	sort.Strings(paths)
	e := &Env{}
	suites.AtEnd(e.closeFakes)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		reg, err := matrix.ParseRegistration(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if reg.URL == nil {
			return nil, fmt.Errorf("%s: url is null, so the homeserver would never reach the fake AS", p)
		}
		u, err := url.Parse(*reg.URL)
		if err != nil || u.Port() == "" {
			return nil, fmt.Errorf("%s: url %q must name a port for the fake AS to listen on", p, *reg.URL)
		}
		fake, err := fakeas.New(net.JoinHostPort(cfg.FakesListen, u.Port()), reg)
		if err != nil {
			return nil, err
		}
		e.pool = append(e.pool, fake)
	}
	d, err := harness.ConnectExternal(ctx, cfg.URL, cfg.ServerName, cfg.ReadyTimeout)
	if err != nil {
		return nil, err
	}
	describeWithVersions(ctx, reports.SUT{Side: "homeserver", Flavor: cfg.Flavor, URL: cfg.URL}, cfg.URL)
	suites.Phase("homeserver at %s answers (external mode, %d fake ASes)", cfg.URL, len(e.pool))
	e.Deployment = d
	return e, nil
}

// startFakes starts the pool of fake ASes listening on listenHost and
// returns their registrations, whose URLs name advertisedHost (how the SUT
// reaches the test process), numbered from offset+1.
func (e *Env) startFakes(serverName, listenHost, advertisedHost string, offset int) ([]matrix.Registration, error) {
	suites.AtEnd(e.closeFakes)
	var regs []matrix.Registration
	for i := 1; i <= poolSize+1; i++ {
		n := offset + i
		// The registration needs the port, the fake needs the registration:
		// listen first, then fill in the URL.
		fake, err := fakeas.New(net.JoinHostPort(listenHost, "0"), matrix.Registration{})
		if err != nil {
			return nil, err
		}
		reg := poolRegistration(i, n, serverName, fmt.Sprintf("http://%s:%d", advertisedHost, fake.Port()), profileWantsMSC3202())
		fake.SetRegistration(reg)
		e.pool = append(e.pool, fake)
		regs = append(regs, reg)
	}
	return regs, nil
}

// ExternalRegistrations are the registration files external mode expects
// installed on the homeserver: the suite's pool of fake ASes, the n-th
// listening on host:firstPort+n-1, as a container run would make them.
func ExternalRegistrations(serverName, host string, firstPort int) []matrix.Registration {
	var regs []matrix.Registration
	for i := 1; i <= poolSize+1; i++ {
		regs = append(regs, poolRegistration(i, i, serverName, fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(firstPort+i-1))), profileWantsMSC3202()))
	}
	return regs
}

// poolRegistration is the registration of the pool's i-th fake AS (from 1),
// member n of the run: the ephemeralAS also receives ephemeral data, and
// opts in to MSC3202 when the run checks it.
func poolRegistration(i, n int, serverName, url string, msc3202 bool) matrix.Registration {
	reg := fakeas.Member(n).Registration(serverName, url)
	reg.ReceiveEphemeral = i == ephemeralAS
	reg.MSC3202 = i == ephemeralAS && msc3202
	return reg
}

// profileWantsMSC3202 says whether the run's profile checks MSC3202, whose
// fields only a registration with org.matrix.msc3202 gets: the AS with
// receive_ephemeral then opts in too.
func profileWantsMSC3202() bool {
	cfg, err := suites.Settings()
	return err == nil && wantsMSC3202(cfg)
}

func wantsMSC3202(cfg suites.Config) bool {
	return slices.Contains(cfg.Extensions(), harness.ExtMSC3202)
}

func (e *Env) closeFakes(context.Context) error {
	for _, f := range e.pool {
		_ = f.Close()
	}
	return nil
}

// take hands out the next fake AS of the pool, round robin.
func (e *Env) take() *fakeas.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := min(len(e.pool), poolSize)
	f := e.pool[e.next%n]
	e.next++
	return f
}
