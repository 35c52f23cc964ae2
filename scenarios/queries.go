package scenarios

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
)

// LateQueryWait is how long a scenario waits for a query the homeserver
// did not make while the client waited.
const LateQueryWait = 5 * time.Second

var routePrefix = map[fakeas.Route]string{
	fakeas.Users: "/_matrix/app/v1/users/", fakeas.Rooms: "/_matrix/app/v1/rooms/",
	fakeas.Ping: "/_matrix/app/v1/ping", fakeas.ThirdParty: "/_matrix/app/v1/thirdparty/",
	fakeas.KeysClaim: fakeas.KeysClaimPath, fakeas.KeysQuery: fakeas.KeysQueryPath,
}

// Routed lists the requests of route rt received in the scenario.
func (a *AppService) Routed(rt fakeas.Route) []recorder.Exchange {
	var got []recorder.Exchange
	for _, e := range a.Received() {
		if strings.HasPrefix(e.Path, routePrefix[rt]) {
			got = append(got, e)
		}
	}
	return got
}

// Only returns the one request of a route the fake AS got in this
// scenario. A homeserver that queries late (after answering the client) is
// still seen: the caller then judges the order.
func (a *AppService) Only(rt fakeas.Route) recorder.Exchange {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), a.Wait(LateQueryWait))
	defer cancel()
	_, _ = a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool { return len(a.Routed(rt)) > 0 })
	got := a.Routed(rt)
	Expect(got).To(HaveLen(1), "the homeserver should have sent exactly one %s request to the AS", rt)
	return got[0]
}

// HungUp returns the queries of route rt once at least one is recorded: a
// query is recorded when the homeserver hangs up on it, which may be just
// after it answered the client, or, for a query made after answering (as
// Synapse does for users), up to its own timeout later. It asserts
// nothing: a homeserver that never asks (Dendrite does not query users on
// invite) fails the specs judging the queries, not the scenario the other
// specs share.
func (a *AppService) HungUp(ctx context.Context, rt fakeas.Route) []recorder.Exchange {
	deadline := time.Now().Add(a.Wait(90 * time.Second))
	for len(a.Routed(rt)) == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(a.Wait(200 * time.Millisecond))
	}
	time.Sleep(a.Wait(time.Second))
	return a.Routed(rt)
}

// The hooks below are what a bridge does while the homeserver waits on its
// answer to a query; they run on the fake AS's goroutine and return errors.

// RegisterOnUserQuery scripts the AS to create the user it is asked about
// (localpart) during the next user query, then answer 200.
func (a *AppService) RegisterOnUserQuery(localpart string) {
	a.AS.On(fakeas.Users).Do(func(ctx context.Context, _ fakeas.Request) error {
		return Answered(a.ASClient.RegisterAS(ctx, localpart, true))
	}).Respond(http.StatusOK, nil)
}

// OpenPortalOnAliasQuery scripts the AS to open a portal (CreatePortal)
// for alias during the next alias query, after delay, then answer 200.
func (a *AppService) OpenPortalOnAliasQuery(alias, name string, delay time.Duration) {
	a.AS.On(fakeas.Rooms).Delay(delay).Do(func(ctx context.Context, _ fakeas.Request) error {
		_, err := CreatePortal(ctx, a.ASClient, alias, name)
		return err
	}).Respond(http.StatusOK, nil)
}

// CreatePortal is what a bridge does on an alias query: create the room,
// named, and publish the alias. It returns the room ID.
func CreatePortal(ctx context.Context, bridge *csapi.Client, alias, name string) (string, error) {
	created, err := bridge.CreateRoom(ctx, map[string]any{"preset": "public_chat", "name": name})
	if err := Answered(created, err); err != nil {
		return "", err
	}
	roomID := created.Field("room_id")
	return roomID, Answered(bridge.CreateAlias(ctx, alias, roomID))
}

// Answered is nil for a 200, else an error naming the request and answer.
func Answered(resp csapi.Response, err error) error {
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK {
		return errors.New(resp.Request + " answered " + resp.String())
	}
	return nil
}
