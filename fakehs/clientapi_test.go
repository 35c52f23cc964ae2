package fakehs_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

func TestVersionsAndUnknownEndpoints(t *testing.T) {
	e := setup(t)
	anon := e.client("client", "")
	resp := e.ok(anon.Do(e.ctx, http.MethodGet, "/_matrix/client/versions", nil))
	var v struct{ Versions []string }
	if err := resp.JSON(&v); err != nil || !slices.Contains(v.Versions, "v1.7") {
		t.Fatalf("versions: %s (%v)", resp, err)
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(resp.Body)) {
		t.Errorf("Content-Length %q for a %d-byte body", cl, len(resp.Body))
	}

	resp, err := e.asc.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/events", nil)
	e.wantErr(resp, err, 404, "M_UNRECOGNIZED")
	resp, err = e.asc.Do(e.ctx, http.MethodDelete, "/_matrix/client/v3/account/whoami", nil)
	e.wantErr(resp, err, 405, "M_UNRECOGNIZED")

	// An unmodelled call is a finding for the transcript, so it is recorded.
	got := e.hs.Recorder().Filter(func(x recorder.Exchange) bool { return x.Path == "/_matrix/client/v3/events" })
	if len(got) != 1 || got[0].From != "appservice" || got[0].To != "homeserver" || got[0].Status != 404 {
		t.Fatalf("unknown endpoint not recorded as expected: %+v", got)
	}
}

func TestAuthentication(t *testing.T) {
	e := setup(t)
	alice := e.user("alice")
	tests := []struct {
		name     string
		token    string
		opts     []csapi.Option
		status   int
		errcode  string
		wantUser string
		from     string
	}{
		{"no token", "", nil, 401, "M_MISSING_TOKEN", "", "client"},
		{"unknown token", "nope", nil, 401, "M_UNKNOWN_TOKEN", "", "client"},
		{"as_token acts as the sender", asToken, nil, 200, "", "@_bridge_bot:hs.test", "appservice"},
		{"as_token in access_token parameter", "", []csapi.Option{csapi.Query("access_token", asToken)}, 200, "", "@_bridge_bot:hs.test", "appservice"},
		{"user token", alice.Token, nil, 200, "", "@alice:hs.test", "@alice:hs.test"},
		{"user_id ignored for a user token", alice.Token, []csapi.Option{csapi.AsUser("@_bridge_bot:hs.test")}, 200, "", "@alice:hs.test", "@alice:hs.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := e.hs.Recorder().Len()
			resp, err := e.client("c", tt.token).WhoAmI(e.ctx, tt.opts...)
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode || resp.Field("user_id") != tt.wantUser {
				t.Fatalf("got %s (%v), want %d %s %s", resp, err, tt.status, tt.errcode, tt.wantUser)
			}
			if got := e.hs.Recorder().Since(mark); len(got) != 1 || got[0].From != tt.from {
				t.Fatalf("recorded %+v, want one exchange from %s", got, tt.from)
			}
		})
	}
}

func TestIdentityAssertion(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("alice")
	e.user("bob")
	tests := []struct {
		name    string
		userID  string
		status  int
		errcode string
	}{
		{"registered user in the namespace", ghost, 200, ""},
		{"sender user", "@_bridge_bot:hs.test", 200, ""},
		{"unregistered user in the namespace", "@_bridge_nobody:hs.test", 403, "M_FORBIDDEN"},
		{"user outside the namespace", "@bob:hs.test", 403, "M_FORBIDDEN"},
		{"remote user matching the regex text", "@_bridge_x:elsewhere.test", 403, "M_FORBIDDEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.asc.WhoAmI(e.ctx, csapi.AsUser(tt.userID))
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode {
				t.Fatalf("got %s (%v), want %d %s", resp, err, tt.status, tt.errcode)
			}
			if tt.status == 200 && resp.Field("user_id") != tt.userID {
				t.Fatalf("acting as %s, want %s", resp.Field("user_id"), tt.userID)
			}
		})
	}

	t.Run("device_id of another user", func(t *testing.T) {
		resp, err := e.asc.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
			"type": "m.login.application_service", "identifier": map[string]string{"type": "m.id.user", "user": ghost},
		})
		dev := e.must(resp, err, 200).Field("device_id")
		resp, err = e.asc.WhoAmI(e.ctx, csapi.AsUser(ghost), csapi.Query("device_id", dev))
		if e.must(resp, err, 200).Field("device_id") != dev {
			t.Fatalf("device not asserted: %s", resp)
		}
		resp, err = e.asc.WhoAmI(e.ctx, csapi.Query("device_id", dev))
		e.wantErr(resp, err, 400, "M_UNKNOWN_DEVICE")
	})
}

