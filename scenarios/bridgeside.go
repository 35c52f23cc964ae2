package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
)

// BridgeWalkthrough is the IRC walkthrough of the 2015 design seen from
// the bridge's side: fakehs plays the homeserver and the AS under test the
// bridge. Alice, a user of fakehs, joins an alias of the bridge's that the
// homeserver does not know; the homeserver asks the bridge, which builds
// the room and binds the alias through the client-server API before it
// answers, and only then is the join let through. Alice speaks; the
// homeserver pushes it to the bridge in a transaction.
//
// With a remote network the suite drives (Remote: the remote-network
// capability) the flow is the seed's own: Bob speaks on the remote channel
// before anyone from Matrix is there (the bridge keeps it), his message
// appears in the new room as his ghost, Alice's message reaches the remote
// channel, and Bob's answer there is bridged as his ghost. Without one, a
// bridge that answers messages (Answers) answers as one of its ghosts.
//
// Run's steps follow the seed's numbers (its step 1, the registration, is
// the caller's set-up). It fails the spec where the bridge breaks the
// flow; what the spec judges beyond the flow (which IDs the bridge
// asserts, the timestamps it gives) it checks or observes itself on the
// result and the recorded exchanges.
type BridgeWalkthrough struct {
	HS    *fakehs.Server
	Reg   matrix.Registration
	Alice *csapi.Client
	Alias string // in the bridge's aliases namespace, unknown to the homeserver
	Text  string // what Alice says
	// Answers says the bridge answers a message in a room of its own
	// (the echoes-messages capability: "echo: <body>" from one of its users).
	Answers bool
	// Remote, if set, is the bridge's remote network; Channel is the remote
	// channel whose portal Alias is, Bob its user (BobGhost his ghost), who
	// says Scrollback before Alice joins and Reply after she spoke.
	Remote            *RemoteNetwork
	Channel, BobGhost string
	Scrollback, Reply RemoteMessage
	// Check, if set, is the spec's own judgement of what the bridge did
	// (on the recorded exchanges): run after each step and before the
	// walkthrough fails for an answer that never came, so that a bridge
	// whose answer the homeserver refused is judged for what it asked.
	Check func()
}

// BridgeResult is what the walkthrough saw.
type BridgeResult struct {
	RoomID string
	Join   recorder.Exchange // Alice's join by alias
	Query  recorder.Exchange // the homeserver's alias query to the bridge
	Pushed recorder.Exchange // the transaction that carried Alice's message
	Said   matrix.ClientEvent
	// Answer is the bridge's send of its answer and AnswerEvent the event
	// it made; Answer.Path is empty when the bridge does not answer.
	Answer      recorder.Exchange
	AnswerEvent matrix.ClientEvent
	// With a remote network: Bob's scrollback as bridged in step 3, and
	// Alice's message as it reached the remote channel (the answer is Bob's
	// reply as bridged).
	Scrollback Bridged
	Relayed    RemoteMessage
}

