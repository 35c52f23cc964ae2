package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Fixture is what one spec works with: the homeserver, one fake AS with its
// registration, and the spec's own clients. It attaches the spec's
// transcript to the report when the spec ends.
type Fixture struct {
	Env         *Env
	*AppService // the spec's first fake AS

	hs harness.Deployment // the homeserver the spec talks to: Env's, or its own

	services  []*AppService
	clients   []*csapi.Client
	clientRec *recorder.Recorder // the spec's client-server requests
	secrets   map[string]string
	unique    string
	shared    bool // judged by several specs, which attach the transcript
}

// AppService is one fake AS taken from the pool for a spec.
type AppService struct {
	AS       *fakeas.Server
	Reg      matrix.Registration
	ASClient *csapi.Client // acts as the AS with its as_token
	mark     int           // the fake's exchanges before this spec
}

var fixtures atomic.Int64

// uniqueSuffix tells apart the IDs of specs of this run, of the other
// processes of a parallel run (sharing one SUT), and of earlier runs.
func uniqueSuffix() string {
	proc, _ := suites.Parallel()
	return fmt.Sprintf("%d_%d_%d", time.Now().Unix()%100000, proc, fixtures.Add(1))
}

// NewFixture must be called inside a spec; it ends an unusable environment
// as a harness error.
func NewFixture(ctx context.Context) *Fixture {
	GinkgoHelper()
	e, err := Shared(ctx)
	if err != nil {
		suites.HarnessError(err)
	}
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
func (f *Fixture) AnotherAS() *AppService { return f.adopt(f.Env.take()) }

// EphemeralAS takes the fake AS whose registration has receive_ephemeral.
func (f *Fixture) EphemeralAS() *AppService {
	if len(f.Env.pool) < ephemeralAS || !f.Env.pool[ephemeralAS-1].Registration().ReceiveEphemeral {
		Skip(fmt.Sprintf("needs registration %d with receive_ephemeral: true (asconform registrations writes it)", ephemeralAS))
	}
	return f.adopt(f.Env.pool[ephemeralAS-1])
}

func (f *Fixture) adopt(fake *fakeas.Server) *AppService {
	fake.Reset()
	reg := fake.Registration()
	n := len(f.services) + 1
	a := &AppService{AS: fake, Reg: reg, mark: fake.Recorder().Len()}
	a.ASClient = f.client(fmt.Sprintf("appservice%s", map[bool]string{true: "", false: fmt.Sprint(n)}[n == 1]), reg.ASToken)
	suffix := map[bool]string{true: "", false: fmt.Sprintf(" (AS %d)", n)}[n == 1]
	f.secrets["as_token"+suffix], f.secrets["hs_token"+suffix] = reg.ASToken, reg.HSToken
	f.services = append(f.services, a)
	return a
}

func (f *Fixture) finish(ctx SpecContext) {
	for _, a := range f.services {
		a.AS.Reset()
	}
	if f.shared {
		return
	}
	suites.AttachTranscript(f.Transcript(), f.secrets)
	if CurrentSpecReport().Failed() {
		suites.AttachSUTLog(f.hs.Logs(ctx))
	}
}

func (f *Fixture) client(name, token string) *csapi.Client {
	c := &csapi.Client{BaseURL: f.hs.BaseURL(), Token: token, Name: name, Recorder: f.clientRec}
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
	if f.Env.private == nil {
		Skip("needs a homeserver of its own (the spec restarts or breaks it), which only a container run starts: not in external mode")
	}
	var regs []matrix.Registration
	for _, a := range f.services {
		regs = append(regs, a.Reg)
	}
	regs = append(regs, extra...)
	hs, err := f.Env.private(ctx, regs)
	if err != nil {
		suites.HarnessError(fmt.Errorf("starting the spec's own homeserver: %w", err))
	}
	DeferCleanup(func(ctx context.Context) error { return hs.Stop(ctx) })
	f.hs = hs
	f.rebind()
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

func (f *Fixture) namespacePrefix() string { return f.AppService.namespacePrefix() }

func (a *AppService) namespacePrefix() string {
	m, ok := fakeas.MemberOf(a.Reg.ID)
	if !ok { // external registrations: derive from the users regex
		return strings.TrimPrefix(strings.SplitN(a.Reg.Namespaces.Users[0].Regex, ".*", 2)[0], "@")
	}
	return m.Prefix()
}

// Shared is a user ID in the fake AS's non-exclusive users namespace.
func (f *Fixture) Shared(name string) string {
	return f.number().SharedPrefix() + name + f.unique
}

// number is the pool number of the spec's first fake AS.
func (f *Fixture) number() fakeas.Member {
	m, _ := fakeas.MemberOf(f.Reg.ID)
	return m
}

// NewUser registers a normal user and returns its client.
func (f *Fixture) NewUser(ctx context.Context, name string) *csapi.Client {
	GinkgoHelper()
	anon := f.client(name, "")
	resp, err := anon.Register(ctx, f.Outside(name), "pw-"+f.unique)
	if err != nil || resp.Status != 200 {
		suites.HarnessError(fmt.Errorf("registering test user %s: %v %v", name, resp, err))
	}
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
func (f *Fixture) RegisterGhostOf(ctx context.Context, a *AppService, name string) string {
	GinkgoHelper()
	resp, err := a.ASClient.RegisterAS(ctx, a.namespacePrefix()+name+f.unique, true)
	if err != nil || resp.Status != 200 {
		suites.HarnessError(fmt.Errorf("registering ghost %s as the AS: %v %v", name, resp, err))
	}
	return resp.Field("user_id")
}

// Delivered is a transaction the fake AS received, decoded.
type Delivered struct {
	TxnID    string
	Exchange recorder.Exchange
	Txn      matrix.Transaction
}

// Received returns what the fake AS got since the spec started.
func (a *AppService) Received() []recorder.Exchange { return a.AS.Recorder().Since(a.mark) }

// Deliveries returns the transactions received since the spec started, in
// arrival order, retries included, whatever their method (BeTransaction
// judges it).
func (a *AppService) Deliveries() []Delivered {
	var out []Delivered
	for _, e := range a.Received() {
		id, ok := strings.CutPrefix(e.Path, "/_matrix/app/v1/transactions/")
		if !ok {
			continue
		}
		d := Delivered{TxnID: id, Exchange: e}
		_ = json.Unmarshal(e.Body, &d.Txn)
		out = append(out, d)
	}
	return out
}

// deliveryTimeout bounds the wait for an event to reach the fake AS when
// nothing fails on purpose; Synapse needs well under a second.
const deliveryTimeout = 20 * time.Second

// WaitForEvent waits until a transaction carrying eventID arrives.
func (a *AppService) WaitForEvent(ctx context.Context, eventID string) (Delivered, matrix.ClientEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, wait(deliveryTimeout))
	defer cancel()
	var found Delivered
	var event matrix.ClientEvent
	var refused error
	_, err := a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool {
		for _, d := range a.Deliveries() {
			// The fake refuses only what breaks the protocol; the
			// homeserver then holds its queue, so waiting on is useless.
			if refused = a.refusal(d); refused != nil {
				return true
			}
			for _, ev := range d.Txn.Events {
				if ev.EventID == eventID {
					found, event = d, ev
					return true
				}
			}
		}
		return false
	})
	if refused == nil && err != nil {
		refused = err
	}
	if refused != nil {
		return found, event, fmt.Errorf("event %s did not reach the fake AS: %w", eventID, refused)
	}
	return found, event, nil
}

// refusal says why the fake AS refused a transaction (4xx), or nil.
func (a *AppService) refusal(d Delivered) error {
	if d.Exchange.Status < 400 || d.Exchange.Status >= 500 {
		return nil
	}
	problems := match.TransactionProblems(d.Exchange)
	if ok, _ := match.BeBearer(a.Reg.HSToken).Match(d.Exchange); !ok {
		problems = append(problems, "the Authorization header does not carry its hs_token as a Bearer token")
	}
	return fmt.Errorf("the fake AS refused %s %s with %d: %s", d.Exchange.Method, d.Exchange.Path, d.Exchange.Status, strings.Join(problems, "; "))
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
