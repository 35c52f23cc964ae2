// Package rawhttp sends one HTTP/1.1 request written byte for byte, for the
// fuzz tests of the fakes: fuzzed requests must reach the server exactly as
// generated, which net/http's client would not allow.
package rawhttp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// DialNoLinger returns a dialer whose connections reset on close instead
// of lingering in TIME_WAIT: thousands of inputs a second would otherwise
// use up the ephemeral ports, and listening on 127.0.0.1:0 fails.
func DialNoLinger(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return c, err
	}
}

// Reply is the answer to a request, or why there was none.
type Reply struct {
	Resp *http.Response
	Body []byte
	Err  error // no complete answer
}

// Do sends one request on a connection of its own (a fuzzed request may
// smuggle a second one: it must not be mistaken for the next answer) and
// reads the answer, all within timeout. Header lines are written as given.
func Do(addr, method, target string, header [][2]string, body []byte, timeout time.Duration) Reply {
	c, err := DialNoLinger(timeout)(context.Background(), "tcp", addr)
	if err != nil {
		return Reply{Err: err}
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, addr)
	for _, h := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	if _, err := c.Write(b.Bytes()); err != nil {
		return Reply{Err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return Reply{Err: err}
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return Reply{Resp: resp, Body: data, Err: err}
}
