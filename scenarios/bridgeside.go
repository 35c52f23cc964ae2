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
// homeserver pushes it to the bridge in a transaction, and a bridge that
// answers messages answers as one of its ghosts (?user_id=), with the
// remote time if it massages timestamps (?ts=).
//
// Run's steps follow the seed's numbers (its steps 1 and 2, the
// registration and the remote channel, are the caller's set-up); the
// seed's step 5, the remote user answering, is the bridge's answer, so it
// shares a step with the push it answers. It fails the spec where the
// bridge breaks the flow; what the spec judges beyond the flow (which IDs
// the bridge asserts, say) it checks itself on the recorded exchanges.
type BridgeWalkthrough struct {
	HS    *fakehs.Server
	Reg   matrix.Registration
	Alice *csapi.Client
	Alias string // in the bridge's aliases namespace, unknown to the homeserver
	Text  string // what Alice says
	// Answers says the bridge answers a message in a room of its own
	// (the echoes-messages capability: "echo: <body>" from one of its users).
	Answers bool
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
}

// Run plays the walkthrough; the caller observes and judges the result.
func (w BridgeWalkthrough) Run(ctx context.Context) BridgeResult {
	GinkgoHelper()
	var res BridgeResult
	rec := w.HS.Recorder()

	By("3. Alice joins " + w.Alias + ": the homeserver does not know it and asks the bridge, which builds the room first")
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

	w.check()

	By("4. Alice says " + w.Text)
	said := w.Alice.MustSend(ctx, res.RoomID, w.Text)

	// The push and the answer are one step: a bridge may answer while the
	// homeserver's push is still open (the reference does), so a step
	// begun after the push was acknowledged would misplace the answer.
	step5 := "5. the homeserver pushes it to the bridge in a transaction"
	if w.Answers {
		step5 += "; the bridge answers as one of its ghosts (?user_id=), with the remote time if it massages timestamps (?ts=)"
	}
	By(step5)
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
	if !w.Answers {
		return res
	}
	answer := "echo: " + w.Text
	answered := func() bool {
		for _, ev := range w.HS.Events() {
			var c struct {
				Body string `json:"body"`
			}
			if ev.RoomID == res.RoomID && ev.Type == "m.room.message" && json.Unmarshal(ev.Content, &c) == nil && c.Body == answer {
				res.AnswerEvent = ev
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); !answered() && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}
	if res.AnswerEvent.EventID == "" {
		w.check()
		Fail(fmt.Sprintf("the bridge did not answer %q in %s within 30s", w.Text, res.RoomID))
	}
	res.Answer = last(rec.Since(mark), func(e recorder.Exchange) bool {
		return e.From == "appservice" && e.Method == http.MethodPut && strings.Contains(e.Path, "/send/") && strings.Contains(string(e.RespBody), res.AnswerEvent.EventID)
	})
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

// last is the last exchange of es that keep selects (the zero one if none).
func last(es []recorder.Exchange, keep func(recorder.Exchange) bool) recorder.Exchange {
	for i := len(es) - 1; i >= 0; i-- {
		if keep(es[i]) {
			return es[i]
		}
	}
	return recorder.Exchange{}
}
