package mutants

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// interestMutants break the interest rules (spec: Registration): events an
// AS should be sent but is not, or is sent but should not be.
func interestMutants() []Mutant {
	var aliased sync.Map // room IDs given an alias through the directory API
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
