package fakehs_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
)

// roomEvents lists the event IDs of a room in stream order.
func roomEvents(hs *fakehs.Server, roomID string) []string {
	var out []string
	for _, ev := range hs.Events() {
		if ev.RoomID == roomID {
			out = append(out, ev.EventID)
		}
	}
	return out
}

// checkExactlyOnce verifies the delivery rules: every retry of a
// transaction ID carries the same bytes, a transaction is only sent after
// the previous one was acknowledged, and the acknowledged transactions
// carry want, in order, each event once.
func checkExactlyOnce(t *testing.T, fas *fakeas.Server, want []string) {
	t.Helper()
	bodies := map[string][]byte{}
	var order []string
	acked := map[string]bool{}
	for i, d := range transactionsTo(fas) {
		if prev, seen := bodies[d.id]; seen && !bytes.Equal(prev, d.body) {
			t.Fatalf("transaction %s changed between attempts:\n%s\n%s", d.id, prev, d.body)
		}
		if _, seen := bodies[d.id]; !seen {
			if n := len(order); n > 0 && !acked[order[n-1]] {
				t.Fatalf("attempt %d sent transaction %s before %s was acknowledged", i, d.id, order[n-1])
			}
			bodies[d.id] = d.body
			order = append(order, d.id)
		}
		if d.status == http.StatusOK {
			acked[d.id] = true
		}
	}
	var got []string
	for i, id := range order {
		if want := strconv.Itoa(i + 1); id != want {
			t.Fatalf("transaction IDs %v, want increasing from 1", order)
		}
		if !acked[id] {
			t.Fatalf("transaction %s never acknowledged", id)
		}
		for _, d := range transactionsTo(fas) {
			if d.id == id {
				got = append(got, d.events...)
				break
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered events\n%v\nwant\n%v", got, want)
	}
	if !slices.Equal(fas.AckedTransactions(), order) {
		t.Fatalf("AS acknowledged %v, HS sent %v", fas.AckedTransactions(), order)
	}
}

func TestDeliveryFollowsInterest(t *testing.T) {
	e := setup(t, withNamespaces(func(ns *matrix.Namespaces) { ns.Rooms = []matrix.Namespace{{Regex: "!watched.*"}} }))
	ghost := e.ghost("a")
	alice, bob := e.user("alice"), e.user("bob")

	ghostRoom := e.createRoom(alice, map[string]any{"preset": "public_chat"})
	e.ok(e.asc.Join(e.ctx, ghostRoom, csapi.AsUser(ghost)))
	e.send(alice, ghostRoom, "seen because a ghost is joined")

	aliasRoom := e.createRoom(bob, nil)
	e.ok(e.asc.CreateAlias(e.ctx, "#_bridge_alias:hs.test", aliasRoom))
	e.send(bob, aliasRoom, "seen because of the alias")

	privateRoom := e.createRoom(bob, nil)
	e.send(bob, privateRoom, "not seen")
	e.ok(bob.Invite(e.ctx, privateRoom, ghost)) // targets a ghost: seen
	e.waitIdle()

	delivered := map[string]bool{}
	for _, d := range transactionsTo(e.as) {
		for _, id := range d.events {
			delivered[id] = true
		}
	}
	for _, id := range roomEvents(e.hs, ghostRoom)[5:] { // from the ghost's join on
		if !delivered[id] {
			t.Errorf("event %s of the ghost's room not delivered", id)
		}
	}
	for _, id := range roomEvents(e.hs, aliasRoom)[5:] { // after the alias exists
		if !delivered[id] {
			t.Errorf("event %s of the aliased room not delivered", id)
		}
	}
	private := roomEvents(e.hs, privateRoom)
	for _, id := range private[:len(private)-1] {
		if delivered[id] {
			t.Errorf("event %s of an unrelated room delivered", id)
		}
	}
	if !delivered[private[len(private)-1]] {
		t.Error("invite of a ghost not delivered")
	}
	if evs := roomEvents(e.hs, ghostRoom); delivered[evs[0]] {
		t.Error("event from before any ghost joined delivered")
	}
}

func TestDeliveryBatchesInStreamOrder(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.BatchSize = 4 })
	ghost := e.ghost("a")
	e.hs.PauseDelivery()
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	for i := range 5 {
		e.send(e.asc, roomID, "m"+strconv.Itoa(i), csapi.AsUser(ghost))
	}
	if n := e.hs.AppService("bridge").Queued(); n != len(roomEvents(e.hs, roomID)) {
		t.Fatalf("queued %d events while paused", n)
	}
	e.hs.ResumeDelivery()
	e.waitIdle()
	all := roomEvents(e.hs, roomID)
	checkExactlyOnce(t, e.as, all)
	if ds := transactionsTo(e.as); len(ds) != (len(all)+3)/4 {
		t.Fatalf("%d events in %d transactions, want batches of 4", len(all), len(ds))
	}
}

