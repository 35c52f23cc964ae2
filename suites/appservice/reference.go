package appservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites"
	"github.com/asconform/asconform/suites/mutants"
)

// ReferenceFlavor runs the AS suite against fakeas scripted as a minimal,
// compliant bridge (the same behaviour as the mautrix sample), in the test
// process: no Docker. It shows every AS spec able to pass.
const ReferenceFlavor = "fakeas"

// The reference AS is a flavor like the others; it registers from here,
// where its behaviour and its mutants are.
func init() { harness.Register(referenceAS{}) }

type referenceAS struct{}

func (referenceAS) Name() string         { return ReferenceFlavor }
func (referenceAS) Side() string         { return "appservice" }
func (referenceAS) Capabilities() string { return referenceCapabilities }

// Registration is the reference's own (see referenceRegistration), with
// the run's mutant's flaw, if any, planted in it.
func (referenceAS) Registration(serverName, url string) matrix.Registration {
	mutant, _ := runMutant() // an unknown mutant is reported by Start
	reg := referenceRegistration(serverName, mutant.Flaw)
	reg.URL = &url
	return reg
}

// Start starts the reference AS for the registration and homeserver in s,
// with the run's mutant, if any, planted in it.
func (referenceAS) Start(s harness.Settings) (harness.Deployment, error) {
	mutant, err := runMutant()
	if err != nil {
		return nil, err
	}
	reg := s.Registrations[0]
	as, err := fakeas.New("127.0.0.1:0", reg)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", as.Port())
	reg.URL = &url
	as.SetRegistration(reg)
	if referenceFile, err = registrationFile(reg, mutant.Flaw); err != nil {
		_ = as.Close()
		return nil, err
	}
	r := &referenceRunning{reg: reg, hsURL: s.HomeserverURL, server: s.ServerName, mutant: mutant, db: &processed{ids: map[string]bool{}}}
	r.as, r.stop = as, runBridge(as, reg, s.HomeserverURL, mutant, r.db)
	return r, nil
}

// referenceRunning is the running reference AS as a deployment that can
// restart: a restart is a new process (a new listener, a new port, its
// in-memory state gone) on the same database (the transaction IDs it has
// processed, which a compliant bridge keeps).
type referenceRunning struct {
	reg           matrix.Registration
	hsURL, server string
	mutant        mutants.ASMutant
	db            *processed

	mu   sync.Mutex
	as   *fakeas.Server
	stop func()
}

func (r *referenceRunning) BaseURL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("http://127.0.0.1:%d", r.as.Port())
}
func (r *referenceRunning) ServerName() string          { return r.server }
func (r *referenceRunning) Logs(context.Context) string { return "" }
func (r *referenceRunning) Stop(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stop()
	return r.as.Close()
}

// Restart stops the reference AS and starts it again on a new port, with
// its database but none of its memory.
func (r *referenceRunning) Restart(context.Context, time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stop()
	if err := r.as.Close(); err != nil {
		return err
	}
	as, err := fakeas.New("127.0.0.1:0", r.reg)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", as.Port())
	r.reg.URL = &url
	as.SetRegistration(r.reg)
	r.as, r.stop = as, runBridge(as, r.reg, r.hsURL, r.mutant, r.db)
	return nil
}

// processed is the reference AS's database: the transaction IDs it has
// processed, kept across restarts.
type processed struct {
	mu  sync.Mutex
	ids map[string]bool
}

// runMutant is the run's AS mutant; none when the run has none.
func runMutant() (mutants.ASMutant, error) {
	cfg, err := suites.Settings()
	if err != nil || cfg.Mutant == "" {
		return mutants.ASMutant{}, err
	}
	return lookupASMutant(cfg.Mutant)
}

