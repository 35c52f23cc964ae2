package csapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// The Must calls are for the steps a spec takes on its way to what it
// judges: each fails the test (Client.Fail) unless the homeserver answered
// 200, with the request line and what came back. A spec judging an answer
// itself uses the plain call and a matcher.

// MustDo is Do, failing the test unless the answer is 200.
func (c *Client) MustDo(ctx context.Context, method, path string, body any, opts ...Option) Response {
	return c.must(c.Do(ctx, method, path, body, opts...))
}

// MustCreateRoom creates a room (body may be nil) and returns its ID.
func (c *Client) MustCreateRoom(ctx context.Context, body map[string]any, opts ...Option) string {
	return c.field(c.must(c.CreateRoom(ctx, body, opts...)), "room_id")
}

// MustJoin joins a room by ID or alias.
func (c *Client) MustJoin(ctx context.Context, roomIDOrAlias string, opts ...Option) Response {
	return c.must(c.Join(ctx, roomIDOrAlias, opts...))
}

// MustInvite invites userID to roomID.
func (c *Client) MustInvite(ctx context.Context, roomID, userID string, opts ...Option) {
	c.must(c.Invite(ctx, roomID, userID, opts...))
}

// MustSend sends an m.room.message with the given text and returns its event ID.
func (c *Client) MustSend(ctx context.Context, roomID, text string, opts ...Option) string {
	return c.field(c.must(c.SendMessage(ctx, roomID, text, opts...)), "event_id")
}

// MustSendState sets a state event and returns its event ID.
func (c *Client) MustSendState(ctx context.Context, roomID, eventType, stateKey string, content map[string]any, opts ...Option) string {
	return c.field(c.must(c.SendState(ctx, roomID, eventType, stateKey, content, opts...)), "event_id")
}

// MustCreateAlias maps alias to roomID in the room directory.
func (c *Client) MustCreateAlias(ctx context.Context, alias, roomID string, opts ...Option) {
	c.must(c.CreateAlias(ctx, alias, roomID, opts...))
}

// MustRegisterAS registers a user as the application service.
func (c *Client) MustRegisterAS(ctx context.Context, username string, inhibitLogin bool) Response {
	return c.must(c.RegisterAS(ctx, username, inhibitLogin))
}

// MustTyping sets userID's typing notification in roomID.
func (c *Client) MustTyping(ctx context.Context, roomID, userID string, typing bool) {
	c.must(c.Typing(ctx, roomID, userID, typing))
}

// MustDeviceIDs lists the IDs of the acting user's devices.
func (c *Client) MustDeviceIDs(ctx context.Context, opts ...Option) []string {
	return c.deviceIDs(c.must(c.Do(ctx, http.MethodGet, "/_matrix/client/v3/devices", nil, opts...)))
}

// must, field and deviceIDs are called directly by the Must methods, and call fail:
// from fail, the Must method's caller is three frames up.
func (c *Client) must(resp Response, err error) Response {
	if err != nil {
		c.fail(err.Error())
	} else if resp.Status != http.StatusOK {
		c.fail(fmt.Sprintf("%s\nExpected: 200\nActual: %s", resp.Request, resp.excerpt()))
	}
	return resp
}

// field is a string field a 200 answer must have.
func (c *Client) field(resp Response, name string) string {
	v := resp.Field(name)
	if v == "" && resp.Status == http.StatusOK {
		c.fail(fmt.Sprintf("%s\nExpected: 200 with %s\nActual: %s", resp.Request, name, resp.excerpt()))
	}
	return v
}

// deviceIDs are the IDs a 200 answer to GET /devices lists.
func (c *Client) deviceIDs(resp Response) []string {
	var body struct {
		Devices []struct {
			DeviceID string `json:"device_id"`
		} `json:"devices"`
	}
	if err := resp.JSON(&body); err != nil && resp.Status == http.StatusOK {
		c.fail(fmt.Sprintf("%s\nExpected: 200 with a devices list\nActual: %s", resp.Request, resp.excerpt()))
	}
	var ids []string
	for _, d := range body.Devices {
		ids = append(ids, d.DeviceID)
	}
	return ids
}

func (c *Client) fail(message string) {
	if c.Fail == nil {
		panic("csapi: " + message)
	}
	c.Fail(message, 3)
}

// excerpt is the status and the start of the body: enough to tell the
// errcode and error, bounded for a report.
func (r Response) excerpt() string {
	const most = 500
	body := bytes.TrimSpace(r.Body)
	if len(body) > most {
		return fmt.Sprintf("%d %s… (%d bytes)", r.Status, body[:most], len(body))
	}
	return fmt.Sprintf("%d %s", r.Status, body)
}
