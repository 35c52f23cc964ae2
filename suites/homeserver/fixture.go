package homeserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/mutants"
)

// Fixture is what one spec works with: the homeserver, one fake AS with its
// registration, and the spec's own clients. It attaches the spec's
// transcript to the report when the spec ends.
type Fixture struct {
	Env                   *Env
	*scenarios.AppService // the spec's first fake AS

	hs harness.Deployment // the homeserver the spec talks to: Env's, or its own

	services  []*scenarios.AppService
	clients   []*csapi.Client
	clientRec *recorder.Recorder // the spec's client-server requests
	secrets   map[string]string
	unique    string
	shared    bool // judged by several specs, which attach the transcript
}

var fixtures atomic.Int64

// uniqueSuffix tells apart the IDs of specs of this run, of the other
// processes sharing its SUT (a parallel run's, the mutation runs'), and
// of earlier runs.
func uniqueSuffix() string {
	return fmt.Sprintf("%d_%d_%d", time.Now().Unix()%100000, os.Getpid(), fixtures.Add(1))
}

// NewFixture must be called inside a spec; it ends an unusable environment
// as a harness error.
func NewFixture(ctx context.Context) *Fixture {
	GinkgoHelper()
	e := Shared(ctx)
	f := &Fixture{
		Env:       e,
		hs:        e.Deployment,
		clientRec: recorder.New(),
		secrets:   map[string]string{},
		unique:    uniqueSuffix(),
	}
	f.AppService = f.AnotherAS()
	DeferCleanup(f.finish)
	return f
}

// needs skips the spec on a SUT known not to model feature.
func (f *Fixture) needs(feature string) {
	if f.Env.lacks[feature] {
		Skip("the reference homeserver does not model " + feature)
	}
}

// AnotherAS takes one more fake AS from the pool for this spec.
func (f *Fixture) AnotherAS() *scenarios.AppService { return f.adopt(f.Env.take()) }

// EphemeralAS takes the fake AS whose registration has receive_ephemeral.
func (f *Fixture) EphemeralAS() *scenarios.AppService {
	if len(f.Env.pool) < ephemeralAS || !f.Env.pool[ephemeralAS-1].Registration().ReceiveEphemeral {
		Skip(fmt.Sprintf("needs registration %d with receive_ephemeral: true (asconform registrations writes it)", ephemeralAS))
	}
	return f.adopt(f.Env.pool[ephemeralAS-1])
}

func (f *Fixture) adopt(fake *fakeas.Server) *scenarios.AppService {
	fake.Reset()
	reg := fake.Registration()
	n := len(f.services) + 1
	client := f.client(fmt.Sprintf("appservice%s", map[bool]string{true: "", false: fmt.Sprint(n)}[n == 1]), reg.ASToken)
	a := scenarios.NewAppService(fake, client, patience)
	suffix := map[bool]string{true: "", false: fmt.Sprintf(" (AS %d)", n)}[n == 1]
	f.secrets["as_token"+suffix], f.secrets["hs_token"+suffix] = reg.ASToken, reg.HSToken
	f.services = append(f.services, a)
	return a
}

// finish ends the spec's use of its fake ASes; a request a strict fake
// did not expect fails the spec, once its transcript is attached.
func (f *Fixture) finish(ctx SpecContext) {
	var unexpected []string
	for i, a := range f.services {
		for _, u := range a.AS.Unexpected() {
			unexpected = append(unexpected, fmt.Sprintf("fake AS %d got %s", i+1, u))
		}
		a.AS.Reset()
	}
	if !f.shared {
		suites.AttachTranscript(f.Transcript(), f.secrets)
		if CurrentSpecReport().Failed() || len(unexpected) > 0 {
			suites.AttachSUTLog(f.hs.Logs(ctx))
		}
	}
	if len(unexpected) > 0 {
		Fail("requests the spec's fake AS did not expect:\n" + strings.Join(unexpected, "\n"))
	}
}

func (f *Fixture) client(name, token string) *csapi.Client {
	c := &csapi.Client{BaseURL: f.hs.BaseURL(), Token: token, Name: name, Recorder: f.clientRec, Fail: scenarios.FailSpec}
	f.clients = append(f.clients, c)
	return c
}

