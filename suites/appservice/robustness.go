package appservice

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Pushing events": the transaction body is a JSON
// object (transactions.yaml, requestBody schema), open to keys the spec
// does not define.
var _ = describe("AS handling of malformed and extended transactions", func() {
	const timeout = 60 * time.Second

	It("refuses a transaction body that is not JSON, or not a JSON object, with a 4xx (observed: its errcode)", Label("AS-ERR-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		// Each body on its own transaction ID, so that none is a replay.
		bodies := []struct{ name, body string }{
			{"not JSON (text)", `this is not JSON`},
			{"not JSON (truncated object)", `{"events": [`},
			{"not JSON (empty)", ``},
			{"JSON array", `[]`},
			{"JSON string", `"events"`},
			{"JSON number", `42`},
			{"JSON null", `null`},
		}
		var failures []string
		for i, c := range bodies {
			resp := f.Push.MustPushTransaction(ctx, f.TxnID(fmt.Sprintf("malformed%d", i)), []byte(c.body))
			suites.Observe(c.name, resp.String())
			if resp.Status < 400 || resp.Status >= 500 {
				failures = append(failures, fmt.Sprintf("%s %q: answered %s", c.name, c.body, strings.Join(strings.Fields(resp.String()), " ")))
			}
		}
		if len(failures) > 0 {
			Fail(fmt.Sprintf("%d of %d malformed transaction bodies were not refused with a 4xx (a 200 acknowledges a transaction the AS cannot have processed):\n%s",
				len(failures), len(bodies), strings.Join(failures, "\n")))
		}
	}, NodeTimeout(timeout))

	It("acknowledges transactions carrying ephemeral data, to-device messages, device lists and key counts, under stable and unstable names, with 200 and a JSON object", Label("AS-TXN-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.User(ctx, "alice")
		portal := f.Room(ctx, alice)
		aliceID, ghost := alice.UserID(ctx), f.Ghost("device")
		ephemeral := `[{"type":"m.typing","room_id":"` + portal.ID + `","content":{"user_ids":["` + aliceID + `"]}},` +
			`{"type":"m.receipt","room_id":"` + portal.ID + `","content":{"$asc` + f.unique + `":{"m.read":{"` + aliceID + `":{"ts":1700000000000}}}}},` +
			`{"type":"m.presence","sender":"` + aliceID + `","content":{"presence":"online"}}]`
		toDevice := `[{"type":"org.asconform.to_device","sender":"` + aliceID + `","to_user_id":"` + ghost +
			`","to_device_id":"ASCDEVICE","content":{"body":"hello device"}}]`
		deviceLists := `{"changed":["` + aliceID + `"],"left":[]}`
		otkCounts := `{"` + ghost + `":{"ASCDEVICE":{"signed_curve25519":50}}}`
		fallback := `{"` + ghost + `":{"ASCDEVICE":["signed_curve25519"]}}`
		// Stable names, then the unstable ones Synapse sends (MSC2409, MSC3202).
		keys := []struct{ key, value string }{
			{"ephemeral", ephemeral},
			{"de.sorunome.msc2409.ephemeral", ephemeral},
			{"to_device", toDevice},
			{"de.sorunome.msc2409.to_device", toDevice},
			{"device_lists", deviceLists},
			{"org.matrix.msc3202.device_lists", deviceLists},
			{"device_one_time_keys_count", otkCounts},
			{"org.matrix.msc3202.device_one_time_keys_count", otkCounts},
			{"device_unused_fallback_key_types", fallback},
			{"org.matrix.msc3202.device_unused_fallback_key_types", fallback},
		}
		var failures []string
		push := func(i int, name, body string) {
			resp := f.Push.MustPushTransaction(ctx, f.TxnID(fmt.Sprintf("extended%d", i)), []byte(body))
			suites.Observe(name, resp.String())
			switch {
			case resp.Status != http.StatusOK:
				failures = append(failures, fmt.Sprintf("transaction with %s: answered %s, not 200", name, resp))
			case failureOf(match.BeJSONObject(), resp.Body) != "":
				failures = append(failures, fmt.Sprintf("transaction with %s: acknowledged with %q, not a JSON object", name, resp.Body))
			}
		}
		all := []string{`"events":[]`}
		for i, k := range keys {
			push(i, k.key, `{"events":[],"`+k.key+`":`+k.value+`}`)
			all = append(all, `"`+k.key+`":`+k.value)
		}
		push(len(keys), "all of them at once", "{"+strings.Join(all, ",")+"}")
		if len(failures) > 0 {
			Fail(fmt.Sprintf("%d of %d transactions with keys beyond events were not acknowledged (the body is an open object; only events is required):\n%s",
				len(failures), len(keys)+1, strings.Join(failures, "\n")))
		}
	}, NodeTimeout(timeout))
})
