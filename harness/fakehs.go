package harness

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/asconform/asconform/fakehs"
)

// ReferenceHomeserver is the flavor of fakehs, the reference homeserver:
// compliant, in the test process (no Docker), with a fast backoff so that
// retry specs take milliseconds. It shows every spec able to pass.
const ReferenceHomeserver = "fakehs"

func init() { Register(referenceHS{}) }

type referenceHS struct{}

func (referenceHS) Name() string { return ReferenceHomeserver }
func (referenceHS) Side() string { return "homeserver" }

// Start starts fakehs with the settings' registrations. Its backoff and its
// timeout towards the AS are a fraction of a real server's.
func (referenceHS) Start(s Settings) (Deployment, error) {
	hs, err := fakehs.New("127.0.0.1:0", fakehs.Config{
		ServerName: s.ServerName, Registrations: s.Registrations,
		Backoff: 100 * time.Millisecond, HTTPClient: &http.Client{Timeout: 2 * time.Second},
	})
	if err != nil {
		// fakehs refuses settings it judges wrong (two registrations
		// sharing an id or an as_token) as a server that will not start.
		return nil, fmt.Errorf("%w: %w", ErrQuit, err)
	}
	return &restartable{Running{URL: hs.URL(), Server: hs.ServerName(), Close: hs.Close}, hs}, nil
}

// TimeScale: it retries within milliseconds, so a tenth of a real
// server's waits is plenty.
func (referenceHS) TimeScale() float64 { return 0.1 }

// Unmodelled: of ephemeral data it models read receipts only.
func (referenceHS) Unmodelled() []string {
	return []string{"typing notifications", "presence", "client-side third-party lookups", "the public room directory", "rate limits"}
}

// restartable is fakehs seen as a deployment that can restart.
type restartable struct {
	Running
	hs *fakehs.Server
}

// Restart stops and starts fakehs on the same port, keeping its state and queues.
func (r restartable) Restart(context.Context, time.Duration) error { return r.hs.Restart() }
