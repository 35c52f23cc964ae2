// Package recorder captures HTTP exchanges in order. fakeas, fakehs and the
// client used by specs share it, so every transcript has one shape.
package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Exchange is one request and the answer to it, as seen by the recorder's owner.
type Exchange struct {
	Seq      int         `json:"seq"`
	From     string      `json:"from"` // party that sent the request, e.g. "homeserver"
	To       string      `json:"to"`   // party that answered, e.g. "appservice"
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Query    url.Values  `json:"query,omitempty"`
	Header   http.Header `json:"header,omitempty"`
	Body     []byte      `json:"body,omitempty"`
	Status   int         `json:"status"` // 0 when no answer was given (connection dropped, transport error)
	Outcome  string      `json:"outcome,omitempty"`
	RespBody []byte      `json:"response_body,omitempty"`
	Start    time.Time   `json:"start"`
	End      time.Time   `json:"end"`
}

// Duration is how long the exchange took.
func (e Exchange) Duration() time.Duration { return e.End.Sub(e.Start) }

// JSON decodes the request body into v.
func (e Exchange) JSON(v any) error { return json.Unmarshal(e.Body, v) }

// Recorder is a concurrency-safe, ordered log of exchanges.
type Recorder struct {
	mu        sync.Mutex
	exchanges []Exchange
	// changed is closed on the next append; nil while nobody waits, so
	// that recording costs no allocation then.
	changed chan struct{}
}

// New returns an empty recorder.
func New() *Recorder { return &Recorder{} }

// Add appends an exchange and assigns its sequence number.
func (r *Recorder) Add(e Exchange) Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Seq = len(r.exchanges) + 1
	r.exchanges = append(r.exchanges, e)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	return e
}

// All returns a copy of every exchange so far.
func (r *Recorder) All() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.exchanges...)
}

// Since returns the exchanges with Seq greater than seq.
func (r *Recorder) Since(seq int) []Exchange {
	all := r.All()
	if seq >= len(all) {
		return nil
	}
	return all[seq:]
}

// Len is the number of exchanges recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.exchanges)
}

// Filter returns the exchanges for which keep is true.
func (r *Recorder) Filter(keep func(Exchange) bool) []Exchange {
	var out []Exchange
	for _, e := range r.All() {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// WaitFor blocks until cond holds for the recorded exchanges or ctx ends,
// and returns the exchanges it saw last.
func (r *Recorder) WaitFor(ctx context.Context, cond func([]Exchange) bool) ([]Exchange, error) {
	for {
		r.mu.Lock()
		snapshot := append([]Exchange(nil), r.exchanges...)
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		if cond(snapshot) {
			return snapshot, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return snapshot, ctx.Err()
		}
	}
}

// PathPrefix selects exchanges whose path starts with prefix.
func PathPrefix(prefix string) func(Exchange) bool {
	return func(e Exchange) bool { return strings.HasPrefix(e.Path, prefix) }
}

// ReadBody reads and restores a request body so handlers can read it again.
func ReadBody(req *http.Request) []byte {
	if req.Body == nil {
		return nil
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

// MaxBody bounds what is read of an answer from a server under test: a
// misbehaving server must not exhaust the harness's memory.
const MaxBody = 8 << 20

// Send sends req with client and completes ex, the request as the caller
// records it, with the answer: status, at most MaxBody of the body, times
// and outcome. The caller records ex whatever the error; the answer's body
// is in ex.RespBody and already closed on the returned response.
func Send(client *http.Client, req *http.Request, ex *Exchange) (*http.Response, error) {
	ex.Start = time.Now()
	resp, err := client.Do(req)
	if err != nil {
		ex.End, ex.Outcome = time.Now(), "transport error: "+err.Error()
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	ex.End, ex.Status, ex.RespBody, ex.Outcome = time.Now(), resp.StatusCode, data, "answered"
	if err != nil {
		ex.Outcome = "response body unreadable: " + err.Error()
		return nil, fmt.Errorf("reading response: %w", err)
	}
	return resp, nil
}
