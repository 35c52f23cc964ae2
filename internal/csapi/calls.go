package csapi

import (
	"context"
	"fmt"
	"net/http"
)

// The calls below are the few client-server endpoints the suites use. They
// return the raw Response so specs can assert on status and errcode.

// Register registers a normal user with open registration (m.login.dummy).
func (c *Client) Register(ctx context.Context, username, password string) (Response, error) {
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/register", map[string]any{
		"username": username, "password": password,
		"auth": map[string]string{"type": "m.login.dummy"},
	}, WithToken(""))
}

// RegisterAS registers a user as the application service (m.login.application_service).
func (c *Client) RegisterAS(ctx context.Context, username string, inhibitLogin bool) (Response, error) {
	body := map[string]any{"type": "m.login.application_service", "username": username}
	if inhibitLogin {
		body["inhibit_login"] = true
	}
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/register", body)
}

// LoginAS logs in as userID with the as_token (m.login.application_service).
func (c *Client) LoginAS(ctx context.Context, userID string) (Response, error) {
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
		"type":       "m.login.application_service",
		"identifier": map[string]string{"type": "m.id.user", "user": userID},
	})
}

// Deactivate deactivates the acting user's account.
func (c *Client) Deactivate(ctx context.Context, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/account/deactivate", map[string]any{}, opts...)
}

// CreateRoom creates a room; body may be nil for defaults.
func (c *Client) CreateRoom(ctx context.Context, body map[string]any, opts ...Option) (Response, error) {
	if body == nil {
		body = map[string]any{}
	}
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/createRoom", body, opts...)
}

// Join joins a room by ID or alias.
func (c *Client) Join(ctx context.Context, roomIDOrAlias string, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/join/"+PathEscape(roomIDOrAlias), map[string]any{}, opts...)
}

// Invite invites userID to roomID.
func (c *Client) Invite(ctx context.Context, roomID, userID string, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPost, fmt.Sprintf("/_matrix/client/v3/rooms/%s/invite", PathEscape(roomID)),
		map[string]any{"user_id": userID}, opts...)
}

// SendMessage sends an m.room.message with the given text.
func (c *Client) SendMessage(ctx context.Context, roomID, text string, opts ...Option) (Response, error) {
	return c.SendEvent(ctx, roomID, "m.room.message", map[string]any{"msgtype": "m.text", "body": text}, opts...)
}

// SendEvent sends a message event of any type and content.
func (c *Client) SendEvent(ctx context.Context, roomID, eventType string, content map[string]any, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPut,
		fmt.Sprintf("/_matrix/client/v3/rooms/%s/send/%s/%s", PathEscape(roomID), PathEscape(eventType), TxnID()),
		content, opts...)
}

// GetEvent fetches one event of a room.
func (c *Client) GetEvent(ctx context.Context, roomID, eventID string, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodGet,
		fmt.Sprintf("/_matrix/client/v3/rooms/%s/event/%s", PathEscape(roomID), PathEscape(eventID)), nil, opts...)
}

// CreateAlias maps alias to roomID in the room directory.
func (c *Client) CreateAlias(ctx context.Context, alias, roomID string, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPut, "/_matrix/client/v3/directory/room/"+PathEscape(alias),
		map[string]any{"room_id": roomID}, opts...)
}

// WhoAmI asks who the token (and any asserted identity) is.
func (c *Client) WhoAmI(ctx context.Context, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodGet, "/_matrix/client/v3/account/whoami", nil, opts...)
}

// UserID asks the homeserver who this client is (cached after the first call).
func (c *Client) UserID(ctx context.Context) string {
	if c.userID == "" {
		if resp, err := c.WhoAmI(ctx); err == nil {
			c.userID = resp.Field("user_id")
		}
	}
	return c.userID
}

// PingAS asks the homeserver to ping application service appserviceID.
func (c *Client) PingAS(ctx context.Context, appserviceID, transactionID string) (Response, error) {
	body := map[string]any{}
	if transactionID != "" {
		body["transaction_id"] = transactionID
	}
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v1/appservice/"+PathEscape(appserviceID)+"/ping", body)
}

// SetDisplayName sets userID's display name.
func (c *Client) SetDisplayName(ctx context.Context, userID, name string, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPut, "/_matrix/client/v3/profile/"+PathEscape(userID)+"/displayname",
		map[string]any{"displayname": name}, opts...)
}

// Profile fetches userID's profile.
func (c *Client) Profile(ctx context.Context, userID string) (Response, error) {
	return c.Do(ctx, http.MethodGet, "/_matrix/client/v3/profile/"+PathEscape(userID), nil)
}

// SendState sets a state event.
func (c *Client) SendState(ctx context.Context, roomID, eventType, stateKey string, content map[string]any, opts ...Option) (Response, error) {
	return c.Do(ctx, http.MethodPut,
		fmt.Sprintf("/_matrix/client/v3/rooms/%s/state/%s/%s", PathEscape(roomID), PathEscape(eventType), PathEscape(stateKey)),
		content, opts...)
}

// State fetches one state event's content.
func (c *Client) State(ctx context.Context, roomID, eventType, stateKey string) (Response, error) {
	return c.Do(ctx, http.MethodGet,
		fmt.Sprintf("/_matrix/client/v3/rooms/%s/state/%s/%s", PathEscape(roomID), PathEscape(eventType), PathEscape(stateKey)), nil)
}

// Typing sets userID's typing notification in roomID.
func (c *Client) Typing(ctx context.Context, roomID, userID string, typing bool) (Response, error) {
	return c.Do(ctx, http.MethodPut, fmt.Sprintf("/_matrix/client/v3/rooms/%s/typing/%s", PathEscape(roomID), PathEscape(userID)),
		map[string]any{"typing": typing, "timeout": 30000})
}

// Receipt sends a public read receipt for eventID.
func (c *Client) Receipt(ctx context.Context, roomID, eventID string) (Response, error) {
	return c.Do(ctx, http.MethodPost, fmt.Sprintf("/_matrix/client/v3/rooms/%s/receipt/m.read/%s", PathEscape(roomID), PathEscape(eventID)),
		map[string]any{})
}

// SetAppServiceVisibility publishes or hides roomID in the AS's directory for networkID.
func (c *Client) SetAppServiceVisibility(ctx context.Context, networkID, roomID, visibility string) (Response, error) {
	return c.Do(ctx, http.MethodPut, fmt.Sprintf("/_matrix/client/v3/directory/list/appservice/%s/%s", PathEscape(networkID), PathEscape(roomID)),
		map[string]any{"visibility": visibility})
}

// PublicRooms searches the room directory.
func (c *Client) PublicRooms(ctx context.Context, body map[string]any) (Response, error) {
	return c.Do(ctx, http.MethodPost, "/_matrix/client/v3/publicRooms", body)
}

// ThirdPartyLookup searches remote entities of kind (user, location) of
// protocol by fields; with no protocol, it is the reverse lookup (fields:
// userid, alias).
func (c *Client) ThirdPartyLookup(ctx context.Context, kind, protocol string, fields map[string]string) (Response, error) {
	var opts []Option
	for k, v := range fields {
		opts = append(opts, Query(k, v))
	}
	path := "/_matrix/client/v3/thirdparty/" + kind
	if protocol != "" {
		path += "/" + PathEscape(protocol)
	}
	return c.Do(ctx, http.MethodGet, path, nil, opts...)
}