func TestRetriesResendTheSameTransaction(t *testing.T) {
	for _, how := range []struct {
		name   string
		script func(*fakeas.Step)
	}{
		{"AS answers 500", func(st *fakeas.Step) { st.Fail() }},
		{"AS drops the connection", func(st *fakeas.Step) { st.Drop() }},
		{"AS answers 404", func(st *fakeas.Step) { st.Respond(404, nil) }},
	} {
		t.Run(how.name, func(t *testing.T) {
			e := setup(t)
			how.script(e.as.On(fakeas.Transactions).Times(2))
			ghost := e.ghost("a")
			roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
			e.waitIdle()
			ds := transactionsTo(e.as)
			if len(ds) != 3 || ds[0].id != ds[2].id {
				t.Fatalf("attempts %+v, want the same transaction three times", ds)
			}
			checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))
		})
	}
}

func TestRetryAfterTimeout(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	gate := e.as.On(fakeas.Transactions).Block()
	ghost := e.ghost("a")
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.wait(gate.Entered(), "first attempt")
	// The AS never answers the first attempt; the HS gives up on it and
	// sends the transaction again, which the AS then acknowledges.
	e.waitIdle()
	gate.Release()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))
}

// stepClock hands every backoff delay to the test and returns at once.
type stepClock struct{ delays chan time.Duration }

func (stepClock) Now() time.Time { return time.Now() }

func (c stepClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case c.delays <- d:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestBackoffGrowsExponentially(t *testing.T) {
	clock := stepClock{delays: make(chan time.Duration)}
	e := setup(t, func(c *fakehs.Config) {
		c.Clock, c.Backoff, c.MaxBackoff = clock, 10*time.Millisecond, 30*time.Millisecond
	})
	e.as.On(fakeas.Transactions).Fail().Times(5)
	ghost := e.ghost("a")
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	var got []time.Duration
	for range 5 {
		select {
		case d := <-clock.delays:
			got = append(got, d)
		case <-e.ctx.Done():
			t.Fatalf("hang guard: delays so far %v", got)
		}
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff %v, want %v", got, want)
	}
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))

	// Success resets the backoff.
	e.as.On(fakeas.Transactions).Fail()
	e.send(e.asc, roomID, "again", csapi.AsUser(ghost))
	select {
	case d := <-clock.delays:
		if d != 10*time.Millisecond {
			t.Fatalf("backoff after a success %v, want the base", d)
		}
	case <-e.ctx.Done():
		t.Fatal("hang guard: no retry")
	}
	e.waitIdle()
}

func TestOrderingAcrossFailures(t *testing.T) {
	e := setup(t)
	gate := e.as.On(fakeas.Transactions).Fail().Block()
	e.as.On(fakeas.Transactions).Fail().Times(3)
	ghost := e.ghost("a")
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.wait(gate.Entered(), "first transaction")
	// Events created while the first transaction is stuck and then failing
	// must wait behind it and keep their order.
	for i := range 10 {
		e.send(e.asc, roomID, "m"+strconv.Itoa(i), csapi.AsUser(ghost))
	}
	gate.Release()
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))
}

func TestRestartLosesAndDuplicatesNothing(t *testing.T) {
	e := setup(t)
	gate := e.as.On(fakeas.Transactions).Block()
	ghost := e.ghost("a")
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.wait(gate.Entered(), "first transaction")
	e.send(e.asc, roomID, "queued behind the stuck transaction", csapi.AsUser(ghost))
	port := e.hs.Port()
	if err := e.hs.Restart(); err != nil {
		t.Fatal(err)
	}
	gate.Release()
	if e.hs.Port() != port {
		t.Fatalf("restart moved the port from %d to %d", port, e.hs.Port())
	}
	e.send(e.asc, roomID, "after the restart", csapi.AsUser(ghost))
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))
	// The model survived too.
	if !e.hs.UserExists(ghost) || len(e.hs.JoinedMembers(roomID)) != 1 {
		t.Fatal("restart lost the model")
	}
}

