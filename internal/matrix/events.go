package matrix

import "encoding/json"

// ClientEvent is an event in the client format, as carried in transactions.
type ClientEvent struct {
	EventID        string          `json:"event_id"`
	Type           string          `json:"type"`
	RoomID         string          `json:"room_id"`
	Sender         string          `json:"sender"`
	OriginServerTS int64           `json:"origin_server_ts"`
	Content        json.RawMessage `json:"content"`
	StateKey       *string         `json:"state_key,omitempty"`
	Unsigned       json.RawMessage `json:"unsigned,omitempty"`
}

// Transaction is the body of PUT /_matrix/app/v1/transactions/{txnId}.
type Transaction struct {
	Events    []ClientEvent     `json:"events"`
	Ephemeral []json.RawMessage `json:"ephemeral,omitempty"`
}

// Error is the standard error body.
type Error struct {
	ErrCode string `json:"errcode"`
	Error   string `json:"error"`
}
