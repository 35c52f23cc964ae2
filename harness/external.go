package harness

import (
	"context"
	"strings"
	"time"
)

// External is a homeserver the user runs; the harness only checks that it
// answers and never stops it.
type External struct {
	url, serverName string
}

// ConnectExternal waits up to timeout for the server at url to answer.
func ConnectExternal(ctx context.Context, url, serverName string, timeout time.Duration) (*External, error) {
	url = strings.TrimSuffix(url, "/")
	if err := waitReady(ctx, url, HomeserverProbe, timeout, nil); err != nil {
		return nil, err
	}
	return &External{url: url, serverName: serverName}, nil
}

func (e *External) BaseURL() string             { return e.url }
func (e *External) ServerName() string          { return e.serverName }
func (e *External) Logs(context.Context) string { return "" }
func (e *External) Stop(context.Context) error  { return nil }
