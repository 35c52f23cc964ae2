package fakehs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
)

func isQuery(kind string) func(recorder.Exchange) bool {
	return func(x recorder.Exchange) bool { return strings.HasPrefix(x.Path, "/_matrix/app/v1/"+kind+"/") }
}

func TestUserQueryBlocksTheInvite(t *testing.T) {
	e := setup(t)
	alice := e.user("alice")
	roomID := e.createRoom(alice, nil)
	const wanted, unwanted = "@_bridge_wanted:hs.test", "@_bridge_unwanted:hs.test"
	asked := make(chan string, 2)
	e.as.On(fakeas.Users).Do(func(ctx context.Context, req fakeas.Request) error {
		asked <- req.Param
		// The AS creates the user while the homeserver waits.
		resp, err := e.asc.RegisterAS(ctx, strings.TrimPrefix(strings.Split(req.Param, ":")[0], "@"), true)
		if err != nil || resp.Status != 200 {
			return fmt.Errorf("register: %v %v", resp, err)
		}
		return nil
	}).Respond(200, nil) // a hook alone keeps fakeas's default 404
	e.ok(alice.Invite(e.ctx, roomID, wanted))
	if got := <-asked; got != wanted {
		t.Fatalf("AS asked about %s", got)
	}
	var member struct{ Membership string }
	if e.ok(alice.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/rooms/"+csapi.PathEscape(roomID)+"/state/m.room.member/"+wanted, nil)).JSON(&member) != nil ||
		member.Membership != "invite" {
		t.Fatalf("membership %+v", member)
	}

	// Default fakeas answer: 404, the user does not exist.
	resp, err := alice.Invite(e.ctx, roomID, unwanted)
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
	if e.hs.UserExists(unwanted) {
		t.Fatal("user created after a 404")
	}
	// Users outside every namespace, and known users, are not queried.
	e.user("bob")
	e.ok(alice.Invite(e.ctx, roomID, "@bob:hs.test"))
	resp, err = alice.Invite(e.ctx, roomID, "@carol:hs.test")
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
	e.ok(alice.Invite(e.ctx, roomID, wanted))
	if n := len(e.as.Recorder().Filter(isQuery("users"))); n != 2 {
		t.Fatalf("%d user queries, want 2", n)
	}
}

func TestUserQueryAnswered200WithoutCreating(t *testing.T) {
	e := setup(t)
	alice := e.user("alice")
	roomID := e.createRoom(alice, nil)
	e.as.On(fakeas.Users).Respond(200, nil)
	resp, err := alice.Invite(e.ctx, roomID, "@_bridge_liar:hs.test")
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
}

func TestUnansweredQueryGives408(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) {
		c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
		c.QueryAttempts = 2
	})
	alice := e.user("alice")
	roomID := e.createRoom(alice, nil)
	e.as.On(fakeas.Users).Always().Block() // released when the fake AS closes
	resp, err := alice.Invite(e.ctx, roomID, "@_bridge_slow:hs.test")
	e.wantErr(resp, err, 408, "M_UNKNOWN")
	asked := e.hs.Recorder().Filter(isQuery("users"))
	if len(asked) != 2 || asked[0].Status != 0 || asked[1].Status != 0 {
		t.Fatalf("queries %+v, want two unanswered attempts", asked)
	}
}

func TestAliasQueryBlocksTheJoin(t *testing.T) {
	e := setup(t)
	alice := e.user("alice")
	const lobby = "#_bridge_lobby:hs.test"
	e.as.On(fakeas.Rooms).Do(func(ctx context.Context, req fakeas.Request) error {
		if req.Param != lobby {
			return fmt.Errorf("asked about %s", req.Param)
		}
		resp, err := e.asc.CreateRoom(ctx, map[string]any{"preset": "public_chat", "room_alias_name": "_bridge_lobby"})
		if err != nil || resp.Status != 200 {
			return fmt.Errorf("createRoom: %v %v", resp, err)
		}
		return nil
	}).Respond(200, nil)
	resp := e.ok(alice.Join(e.ctx, lobby))
	if roomID, _ := e.hs.ResolveAlias(lobby); roomID == "" || resp.Field("room_id") != roomID {
		t.Fatalf("joined %s, alias points to %q", resp, roomID)
	}
	if members := e.hs.JoinedMembers(resp.Field("room_id")); len(members) != 2 {
		t.Fatalf("members %v", members)
	}

	resp, err := alice.Join(e.ctx, "#_bridge_nothing:hs.test")
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
	resp, err = alice.Join(e.ctx, "#plain:hs.test") // outside every namespace: no query
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
	if n := len(e.as.Recorder().Filter(isQuery("rooms"))); n != 2 {
		t.Fatalf("%d alias queries, want 2", n)
	}
}