// OwnSUT gives the spec a homeserver of its own, with only its fake ASes
// registered: for specs that restart or break it, which would disturb
// other specs on the shared one (those running in parallel above all). It
// skips the spec where the harness cannot start one (external mode).
func (f *Fixture) OwnSUT(ctx context.Context) {
	GinkgoHelper()
	f.OwnSUTWith(ctx)
}

// OwnSUTWith is OwnSUT with more registrations installed beside the spec's.
func (f *Fixture) OwnSUTWith(ctx context.Context, extra ...matrix.Registration) {
	GinkgoHelper()
	f.OwnSUTConfigured(ctx, nil, extra...)
}

// OwnSUTConfigured is OwnSUTWith on a homeserver whose settings opts
// change (e.g. rate limits on).
func (f *Fixture) OwnSUTConfigured(ctx context.Context, opts []func(*harness.Settings), extra ...matrix.Registration) {
	GinkgoHelper()
	if err := f.startOwn(ctx, opts, extra); err != nil {
		suites.HarnessError(fmt.Errorf("starting the spec's own homeserver: %w", err))
	}
}

// OwnSUTUnlessRefused is OwnSUTWith for a configuration the homeserver
// may refuse. It returns "" when the homeserver started, and what the
// homeserver said when it quit while starting (harness.ErrQuit: a
// container that exited, with its last log lines; the reference's error):
// its refusal. A start that failed otherwise (no image, no answer within
// the ready timeout) is a harness error: it says nothing of the SUT.
func (f *Fixture) OwnSUTUnlessRefused(ctx context.Context, extra ...matrix.Registration) (refusal string) {
	GinkgoHelper()
	err := f.startOwn(ctx, nil, extra)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, harness.ErrQuit):
		return err.Error()
	}
	suites.HarnessError(fmt.Errorf("starting the spec's own homeserver: %w", err))
	return ""
}

func (f *Fixture) startOwn(ctx context.Context, opts []func(*harness.Settings), extra []matrix.Registration) error {
	GinkgoHelper()
	if f.Env.private == nil {
		Skip("needs a homeserver of its own (the spec restarts or breaks it), which only a container run starts: not in external mode")
	}
	var regs []matrix.Registration
	for _, a := range f.services {
		regs = append(regs, a.Reg)
	}
	regs = append(regs, extra...)
	if m, ok := runMutant(); ok && m.Registrations != nil {
		regs = m.Registrations(regs)
	}
	hs, err := f.Env.private(ctx, regs, opts...)
	if err != nil {
		return err
	}
	DeferCleanup(func(ctx context.Context) error { return hs.Stop(ctx) })
	f.hs = hs
	f.rebind()
	return nil
}

// runMutant is the run's homeserver mutant, if any.
func runMutant() (mutants.Mutant, bool) {
	cfg, err := suites.Settings()
	if err != nil || cfg.Mutant == "" {
		return mutants.Mutant{}, false
	}
	return mutants.Lookup(cfg.Mutant)
}

// RestartSUT restarts the spec's own homeserver (OwnSUT), keeping its
// data, and points the spec's clients at it again (its port may change).
func (f *Fixture) RestartSUT(ctx context.Context) {
	GinkgoHelper()
	if f.hs == f.Env.Deployment {
		suites.HarnessError(fmt.Errorf("RestartSUT: the spec did not take a homeserver of its own (OwnSUT); others share this one"))
	}
	r, ok := f.hs.(restarter)
	if !ok {
		Skip("needs to restart the homeserver, which only a container run can: not in external mode")
	}
	cfg, _ := suites.Settings()
	if err := r.Restart(ctx, cfg.ReadyTimeout); err != nil {
		suites.HarnessError(err)
	}
	f.rebind()
}

// rebind points the spec's clients at its homeserver, on new connections:
// those kept alive went to the homeserver before its restart.
func (f *Fixture) rebind() {
	for _, c := range f.clients {
		c.BaseURL = f.hs.BaseURL()
		if c.HTTP != nil {
			c.HTTP.CloseIdleConnections()
		} else {
			http.DefaultClient.CloseIdleConnections()
		}
	}
}

