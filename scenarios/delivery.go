package scenarios

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
)

// The scripted delivery scenarios of a fake AS that does not acknowledge:
// what the homeserver sent is then judged with the checks of checks.go.

// SayWhileFailing scripts the AS's next transaction(s) (script: dropped,
// failed, how many times), has the room's owner say text, and returns
// every attempt that carried it, up to the acknowledged one.
func (a *AppService) SayWhileFailing(ctx context.Context, room BridgedRoom, text string, script func(*fakeas.Step)) []Delivered {
	GinkgoHelper()
	script(a.AS.On(fakeas.Transactions))
	return a.ExpectAck(ctx, room.Say(ctx, room.Owner, text))
}

// SayWhileHeld holds the AS's answer to the next transaction, which
// carries what first says; what meanwhile says queues up behind it. Then
// the AS answers, and SayWhileHeld waits for all of it, which it returns,
// first first.
func (a *AppService) SayWhileHeld(ctx context.Context, first func() Sent, meanwhile func() []Sent) []Sent {
	GinkgoHelper()
	held := a.AS.On(fakeas.Transactions).Times(1).Block()
	sent := []Sent{first()}
	Eventually(held.Entered()).WithContext(ctx).Should(BeClosed())
	sent = append(sent, meanwhile()...)
	held.Release()
	a.WaitForAll(ctx, sent)
	return sent
}

// SayWhileDown takes the AS down (every transaction dropped), has the
// room's owner say n messages, and returns them once the homeserver has
// tried to deliver. The AS is back with a.AS.Reset().
func (a *AppService) SayWhileDown(ctx context.Context, room BridgedRoom, text string, n int) []Sent {
	GinkgoHelper()
	By("AS down")
	a.AS.On(fakeas.Transactions).Always().Drop()
	var sent []Sent
	for i := range n {
		sent = append(sent, room.Said(ctx, fmt.Sprintf("%s %d", text, i)))
	}
	a.WaitForFailedAttempt(ctx)
	return sent
}
