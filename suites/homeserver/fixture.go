package homeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/csapi"
	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/matrix"
	"github.com/asconform/asconform/recorder"
	"github.com/asconform/asconform/suites"
)

// Fixture is what one spec works with: the homeserver, one fake AS with its
// registration, and the spec's own clients. It attaches the spec's
// transcript to the report when the spec ends.
type Fixture struct {
	Env      *Env
	AS       *fakeas.Server
	Reg      matrix.Registration
	ASClient *csapi.Client // acts as the AS with its as_token

	clientRec *recorder.Recorder // the spec's client-server requests
	asMark    int                // fake AS exchanges before this spec
	secrets   map[string]string
	unique    string
}

var fixtures atomic.Int64

// NewFixture must be called inside a spec; it ends an unusable environment
// as a harness error.
func NewFixture(ctx context.Context) *Fixture {
	GinkgoHelper()
	e, err := Shared(ctx)
	if err != nil {
		suites.HarnessError(err)
	}
	fake := e.take()
	fake.Reset()
	reg := fake.Registration()
	f := &Fixture{
		Env: e, AS: fake, Reg: reg,
		clientRec: recorder.New(),
		asMark:    fake.Recorder().Len(),
		secrets:   map[string]string{"as_token": reg.ASToken, "hs_token": reg.HSToken},
		unique:    fmt.Sprintf("%d%d", time.Now().Unix()%100000, fixtures.Add(1)),
	}
	f.ASClient = f.client("appservice", reg.ASToken)
	DeferCleanup(f.finish)
	return f
}

func (f *Fixture) finish(ctx SpecContext) {
	f.AS.Reset()
	suites.AttachTranscript(f.Transcript(), f.secrets)
	if CurrentSpecReport().Failed() {
		suites.AttachSUTLog(f.Env.Deployment.Logs(ctx))
	}
}

func (f *Fixture) client(name, token string) *csapi.Client {
	return &csapi.Client{BaseURL: f.Env.Deployment.BaseURL(), Token: token, Name: name, Recorder: f.clientRec}
}

// Server is the homeserver's server name.
func (f *Fixture) Server() string { return f.Env.Deployment.ServerName() }

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

func (f *Fixture) namespacePrefix() string {
	var n int
	_, _ = fmt.Sscanf(f.Reg.ID, "asconform-%d", &n)
	if n == 0 { // external registrations: derive from the users regex
		return strings.TrimPrefix(strings.SplitN(f.Reg.Namespaces.Users[0].Regex, ".*", 2)[0], "@")
	}
	return harness.NamespacePrefix(n)
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

// RegisterGhost registers a user in the AS's namespace as the AS.
func (f *Fixture) RegisterGhost(ctx context.Context, name string) string {
	GinkgoHelper()
	resp, err := f.ASClient.RegisterAS(ctx, f.GhostLocalpart(name), true)
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

// Deliveries returns the transactions received since the spec started, in
// arrival order, retries included.
func (f *Fixture) Deliveries() []Delivered {
	var out []Delivered
	for _, e := range f.AS.Recorder().Since(f.asMark) {
		id, ok := strings.CutPrefix(e.Path, "/_matrix/app/v1/transactions/")
		if !ok || e.Method != "PUT" {
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
func (f *Fixture) WaitForEvent(ctx context.Context, eventID string) (Delivered, matrix.ClientEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	var found Delivered
	var event matrix.ClientEvent
	_, err := f.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool {
		for _, d := range f.Deliveries() {
			for _, ev := range d.Txn.Events {
				if ev.EventID == eventID {
					found, event = d, ev
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return found, event, fmt.Errorf("event %s did not reach the fake AS: %w", eventID, err)
	}
	return found, event, nil
}

// Transcript merges the spec's client requests and the fake AS's received
// requests in time order.
func (f *Fixture) Transcript() []recorder.Exchange {
	all := append(f.clientRec.All(), f.AS.Recorder().Since(f.asMark)...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	for i := range all {
		all[i].Seq = i + 1
	}
	return all
}
