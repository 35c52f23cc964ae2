package fakehs

import "encoding/json"

// receipt records a read receipt (client-server API: Receipts; POST
// /rooms/{roomId}/receipt/{receiptType}/{eventId}) and pushes it as an
// m.receipt to every AS with receive_ephemeral interested in the room,
// under the same rules as its events (Application Service API: Pushing
// ephemeral data). A private receipt (m.read.private) goes only to an AS
// whose users namespace matches its user; public and threaded receipts go
// to every such AS. m.fully_read is a read marker, not a receipt: it is
// accepted and pushed nowhere (fakehs keeps no account data).
func (s *Server) receipt(c *call) reply {
	var in map[string]json.RawMessage
	if rp := c.decode(&in); rp.failed() {
		return rp
	}
	kind, eventID := c.r.PathValue("receiptType"), c.r.PathValue("eventId")
	switch kind {
	case "m.read", "m.read.private", "m.fully_read":
	default:
		return fail(400, "M_INVALID_PARAM", "unknown receipt type "+kind)
	}
	var threadID string
	if raw, ok := in["thread_id"]; ok {
		if kind == "m.fully_read" {
			return fail(400, "M_INVALID_PARAM", "thread_id is not allowed with m.fully_read")
		}
		if json.Unmarshal(raw, &threadID) != nil || threadID == "" {
			return fail(400, "M_INVALID_PARAM", "thread_id field must be a non-empty string")
		}
	}
	return s.inRoom(c, s.roomLocked, func(rm *room) reply {
		if ev := s.events[eventID]; ev == nil || ev.RoomID != rm.id {
			return fail(404, "M_NOT_FOUND", "event "+eventID+" not found in room "+rm.id)
		}
		if kind == "m.fully_read" {
			return answer(map[string]any{})
		}
		s.pushReceiptLocked(rm, c.who.userID, kind, eventID, threadID)
		return answer(map[string]any{})
	})
}

// pushReceiptLocked queues the m.receipt of userID's receipt for every AS
// that opted in to ephemeral data and is interested in the room.
func (s *Server) pushReceiptLocked(rm *room, userID, kind, eventID, threadID string) {
	if s.cfg.ManualDelivery {
		return
	}
	of := map[string]any{"ts": s.cfg.Clock.Now().UnixMilli()}
	if threadID != "" {
		of["thread_id"] = threadID
	}
	edu, err := json.Marshal(map[string]any{
		"type":    "m.receipt",
		"room_id": rm.id,
		"content": map[string]any{eventID: map[string]any{kind: map[string]any{userID: of}}},
	})
	if err != nil {
		panic("fakehs: encoding a receipt: " + err.Error())
	}
	for _, as := range s.ases {
		if as.reg.URL == nil || !as.reg.ReceiveEphemeral || !s.roomInterestLocked(as, rm) {
			continue
		}
		if kind == "m.read.private" && !s.ownsUser(as, userID) {
			continue
		}
		as.ephemeral = append(as.ephemeral, edu)
		as.wakeUp()
	}
}
