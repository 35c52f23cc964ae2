// Package mutants is the one home of the suites' mutants: named, realistic
// bugs that show every spec able to fail. A homeserver mutant (Mutant)
// breaks a real homeserver from the outside, rewriting the client-server
// traffic between the specs and the SUT or the pushes between the SUT and
// the fake AS; an AS mutant (ASMutant, appservice.go) is a bug planted in
// the reference AS of the application-service suite.
package mutants

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/asconform/asconform/internal/matrix"
)

// Mutant is one named bug. Killers lists the requirement IDs whose specs
// should catch it; Because is what a killing spec's failure message says (a
// case-insensitive regular expression naming what the mutant broke).
type Mutant struct {
	Name    string
	Bug     string
	Killers []string
	Because string
	// Request rewrites a client-server request before the SUT sees it.
	Request func(*http.Request)
	// Response rewrites the SUT's client-server answer to the request as
	// the SUT received it (after Request).
	Response responseRewrite
	// Push rewrites a request from the SUT before the fake AS sees it.
	Push func(*http.Request)
	// Registrations rewrites the registrations a spec's own homeserver
	// (OwnSUT) is started with, for bugs in how a homeserver reads its
	// configuration that a real one does not let us plant otherwise.
	Registrations func([]matrix.Registration) []matrix.Registration
}

// catalogue is every homeserver mutant, area by area.
var catalogue = slices.Concat(
	loginMutants(), namespaceMutants(), identityMutants(), deviceMutants(), timestampMutants(),
	transactionMutants(), retryMutants(), ephemeralMutants(), encryptionMutants(),
	queryMutants(), pingMutants(), directoryMutants(), interestMutants(), configMutants(),
)

// history is the memory of stateful mutants.
type history struct {
	mu   sync.Mutex
	ids  map[string]bool
	last []any
}

func newHistory() *history { return &history{ids: map[string]bool{}} }

// again reports whether id was seen before, and remembers it.
func (h *history) again(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := h.ids[id]
	h.ids[id] = true
	return seen
}

// swapLast returns the previous batch and remembers this one.
func (h *history) swapLast(events []any) []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.last
	h.last = events
	return prev
}

// All returns the homeserver mutants, sorted by name.
func All() []Mutant { return sortedByName(catalogue) }

// Lookup finds a homeserver mutant by name.
func Lookup(name string) (Mutant, bool) { return byName(catalogue, name) }

func (m Mutant) name() string { return m.Name }

// named is a mutant of either side.
type named interface{ name() string }

func sortedByName[M named](list []M) []M {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b M) int { return strings.Compare(a.name(), b.name()) })
	return out
}

func byName[M named](list []M, name string) (M, bool) {
	i := slices.IndexFunc(list, func(m M) bool { return m.name() == name })
	if i < 0 {
		var zero M
		return zero, false
	}
	return list[i], true
}

// responseRewrite is a Mutant's Response.
type responseRewrite = func(*http.Request, int, map[string]any) (int, map[string]any)

// onErrcode answers status and body instead wherever the SUT answers
// errcode on a path containing fragment.
func onErrcode(fragment, errcode string, status int, body map[string]any) responseRewrite {
	return onPath(fragment, func(sutStatus int, sutBody map[string]any) (int, map[string]any) {
		if sutBody["errcode"] == errcode {
			return status, maps.Clone(body)
		}
		return sutStatus, sutBody
	})
}

// swapErrcode rewrites answers on paths containing fragment that carry the
// errcode from to carry to instead.
func swapErrcode(fragment, from, to string) responseRewrite {
	return onPath(fragment, func(status int, body map[string]any) (int, map[string]any) {
		if body["errcode"] == from {
			body["errcode"] = to
		}
		return status, body
	})
}

func onPath(fragment string, f func(int, map[string]any) (int, map[string]any)) responseRewrite {
	return func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
		if !strings.Contains(r.URL.Path, fragment) {
			return status, body
		}
		return f(status, body)
	}
}

func dropQuery(r *http.Request, key string) {
	q := r.URL.Query()
	q.Del(key)
	r.URL.RawQuery = q.Encode()
}

// moveTokenToQuery moves a request's bearer token from the Authorization
// header to the access_token query parameter.
func moveTokenToQuery(r *http.Request) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		r.Header.Del("Authorization")
		q := r.URL.Query()
		q.Set("access_token", tok)
		r.URL.RawQuery = q.Encode()
	}
}

// deleteFromEach deletes field from each object of the array body[key].
func deleteFromEach(body map[string]any, key, field string) {
	list, _ := body[key].([]any)
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			delete(m, field)
		}
	}
}

// editTransaction rewrites the body of a pushed transaction; other pushes
// pass unchanged.
func editTransaction(r *http.Request, edit func(map[string]any)) {
	if strings.HasPrefix(r.URL.Path, "/_matrix/app/v1/transactions/") {
		editJSON(r, edit)
	}
}

// editJSON rewrites a JSON object request body in place.
func editJSON(r *http.Request, edit func(map[string]any)) {
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	if json.Unmarshal(data, &body) == nil {
		edit(body)
		data, _ = json.Marshal(body)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))
}

// Proxy serves the client-server API of the SUT at target() through the
// mutant; target is asked on every request, since a restarted SUT may
// listen on another port.
func (m Mutant) Proxy(target func() string) http.Handler {
	return &proxy{target: target, mutant: m}
}
