// Package harness deploys a homeserver under test: in a container started
// with testcontainers-go, or as an external server the user already runs.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Deployment is a running homeserver under test.
type Deployment interface {
	// BaseURL is where the test process reaches the client-server API.
	BaseURL() string
	ServerName() string
	// Logs returns the SUT's log so far ("" when the harness cannot see it).
	Logs(ctx context.Context) string
	Stop(ctx context.Context) error
}

// ErrNotReady is returned when the SUT never answered its readiness probe.
var ErrNotReady = errors.New("SUT did not become ready")

// ErrQuit is in the error of a start that ended because the SUT itself
// stopped: a container that exited while starting, an in-process SUT
// that refused its settings. The SUT said no (what it said is in the
// error); the harness did not fail. A start that merely timed out is not
// one.
var ErrQuit = errors.New("the SUT quit while starting")

// Probe is how a SUT shows it is ready: GET Path answers 200 with a body
// containing Want.
type Probe struct {
	Path string
	Want string
}

// HomeserverProbe is the readiness probe of every homeserver.
var HomeserverProbe = Probe{Path: "/_matrix/client/versions", Want: `"versions"`}

// waitReady polls the probe until it succeeds, the deadline passes, or
// alive reports the SUT gone.
func waitReady(ctx context.Context, baseURL string, probe Probe, timeout time.Duration, alive func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+probe.Path, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), probe.Want) {
				return nil
			}
			last = fmt.Sprintf("answered %d %.100q", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		timedOut := fmt.Errorf("%w within %s at %s (last attempt: %s)", ErrNotReady, timeout, baseURL, last)
		if ctx.Err() != nil {
			return timedOut
		}
		if alive != nil {
			if err := alive(ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("%w: %w", ErrNotReady, err)
			}
		}
		select {
		case <-ctx.Done():
			return timedOut
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// LastLines returns the last n lines of a log, for error messages.
func LastLines(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Running is a SUT running in the test process, seen as a deployment (use
// a pointer: deployments are compared).
type Running struct {
	URL, Server string
	Close       func() error
}

func (r Running) BaseURL() string             { return r.URL }
func (r Running) ServerName() string          { return r.Server }
func (r Running) Logs(context.Context) string { return "" }
func (r Running) Stop(context.Context) error  { return r.Close() }