func TestApplicationServiceRegistration(t *testing.T) {
	other := registration("other", "as-token-other", "hs-token-other", "_other_")
	e := setup(t, func(c *fakehs.Config) { c.Registrations = append(c.Registrations, other) })
	tests := []struct {
		name     string
		token    string
		body     map[string]any
		status   int
		errcode  string
		loggedIn bool
	}{
		{"inside the namespace, inhibit_login", asToken, map[string]any{"username": "_bridge_a", "inhibit_login": true}, 200, "", false},
		{"inside the namespace, logged in", asToken, map[string]any{"username": "_bridge_b"}, 200, "", true},
		{"already registered", asToken, map[string]any{"username": "_bridge_a"}, 400, "M_USER_IN_USE", false},
		{"outside the namespace", asToken, map[string]any{"username": "plain"}, 400, "M_EXCLUSIVE", false},
		{"another service's exclusive namespace", asToken, map[string]any{"username": "_other_a"}, 400, "M_EXCLUSIVE", false},
		{"invalid username", asToken, map[string]any{"username": "_bridge_UPPER"}, 400, "M_INVALID_USERNAME", false},
		{"no token", "", map[string]any{"username": "_bridge_c"}, 401, "M_MISSING_TOKEN", false},
		{"unknown token", "nope", map[string]any{"username": "_bridge_c"}, 401, "M_UNKNOWN_TOKEN", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["type"] = "m.login.application_service"
			resp, err := e.client("appservice", tt.token).Do(e.ctx, http.MethodPost, "/_matrix/client/v3/register", tt.body)
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode {
				t.Fatalf("got %s (%v), want %d %s", resp, err, tt.status, tt.errcode)
			}
			if tt.status != 200 {
				return
			}
			if want := "@" + tt.body["username"].(string) + ":hs.test"; resp.Field("user_id") != want || !e.hs.UserExists(want) {
				t.Fatalf("registered %s, want %s", resp, want)
			}
			if got := resp.Field("access_token") != "" && resp.Field("device_id") != ""; got != tt.loggedIn {
				t.Fatalf("logged in = %v, want %v: %s", got, tt.loggedIn, resp)
			}
			if tt.loggedIn {
				who := e.ok(e.client("ghost", resp.Field("access_token")).WhoAmI(e.ctx))
				if who.Field("user_id") != resp.Field("user_id") {
					t.Fatalf("token acts as %s", who)
				}
			}
		})
	}
}

func TestNoLegacyLogin(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.NoLegacyLogin = true })
	resp, err := e.asc.RegisterAS(e.ctx, "_bridge_a", false)
	e.wantErr(resp, err, 400, "M_APPSERVICE_LOGIN_UNSUPPORTED")
	ghost := e.ghost("a")
	resp, err = e.asc.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
		"type": "m.login.application_service", "identifier": map[string]string{"type": "m.id.user", "user": ghost},
	})
	e.wantErr(resp, err, 400, "M_APPSERVICE_LOGIN_UNSUPPORTED")
}

