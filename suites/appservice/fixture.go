package appservice

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// describe opens a container of AS specs, labelled appservice; each of its
// specs first starts the environment and skips when it needs a capability
// the AS has not declared. The last argument is the container's body.
func describe(text string, args ...any) bool {
	body := args[len(args)-1].(func())
	args[len(args)-1] = func() {
		BeforeEach(requireEnv, NodeTimeout(startTimeout))
		body()
	}
	return Describe(text, append([]any{Label("appservice"), Offset(1)}, args...)...)
}

// Fixture is one spec's view: the fake homeserver's pusher for the AS, the
// spec's own users and IDs, and the recording since the spec began.
type Fixture struct {
	Env    *Env
	Push   Driver
	mark   int
	unique string
}

var fixtures atomic.Int64

// NewFixture must be called inside a spec.
func NewFixture(ctx context.Context) *Fixture {
	GinkgoHelper()
	e := Shared(ctx)
	f := &Fixture{
		Env: e, Push: Driver{e.HS.AppService(e.Reg.ID)}, mark: e.HS.Recorder().Len(),
		unique: fmt.Sprintf("%d%d", time.Now().Unix()%100000, fixtures.Add(1)),
	}
	DeferCleanup(func(ctx SpecContext) {
		suites.AttachTranscript(f.Exchanges(), map[string]string{"as_token": e.Reg.ASToken, "hs_token": e.Reg.HSToken})
		if CurrentSpecReport().Failed() && e.SUT != nil {
			suites.AttachSUTLog(e.SUT.Logs(ctx))
		}
	})
	return f
}

// forbid puts fakehs in strict mode for the rest of the spec: a
// client-server request of the AS that rule calls unexpected is a bug. The
// returned check fails the spec with each such request caught so far (its
// reason, request line and answer); the end of the spec checks again.
func (f *Fixture) forbid(rule fakehs.Rule) (check func()) {
	hs := f.Env.HS
	hs.Strict(rule)
	check = func() {
		GinkgoHelper()
		if caught := hs.Unexpected(); len(caught) > 0 {
			Fail(fmt.Sprintf("unexpected client-server requests of the AS (%d):\n%s", len(caught), strings.Join(caught, "\n")))
		}
	}
	DeferCleanup(func() {
		defer hs.Strict(nil)
		if !CurrentSpecReport().Failed() {
			check()
		}
	})
	return check
}

// Exchanges is what passed through fakehs, both ways, since the spec began.
func (f *Fixture) Exchanges() []recorder.Exchange { return f.Env.HS.Recorder().Since(f.mark) }

// ASCalls are the client-server requests the AS made since the spec began.
func (f *Fixture) ASCalls() []recorder.Exchange {
	var out []recorder.Exchange
	for _, e := range f.Exchanges() {
		if e.To == "homeserver" && e.From == "appservice" {
			out = append(out, e)
		}
	}
	return out
}

// Server is the fake homeserver's server name.
func (f *Fixture) Server() string { return f.Env.HS.ServerName() }

// Ghost is a user ID in the AS's exclusive users namespace.
func (f *Fixture) Ghost(name string) string {
	return "@" + f.prefix() + name + f.unique + ":" + f.Server()
}

// Alias is a room alias in the AS's exclusive aliases namespace.
func (f *Fixture) Alias(name string) string {
	return "#" + f.prefix() + name + f.unique + ":" + f.Server()
}

// Remote is the remote network of an AS that declares remote-network:
// the channel RemoteName(name) has the portal Alias(name), the user
// RemoteName(name) the ghost Ghost(name).
func (f *Fixture) Remote() scenarios.RemoteNetwork {
	return scenarios.RemoteNetwork{HS: f.Env.HS, ID: f.Env.Reg.ID}
}

// RemoteName names a channel or user of the remote network, unique to the
// spec.
func (f *Fixture) RemoteName(name string) string { return name + f.unique }

// prefix is the literal start of the AS's users regex ("sample_" for the
// sample), so specs can name IDs inside it.
func (f *Fixture) prefix() string {
	re := f.Env.Reg.Namespaces.Users[0].Regex
	return strings.TrimPrefix(strings.SplitN(re, ".*", 2)[0], "@")
}

// Outside is a localpart outside the AS's namespaces.
func (f *Fixture) Outside(name string) string { return "plain_" + name + f.unique }

// User registers a normal user on fakehs and returns its client.
func (f *Fixture) User(ctx context.Context, name string) *csapi.Client {
	GinkgoHelper()
	c := &csapi.Client{BaseURL: f.Env.HS.URL(), Name: name}
	resp, err := c.Register(ctx, f.Outside(name), "pw")
	if err != nil || resp.Status != http.StatusOK {
		suites.HarnessError(fmt.Errorf("registering %s on fakehs: %v %v", name, resp, err))
	}
	c.Token = resp.Field("access_token")
	return c
}

// Portal is a room on fakehs with the AS's bot joined: alice creates it and
// invites the bot; fakehs pushes the invite and the AS accepts it.
type Portal struct {
	ID    string
	Owner *csapi.Client
}