func TestClientPing(t *testing.T) {
	pingPath := func(id string) string { return "/_matrix/client/v1/appservice/" + id + "/ping" }
	t.Run("success passes the transaction_id through", func(t *testing.T) {
		e := setup(t)
		resp := e.ok(e.asc.Do(e.ctx, http.MethodPost, pingPath("bridge"), map[string]string{"transaction_id": "meow"}))
		var body struct {
			DurationMS *int64 `json:"duration_ms"`
		}
		if resp.JSON(&body) != nil || body.DurationMS == nil {
			t.Fatalf("no duration_ms: %s", resp)
		}
		pings := e.as.Recorder().Filter(recorder.PathPrefix("/_matrix/app/v1/ping"))
		if len(pings) != 1 || string(pings[0].Body) != `{"transaction_id":"meow"}` || pings[0].Header.Get("Authorization") != "Bearer "+hsToken {
			t.Fatalf("AS saw %+v", pings)
		}
	})
	t.Run("AS error status", func(t *testing.T) {
		e := setup(t)
		e.as.On(fakeas.Ping).Fail()
		resp, err := e.asc.Do(e.ctx, http.MethodPost, pingPath("bridge"), map[string]any{})
		e.wantErr(resp, err, 502, "M_BAD_STATUS")
		var body struct {
			Status int
			Body   string
		}
		if resp.JSON(&body) != nil || body.Status != 500 || !strings.Contains(body.Body, "M_UNKNOWN") {
			t.Fatalf("bad status details missing: %s", resp)
		}
	})
	t.Run("AS times out", func(t *testing.T) {
		e := setup(t, func(c *fakehs.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
		e.as.On(fakeas.Ping).Block()
		resp, err := e.asc.Do(e.ctx, http.MethodPost, pingPath("bridge"), map[string]any{})
		e.wantErr(resp, err, 504, "M_CONNECTION_TIMEOUT")
	})
	t.Run("AS unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String()
		_ = ln.Close()
		e := setup(t, func(c *fakehs.Config) { c.Registrations[0].URL = &dead })
		resp, err := e.asc.Do(e.ctx, http.MethodPost, pingPath("bridge"), map[string]any{})
		e.wantErr(resp, err, 502, "M_CONNECTION_FAILED")
	})
	t.Run("no url", func(t *testing.T) {
		e := setup(t, func(c *fakehs.Config) { c.Registrations[0].URL = nil })
		resp, err := e.asc.Do(e.ctx, http.MethodPost, pingPath("bridge"), map[string]any{})
		e.wantErr(resp, err, 400, "M_URL_NOT_SET")
	})
	t.Run("authentication", func(t *testing.T) {
		e := setup(t)
		alice := e.user("alice")
		for _, tt := range []struct {
			name, token, id string
			status          int
			errcode         string
		}{
			{"another service's ID", asToken, "other", 403, "M_FORBIDDEN"},
			{"a user's token", alice.Token, "bridge", 403, "M_FORBIDDEN"},
			{"no token", "", "bridge", 401, "M_MISSING_TOKEN"},
			{"unknown token", "nope", "bridge", 401, "M_UNKNOWN_TOKEN"},
		} {
			resp, err := e.client("c", tt.token).Do(e.ctx, http.MethodPost, pingPath(tt.id), map[string]any{})
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode {
				t.Errorf("%s: got %s (%v), want %d %s", tt.name, resp, err, tt.status, tt.errcode)
			}
		}
		if n := e.as.Recorder().Len(); n != 0 {
			t.Fatalf("refused pings still reached the AS %d times", n)
		}
	})
}

func TestSetRegistrationLater(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.Registrations[0].URL = nil })
	ghost := e.ghost("a")
	reg := e.reg
	if err := e.hs.SetRegistration(reg); err != nil { // now with the URL
		t.Fatal(err)
	}
	roomID := e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID))
	var body struct{ Events []json.RawMessage }
	if ds := transactionsTo(e.as); len(ds) != 1 || json.Unmarshal(ds[0].body, &body) != nil || len(body.Events) != 5 {
		t.Fatalf("transactions %+v", ds)
	}
}
