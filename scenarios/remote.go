package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

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
	resp, err := n.HS.AppService(n.ID).Do(ctx, http.MethodPut, RemotePath+url.PathEscape(channel)+"/"+url.PathEscape(m.ID), body, fakehs.From(RemoteParty))
	Expect(err).NotTo(HaveOccurred(), "the remote network could not reach the bridge")
	Expect(resp.Status).To(Equal(http.StatusOK), "the bridge refused remote message %s on %s: %s", m.ID, channel, resp)
}

// Relayed is what reached channel from Matrix.
func (n RemoteNetwork) Relayed(ctx context.Context, channel string) []RemoteMessage {
	GinkgoHelper()
	resp, err := n.HS.AppService(n.ID).Do(ctx, http.MethodGet, RemotePath+url.PathEscape(channel), nil, fakehs.From(RemoteParty))
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
	b.Send = last(n.HS.Recorder().All(), func(e recorder.Exchange) bool {
		return e.From == "appservice" && e.Method == http.MethodPut && strings.Contains(e.Path, "/send/") && strings.Contains(string(e.RespBody), b.Event.EventID)
	})
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
