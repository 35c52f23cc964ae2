package scenarios

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
)

// The scenarios of an AS that never answers: each lasts the homeserver's
// own timeout towards the AS, so they return what was recorded and leave
// judging to the caller (who may play several at the same time).

// PatientHTTP outlasts a homeserver's own timeout towards the AS, so the
// scenario sees the homeserver's answer rather than its own client giving
// up.
var PatientHTTP = &http.Client{Timeout: 3 * time.Minute}

// ClientsMeanwhile is what the room's owner got from the homeserver while
// a transaction to the AS hung: a send, then an initial sync with
// timeout=0, and how long each took (Hung: the transaction was seen
// hanging, so the calls were made).
type ClientsMeanwhile struct {
	Hung               bool
	Sent, Synced       csapi.Response
	SendTook, SyncTook time.Duration
}

// UnansweredTransaction has room's owner say something while the AS never
// answers a transaction, and returns every attempt that carried it, up to
// the acknowledged one (err: none was); while the first attempt hangs,
// the owner sends and syncs.
func (a *AppService) UnansweredTransaction(ctx context.Context, room BridgedRoom) ([]Delivered, ClientsMeanwhile, error) {
	var got ClientsMeanwhile
	hung := a.AS.On(fakeas.Transactions).Block()
	said := room.Say(ctx, room.Owner, "anyone awake?")
	select {
	case <-hung.Entered():
		got.Hung = true
		owner := room.Owner
		owner.HTTP = PatientHTTP
		start := time.Now()
		var err error
		got.Sent, err = owner.SendMessage(ctx, room.ID, "still answered?")
		got.SendTook = time.Since(start)
		Expect(err).NotTo(HaveOccurred())
		start = time.Now()
		got.Synced, err = owner.Do(ctx, http.MethodGet, "/_matrix/client/v3/sync", nil, csapi.Query("timeout", "0"))
		got.SyncTook = time.Since(start)
		Expect(err).NotTo(HaveOccurred())
	case <-time.After(a.Wait(DeliveryTimeout)):
	}
	attempts, err := a.WaitForAckWithin(ctx, said, 3*time.Minute)
	return attempts, got, err
}

// UnansweredPing has the AS ping itself through the homeserver, which it
// then never answers, and returns the homeserver's answer.
func (a *AppService) UnansweredPing(ctx context.Context) csapi.Response {
	a.ASClient.HTTP = PatientHTTP
	a.AS.On(fakeas.Ping).Block()
	pinged, err := a.ASClient.PingAS(ctx, a.Reg.ID, "")
	Expect(err).NotTo(HaveOccurred())
	return pinged
}

// UnansweredAliasQuery has joiner join alias, in the AS's namespace, while
// the AS never answers alias queries, and returns the join's answer and
// the queries the homeserver made.
func (a *AppService) UnansweredAliasQuery(ctx context.Context, joiner *csapi.Client, alias string) (csapi.Response, []recorder.Exchange) {
	joiner.HTTP = PatientHTTP
	a.AS.On(fakeas.Rooms).Always().Block()
	joined, err := joiner.Join(ctx, alias)
	Expect(err).NotTo(HaveOccurred())
	return joined, a.HungUp(ctx, fakeas.Rooms)
}

// UserQueryHung is what UnansweredUserQuery recorded.
type UserQueryHung struct {
	Invited csapi.Response
	Queries []recorder.Exchange
	// Hung says the user query was outstanding when the bystander's event
	// was sent; BystanderDelay is how long that event then took to be
	// acknowledged (BystanderErr: it never was).
	Hung           bool
	BystanderDelay time.Duration
	BystanderErr   error
}

// UnansweredUserQuery has room's owner invite ghost, in the AS's
// namespace, while the AS never answers user queries; while the query
// hangs, the owner speaks in elsewhere, bridged by another AS (bystander),
// to see whether the hung query holds up delivery to others.
func (a *AppService) UnansweredUserQuery(ctx context.Context, roomID, ghost string, bystander *AppService, elsewhere BridgedRoom) UserQueryHung {
	var got UserQueryHung
	inviter := elsewhere.Owner
	inviter.HTTP = PatientHTTP
	hung := a.AS.On(fakeas.Users).Always().Block()
	var inviteErr error
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		got.Invited, inviteErr = inviter.Invite(ctx, roomID, ghost)
	}()
	// The other AS's event is sent while the query hangs, whether the
	// homeserver asks before answering the invite or after.
	select {
	case <-hung.Entered():
		got.Hung = true
		sent := time.Now()
		_, got.BystanderErr = bystander.WaitForAckWithin(ctx, elsewhere.Say(ctx, inviter, "meanwhile, elsewhere"), 3*time.Minute)
		got.BystanderDelay = time.Since(sent)
	case <-time.After(a.Wait(90 * time.Second)):
	}
	<-answered
	Expect(inviteErr).NotTo(HaveOccurred())
	if got.Hung { // else none came in 90 s: waiting again shows nothing
		got.Queries = a.HungUp(ctx, fakeas.Users)
	}
	return got
}
