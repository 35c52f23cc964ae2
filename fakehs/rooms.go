package fakehs

import (
	"cmp"
	"encoding/json"
	"maps"
	"strconv"
	"strings"

	"github.com/asconform/asconform/internal/matrix"
)

func (s *Server) sortedRoomsLocked() []*room { return append([]*room(nil), s.roomList...) }

// massagedTS reads ?ts= (spec: Timestamp massaging), honoured only for
// requests authenticated as an application service.
func massagedTS(c *call) (*int64, reply) {
	raw := c.r.URL.Query().Get("ts")
	if c.who.as == nil || !c.r.URL.Query().Has("ts") {
		return nil, reply{}
	}
	ts, err := strconv.ParseInt(raw, 10, 64)
	// origin_server_ts is a non-negative integer within canonical JSON's range.
	if err != nil || ts < 0 || ts > 1<<53-1 {
		return nil, fail(400, "M_INVALID_PARAM", "ts is not a valid origin_server_ts: "+raw)
	}
	return &ts, reply{}
}

// knownRoomLocked finds a room by its ID; name is how the request named
// it, for the 404.
func (s *Server) knownRoomLocked(id, name string) (*room, reply) {
	if rm := s.rooms[id]; rm != nil {
		return rm, reply{}
	}
	return nil, fail(404, "M_NOT_FOUND", "unknown room "+name)
}

// existingRoomLocked finds a room whatever the caller's membership.
func (s *Server) existingRoomLocked(_ *call, id string) (*room, reply) {
	return s.knownRoomLocked(id, id)
}

// roomLocked finds a room the caller may act in.
func (s *Server) roomLocked(c *call, id string) (*room, reply) {
	rm, rp := s.existingRoomLocked(c, id)
	if rp.failed() {
		return nil, rp
	}
	if rm.membership(c.who.userID) != "join" {
		return nil, fail(403, "M_FORBIDDEN", c.who.userID+" is not in room "+id)
	}
	return rm, reply{}
}

// readableLocked also lets an AS read a room any of its users is in.
func (s *Server) readableLocked(c *call, id string) (*room, reply) {
	rm, rp := s.roomLocked(c, id)
	if !rp.failed() || s.rooms[id] == nil || c.who.as == nil {
		return rm, rp
	}
	for _, m := range s.rooms[id].joined() {
		if s.ownsUser(c.who.as, m) {
			return s.rooms[id], reply{}
		}
	}
	return nil, rp
}

// createRoomBody is the part of POST /createRoom the fake models.
type createRoomBody struct {
	Visibility      string         `json:"visibility"`
	RoomAliasName   string         `json:"room_alias_name"`
	Name            string         `json:"name"`
	Topic           string         `json:"topic"`
	Invite          []string       `json:"invite"`
	Preset          string         `json:"preset"`
	IsDirect        bool           `json:"is_direct"`
	RoomVersion     string         `json:"room_version"`
	CreationContent map[string]any `json:"creation_content"`
	PowerOverride   map[string]any `json:"power_level_content_override"`
	InitialState    []struct {
		Type     string          `json:"type"`
		StateKey string          `json:"state_key"`
		Content  json.RawMessage `json:"content"`
	} `json:"initial_state"`
}

// preset is the preset asked for, else the one visibility implies.
func (b createRoomBody) preset() string {
	switch {
	case b.Preset != "":
		return b.Preset
	case b.Visibility == "public":
		return "public_chat"
	}
	return "private_chat"
}