func TestRestartDuringBackoff(t *testing.T) {
	clock := stepClock{delays: make(chan time.Duration)}
	e := setup(t, func(c *fakehs.Config) { c.Clock = clock })
	e.as.On(fakeas.Transactions).Fail().Times(2)
	ghost := e.ghost("a")
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	select {
	case <-clock.delays: // first failure seen, worker about to back off
	case <-e.ctx.Done():
		t.Fatal("hang guard: no retry")
	}
	e.waitFor(e.as.Recorder(), 2, isTxn, "second attempt") // stuck in the second backoff
	if err := e.hs.Restart(); err != nil {
		t.Fatal(err)
	}
	go func() { // keep releasing later backoffs
		for {
			select {
			case <-clock.delays:
			case <-e.ctx.Done():
				return
			}
		}
	}()
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))
}

func TestSeveralApplicationServices(t *testing.T) {
	other := registration("other", "as-token-other", "hs-token-other", "_other_")
	otherAS := startAS(t, &other)
	e := setup(t, func(c *fakehs.Config) { c.Registrations = append(c.Registrations, other) })
	otherClient := e.client("other", "as-token-other")
	if who := e.ok(otherClient.WhoAmI(e.ctx)); who.Field("user_id") != "@_other_bot:hs.test" {
		t.Fatalf("second as_token acts as %s", who)
	}
	resp, err := otherClient.RegisterAS(e.ctx, "_bridge_x", true)
	e.wantErr(resp, err, 400, "M_EXCLUSIVE")

	ghost := e.ghost("a")
	mine := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	theirs := e.createRoom(otherClient, nil)
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, mine))
	checkExactlyOnce(t, otherAS, roomEvents(e.hs, theirs))
	if ds := transactionsTo(otherAS); len(ds) != 1 || ds[0].status != 200 {
		t.Fatalf("other was sent %+v", ds)
	}
}

func TestRegistrationWithoutURLGetsNoTraffic(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.Registrations[0].URL = nil })
	ghost := e.ghost("a")
	e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.waitIdle()
	if n := e.as.Recorder().Len(); n != 0 {
		t.Fatalf("AS without url got %d requests", n)
	}
}

// TestLegacyFallback: a transaction the AS does not take on the versioned
// path goes, at once, to the legacy path with the same ID and bytes; an
// ack there acknowledges it, and the next transaction tries the versioned
// path first again ("Legacy routes").
func TestLegacyFallback(t *testing.T) {
	e := setup(t)
	e.as.On(fakeas.Transactions).Times(1).Respond(http.StatusNotFound, map[string]string{"errcode": "M_UNRECOGNIZED"})
	e.as.On(fakeas.Legacy).Always().Do(func(context.Context, fakeas.Request) error {
		return fakeas.Answer{Status: http.StatusOK, Body: map[string]any{}}
	})
	ghost := e.ghost("a")
	e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.waitIdle()
	e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.waitIdle()
	var paths []string
	var bodies [][]byte
	for _, x := range e.as.Recorder().All() {
		if x.Method == http.MethodPut {
			paths, bodies = append(paths, x.Path), append(bodies, x.Body)
		}
	}
	if len(paths) < 3 || paths[0] != "/_matrix/app/v1/transactions/1" || paths[1] != "/transactions/1" || paths[2] != "/_matrix/app/v1/transactions/2" {
		t.Fatalf("PUTs %v, want transaction 1 on the versioned then the legacy path, then transaction 2 on the versioned path", paths)
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("the legacy path got other bytes:\n%s\n%s", bodies[0], bodies[1])
	}
}

// TestRefusesSharedIDOrToken: registrations sharing an id or an as_token
// are refused (Registration: "The homeserver MUST enforce this").
func TestRefusesSharedIDOrToken(t *testing.T) {
	url := "http://127.0.0.1:1"
	a := fakeas.Member(1).Registration("hs.test", url)
	sameToken := fakeas.Member(2).Registration("hs.test", url)
	sameToken.ASToken = a.ASToken
	sameID := fakeas.Member(3).Registration("hs.test", url)
	sameID.ID = a.ID
	for name, twin := range map[string]matrix.Registration{"as_token": sameToken, "id": sameID} {
		if hs, err := fakehs.New("127.0.0.1:0", fakehs.Config{Registrations: []matrix.Registration{a, twin}}); err == nil {
			_ = hs.Close()
			t.Errorf("fakehs started with two registrations sharing an %s", name)
		}
	}
}
