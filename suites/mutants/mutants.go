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
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	Response func(req *http.Request, status int, body map[string]any) (int, map[string]any)
	// Push rewrites a request from the SUT before the fake AS sees it.
	Push func(*http.Request)
}

// catalogue is every homeserver mutant, area by area.
var catalogue = slices.Concat(
	loginMutants(), namespaceMutants(), identityMutants(), deviceMutants(), timestampMutants(),
	transactionMutants(), retryMutants(), ephemeralMutants(), encryptionMutants(),
	queryMutants(), pingMutants(), directoryMutants(), interestMutants(),
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

func onPath(fragment string, f func(int, map[string]any) (int, map[string]any)) func(*http.Request, int, map[string]any) (int, map[string]any) {
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