// Run plays the walkthrough; the caller observes and judges the result.
func (w BridgeWalkthrough) Run(ctx context.Context) BridgeResult {
	GinkgoHelper()
	var res BridgeResult
	rec := w.HS.Recorder()

	if w.Remote != nil {
		By(fmt.Sprintf("2. %s says %q on the remote channel %s while nobody from Matrix is in it: the bridge keeps it", w.Scrollback.Sender, w.Scrollback.Body, w.Channel))
		w.Remote.MustSay(ctx, w.Channel, w.Scrollback)
	}
	step3 := "3. Alice joins " + w.Alias + ": the homeserver does not know it and asks the bridge, which builds the room first"
	if w.Remote != nil {
		step3 += fmt.Sprintf("; %s's scrollback appears there as his ghost", w.Scrollback.Sender)
	}
	By(step3)
	mark := rec.Len()
	joined, err := w.Alice.Join(ctx, w.Alias)
	Expect(err).NotTo(HaveOccurred())
	since := rec.Since(mark)
	res.Join = last(since, func(e recorder.Exchange) bool { return e.To == "homeserver" && strings.Contains(e.Path, "/join/") })
	res.Query = last(since, func(e recorder.Exchange) bool {
		return e.From == "homeserver" && strings.HasPrefix(e.Path, "/_matrix/app/v1/rooms/")
	})
	Expect(res.Query.Path).NotTo(BeEmpty(), "the homeserver did not ask the bridge about %s", w.Alias)
	if joined.Status != http.StatusOK && res.Query.Status == http.StatusOK {
		if _, bound := w.HS.ResolveAlias(w.Alias); !bound {
			Fail(fmt.Sprintf("the bridge's alias query: answered 200 but %s is not bound to a room; Alice's join got %s", w.Alias, joined))
		}
	}
	Expect(joined).To(match.HaveStatus(http.StatusOK), "Alice's join of %s through the bridge", w.Alias)
	res.RoomID = joined.Field("room_id")
	bound, _ := w.HS.ResolveAlias(w.Alias)
	Expect(res.RoomID).To(Equal(bound), "Alice joined another room than the one %s is bound to", w.Alias)
	for what, fragment := range map[string]string{"created the room": "/createRoom", "bound the alias": "/directory/room/"} {
		call := last(since, func(e recorder.Exchange) bool { return e.From == "appservice" && strings.Contains(e.Path, fragment) })
		Expect(call.Path).NotTo(BeEmpty(), "the bridge never %s (no %s call)", what, fragment)
		Expect(call.End.Before(res.Query.End)).To(BeTrue(), "the bridge %s only after answering the alias query (%s ended %s, the answer %s)",
			what, fragment, call.End.Format("15:04:05.000"), res.Query.End.Format("15:04:05.000"))
	}

	if w.Remote != nil {
		res.Scrollback = w.Remote.MustAppear(ctx, res.RoomID, w.BobGhost, w.Scrollback)
	}
	w.check()

	if w.Remote != nil {
		By("4. Alice says " + w.Text + ": the homeserver pushes it to the bridge in a transaction, and the bridge passes it to the remote channel")
	} else {
		By("4. Alice says " + w.Text)
	}
	said := w.Alice.MustSend(ctx, res.RoomID, w.Text)

	// The push and the answer are one step: a bridge may answer while the
	// homeserver's push is still open (the reference does), so a step
	// begun after the push was acknowledged would misplace the answer.
	if w.Remote == nil {
		step5 := "5. the homeserver pushes it to the bridge in a transaction"
		if w.Answers {
			step5 += "; the bridge answers as one of its ghosts (?user_id=), with the remote time if it massages timestamps (?ts=)"
		}
		By(step5)
	}
	// Wait for the push of Alice's message to be answered. A push the
	// bridge does not acknowledge with 200 (this one or one before it,
	// which the homeserver retries first) ends the wait: the homeserver
	// would hold Alice's message back behind it.
	var refused recorder.Exchange
	pushed := func() bool {
		for _, e := range rec.Since(mark) {
			if e.From != "homeserver" || !strings.HasPrefix(e.Path, "/_matrix/app/v1/transactions/") || e.Status == 0 {
				continue
			}
			if strings.Contains(string(e.Body), said) {
				res.Pushed = e
			}
			if e.Status != http.StatusOK && refused.Path == "" {
				refused = e
			}
		}
		return res.Pushed.Path != "" || refused.Path != ""
	}
	for deadline := time.Now().Add(30 * time.Second); !pushed() && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}
	w.check() // a bridge that fails the push because its answer was refused is judged for what it asked first
	if refused.Path != "" {
		Fail(fmt.Sprintf("the bridge's answer to the homeserver's push %s\nExpected status [200]\nActual: %d %s", refused.Path, refused.Status, strings.TrimSpace(string(refused.RespBody))))
	}
	if res.Pushed.Path == "" {
		Fail(fmt.Sprintf("the homeserver had no answer to a push of Alice's message %s within 30s", said))
	}
	for _, ev := range w.HS.Events() {
		if ev.EventID == said {
			res.Said = ev
		}
	}

	w.check()
	if w.Remote != nil {
		res.Relayed = w.Remote.MustReach(ctx, w.Channel, said, w.Alice.UserID(ctx), w.Text)
		By(fmt.Sprintf("5. %s answers %q on the remote channel: the bridge sends it as his ghost", w.Reply.Sender, w.Reply.Body))
		w.Remote.MustSay(ctx, w.Channel, w.Reply)
		answer := w.Remote.MustAppear(ctx, res.RoomID, w.BobGhost, w.Reply)
		res.Answer, res.AnswerEvent = answer.Send, answer.Event
		w.check()
		return res
	}
	if !w.Answers {
		return res
	}
	answer := "echo: " + w.Text
	answered := func() bool {
		res.AnswerEvent = messageIn(w.HS.Events(), res.RoomID, answer)
		return res.AnswerEvent.EventID != ""
	}
	for deadline := time.Now().Add(30 * time.Second); !answered() && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}
	if res.AnswerEvent.EventID == "" {
		w.check()
		Fail(fmt.Sprintf("the bridge did not answer %q in %s within 30s", w.Text, res.RoomID))
	}
	res.Answer = sendOf(rec.Since(mark), res.AnswerEvent.EventID)
	Expect(res.Answer.Path).NotTo(BeEmpty(), "no send of the bridge's recorded for %s", res.AnswerEvent.EventID)
	w.check()
	return res
}