// NewPortal sets up a portal and waits until the AS's bot has joined.
func (f *Fixture) NewPortal(ctx context.Context, owner *csapi.Client) Portal {
	GinkgoHelper()
	bot := "@" + f.Env.Reg.SenderLocalpart + ":" + f.Server()
	id := createRoom(ctx, owner, map[string]any{"preset": "public_chat", "invite": []string{bot}})
	Eventually(func() []string { return f.Env.HS.JoinedMembers(id) }).WithContext(ctx).WithTimeout(30*time.Second).
		Should(ContainElement(bot), "the AS did not accept its bot's invite to %s", id)
	return Portal{ID: id, Owner: owner}
}

// Room is where a spec pushes its messages: a portal when the AS declares
// that it joins on invite, else a room of owner's that the AS is not in (it
// must acknowledge the transaction all the same).
func (f *Fixture) Room(ctx context.Context, owner *csapi.Client) Portal {
	GinkgoHelper()
	if has(harness.JoinsOnInvite) {
		return f.NewPortal(ctx, owner)
	}
	id := createRoom(ctx, owner, map[string]any{"preset": "public_chat"})
	suites.Observe("room", "the AS declares no "+harness.JoinsOnInvite+": its bot is not in the room")
	return Portal{ID: id, Owner: owner}
}

// createRoom creates a room on fakehs as owner and returns its ID.
func createRoom(ctx context.Context, owner *csapi.Client, body map[string]any) string {
	GinkgoHelper()
	created, err := owner.CreateRoom(ctx, body)
	Expect(err).NotTo(HaveOccurred())
	Expect(created).To(match.HaveStatus(http.StatusOK))
	return created.Field("room_id")
}

// Message is a synthetic m.room.message from sender in room, not in
// fakehs's own stream, so that only the spec's pushes carry it.
func (f *Fixture) Message(roomID, sender, text string) matrix.ClientEvent {
	content, _ := json.Marshal(map[string]any{"msgtype": "m.text", "body": text})
	return matrix.ClientEvent{
		EventID: fmt.Sprintf("$asc%s-%d", f.unique, fixtures.Add(1)), Type: "m.room.message",
		RoomID: roomID, Sender: sender, OriginServerTS: time.Now().Add(-time.Minute).UnixMilli(), Content: content,
	}
}

// TxnID is a transaction ID unique to this spec.
func (f *Fixture) TxnID(name string) string { return "asc-" + name + "-" + f.unique }

// Echoes counts the events on fakehs whose body is "echo: " + text.
func (f *Fixture) Echoes(text string) []matrix.ClientEvent {
	var out []matrix.ClientEvent
	for _, ev := range f.Env.HS.Events() {
		var c struct {
			Body string `json:"body"`
		}
		if ev.Type == "m.room.message" && json.Unmarshal(ev.Content, &c) == nil && c.Body == "echo: "+text {
			out = append(out, ev)
		}
	}
	return out
}

// restarter is an AS deployment that can restart its AS, keeping what it
// keeps on disk: a container (harness.Container) or the reference AS.
type restarter interface {
	Restart(ctx context.Context, readyTimeout time.Duration) error
}

// RestartAS restarts the AS under test (a container restart for an image)
// and points fakehs at it again: its port may change. The AS is shared by
// the suite's specs; the next spec finds it restarted, with whatever it
// keeps across a restart. An AS the harness did not start (external mode)
// cannot be restarted: the spec is skipped.
func (f *Fixture) RestartAS(ctx context.Context) {
	GinkgoHelper()
	r, ok := f.Env.SUT.(restarter)
	if !ok {
		Skip("needs to restart the AS under test, which the harness can do only for an AS it started: not in external mode")
	}
	cfg, err := suites.Settings()
	if err != nil {
		suites.HarnessError(err)
	}
	if err := r.Restart(ctx, cfg.ReadyTimeout); err != nil {
		suites.HarnessError(fmt.Errorf("restarting the AS under test: %w", err))
	}
	url := f.Env.SUT.BaseURL()
	f.Env.Reg.URL = &url
	if err := f.Env.HS.SetRegistration(f.Env.Reg); err != nil {
		suites.HarnessError(err)
	}
}

// BotJoined is a synthetic m.room.member event: the AS's bot joined
// roomID. A transaction carrying it tells an AS that keeps its room state
// only in memory (both samples) that its bot is in the room, even after
// a restart.
func (f *Fixture) BotJoined(roomID string) matrix.ClientEvent {
	bot := "@" + f.Env.Reg.SenderLocalpart + ":" + f.Server()
	return matrix.ClientEvent{
		EventID: fmt.Sprintf("$asc%s-%d", f.unique, fixtures.Add(1)), Type: "m.room.member",
		RoomID: roomID, Sender: bot, OriginServerTS: time.Now().Add(-time.Minute).UnixMilli(),
		Content: json.RawMessage(`{"membership":"join"}`), StateKey: &bot,
	}
}