func TestUserRegistration(t *testing.T) {
	e := setup(t, withNamespaces(func(ns *matrix.Namespaces) {
		ns.Users = append(ns.Users, matrix.Namespace{Exclusive: false, Regex: "@shared_.*"})
	}))
	anon := e.client("anon", "")
	register := func(body map[string]any) (csapi.Response, error) {
		return anon.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/register", body)
	}
	dummy := map[string]string{"type": "m.login.dummy"}

	// The namespace check comes before user-interactive authentication.
	resp, err := register(map[string]any{"username": "_bridge_x"})
	e.wantErr(resp, err, 400, "M_EXCLUSIVE")
	resp, err = register(map[string]any{"username": "shared_x"})
	e.must(resp, err, 401)
	var uia struct {
		Flows []struct{ Stages []string }
	}
	if resp.JSON(&uia) != nil || len(uia.Flows) == 0 || uia.Flows[0].Stages[0] != "m.login.dummy" {
		t.Fatalf("no dummy flow offered: %s", resp)
	}
	resp, err = register(map[string]any{"username": "shared_x", "password": "pw", "auth": dummy})
	if e.must(resp, err, 200).Field("user_id") != "@shared_x:hs.test" {
		t.Fatalf("registered %s", resp)
	}
	resp, err = register(map[string]any{"username": "shared_x", "auth": dummy})
	e.wantErr(resp, err, 400, "M_USER_IN_USE")
	resp, err = anon.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/register", map[string]any{}, csapi.Query("kind", "guest"))
	e.wantErr(resp, err, 403, "M_FORBIDDEN")

	resp, err = anon.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
		"type": "m.login.password", "identifier": map[string]string{"type": "m.id.user", "user": "shared_x"}, "password": "pw",
	})
	e.must(resp, err, 200)
	resp, err = anon.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
		"type": "m.login.password", "user": "shared_x", "password": "wrong",
	})
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
}

func TestApplicationServiceLogin(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("a")
	alice := e.user("alice")
	tests := []struct {
		name    string
		token   string
		user    string
		status  int
		errcode string
	}{
		{"registered user by ID", asToken, ghost, 200, ""},
		{"registered user by localpart", asToken, "_bridge_a", 200, ""},
		{"never registered", asToken, "_bridge_nobody", 403, "M_FORBIDDEN"},
		{"outside the namespace", asToken, "alice", 400, "M_EXCLUSIVE"},
		{"a user's token", alice.Token, ghost, 403, "M_FORBIDDEN"},
		{"no token", "", ghost, 401, "M_MISSING_TOKEN"},
		{"unknown token", "nope", ghost, 401, "M_UNKNOWN_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client("appservice", tt.token).Do(e.ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
				"type": "m.login.application_service", "identifier": map[string]string{"type": "m.id.user", "user": tt.user},
			})
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode {
				t.Fatalf("got %s (%v), want %d %s", resp, err, tt.status, tt.errcode)
			}
			if tt.status == 200 {
				who := e.ok(e.client("ghost", resp.Field("access_token")).WhoAmI(e.ctx))
				if who.Field("user_id") != ghost || who.Field("device_id") != resp.Field("device_id") {
					t.Fatalf("login token acts as %s", who)
				}
			}
		})
	}
}

func TestAliasNamespaces(t *testing.T) {
	e := setup(t, withNamespaces(func(ns *matrix.Namespaces) {
		ns.Aliases = append(ns.Aliases, matrix.Namespace{Exclusive: false, Regex: "#shared_.*"})
	}))
	alice := e.user("alice")
	roomID := e.createRoom(alice, nil)
	asRoom := e.createRoom(e.asc, nil)
	tests := []struct {
		name    string
		c       *csapi.Client
		alias   string
		room    string
		status  int
		errcode string
	}{
		{"AS inside its namespace", e.asc, "#_bridge_a:hs.test", asRoom, 200, ""},
		{"AS outside its namespaces", e.asc, "#plain:hs.test", asRoom, 400, "M_EXCLUSIVE"},
		{"user inside an exclusive namespace", alice, "#_bridge_b:hs.test", roomID, 400, "M_EXCLUSIVE"},
		{"user inside a non-exclusive namespace", alice, "#shared_a:hs.test", roomID, 200, ""},
		{"user outside any namespace", alice, "#plain:hs.test", roomID, 200, ""},
		{"taken", alice, "#plain:hs.test", roomID, 409, "M_UNKNOWN"},
		{"remote alias", alice, "#plain:elsewhere.test", roomID, 400, "M_INVALID_PARAM"},
		{"unknown room", alice, "#plain2:hs.test", "!nope:hs.test", 404, "M_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.c.CreateAlias(e.ctx, tt.alias, tt.room)
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode {
				t.Fatalf("got %s (%v), want %d %s", resp, err, tt.status, tt.errcode)
			}
			if got, _ := e.hs.ResolveAlias(tt.alias); tt.status == 200 && got != tt.room {
				t.Fatalf("alias points to %q, want %q", got, tt.room)
			}
		})
	}

	resp := e.ok(alice.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/directory/room/"+csapi.PathEscape("#_bridge_a:hs.test"), nil))
	if resp.Field("room_id") != asRoom {
		t.Fatalf("resolve: %s", resp)
	}
	// Exclusive namespaces keep deletions by others out too.
	resp, err := alice.Do(e.ctx, http.MethodDelete, "/_matrix/client/v3/directory/room/"+csapi.PathEscape("#_bridge_a:hs.test"), nil)
	e.wantErr(resp, err, 400, "M_EXCLUSIVE")
	e.ok(e.asc.Do(e.ctx, http.MethodDelete, "/_matrix/client/v3/directory/room/"+csapi.PathEscape("#_bridge_a:hs.test"), nil))
	resp, err = alice.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/directory/room/"+csapi.PathEscape("#_bridge_a:hs.test"), nil)
	e.wantErr(resp, err, 404, "M_NOT_FOUND")

	resp, err = alice.CreateRoom(e.ctx, map[string]any{"room_alias_name": "_bridge_c"})
	e.wantErr(resp, err, 400, "M_EXCLUSIVE")
	e.createRoom(e.asc, map[string]any{"room_alias_name": "_bridge_c"})
	if _, found := e.hs.ResolveAlias("#_bridge_c:hs.test"); !found {
		t.Fatal("createRoom with room_alias_name made no alias")
	}
}

