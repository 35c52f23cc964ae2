package fakehs_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/csapi"
)

// receiptsTo are the m.receipt entries of the ephemeral arrays the AS got:
// by receipt type, the set of "room event user [thread id]" they acknowledge.
func receiptsTo(t *testing.T, ds []delivery) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, d := range ds {
		var body struct {
			Ephemeral []struct {
				Type    string                                          `json:"type"`
				RoomID  string                                          `json:"room_id"`
				Content map[string]map[string]map[string]map[string]any `json:"content"`
			} `json:"ephemeral"`
		}
		if err := json.Unmarshal(d.body, &body); err != nil {
			t.Fatalf("transaction %s: %v", d.id, err)
		}
		for _, edu := range body.Ephemeral {
			if edu.Type != "m.receipt" {
				t.Errorf("ephemeral entry of type %q", edu.Type)
				continue
			}
			for eventID, kinds := range edu.Content {
				for kind, users := range kinds {
					for userID, of := range users {
						if _, ok := of["ts"].(float64); !ok {
							t.Errorf("receipt of %s for %s has no numeric ts: %v", userID, eventID, of)
						}
						if out[kind] == nil {
							out[kind] = map[string]bool{}
						}
						key := edu.RoomID + " " + eventID + " " + userID
						if thread, ok := of["thread_id"]; ok {
							key += " thread " + thread.(string)
						}
						out[kind][key] = true
					}
				}
			}
		}
	}
	return out
}

func TestReceiptsPushedToInterestedServicesThatOptedIn(t *testing.T) {
	other := registration("other", "as-token-other", "hs-token-other", "_other_")
	otherAS := startAS(t, &other) // interested in the room, did not opt in
	e := setup(t, func(c *fakehs.Config) {
		c.Registrations[0].ReceiveEphemeral = true
		c.Registrations = append(c.Registrations, other)
	})
	otherClient := e.client("other", "as-token-other")
	ghost := e.ghost("a")
	alice := e.user("alice")
	room := e.createRoom(alice, map[string]any{"preset": "public_chat"})
	e.ok(e.asc.Join(e.ctx, room, csapi.AsUser(ghost)))
	e.ok(otherClient.Join(e.ctx, room))
	first := e.send(alice, room, "read in private")
	second := e.send(alice, room, "read in public")
	third := e.send(alice, room, "read in a thread")
	unrelated := e.createRoom(alice, nil)
	elsewhere := e.send(alice, unrelated, "in a room no AS is interested in")

	post := func(c *csapi.Client, roomID, kind, eventID string, body map[string]any, opts ...csapi.Option) (csapi.Response, error) {
		return c.Do(e.ctx, http.MethodPost, "/_matrix/client/v3/rooms/"+csapi.PathEscape(roomID)+"/receipt/"+kind+"/"+csapi.PathEscape(eventID), body, opts...)
	}
	e.ok(post(alice, room, "m.read.private", first, map[string]any{}))
	e.ok(post(e.asc, room, "m.read.private", first, map[string]any{}, csapi.AsUser(ghost)))
	e.ok(post(alice, room, "m.read", second, map[string]any{}))
	e.ok(post(alice, room, "m.read", third, map[string]any{"thread_id": "main"}))
	e.ok(post(alice, room, "m.fully_read", third, map[string]any{}))
	e.ok(post(alice, unrelated, "m.read", elsewhere, map[string]any{}))
	resp, err := post(alice, room, "m.read", second, map[string]any{"thread_id": ""})
	e.wantErr(resp, err, 400, "M_INVALID_PARAM")
	resp, err = post(alice, room, "m.unknown", second, map[string]any{})
	e.wantErr(resp, err, 400, "M_INVALID_PARAM")
	resp, err = post(alice, room, "m.read", elsewhere, map[string]any{})
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
	resp, err = post(e.user("mallory"), room, "m.read", second, map[string]any{})
	e.wantErr(resp, err, 403, "M_FORBIDDEN")
	e.waitIdle()

	got := receiptsTo(t, transactionsTo(e.as))
	aliceID, _ := alice.WhoAmI(e.ctx)
	me := aliceID.Field("user_id")
	want := map[string]map[string]bool{
		"m.read":         {room + " " + second + " " + me: true, room + " " + third + " " + me + " thread main": true},
		"m.read.private": {room + " " + first + " " + ghost: true},
	}
	for kind, keys := range want {
		for k := range keys {
			if !got[kind][k] {
				t.Errorf("%s receipt %s not pushed; got %v", kind, k, got)
			}
		}
		if len(got[kind]) != len(keys) {
			t.Errorf("%s receipts pushed: %v, want %v", kind, got[kind], keys)
		}
	}
	if len(got) != len(want) {
		t.Errorf("receipt types pushed: %v", got)
	}
	for _, d := range transactionsTo(otherAS) {
		var body map[string]json.RawMessage
		_ = json.Unmarshal(d.body, &body)
		if _, ok := body["ephemeral"]; ok {
			t.Errorf("an AS without receive_ephemeral got ephemeral data: %s", d.body)
		}
	}
}
