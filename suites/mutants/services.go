package mutants

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"

	"sync"
	"sync/atomic"
	"time"
)

// Service is one fake AS the SUT pushes to, as the mutants that act on the
// homeserver's side of the AS API (asking, pushing, re-sending) know it.
type Service struct {
	Addr             string // where the test process reaches it (host:port)
	Port             string // the port the SUT's registration names
	HSToken, ASToken string
	ExclusiveUsers   []string // regexes
}

var (
	servicesMu sync.Mutex
	services   []Service
	serverName string
)

// SetServices tells the mutants the fake ASes of this run and the
// homeserver's server name.
func SetServices(name string, s []Service) {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	serverName, services = name, s
}

func knownServices() ([]Service, string) {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	return services, serverName
}

// copyHeader marks a request a mutant made itself, so that no mutant acts
// on it again.
const copyHeader = "X-Asconform-Mutant-Copy"

var asClient = &http.Client{Timeout: 5 * time.Second}

// send makes a request to a fake AS as the homeserver would, and waits for
// the answer.
func send(method, target, token string, body []byte) {
	req, err := http.NewRequestWithContext(context.Background(), method, target, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(copyHeader, "1")
	if resp, err := asClient.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// peekJSON reads a JSON object body and puts it back.
func peekJSON(r *http.Request) map[string]any {
	if r.Body == nil {
		return nil
	}
	data, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data))
	var body map[string]any
	_ = json.Unmarshal(data, &body)
	return body
}

func readBody(r *http.Request) []byte {
	data, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data
}

// addrOf is where the test process reaches the fake AS that got r: the
// Host a containerised homeserver names (its gateway alias) does not
// resolve here.
func addrOf(r *http.Request) string {
	ases, _ := knownServices()
	for _, s := range ases {
		if s.Port == portOf(r.Host) {
			return s.Addr
		}
	}
	return r.Host
}

var restarts atomic.Int64

// Restarted tells the mutants that the homeserver behind them restarted.
func Restarted() { restarts.Add(1) }

func portOf(hostport string) string {
	_, port, _ := net.SplitHostPort(hostport)
	return port
}
