package mutants

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/asconform/asconform/internal/matrix"
)

// interestMutants break the interest rules (spec: Registration): events an
// AS should be sent but is not, or is sent but should not be.
func interestMutants() []Mutant {
	var aliased sync.Map // room IDs given an alias through the directory API
	var left sync.Map    // room ID -> the Service one of whose users left it
	return []Mutant{
		{
			Name: "sender-user-not-interesting", Bug: "the AS's own sender_localpart user does not make events interesting (its invite is not pushed)",
			Killers: []string{"HS-REG-05"},
			Because: `invite of the AS's sender_localpart user was not pushed`,
			Push: func(r *http.Request) {
				dropEvents(r, func(ev map[string]any) bool {
					key, _ := ev["state_key"].(string)
					return ev["type"] == "m.room.member" && senderUser.MatchString(key)
				})
			},
		},
		{
			Name: "target-user-not-interesting", Bug: "an event is not interesting for targeting a user of the AS's namespace (an invite of its user to a room none of its users is in is not pushed)",
			Killers: []string{"HS-REG-04"},
			Because: `invite targeting a user of the AS's namespace was not pushed`,
			Push: func(r *http.Request) {
				dropEvents(r, func(ev map[string]any) bool {
					content, _ := ev["content"].(map[string]any)
					key, _ := ev["state_key"].(string)
					return ev["type"] == "m.room.member" && content["membership"] == "invite" && !senderUser.MatchString(key)
				})
			},
		},
		{
			Name: "alias-interest-ignored", Bug: "a room is not interesting for having an alias in the AS's aliases namespace",
			Killers: []string{"HS-REG-03"},
			Because: `alias in the AS's namespace was not pushed`,
			Request: func(r *http.Request) {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/directory/room/") {
					editJSON(r, func(body map[string]any) {
						if id, ok := body["room_id"].(string); ok {
							aliased.Store(id, true)
						}
					})
				}
			},
			Push: func(r *http.Request) {
				dropEvents(r, func(ev map[string]any) bool {
					id, _ := ev["room_id"].(string)
					_, ok := aliased.Load(id)
					return ok
				})
			},
		},
		{
			Name: "rooms-namespace-ignored", Bug: "the homeserver reads no rooms namespace from a registration: a room is never interesting for its ID",
			Killers: []string{"HS-REG-03"},
			Because: `whose ID matches the AS's rooms namespace was not pushed`,
			Registrations: func(regs []matrix.Registration) []matrix.Registration {
				for i := range regs {
					regs[i].Namespaces.Rooms = nil
				}
				return regs
			},
		},
		{
			Name: "rooms-namespace-matches-all", Bug: "the homeserver reads a rooms namespace as taking every room, whatever its regex",
			Killers: []string{"HS-REG-03"},
			Because: `whose ID does not match the AS's rooms namespace .* was pushed`,
			Registrations: func(regs []matrix.Registration) []matrix.Registration {
				for i := range regs {
					if len(regs[i].Namespaces.Rooms) > 0 {
						regs[i].Namespaces.Rooms = []matrix.Namespace{{Regex: ".*"}}
					}
				}
				return regs
			},
		},
		{
			Name: "interest-outlives-leave", Bug: "a room stays interesting to an AS after its user, or its sender user, left it: the room's later messages are still pushed to it",
			Killers: []string{"HS-REG-04", "HS-REG-05"},
			Because: `was pushed to the AS after .* left`,
			Request: func(r *http.Request) {
				if room, ok := roomOf(r.URL.Path, "/leave"); ok && r.Method == http.MethodPost {
					if s, ok := serviceOf(r); ok {
						left.Store(room, s)
					}
				}
			},
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				room, ok := roomOf(r.URL.Path, "/send/")
				s, wasLeft := left.Load(room)
				if !ok || !wasLeft || status != http.StatusOK {
					return status, body
				}
				// Pushed before the client gets its answer, as a homeserver would have queued it.
				id, _ := body["event_id"].(string)
				ev := map[string]any{"event_id": id, "room_id": room, "type": "m.room.message", "sender": "@mutant:invalid",
					"origin_server_ts": time.Now().UnixMilli(), "content": map[string]any{"msgtype": "m.text", "body": "(pushed by the mutant)"}}
				data, _ := json.Marshal(map[string]any{"events": []any{ev}})
				svc := s.(Service)
				send(http.MethodPut, "http://"+svc.Addr+"/_matrix/app/v1/transactions/mutant-"+url.PathEscape(id), svc.HSToken, data)
				return status, body
			},
		},
		{
			Name: "pushes-to-every-as", Bug: "each transaction also goes to every other AS, interested or not",
			Killers: []string{"HS-REG-04"},
			Because: `got an event of a room it has no user in`,
			Push: func(r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") || r.Header.Get(copyHeader) != "" {
					return
				}
				body := readBody(r)
				ases, _ := knownServices()
				for _, s := range ases {
					if s.Port != portOf(r.Host) {
						send(http.MethodPut, "http://"+s.Addr+r.URL.EscapedPath()+"c", s.HSToken, body)
					}
				}
			},
		},
	}
}

// senderUser matches the sender_localpart users of the suite's fake ASes.
var senderUser = regexp.MustCompile(`^@asc\d+-bot:`)

// dropEvents removes from a pushed transaction the events drop selects.
func dropEvents(r *http.Request, drop func(map[string]any) bool) {
	editTransaction(r, func(body map[string]any) {
		events, _ := body["events"].([]any)
		kept := []any{}
		for _, ev := range events {
			if m, ok := ev.(map[string]any); ok && drop(m) {
				continue
			}
			kept = append(kept, ev)
		}
		body["events"] = kept
	})
}

// roomOf is the room ID of a client-server path /rooms/{roomId}<action>...
func roomOf(path, action string) (string, bool) {
	_, rest, ok := strings.Cut(path, "/rooms/")
	room, _, found := strings.Cut(rest, action)
	return room, ok && found && room != "" && !strings.Contains(room, "/")
}