func TestTimestampMassaging(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("a")
	alice := e.user("alice")
	roomID := e.createRoom(e.asc, map[string]any{"preset": "public_chat"}, csapi.AsUser(ghost))
	e.ok(alice.Join(e.ctx, roomID))
	const ts = 1_600_000_000_123

	check := func(t *testing.T, eventID string, massaged bool) {
		t.Helper()
		ev, found := e.hs.Event(eventID)
		if !found || (ev.OriginServerTS == ts) != massaged {
			t.Fatalf("origin_server_ts %d (found %v), massaged should be %v", ev.OriginServerTS, found, massaged)
		}
		resp := e.ok(alice.GetEvent(e.ctx, roomID, eventID))
		var got matrix.ClientEvent
		if resp.JSON(&got) != nil || got.OriginServerTS != ev.OriginServerTS {
			t.Fatalf("GET event: %s", resp)
		}
	}
	t.Run("send as the AS", func(t *testing.T) {
		check(t, e.send(e.asc, roomID, "old", csapi.AsUser(ghost), csapi.TS(ts)), true)
	})
	t.Run("state as the AS", func(t *testing.T) {
		resp := e.ok(e.asc.Do(e.ctx, http.MethodPut, "/_matrix/client/v3/rooms/"+csapi.PathEscape(roomID)+"/state/m.room.topic/",
			map[string]string{"topic": "t"}, csapi.AsUser(ghost), csapi.TS(ts)))
		check(t, resp.Field("event_id"), true)
	})
	t.Run("without ts", func(t *testing.T) { check(t, e.send(e.asc, roomID, "now", csapi.AsUser(ghost)), false) })
	t.Run("ts from a normal user is ignored", func(t *testing.T) { check(t, e.send(alice, roomID, "x", csapi.TS(ts)), false) })
	t.Run("invalid ts", func(t *testing.T) {
		for _, bad := range []string{"yesterday", "-5", "1e3", "99999999999999999999"} {
			resp, err := e.asc.SendMessage(e.ctx, roomID, "x", csapi.AsUser(ghost), csapi.Query("ts", bad))
			e.wantErr(resp, err, 400, "M_INVALID_PARAM")
		}
	})
}