func (w BridgeWalkthrough) check() {
	GinkgoHelper()
	if w.Check != nil {
		w.Check()
	}
}

// sendOf is the AS's send among es that made eventID.
func sendOf(es []recorder.Exchange, eventID string) recorder.Exchange {
	return last(es, func(e recorder.Exchange) bool {
		return e.From == "appservice" && e.Method == http.MethodPut && strings.Contains(e.Path, "/send/") && strings.Contains(string(e.RespBody), eventID)
	})
}

// last is the last exchange of es that keep selects (the zero one if none).
func last(es []recorder.Exchange, keep func(recorder.Exchange) bool) recorder.Exchange {
	for i := len(es) - 1; i >= 0; i-- {
		if keep(es[i]) {
			return es[i]
		}
	}
	return recorder.Exchange{}
}

// RemotePath is where an AS that declares remote-network serves the tiny
// remote network the suite drives, on its own port (README: "What an AS
// may declare"). Test scaffolding, in no spec.
const RemotePath = "/_asconform/remote/"

// RemoteParty names the remote network in transcripts.
const RemoteParty = "remote network"

// RemoteMessage is one message of a remote channel: said there
// (PUT {RemotePath}{channel}/{id}, the ID in the path) or relayed from
// Matrix (GET {RemotePath}{channel}: "relayed", with the Matrix event ID
// and user ID).
type RemoteMessage struct {
	ID     string `json:"id,omitempty"`
	Sender string `json:"sender"` // a remote nickname, or the Matrix user of a relayed message
	Body   string `json:"body"`
	TS     int64  `json:"ts,omitempty"`  // when it was said on the remote network, ms since the epoch
	URL    string `json:"url,omitempty"` // the remote network's link to it
}

// RemoteNetwork drives the remote network of the AS registered as ID on HS
// (authenticated with its hs_token, like the homeserver's calls).
type RemoteNetwork struct {
	HS *fakehs.Server
	ID string
}

