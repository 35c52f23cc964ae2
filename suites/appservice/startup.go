package appservice

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/fakehs"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Pinging": an AS that checks its homeserver
// with the ping at start-up should tolerate a homeserver that is not there
// yet (AS-PING-02), e.g. when both start together.
var _ = describe("AS start-up before its homeserver", func() {
	const timeout = 90 * time.Second

	It("keeps serving when its start-up ping finds no homeserver yet (observed: its pings once the homeserver is up)", Label("AS-PING-02"), func(ctx SpecContext) {
		env := Shared(ctx)
		// Whether the AS pings at start-up at all shows in the run's own
		// start: it would have pinged fakehs by now.
		var pinged []recorder.Exchange
		for deadline := time.Now().Add(2 * time.Second); len(pinged) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			pinged = startupPings(env.HS)
		}
		if len(pinged) == 0 {
			skipUnseen("pings its homeserver at start-up (POST /_matrix/client/v1/appservice/{appserviceId}/ping)",
				"fakehs saw no such ping from the AS under test since it started: no self-check whose tolerance to judge")
		}
		suites.Observe("its start-up ping in the run's own start", exchangeLine(pinged[0]))
		if cfg, err := suites.Settings(); err != nil || cfg.ASURL != "" || cfg.ASFlavor != ReferenceFlavor {
			skipUnseen("asconform can start before its homeserver",
				"the AS under test pings at start-up, but only the reference AS is started so here: a container or an external AS would need the harness to start it first, with its URL known to fakehs before it is ready")
		}
		const down = 3 * time.Second
		hs, _, reg, closeAll, err := startLateReference(ctx, down)
		if err != nil {
			suites.HarnessError(err)
		}
		DeferCleanup(func() {
			suites.AttachTranscript(hs.Recorder().All(), map[string]string{"as_token": reg.ASToken, "hs_token": reg.HSToken})
			closeAll()
		})
		suites.Observe("the homeserver refused connections for", down)
		resp, err := hs.AppService(reg.ID).Ping(ctx, "asconform-after-start")
		if err != nil {
			Fail(fmt.Sprintf("the AS no longer answers after its start-up ping met a homeserver that was not there yet (for %s): the homeserver's ping got no answer: %v", down, err))
		}
		expectOKWithObject(resp, "ping answer")
		// Observed, not judged: whether it retried its own ping once the
		// homeserver was there (carrying on without retrying tolerates too).
		var after []recorder.Exchange
		for deadline := time.Now().Add(5 * time.Second); len(after) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			after = startupPings(hs)
		}
		var lines []string
		for _, e := range after {
			lines = append(lines, exchangeLine(e))
		}
		suites.Observe("its pings that reached the homeserver once it was up", cmpOr(lines, "none within 5 s: it did not ping again"))
	}, NodeTimeout(timeout))
})

// startupPings are the calls of POST
// /_matrix/client/v1/appservice/{appserviceId}/ping hs recorded.
func startupPings(hs *fakehs.Server) []recorder.Exchange {
	var out []recorder.Exchange
	for _, e := range hs.Recorder().All() {
		if e.To == "homeserver" && e.Method == http.MethodPost && strings.HasPrefix(e.Path, "/_matrix/client/v1/appservice/") && strings.HasSuffix(e.Path, "/ping") {
			out = append(out, e)
		}
	}
	return out
}

func exchangeLine(e recorder.Exchange) string {
	return fmt.Sprintf("%s %s %s -> %d %s", e.Method, e.Path, strings.TrimSpace(string(e.Body)), e.Status, strings.TrimSpace(string(e.RespBody)))
}

func cmpOr(lines []string, none string) any {
	if len(lines) == 0 {
		return none
	}
	return lines
}