func TestRoomLifecycle(t *testing.T) {
	e := setup(t)
	alice, bob := e.user("alice"), e.user("bob")
	e.ok(alice.Do(e.ctx, http.MethodPut, "/_matrix/client/v3/profile/@alice:hs.test/displayname", map[string]string{"displayname": "Alice"}))
	roomID := e.createRoom(alice, map[string]any{"name": "Lobby"})
	path := "/_matrix/client/v3/rooms/" + csapi.PathEscape(roomID)

	resp, err := bob.Join(e.ctx, roomID)
	e.wantErr(resp, err, 403, "M_FORBIDDEN") // private_chat: invite only
	resp, err = bob.SendMessage(e.ctx, roomID, "hi")
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
	e.ok(alice.Invite(e.ctx, roomID, "@bob:hs.test"))
	// r0 paths still reach the same endpoints.
	e.ok(bob.Do(e.ctx, http.MethodPost, "/_matrix/client/r0/rooms/"+csapi.PathEscape(roomID)+"/join", map[string]any{}))

	txn := csapi.TxnID()
	first := e.ok(bob.Do(e.ctx, http.MethodPut, path+"/send/m.room.message/"+txn, map[string]string{"body": "hi"})).Field("event_id")
	again := e.ok(bob.Do(e.ctx, http.MethodPut, path+"/send/m.room.message/"+txn, map[string]string{"body": "hi"})).Field("event_id")
	if first == "" || first != again {
		t.Fatalf("same txnId gave %q and %q", first, again)
	}
	resp, err = bob.Do(e.ctx, http.MethodPut, path+"/state/m.room.name/", map[string]string{"name": "x"})
	e.wantErr(resp, err, 403, "M_FORBIDDEN") // power level 0 < 50
	resp, err = bob.Do(e.ctx, http.MethodPut, path+"/send/m.room.message/"+csapi.TxnID(), nil)
	e.must(resp, err, 200)
	if name := e.ok(bob.Do(e.ctx, http.MethodGet, path+"/state/m.room.name", nil)).Field("name"); name != "Lobby" {
		t.Fatalf("room name %q", name)
	}
	resp, err = bob.Do(e.ctx, http.MethodGet, path+"/state/m.room.topic/", nil)
	e.wantErr(resp, err, 404, "M_NOT_FOUND")

	var members struct {
		Joined map[string]struct {
			DisplayName string `json:"display_name"`
		}
	}
	if e.ok(bob.Do(e.ctx, http.MethodGet, path+"/joined_members", nil)).JSON(&members) != nil ||
		len(members.Joined) != 2 || members.Joined["@alice:hs.test"].DisplayName != "Alice" {
		t.Fatalf("joined members %+v", members)
	}
	e.ok(bob.Do(e.ctx, http.MethodPost, path+"/leave", map[string]any{}))
	if got := e.hs.JoinedMembers(roomID); !slices.Equal(got, []string{"@alice:hs.test"}) {
		t.Fatalf("members after leave %v", got)
	}
	resp, err = bob.GetEvent(e.ctx, roomID, first)
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
	resp, err = alice.GetEvent(e.ctx, roomID, "$nope")
	e.wantErr(resp, err, 404, "M_NOT_FOUND")

	resp, err = bob.Do(e.ctx, http.MethodPut, "/_matrix/client/v3/profile/@alice:hs.test/displayname", map[string]string{"displayname": "Eve"})
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
	if got := e.ok(bob.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/profile/@alice:hs.test/displayname", nil)).Field("displayname"); got != "Alice" {
		t.Fatalf("displayname %q", got)
	}
}

func TestRoomLifecycleRejectsNonObjectContent(t *testing.T) {
	e := setup(t)
	alice := e.user("alice")
	roomID := e.createRoom(alice, nil)
	path := "/_matrix/client/v3/rooms/" + csapi.PathEscape(roomID) + "/send/m.room.message/"
	resp, err := alice.Do(e.ctx, http.MethodPut, path+csapi.TxnID(), json.RawMessage(`[1]`))
	e.wantErr(resp, err, 400, "M_BAD_JSON")
}

func TestJoinedMembersForTheApplicationService(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("a")
	alice := e.user("alice")
	roomID := e.createRoom(alice, map[string]any{"preset": "public_chat"})
	path := "/_matrix/client/v3/rooms/" + csapi.PathEscape(roomID) + "/joined_members"
	resp, err := e.asc.Do(e.ctx, http.MethodGet, path, nil)
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
	e.ok(e.asc.Join(e.ctx, roomID, csapi.AsUser(ghost)))
	// Any of the AS's users being in the room is enough, not only the acting one.
	e.ok(e.asc.Do(e.ctx, http.MethodGet, path, nil))
}