// runBridge makes as the reference AS for reg, with its homeserver at
// hsURL, and starts it: it pings the homeserver in the background (see
// pingAtStart). stop ends the start-up pings.
func runBridge(as *fakeas.Server, reg matrix.Registration, hsURL string, mutant mutants.ASMutant, db *processed) (stop func()) {
	b := &bridge{reg: reg, hs: &csapi.Client{BaseURL: hsURL, Token: reg.ASToken, Name: "appservice"}, done: map[string]bool{}, db: db, mutant: mutant, remote: newRemoteNet()}
	as.Mount(scenarios.RemotePath, http.HandlerFunc(b.remoteHTTP))
	as.On(fakeas.Transactions).Always().Do(b.transaction)
	as.On(fakeas.Users).Always().Do(b.queryUser)
	as.On(fakeas.Rooms).Always().Do(b.queryAlias)
	as.On(fakeas.ThirdParty).Always().Do(b.thirdParty)
	if mutant.Name != "" {
		b.plant(as)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.pingAtStart(ctx, as)
	}()
	return func() { cancel(); <-done }
}

// pingAtStart is the reference's self-check at start-up (spec: Pinging): it
// pings its homeserver until the homeserver answers 200, retrying with a
// growing delay (at most 2 s, for 2 minutes), so that it may start before
// its homeserver (AS-PING-02). The flawed one fails outright: the first
// failure makes it stop serving, as a bridge that exits would.
func (b *bridge) pingAtStart(ctx context.Context, as *fakeas.Server) {
	path := "/_matrix/client/v1/appservice/" + csapi.PathEscape(b.reg.ID) + "/ping"
	delay, giveUp := 200*time.Millisecond, time.Now().Add(2*time.Minute)
	for attempt := 1; time.Now().Before(giveUp); attempt++ {
		resp, err := b.hs.Do(ctx, http.MethodPost, path, map[string]string{"transaction_id": fmt.Sprintf("reference-start-%d", attempt)})
		if err == nil && resp.Status == http.StatusOK {
			return
		}
		if b.flawed(mutants.PingFailsOutright) {
			_ = as.Close()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// startLateReference starts another instance of the reference AS (with the
// run's mutant, if any) whose homeserver refuses connections for down: a
// fakehs starts on its port only then. The caller closes both.
func startLateReference(ctx context.Context, down time.Duration) (*fakehs.Server, *fakeas.Server, matrix.Registration, func(), error) {
	cfg, err := suites.Settings()
	if err != nil {
		return nil, nil, matrix.Registration{}, nil, err
	}
	mutant, err := runMutant()
	if err != nil {
		return nil, nil, matrix.Registration{}, nil, err
	}
	// A port nothing listens on yet: the homeserver is "not there".
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, matrix.Registration{}, nil, err
	}
	hsAddr := l.Addr().String()
	_ = l.Close()
	reg := referenceRegistration(cfg.ServerName, mutant.Flaw)
	as, err := fakeas.New("127.0.0.1:0", reg)
	if err != nil {
		return nil, nil, reg, nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", as.Port())
	reg.URL = &url
	as.SetRegistration(reg)
	stop := runBridge(as, reg, "http://"+hsAddr, mutant, &processed{ids: map[string]bool{}})
	select {
	case <-ctx.Done():
		stop()
		_ = as.Close()
		return nil, nil, reg, nil, ctx.Err()
	case <-time.After(down):
	}
	hs, err := fakehs.New(hsAddr, fakehs.Config{ServerName: cfg.ServerName, Registrations: []matrix.Registration{reg}})
	if err != nil {
		stop()
		_ = as.Close()
		return nil, nil, reg, nil, fmt.Errorf("starting the late homeserver on %s: %w", hsAddr, err)
	}
	return hs, as, reg, func() { stop(); _ = as.Close(); _ = hs.Close() }, nil
}

// referenceFile is the registration file the reference AS comes with, as
// registrationFile wrote it (the AS-REG specs read it).
var referenceFile []byte

// referenceRegistration is the sample's registration (the mautrix-sample
// flavor's), with the spec's advice the samples do not follow: exclusive
// namespaces start with an underscore after the sigil and name the network
// (AS-REG-04), and the protocol it bridges is announced (AS-3PE-01).
func referenceRegistration(serverName string, flaw mutants.Flaw) matrix.Registration {
	maker, _ := harness.LookupFlavor("mautrix-sample")
	reg := maker.(harness.RegistrationMaker).Registration(serverName, "http://placeholder.invalid")
	server, prefix := regexp.QuoteMeta(serverName), "_sample_"
	if flaw == mutants.NamespaceNoUnderscore {
		prefix = "sample_"
	}
	reg.Namespaces.Users = []matrix.Namespace{{Exclusive: true, Regex: "@" + prefix + ".*:" + server}}
	reg.Namespaces.Aliases = []matrix.Namespace{{Exclusive: true, Regex: "#" + prefix + ".*:" + server}}
	if flaw == mutants.NamespaceNoExclusive {
		reg.Namespaces.Aliases[0].Exclusive = false // as read from a file without the key
	}
	reg.Protocols = []string{referenceProtocol}
	return reg
}

// registrationFile renders reg as the reference's registration file, with
// the planted flaw in the document itself: a missing sender_localpart (the
// reference keeps running on its in-memory registration; a homeserver would
// refuse the file) or an aliases entry without exclusive.
func registrationFile(reg matrix.Registration, flaw mutants.Flaw) ([]byte, error) {
	doc, err := reg.Marshal()
	if err != nil || (flaw != mutants.RegistrationNoSender && flaw != mutants.NamespaceNoExclusive) {
		return doc, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	switch flaw {
	case mutants.RegistrationNoSender:
		delete(m, "sender_localpart")
	case mutants.NamespaceNoExclusive:
		entry := m["namespaces"].(map[string]any)["aliases"].([]any)[0].(map[string]any)
		delete(entry, "exclusive")
	}
	return yaml.Marshal(m)
}

// bridge is the reference AS's behaviour: a bridge to the fictional
// "sample" network, as ci/images/mautrix-sample/README.md describes.
type bridge struct {
	reg matrix.Registration
	hs  *csapi.Client

	mu   sync.Mutex
	done map[string]bool // transaction IDs processed since this start, in memory
	// db is the database: every transaction ID processed, across restarts.
	db *processed

	mutant mutants.ASMutant // the bug planted, if any (suites/mutants)
	remote *remoteNet       // the remote network it bridges (reference_remote.go)
}

func lookupASMutant(name string) (mutants.ASMutant, error) {
	m, ok := mutants.LookupAS(name)
	if !ok {
		return m, fmt.Errorf("unknown AS mutant %q", name)
	}
	return m, nil
}

// plant applies the mutant's rewrites and answers to the AS.
func (b *bridge) plant(as *fakeas.Server) {
	m := b.mutant
	if m.Ingress != nil {
		as.SetIngress(func(r *http.Request) { m.Ingress(r, b.reg.HSToken) })
	}
	if m.Ping != nil {
		as.On(fakeas.Ping).Always().Respond(m.Ping.Status, m.Ping.Body)
	}
	if c := m.Client(); c != nil {
		b.hs.HTTP = c
	}
}

// flawed says whether the planted mutant switches flaw on.
func (b *bridge) flawed(flaw mutants.Flaw) bool { return b.mutant.Flaw == flaw }

var notFound = fakeas.Answer{Status: http.StatusNotFound, Body: matrix.Error{ErrCode: "M_NOT_FOUND", Error: "not ours"}}

func (b *bridge) ours(id string) bool { return b.reg.InUsers(id) || b.reg.InAliases(id) }

func (b *bridge) queryUser(ctx context.Context, in fakeas.Request) error {
	switch {
	case b.flawed(mutants.DeniesEverything):
		return notFound
	case b.flawed(mutants.RegistersAfterAnswering) && b.reg.InUsers(in.Param):
		localpart := strings.TrimPrefix(strings.SplitN(in.Param, ":", 2)[0], "@")
		go func() {
			time.Sleep(200 * time.Millisecond)
			_, _ = b.hs.RegisterAS(context.Background(), localpart, true)
		}()
		return exists
	case b.flawed(mutants.ClaimsEverything) || b.flawed(mutants.SkipsUserCreation) && b.reg.InUsers(in.Param):
		return exists
	case !b.reg.InUsers(in.Param):
		return notFound
	}
	localpart := strings.TrimPrefix(strings.SplitN(in.Param, ":", 2)[0], "@")
	resp, err := b.hs.RegisterAS(ctx, localpart, !b.flawed(mutants.NoInhibitLogin))
	if b.flawed(mutants.LogsIn) {
		_, _ = b.hs.LoginAS(ctx, in.Param)
	}
	if err == nil && resp.ErrCode() == "M_USER_IN_USE" && !b.flawed(mutants.FailsUserInUse) {
		return exists // registered before, e.g. by a previous run of the bridge
	}
	if err := b.check(resp, err); err != nil {
		return err
	}
	return exists
}

// exists answers a query 200 {}: the queried user or alias now exists.
var exists = fakeas.Answer{Status: http.StatusOK}

func (b *bridge) queryAlias(ctx context.Context, in fakeas.Request) error {
	switch {
	case b.flawed(mutants.DeniesEverything):
		return notFound
	case b.flawed(mutants.ClaimsEverything) || b.flawed(mutants.SkipsAliasCreation) && b.reg.InAliases(in.Param):
		return exists
	case !b.reg.InAliases(in.Param):
		return notFound
	}
	room, err := b.hs.CreateRoom(ctx, map[string]any{"preset": "public_chat", "name": in.Param + " (sample)"})
	if err := b.check(room, err); err != nil {
		return err
	}
	if b.flawed(mutants.BindsAliasAfterAnswering) {
		go func() {
			time.Sleep(200 * time.Millisecond)
			_, _ = b.hs.CreateAlias(context.Background(), in.Param, room.Field("room_id"))
		}()
		return exists
	}
	if err := b.check(b.hs.CreateAlias(ctx, in.Param, room.Field("room_id"))); err != nil {
		return err
	}
	if err := b.openPortal(ctx, in.Param, room.Field("room_id")); err != nil {
		return err
	}
	// The portal is listed in the room directory of its network (Published
	// room directories); a failure there does not fail the portal.
	listing := map[string]any{"visibility": "public"}
	if b.flawed(mutants.DirectoryNoVisibility) {
		listing = map[string]any{}
	}
	_, _ = b.hs.Do(ctx, http.MethodPut, "/_matrix/client/v3/directory/list/appservice/"+referenceNetwork+"/"+csapi.PathEscape(room.Field("room_id")), listing)
	return exists
}

// transaction handles each transaction ID once, then acknowledges it.
func (b *bridge) transaction(ctx context.Context, in fakeas.Request) error {
	b.mu.Lock()
	seen := b.done[in.Param]
	b.done[in.Param] = true
	b.mu.Unlock()
	if seen && b.flawed(mutants.FailsReplays) {
		return fakeas.Answer{Status: http.StatusInternalServerError, Body: matrix.Error{ErrCode: "M_UNKNOWN", Error: "seen"}}
	}
	// The database decides: an ID processed before a restart is a replay
	// too. The flawed bridge consults only its memory and then fails to
	// record the ID again in its database (a unique key).
	b.db.mu.Lock()
	stored := b.db.ids[in.Param]
	b.db.ids[in.Param] = true
	b.db.mu.Unlock()
	if !seen && stored && b.flawed(mutants.FailsReplaysAfterRestart) {
		return fakeas.Answer{Status: http.StatusInternalServerError, Body: matrix.Error{ErrCode: "M_UNKNOWN", Error: "duplicate key: transaction " + in.Param}}
	}
	seen = seen || stored
	if seen {
		return b.acknowledge()
	}
	body := bytes.TrimSpace(in.Body)
	if !json.Valid(body) || body[0] != '{' {
		if b.flawed(mutants.AcksAnyBody) {
			return fakeas.Answer{Status: http.StatusOK}
		}
		// The AS API names no errcode; these are the Client-Server API's.
		code := "M_BAD_JSON"
		if !json.Valid(body) {
			code = "M_NOT_JSON"
		}
		return fakeas.Answer{Status: http.StatusBadRequest, Body: matrix.Error{ErrCode: code, Error: "a transaction is a JSON object"}}
	}
	var txn matrix.Transaction
	dec := json.NewDecoder(bytes.NewReader(body))
	if b.flawed(mutants.RefusesUnknownKeys) {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&txn); err != nil {
		return fakeas.Answer{Status: http.StatusBadRequest, Body: matrix.Error{ErrCode: "M_BAD_JSON", Error: err.Error()}}
	}
	if b.flawed(mutants.RefusesUnknownTypes) {
		for _, ev := range txn.Events {
			if !strings.HasPrefix(ev.Type, "m.") {
				return fakeas.Answer{Status: http.StatusBadRequest, Body: matrix.Error{ErrCode: "M_BAD_JSON", Error: "unknown type"}}
			}
		}
	}
	bot := "@" + b.reg.SenderLocalpart + ":" + serverOf(b.reg)
	if b.flawed(mutants.SyncsAsSender) {
		_, _ = b.hs.Do(ctx, http.MethodGet, "/_matrix/client/v3/sync?timeout=0", nil)
	}
	for _, ev := range txn.Events {
		var content struct {
			Membership string `json:"membership"`
			Body       string `json:"body"`
		}
		_ = json.Unmarshal(ev.Content, &content)
		switch {
		case ev.Type == "m.room.member" && ev.StateKey != nil && *ev.StateKey == bot && content.Membership == "invite":
			if err := b.check(b.hs.Join(ctx, ev.RoomID)); err != nil {
				return err
			}
		case ev.Type == "m.room.message" && (ev.StateKey == nil || b.flawed(mutants.MessageByType)) && !b.ours(ev.Sender) && ev.Sender != bot:
			b.relay(ev, content.Body)
			if err := b.echo(ctx, ev, content.Body); err != nil {
				return err
			}
		}
	}
	return b.acknowledge()
}

// acknowledge is nil (the compliant 200 {}) unless a mutant says otherwise.
func (b *bridge) acknowledge() error {
	if b.mutant.Ack != nil {
		return fakeas.Answer(*b.mutant.Ack)
	}
	return nil
}

// echo relays a message back as the ghost @<prefix>echo with the remote
// time (the original's + 1 ms).
func (b *bridge) echo(ctx context.Context, ev matrix.ClientEvent, text string) error {
	prefix := b.prefix()
	ghost := "@" + prefix + "echo:" + serverOf(b.reg)
	if b.flawed(mutants.UnprefixedGhost) {
		ghost = "@echo:" + serverOf(b.reg)
	}
	if resp, err := b.hs.RegisterAS(ctx, prefix+"echo", true); err != nil || (resp.Status != http.StatusOK && resp.ErrCode() != "M_USER_IN_USE") {
		return fmt.Errorf("register echo ghost: %v %v", resp, err)
	}
	asBot, err := b.device(ctx, "", botDevice)
	if err != nil {
		return err
	}
	asGhost, err := b.device(ctx, ghost, ghostDevice)
	if err != nil {
		return err
	}
	_, _ = b.hs.Invite(ctx, ev.RoomID, ghost, asBot...)
	if err := b.check(b.hs.Join(ctx, ev.RoomID, asGhost...)); err != nil {
		return err
	}
	return b.check(b.hs.SendMessage(ctx, ev.RoomID, "echo: "+text, append(asGhost, csapi.TS(ev.OriginServerTS+1))...))
}

// The devices the reference acts as (acts-as-devices): its bot's, named
// without user_id, and the echo ghost's.
const botDevice, ghostDevice = "REFBOT", "REFECHO"

// device creates (or keeps) device for user, the bot when user is "" (v1.17
// "Device management": PUT /devices/{deviceId}), and returns the options
// of a request acting as it (v1.17 "Identity assertion").
func (b *bridge) device(ctx context.Context, user, device string) ([]csapi.Option, error) {
	var as []csapi.Option
	if user != "" {
		as = append(as, csapi.AsUser(user))
	}
	resp, err := b.hs.Do(ctx, http.MethodPut, "/_matrix/client/v3/devices/"+device, map[string]string{"display_name": "asconform reference"}, as...)
	if err != nil || (resp.Status != http.StatusOK && resp.Status != http.StatusCreated) {
		return nil, fmt.Errorf("creating device %s of %q: %v %v", device, user, resp, err)
	}
	// The flawed bridges name another user's device.
	switch {
	case user != "" && b.flawed(mutants.GhostActsAsBotDevice):
		device = botDevice
	case user == "" && b.flawed(mutants.BotActsAsGhostDevice):
		device = ghostDevice
	}
	return append(as, csapi.Query("device_id", device)), nil
}

func (b *bridge) check(resp csapi.Response, err error) error {
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK {
		return errors.New("homeserver answered " + resp.String())
	}
	return nil
}

func serverOf(reg matrix.Registration) string {
	_, server, _ := strings.Cut(strings.TrimSuffix(reg.Namespaces.Users[0].Regex, "$"), ":")
	return strings.ReplaceAll(server, `\`, "")
}