func (s *Server) createRoom(c *call) reply {
	var b createRoomBody
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	for _, st := range b.InitialState {
		if trimmed := strings.TrimSpace(string(st.Content)); !strings.HasPrefix(trimmed, "{") {
			return fail(400, "M_BAD_JSON", "initial_state content must be a JSON object")
		}
	}
	var roomAlias string
	if b.RoomAliasName != "" {
		roomAlias = "#" + b.RoomAliasName + ":" + s.cfg.ServerName
		if !validAlias(roomAlias) || strings.ContainsAny(b.RoomAliasName, ":#") {
			return fail(400, "M_INVALID_PARAM", "invalid room_alias_name")
		}
		s.mu.Lock()
		rp := s.aliasFreeLocked(c, roomAlias)
		s.mu.Unlock()
		if rp.failed() {
			return rp
		}
	}
	for _, id := range b.Invite {
		if rp := s.ensureUser(c.ctx, id); rp.failed() {
			return rp
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if roomAlias != "" {
		// Checked again: the queries above released the lock.
		if rp := s.aliasFreeLocked(c, roomAlias); rp.failed() {
			return rp
		}
	}
	rm := &room{id: "!" + randomString(18) + ":" + s.cfg.ServerName, state: map[stateKey]*matrix.ClientEvent{}, members: map[string]string{}}
	s.rooms[rm.id] = rm
	s.roomList = append(s.roomList, rm)
	s.initialStateLocked(rm, c.who.userID, b, roomAlias)
	return answer(map[string]string{"room_id": rm.id})
}

// initialStateLocked sends the state events of a new room in the order
// the client-server API gives: create, the creator's join, power levels,
// the alias, the preset's rules, initial_state, name, topic, invites.
func (s *Server) initialStateLocked(rm *room, me string, b createRoomBody, roomAlias string) {
	state := func(typ, key string, content any) { s.emitLocked(rm, me, typ, &key, content, nil) }
	create := maps.Clone(b.CreationContent)
	if create == nil {
		create = map[string]any{}
	}
	create["room_version"] = cmp.Or(b.RoomVersion, "11")
	state("m.room.create", "", create)
	state("m.room.member", me, s.memberContentLocked(me, "join"))
	state("m.room.power_levels", "", powerLevelsFor(me, b))
	if roomAlias != "" {
		s.aliases[roomAlias] = &alias{roomID: rm.id, creator: me}
		state("m.room.canonical_alias", "", map[string]any{"alias": roomAlias})
	}
	joinRule := "invite"
	if b.preset() == "public_chat" {
		joinRule = "public"
	}
	state("m.room.join_rules", "", map[string]any{"join_rule": joinRule})
	state("m.room.history_visibility", "", map[string]any{"history_visibility": "shared"})
	for _, st := range b.InitialState {
		state(st.Type, st.StateKey, st.Content)
	}
	if b.Name != "" {
		state("m.room.name", "", map[string]any{"name": b.Name})
	}
	if b.Topic != "" {
		state("m.room.topic", "", map[string]any{"topic": b.Topic})
	}
	for _, id := range b.Invite {
		content := s.memberContentLocked(id, "invite")
		if b.IsDirect {
			content["is_direct"] = true
		}
		state("m.room.member", id, content)
	}
}

// powerLevelsFor is a new room's m.room.power_levels: the creator at 100
// (and the invitees, for trusted_private_chat), with the request's override.
func powerLevelsFor(creator string, b createRoomBody) map[string]any {
	users := map[string]any{creator: 100}
	if b.preset() == "trusted_private_chat" {
		for _, id := range b.Invite {
			users[id] = 100
		}
	}
	pl := map[string]any{
		"users": users, "users_default": 0, "events_default": 0, "state_default": 50,
		"ban": 50, "kick": 50, "redact": 50, "invite": 0,
		"events": map[string]any{
			"m.room.name": 50, "m.room.power_levels": 100, "m.room.history_visibility": 100,
			"m.room.canonical_alias": 50, "m.room.avatar": 50, "m.room.tombstone": 100,
			"m.room.server_acl": 100, "m.room.encryption": 100,
		},
	}
	maps.Copy(pl, b.PowerOverride)
	return pl
}

func (s *Server) join(c *call) reply {
	target := c.r.PathValue("roomIdOrAlias")
	if target == "" {
		target = c.r.PathValue("roomId")
	}
	roomID := target
	if strings.HasPrefix(target, "#") {
		var rp reply
		if roomID, rp = s.ensureAlias(c.ctx, target); rp.failed() {
			return rp
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, rp := s.knownRoomLocked(roomID, target)
	if rp.failed() {
		return rp
	}
	me := c.who.userID
	switch m := rm.membership(me); {
	case m == "join":
		// Already joined: nothing changes.
	case m == "invite" || rm.joinRule() == "public":
		s.setOwnMembershipLocked(rm, me, "join")
	default:
		return fail(403, "M_FORBIDDEN", "the room is invite-only and "+me+" is not invited")
	}
	return answer(map[string]string{"room_id": roomID})
}

// setOwnMembershipLocked emits userID's own m.room.member event.
func (s *Server) setOwnMembershipLocked(rm *room, userID, membership string) {
	s.emitLocked(rm, userID, "m.room.member", &userID, s.memberContentLocked(userID, membership), nil)
}

// membershipChange is the body of an invite or a kick: whose membership
// changes, and why.
type membershipChange struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

func decodeMembershipChange(c *call) (membershipChange, reply) {
	var b membershipChange
	if rp := c.decode(&b); rp.failed() {
		return b, rp
	}
	if !strings.HasPrefix(b.UserID, "@") || !strings.Contains(b.UserID, ":") {
		return b, fail(400, "M_INVALID_PARAM", "user_id is not a user ID")
	}
	return b, reply{}
}

// content is the m.room.member content that makes the change.
func (b membershipChange) content(content map[string]any) map[string]any {
	if b.Reason != "" {
		content["reason"] = b.Reason
	}
	return content
}

func (s *Server) invite(c *call) reply {
	b, rp := decodeMembershipChange(c)
	if rp.failed() {
		return rp
	}
	id := c.r.PathValue("roomId")
	check := func() (*room, reply) {
		rm, rp := s.roomLocked(c, id)
		switch {
		case rp.failed():
			return nil, rp
		case !rm.mayInvite(c.who.userID):
			return nil, fail(403, "M_FORBIDDEN", "power level too low to invite")
		case rm.membership(b.UserID) == "join":
			return nil, fail(403, "M_FORBIDDEN", b.UserID+" is already in the room")
		}
		return rm, reply{}
	}
	// Checks come first so that the AS is not queried for a doomed invite.
	s.mu.Lock()
	_, rp = check()
	s.mu.Unlock()
	if rp.failed() {
		return rp
	}
	if rp := s.ensureUser(c.ctx, b.UserID); rp.failed() {
		return rp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, rp := check()
	if rp.failed() {
		return rp
	}
	if rm.membership(b.UserID) != "invite" {
		s.emitLocked(rm, c.who.userID, "m.room.member", &b.UserID, b.content(s.memberContentLocked(b.UserID, "invite")), nil)
	}
	return answer(nil)
}

func (s *Server) leave(c *call) reply {
	return s.inRoom(c, s.existingRoomLocked, func(rm *room) reply {
		me := c.who.userID
		if m := rm.membership(me); m != "join" && m != "invite" {
			return fail(403, "M_FORBIDDEN", me+" is not in room "+rm.id)
		}
		s.setOwnMembershipLocked(rm, me, "leave")
		return answer(nil)
	})
}

// kick makes a member leave. ?ts= is not read: the spec defines it only
// for send and state PUTs (HS-TS-06), so the kick is stamped now.
func (s *Server) kick(c *call) reply {
	b, rp := decodeMembershipChange(c)
	if rp.failed() {
		return rp
	}
	return s.inRoom(c, s.roomLocked, func(rm *room) reply {
		if m := rm.membership(b.UserID); m != "join" && m != "invite" {
			return fail(403, "M_FORBIDDEN", b.UserID+" is not in the room")
		}
		if !rm.mayKick(c.who.userID, b.UserID) {
			return fail(403, "M_FORBIDDEN", "power level too low to kick "+b.UserID)
		}
		s.emitLocked(rm, c.who.userID, "m.room.member", &b.UserID, b.content(map[string]any{"membership": "leave"}), nil)
		return answer(nil)
	})
}

// inRoom runs f under the lock with the path's room, once find
// (roomLocked or readableLocked) lets the caller in.
func (s *Server) inRoom(c *call, find func(*call, string) (*room, reply), f func(*room) reply) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, rp := find(c, c.r.PathValue("roomId"))
	if rp.failed() {
		return rp
	}
	return f(rm)
}

// eventInput is what sending an event takes from the request: the AS's
// ?ts= and the content.
func eventInput(c *call) (*int64, json.RawMessage, reply) {
	ts, rp := massagedTS(c)
	if rp.failed() {
		return nil, nil, rp
	}
	content, rp := eventContent(c)
	return ts, content, rp
}

// eventContent checks that the body is a JSON object, as event content must be.
func eventContent(c *call) (json.RawMessage, reply) {
	var obj map[string]any
	if rp := c.decode(&obj); rp.failed() {
		return nil, rp
	}
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return json.RawMessage("{}"), reply{}
	}
	return json.RawMessage(c.body), reply{}
}

func (s *Server) send(c *call) reply {
	ts, content, rp := eventInput(c)
	if rp.failed() {
		return rp
	}
	typ := c.r.PathValue("type")
	return s.inRoom(c, s.roomLocked, func(rm *room) reply {
		// Transaction IDs are scoped to the access token (and the asserted user).
		key := strings.Join([]string{c.who.token, c.who.userID, rm.id, c.r.PathValue("txnId")}, "\x00")
		if id, seen := s.sent[key]; seen {
			return answer(map[string]string{"event_id": id})
		}
		if !rm.mayPost(c.who.userID, typ, false) {
			return fail(403, "M_FORBIDDEN", "power level too low to send "+typ)
		}
		ev := s.emitLocked(rm, c.who.userID, typ, nil, content, ts)
		s.sent[key] = ev.EventID
		return answer(map[string]string{"event_id": ev.EventID})
	})
}

func (s *Server) putState(c *call) reply {
	ts, content, rp := eventInput(c)
	if rp.failed() {
		return rp
	}
	typ, key := c.r.PathValue("type"), c.r.PathValue("stateKey")
	return s.inRoom(c, s.roomLocked, func(rm *room) reply {
		self := typ == "m.room.member" && key == c.who.userID
		if !self && !rm.mayPost(c.who.userID, typ, true) {
			return fail(403, "M_FORBIDDEN", "power level too low to set "+typ)
		}
		ev := s.emitLocked(rm, c.who.userID, typ, &key, content, ts)
		return answer(map[string]string{"event_id": ev.EventID})
	})
}

func (s *Server) getState(c *call) reply {
	return s.inRoom(c, s.readableLocked, func(rm *room) reply {
		ev := rm.state[stateKey{c.r.PathValue("type"), c.r.PathValue("stateKey")}]
		if ev == nil {
			return fail(404, "M_NOT_FOUND", "no such state event")
		}
		return answer(ev.Content)
	})
}

func (s *Server) getAllState(c *call) reply {
	return s.inRoom(c, s.readableLocked, func(rm *room) reply {
		var out []*matrix.ClientEvent
		for _, ev := range s.stream {
			if ev.RoomID == rm.id && ev.StateKey != nil && rm.state[stateKey{ev.Type, *ev.StateKey}] == ev {
				out = append(out, ev)
			}
		}
		return answer(out)
	})
}

func (s *Server) getEvent(c *call) reply {
	return s.inRoom(c, s.readableLocked, func(rm *room) reply {
		ev := s.events[c.r.PathValue("eventId")]
		if ev == nil || ev.RoomID != rm.id {
			return fail(404, "M_NOT_FOUND", "event not found")
		}
		return answer(ev)
	})
}

// messages pages a room's timeline back from its newest event (dir=b, the
// first page only): enough for reading what was sent last.
func (s *Server) messages(c *call) reply {
	return s.inRoom(c, s.readableLocked, func(rm *room) reply {
		q := c.r.URL.Query()
		if q.Get("dir") != "b" {
			return fail(400, "M_INVALID_PARAM", "fakehs pages backwards only (dir=b)")
		}
		limit := 10
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
			limit = min(n, 100)
		}
		chunk := []*matrix.ClientEvent{}
		for i := len(s.stream) - 1; i >= 0 && len(chunk) < limit; i-- {
			if s.stream[i].RoomID == rm.id {
				chunk = append(chunk, s.stream[i])
			}
		}
		return answer(map[string]any{"chunk": chunk, "start": "asconform-newest"})
	})
}

// sync answers at once with the timelines of the caller's joined rooms
// since ?since= (a stream position; none: from the start): no long
// polling, filters or state. Enough to see that clients get answers.
func (s *Server) sync(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, _ := strconv.Atoi(c.r.URL.Query().Get("since"))
	from = min(max(from, 0), len(s.stream))
	timelines := map[string][]*matrix.ClientEvent{}
	for _, ev := range s.stream[from:] {
		if rm := s.rooms[ev.RoomID]; rm != nil && rm.membership(c.who.userID) == "join" {
			timelines[rm.id] = append(timelines[rm.id], ev)
		}
	}
	joined := map[string]any{}
	for id, events := range timelines {
		joined[id] = map[string]any{"timeline": map[string]any{"events": events}}
	}
	return answer(map[string]any{"next_batch": strconv.Itoa(len(s.stream)), "rooms": map[string]any{"join": joined}})
}

func (s *Server) joinedMembers(c *call) reply {
	return s.inRoom(c, s.readableLocked, func(rm *room) reply {
		joined := map[string]any{}
		for _, id := range rm.joined() {
			m := map[string]string{}
			if u := s.users[id]; u != nil {
				if u.displayname != "" {
					m["display_name"] = u.displayname
				}
				if u.avatar != "" {
					m["avatar_url"] = u.avatar
				}
			}
			joined[id] = m
		}
		return answer(map[string]any{"joined": joined})
	})
}

// aliasFreeLocked checks that the caller may create roomAlias and that it
// is not taken.
func (s *Server) aliasFreeLocked(c *call, roomAlias string) reply {
	if !s.local(roomAlias) {
		return fail(400, "M_INVALID_PARAM", "room alias is not local to "+s.cfg.ServerName)
	}
	if rp := s.claimLocked(c.who.as, roomAlias, true); rp.failed() {
		return rp
	}
	if s.aliases[roomAlias] != nil {
		return fail(409, "M_UNKNOWN", "room alias "+roomAlias+" already exists")
	}
	return reply{}
}

func (s *Server) putAlias(c *call) reply {
	roomAlias := c.r.PathValue("alias")
	if !validAlias(roomAlias) {
		return fail(400, "M_INVALID_PARAM", "not a room alias: "+roomAlias)
	}
	var b struct {
		RoomID string `json:"room_id"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.aliasFreeLocked(c, roomAlias); rp.failed() {
		return rp
	}
	if _, rp := s.knownRoomLocked(b.RoomID, b.RoomID); rp.failed() {
		return rp
	}
	s.aliases[roomAlias] = &alias{roomID: b.RoomID, creator: c.who.userID}
	s.notifyLocked()
	return answer(nil)
}

// knownAliasLocked is the path's alias and its mapping, or the error answer.
func (s *Server) knownAliasLocked(c *call) (string, *alias, reply) {
	roomAlias := c.r.PathValue("alias")
	if !validAlias(roomAlias) {
		return roomAlias, nil, fail(400, "M_INVALID_PARAM", "not a room alias: "+roomAlias)
	}
	a := s.aliases[roomAlias]
	if a == nil {
		return roomAlias, nil, fail(404, "M_NOT_FOUND", "room alias "+roomAlias+" not found")
	}
	return roomAlias, a, reply{}
}

func (s *Server) getAlias(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a, rp := s.knownAliasLocked(c)
	if a == nil {
		return rp
	}
	return answer(map[string]any{"room_id": a.roomID, "servers": []string{s.cfg.ServerName}})
}

func (s *Server) deleteAlias(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	roomAlias, a, rp := s.knownAliasLocked(c)
	if a == nil {
		return rp
	}
	// Exclusive namespaces keep out deletions by anyone else too.
	for _, other := range s.ases {
		if other != c.who.as && matchNS(other.reg.Namespaces.Aliases, roomAlias, true) {
			return fail(400, "M_EXCLUSIVE", roomAlias+" is in an exclusive namespace of application service "+other.reg.ID)
		}
	}
	owner := c.who.as != nil && matchNS(c.who.as.reg.Namespaces.Aliases, roomAlias, false)
	rm := s.rooms[a.roomID]
	admin := rm != nil && rm.membership(c.who.userID) == "join" && rm.mayPost(c.who.userID, "m.room.canonical_alias", true)
	if a.creator != c.who.userID && !owner && !admin {
		return fail(403, "M_FORBIDDEN", "not allowed to delete "+roomAlias)
	}
	delete(s.aliases, roomAlias)
	s.notifyLocked()
	return answer(nil)
}

// publish is the AS's own room directory (spec: Published room directories).
func (s *Server) publish(c *call) reply {
	if c.who.as == nil {
		return fail(403, "M_FORBIDDEN", "only application services may use this endpoint")
	}
	var b struct {
		Visibility string `json:"visibility"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	if b.Visibility != "public" && b.Visibility != "private" {
		return fail(400, "M_INVALID_PARAM", "visibility must be public or private")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := publication{asID: c.who.as.reg.ID, networkID: c.r.PathValue("networkId"), roomID: c.r.PathValue("roomId")}
	if _, rp := s.knownRoomLocked(p.roomID, p.roomID); rp.failed() {
		return rp
	}
	if b.Visibility == "public" {
		s.published[p] = true
	} else {
		delete(s.published, p)
	}
	s.notifyLocked()
	return answer(nil)
}
