package appservice

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Published room directories": PUT
// /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId} takes a
// body whose visibility (public or private) is required.
var _ = describe("AS room directory updates", func() {
	const timeout = 60 * time.Second

	It("states visibility public or private in each update of its network's room directory (made when it creates the portal of a queried alias)", Label("AS-DIR-01"), needs(harness.CreatesQueriedAliases), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alias := f.Alias("listed")
		resp := f.Push.MustQueryAlias(ctx, alias)
		suites.Observe("the alias query", strings.Join(strings.Fields(resp.String()), " "))
		// A bridge may list the portal after answering: give it the same
		// few seconds the replay specs give an echo to show.
		var updates []recorder.Exchange
		deadline := time.Now().Add(3 * time.Second)
		for len(updates) == 0 && time.Now().Before(deadline) {
			updates = f.directoryUpdates()
			time.Sleep(100 * time.Millisecond)
		}
		if len(updates) == 0 {
			skipUnseen("updates its network's room directory (PUT /_matrix/client/v3/directory/list/appservice/{networkId}/{roomId})",
				fmt.Sprintf("the AS under test made no such update when it created the portal of %s, and asconform knows no other cue for one: nothing to check", alias))
		}
		var problems []string
		for _, u := range updates {
			var body map[string]any
			line := u.Method + " " + u.Path
			if err := json.Unmarshal(u.Body, &body); err != nil {
				problems = append(problems, fmt.Sprintf("directory update %s has a body that is not a JSON object: %q", line, u.Body))
				continue
			}
			v, ok := body["visibility"]
			suites.Observe(line, fmt.Sprintf("%s -> %d", u.Body, u.Status))
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("directory update %s states no visibility (body %s)", line, u.Body))
			case v != "public" && v != "private":
				problems = append(problems, fmt.Sprintf("directory update %s states visibility %v, neither public nor private", line, v))
			}
		}
		if len(problems) > 0 {
			Fail(strings.Join(problems, "\n"))
		}
	}, NodeTimeout(timeout))
})

// directoryUpdates are the AS's updates of a network's room directory since
// the spec began.
func (f *Fixture) directoryUpdates() []recorder.Exchange {
	var out []recorder.Exchange
	for _, e := range f.ASCalls() {
		if e.Method == http.MethodPut && strings.Contains(e.Path, "/directory/list/appservice/") {
			out = append(out, e)
		}
	}
	return out
}