func TestApplicationServiceDirectory(t *testing.T) {
	e := setup(t)
	alice := e.user("alice")
	roomID := e.createRoom(alice, nil)
	path := "/_matrix/client/v3/directory/list/appservice/irc/" + csapi.PathEscape(roomID)
	resp, err := alice.Do(e.ctx, http.MethodPut, path, map[string]string{"visibility": "public"})
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
	resp, err = e.asc.Do(e.ctx, http.MethodPut, path, map[string]string{"visibility": "sideways"})
	e.wantErr(resp, err, 400, "M_INVALID_PARAM")
	e.ok(e.asc.Do(e.ctx, http.MethodPut, path, map[string]string{"visibility": "public"}))
	if got := e.hs.Published("bridge", "irc"); !slices.Equal(got, []string{roomID}) {
		t.Fatalf("published %v", got)
	}
	e.ok(e.asc.Do(e.ctx, http.MethodPut, path, map[string]string{"visibility": "private"}))
	if got := e.hs.Published("bridge", "irc"); len(got) != 0 {
		t.Fatalf("still published %v", got)
	}
}

func TestRegistrationsMustBeUnique(t *testing.T) {
	a := registration("a", "tok", "hs1", "_a_")
	b := registration("b", "tok", "hs2", "_b_")
	if _, err := fakehs.New("127.0.0.1:0", fakehs.Config{Registrations: []matrix.Registration{a, b}}); err == nil {
		t.Fatal("two registrations sharing an as_token were accepted")
	}
	b = registration("a", "tok2", "hs2", "_b_")
	if _, err := fakehs.New("127.0.0.1:0", fakehs.Config{Registrations: []matrix.Registration{a, b}}); err == nil {
		t.Fatal("two registrations sharing an id were accepted")
	}
}

func TestProfileChangesReachRooms(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("a")
	alice := e.user("alice")
	roomID := e.createRoom(alice, map[string]any{"preset": "public_chat"})
	e.ok(e.asc.Join(e.ctx, roomID, csapi.AsUser(ghost)))
	profile := "/_matrix/client/v3/profile/" + ghost
	e.ok(e.asc.Do(e.ctx, http.MethodPut, profile+"/displayname", map[string]string{"displayname": "Ghost"}, csapi.AsUser(ghost)))
	e.ok(e.asc.Do(e.ctx, http.MethodPut, profile+"/avatar_url", map[string]string{"avatar_url": "mxc://hs.test/a"}, csapi.AsUser(ghost)))
	var p struct {
		DisplayName string `json:"displayname"`
		AvatarURL   string `json:"avatar_url"`
	}
	if e.ok(alice.Do(e.ctx, http.MethodGet, profile, nil)).JSON(&p) != nil || p.DisplayName != "Ghost" || p.AvatarURL != "mxc://hs.test/a" {
		t.Fatalf("profile %+v", p)
	}
	resp, err := alice.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/profile/@nobody:hs.test", nil)
	e.wantErr(resp, err, 404, "M_NOT_FOUND")

	var state []matrix.ClientEvent
	if e.ok(alice.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/rooms/"+csapi.PathEscape(roomID)+"/state", nil)).JSON(&state) != nil {
		t.Fatal("state is not a list of events")
	}
	var member struct {
		Membership  string
		DisplayName string `json:"displayname"`
		AvatarURL   string `json:"avatar_url"`
	}
	for _, ev := range state {
		if ev.Type == "m.room.member" && *ev.StateKey == ghost {
			_ = json.Unmarshal(ev.Content, &member)
		}
	}
	if member.Membership != "join" || member.DisplayName != "Ghost" || member.AvatarURL != "mxc://hs.test/a" {
		t.Fatalf("member event after profile change %+v", member)
	}
	e.waitIdle()
	checkExactlyOnce(t, e.as, roomEvents(e.hs, roomID)[5:])

	var flows struct{ Flows []struct{ Type string } }
	if e.ok(alice.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/login", nil)).JSON(&flows) != nil ||
		!slices.ContainsFunc(flows.Flows, func(f struct{ Type string }) bool { return f.Type == "m.login.application_service" }) {
		t.Fatalf("login flows %+v", flows)
	}
}