// MustSay makes m.Sender say m on channel; the bridge answers 200 once it
// bridged the message, or kept it when the channel has no portal yet.
func (n RemoteNetwork) MustSay(ctx context.Context, channel string, m RemoteMessage) {
	GinkgoHelper()
	body, err := json.Marshal(RemoteMessage{Sender: m.Sender, Body: m.Body, TS: m.TS, URL: m.URL})
	Expect(err).NotTo(HaveOccurred())
	resp, err := n.HS.AppService(n.ID).Do(ctx, http.MethodPut, RemotePath+csapi.PathEscape(channel)+"/"+csapi.PathEscape(m.ID), body, fakehs.From(RemoteParty))
	Expect(err).NotTo(HaveOccurred(), "the remote network could not reach the bridge")
	Expect(resp.Status).To(Equal(http.StatusOK), "the bridge refused remote message %s on %s: %s", m.ID, channel, resp)
}

// Relayed is what reached channel from Matrix.
func (n RemoteNetwork) Relayed(ctx context.Context, channel string) []RemoteMessage {
	GinkgoHelper()
	resp, err := n.HS.AppService(n.ID).Do(ctx, http.MethodGet, RemotePath+csapi.PathEscape(channel), nil, fakehs.From(RemoteParty))
	Expect(err).NotTo(HaveOccurred(), "the remote network could not reach the bridge")
	Expect(resp.Status).To(Equal(http.StatusOK), "the bridge's remote channel %s: %s", channel, resp)
	var got struct {
		Relayed []RemoteMessage `json:"relayed"`
	}
	Expect(resp.JSON(&got)).To(Succeed())
	return got.Relayed
}

// Bridged is a remote message as it appeared in its portal: the event and
// the bridge's send that made it.
type Bridged struct {
	Event matrix.ClientEvent
	Send  recorder.Exchange
}

// MustAppear waits (30 s at most) for m in roomID, checks that ghost sent
// it and returns it with the bridge's send.
func (n RemoteNetwork) MustAppear(ctx context.Context, roomID, ghost string, m RemoteMessage) Bridged {
	GinkgoHelper()
	var b Bridged
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(100 * time.Millisecond) {
		if b.Event = messageIn(n.HS.Events(), roomID, m.Body); b.Event.EventID != "" {
			break
		}
	}
	if b.Event.EventID == "" {
		Fail(fmt.Sprintf("remote message %s (%q by %s) never appeared in its portal %s within 30s", m.ID, m.Body, m.Sender, roomID))
	}
	Expect(b.Event.Sender).To(Equal(ghost), "remote message %s by %s was sent into the portal as %s, not as the ghost of its sender", m.ID, m.Sender, b.Event.Sender)
	b.Send = sendOf(n.HS.Recorder().All(), b.Event.EventID)
	Expect(b.Send.Path).NotTo(BeEmpty(), "no send of the bridge's recorded for %s", b.Event.EventID)
	return b
}

// MustReach waits (30 s at most) for the Matrix event eventID, sent by
// sender, to reach channel with its body.
func (n RemoteNetwork) MustReach(ctx context.Context, channel, eventID, sender, body string) RemoteMessage {
	GinkgoHelper()
	var seen []RemoteMessage
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(200 * time.Millisecond) {
		seen = n.Relayed(ctx, channel)
		for _, m := range seen {
			if m.ID == eventID {
				Expect(m.Sender).To(Equal(sender), "%s reached the remote channel %s under another sender", eventID, channel)
				Expect(m.Body).To(Equal(body), "%s reached the remote channel %s with another body", eventID, channel)
				return m
			}
		}
	}
	Fail(fmt.Sprintf("the Matrix message %s never reached the remote channel %s within 30s (the channel got %d relayed messages: %+v)", eventID, channel, len(seen), seen))
	return RemoteMessage{}
}

// messageIn is the first m.room.message in roomID whose body is body.
func messageIn(events []matrix.ClientEvent, roomID, body string) matrix.ClientEvent {
	for _, ev := range events {
		var c struct {
			Body string `json:"body"`
		}
		if ev.RoomID == roomID && ev.Type == "m.room.message" && json.Unmarshal(ev.Content, &c) == nil && c.Body == body {
			return ev
		}
	}
	return matrix.ClientEvent{}
}
