package fakehs_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/internal/recorder"
)

func TestManualCalls(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.ManualDelivery = true })
	as := e.hs.AppService("bridge")
	many := make([]matrix.ClientEvent, 300)
	for i := range many {
		many[i] = matrix.ClientEvent{
			EventID: fmt.Sprintf("$e%d", i), Type: "m.room.message", RoomID: "!r:hs.test",
			Sender: "@alice:hs.test", OriginServerTS: 1, Content: []byte(`{"body":"x"}`),
		}
	}
	e.as.On(fakeas.ThirdParty).Respond(200, map[string]any{"user_fields": []string{}})

	tests := []struct {
		name    string
		call    func() (csapi.Response, error)
		status  int
		errcode string
		path    string
		auth    string // Authorization header the AS must have seen
		query   string // access_token parameter the AS must have seen
	}{
		{"malformed transaction", func() (csapi.Response, error) { return as.PushTransaction(e.ctx, "t1", []byte("{not json")) },
			400, "M_NOT_JSON", "/_matrix/app/v1/transactions/t1", "Bearer " + hsToken, ""},
		{"unknown event type and ephemeral", func() (csapi.Response, error) {
			return as.PushTransaction(e.ctx, "t2", []byte(`{"events":[{"type":"org.example.x","content":{}}],"ephemeral":[{"type":"m.typing"}]}`))
		}, 200, "", "/_matrix/app/v1/transactions/t2", "Bearer " + hsToken, ""},
		{"hundreds of events", func() (csapi.Response, error) { return as.PushEvents(e.ctx, "t3", many...) },
			200, "", "/_matrix/app/v1/transactions/t3", "Bearer " + hsToken, ""},
		{"no events", func() (csapi.Response, error) { return as.PushEvents(e.ctx, "t4") },
			200, "", "/_matrix/app/v1/transactions/t4", "Bearer " + hsToken, ""},
		{"user query", func() (csapi.Response, error) { return as.QueryUser(e.ctx, "@_bridge_x:hs.test") },
			404, "M_NOT_FOUND", "/_matrix/app/v1/users/@_bridge_x:hs.test", "Bearer " + hsToken, ""},
		{"alias query", func() (csapi.Response, error) { return as.QueryAlias(e.ctx, "#_bridge_x:hs.test") },
			404, "M_NOT_FOUND", "/_matrix/app/v1/rooms/%23_bridge_x:hs.test", "Bearer " + hsToken, ""},
		{"ping", func() (csapi.Response, error) { return as.Ping(e.ctx, "meow") },
			200, "", "/_matrix/app/v1/ping", "Bearer " + hsToken, ""},
		{"protocol", func() (csapi.Response, error) { return as.Protocol(e.ctx, "irc") },
			200, "", "/_matrix/app/v1/thirdparty/protocol/irc", "Bearer " + hsToken, ""},
		{"third-party user search", func() (csapi.Response, error) {
			return as.ThirdPartyUsers(e.ctx, "irc", url.Values{"nick": {"bob"}})
		}, 404, "M_NOT_FOUND", "/_matrix/app/v1/thirdparty/user/irc", "Bearer " + hsToken, ""},
		{"third-party location search", func() (csapi.Response, error) {
			return as.ThirdPartyLocations(e.ctx, "irc", url.Values{"channel": {"#x"}})
		}, 404, "M_NOT_FOUND", "/_matrix/app/v1/thirdparty/location/irc", "Bearer " + hsToken, ""},
		{"reverse user lookup", func() (csapi.Response, error) { return as.ThirdPartyUserByID(e.ctx, "@_bridge_x:hs.test") },
			404, "M_NOT_FOUND", "/_matrix/app/v1/thirdparty/user", "Bearer " + hsToken, ""},
		{"reverse location lookup", func() (csapi.Response, error) { return as.ThirdPartyLocationByAlias(e.ctx, "#_bridge_x:hs.test") },
			404, "M_NOT_FOUND", "/_matrix/app/v1/thirdparty/location", "Bearer " + hsToken, ""},
		{"missing token", func() (csapi.Response, error) { return as.Ping(e.ctx, "", fakehs.WithoutToken()) },
			401, "M_UNAUTHORIZED", "/_matrix/app/v1/ping", "", ""},
		{"wrong token", func() (csapi.Response, error) { return as.Ping(e.ctx, "", fakehs.WithToken("wrong")) },
			403, "M_FORBIDDEN", "/_matrix/app/v1/ping", "Bearer wrong", ""},
		{"token only in the query", func() (csapi.Response, error) {
			return as.Ping(e.ctx, "", fakehs.WithoutToken(), fakehs.WithQuery("access_token", hsToken))
		},
			200, "", "/_matrix/app/v1/ping", "", hsToken},
		{"token in header and query", func() (csapi.Response, error) { return as.Ping(e.ctx, "", fakehs.WithQuery("access_token", hsToken)) },
			200, "", "/_matrix/app/v1/ping", "Bearer " + hsToken, hsToken},
		{"unknown route", func() (csapi.Response, error) { return as.Do(e.ctx, http.MethodGet, "/_matrix/app/v1/nope", nil) },
			404, "M_UNRECOGNIZED", "/_matrix/app/v1/nope", "Bearer " + hsToken, ""},
		{"wrong method", func() (csapi.Response, error) {
			return as.Do(e.ctx, http.MethodGet, "/_matrix/app/v1/transactions/t5", nil)
		}, 405, "M_UNRECOGNIZED", "/_matrix/app/v1/transactions/t5", "Bearer " + hsToken, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hsMark, asMark := e.hs.Recorder().Len(), e.as.Recorder().Len()
			resp, err := tt.call()
			if err != nil || resp.Status != tt.status || resp.ErrCode() != tt.errcode {
				t.Fatalf("got %s (%v), want %d %s", resp, err, tt.status, tt.errcode)
			}
			sent, seen := e.hs.Recorder().Since(hsMark), e.as.Recorder().Since(asMark)
			if len(sent) != 1 || sent[0].From != "homeserver" || sent[0].To != "appservice" || sent[0].Status != tt.status {
				t.Fatalf("HS recorded %+v", sent)
			}
			if len(seen) != 1 || seen[0].Path != tt.path || seen[0].Header.Get("Authorization") != tt.auth ||
				seen[0].Query.Get("access_token") != tt.query || string(seen[0].Body) != string(sent[0].Body) {
				t.Fatalf("AS saw %+v", seen)
			}
		})
	}
	if strings.Count(string(e.as.Recorder().Filter(func(x recorder.Exchange) bool { return x.Path == "/_matrix/app/v1/transactions/t3" })[0].Body), `"event_id"`) != 300 {
		t.Fatal("hundreds of events not all sent")
	}
}

func TestLegacyQueryToken(t *testing.T) {
	e := setup(t, func(c *fakehs.Config) { c.LegacyQueryToken = true })
	ghost := e.ghost("a")
	e.createRoom(e.asc, nil, csapi.AsUser(ghost))
	e.waitIdle()
	for _, x := range e.as.Recorder().All() {
		if x.Query.Get("access_token") != hsToken || x.Header.Get("Authorization") != "Bearer "+hsToken {
			t.Fatalf("request without both tokens: %+v", x)
		}
	}
}

func TestManualCallsNeedARegistration(t *testing.T) {
	e := setup(t)
	if _, err := e.hs.AppService("nope").Ping(e.ctx, ""); err == nil {
		t.Fatal("call to an unknown registration did not fail")
	}
}