// Server is the homeserver's server name.
func (f *Fixture) Server() string { return f.hs.ServerName() }

// Ghost is a user ID inside the fake AS's exclusive users namespace.
func (f *Fixture) Ghost(name string) string {
	return "@" + f.GhostLocalpart(name) + ":" + f.Server()
}

// GhostLocalpart is the localpart of Ghost(name), unique to this spec.
func (f *Fixture) GhostLocalpart(name string) string {
	return f.namespacePrefix() + name + f.unique
}

// Alias is a room alias inside the fake AS's exclusive aliases namespace.
func (f *Fixture) Alias(name string) string {
	return "#" + f.namespacePrefix() + name + f.unique + ":" + f.Server()
}

// Outside is a localpart outside every fake AS's namespace, unique to this spec.
func (f *Fixture) Outside(name string) string { return "plain_" + name + f.unique }

func (f *Fixture) namespacePrefix() string { return f.NamespacePrefix() }

// Shared is a user ID in the fake AS's non-exclusive users namespace.
func (f *Fixture) Shared(name string) string {
	return f.number().SharedPrefix() + name + f.unique
}

// number is the pool place of the spec's first fake AS.
func (f *Fixture) number() fakeas.Member {
	m, _ := f.Member()
	return m
}

// NewUser registers a normal user and returns its client.
func (f *Fixture) NewUser(ctx context.Context, name string) *csapi.Client {
	GinkgoHelper()
	anon := f.client(name, "")
	resp := setUp("registering test user " + name)(anon.Register(ctx, f.Outside(name), "pw-"+f.unique))
	token := resp.Field("access_token")
	f.secrets[name+" access_token"] = token
	c := f.client(name, token)
	return c
}

// RegisterGhost registers a user in the first fake AS's namespace as that AS.
func (f *Fixture) RegisterGhost(ctx context.Context, name string) string {
	GinkgoHelper()
	return f.RegisterGhostOf(ctx, f.AppService, name)
}

// RegisterGhostOf registers a user in a's namespace as a.
func (f *Fixture) RegisterGhostOf(ctx context.Context, a *scenarios.AppService, name string) string {
	GinkgoHelper()
	return setUp("registering ghost " + name + " as the AS")(a.ASClient.RegisterAS(ctx, a.NamespacePrefix()+name+f.unique, true)).Field("user_id")
}

// setUp judges a step the spec only builds on: anything but a 200 is an
// error of the harness's setup, not a verdict on the SUT.
func setUp(what string) func(csapi.Response, error) csapi.Response {
	return func(resp csapi.Response, err error) csapi.Response {
		GinkgoHelper()
		if err != nil || resp.Status != http.StatusOK {
			suites.HarnessError(fmt.Errorf("%s: %v %v", what, resp, err))
		}
		return resp
	}
}

// NewBridgedRoom opens a bridged room of the spec's first fake AS, owned
// by owner, with a new ghost of the AS.
func (f *Fixture) NewBridgedRoom(ctx context.Context, owner *csapi.Client, ghostName string) scenarios.BridgedRoom {
	GinkgoHelper()
	return f.BridgedRoomOf(ctx, f.AppService, owner, ghostName)
}

// BridgedRoomOf is NewBridgedRoom for fake AS a.
func (f *Fixture) BridgedRoomOf(ctx context.Context, a *scenarios.AppService, owner *csapi.Client, ghostName string) scenarios.BridgedRoom {
	GinkgoHelper()
	return a.OpenBridgedRoom(ctx, owner, f.RegisterGhostOf(ctx, a, ghostName))
}

// Transcript merges the spec's client requests and the fake AS's received
// requests in time order.
func (f *Fixture) Transcript() []recorder.Exchange {
	all := f.clientRec.All()
	for i, a := range f.services {
		received := a.Received()
		if i > 0 { // named as its client is: appservice2, ...
			for j := range received {
				received[j].To = fmt.Sprintf("appservice%d", i+1)
			}
		}
		all = append(all, received...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	for i := range all {
		all[i].Seq = i + 1
	}
	return all
}
