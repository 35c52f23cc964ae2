package fakehs

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/asconform/asconform/internal/matrix"
)

// model is the homeserver's database: it survives Restart. Guarded by
// Server.mu.
type model struct {
	byToken   map[string]*appservice
	users     map[string]*user
	sessions  map[string]*session
	rooms     map[string]*room
	roomList  []*room // creation order, for deterministic walks
	aliases   map[string]*alias
	events    map[string]*matrix.ClientEvent
	stream    []*matrix.ClientEvent
	sent      map[string]string // send idempotency key -> event ID
	published map[publication]bool
	paused    bool
}

func newModel() model {
	return model{
		byToken:   map[string]*appservice{},
		users:     map[string]*user{},
		sessions:  map[string]*session{},
		rooms:     map[string]*room{},
		aliases:   map[string]*alias{},
		events:    map[string]*matrix.ClientEvent{},
		sent:      map[string]string{},
		published: map[publication]bool{},
	}
}

type user struct {
	id, password        string
	displayname, avatar string
	appservice          string // id of the AS that registered the user, if any
	devices             map[string]bool
	deviceNames         map[string]string                     // device -> display name, where set
	crossSigning        bool                                  // has uploaded cross-signing keys
	oneTimeKeys         map[string]map[string]int             // device -> algorithm -> unclaimed one-time keys
	fallbackKeys        map[string][]string                   // device -> algorithms of its unused fallback keys
	otks                map[string]map[string]json.RawMessage // device -> key ID -> unclaimed one-time key
	deviceKeys          map[string]json.RawMessage            // device -> its uploaded device keys
	deactivated         bool
}

type session struct{ userID, deviceID string }

type alias struct{ roomID, creator string }

type publication struct{ asID, networkID, roomID string }

type stateKey struct{ typ, key string }

type room struct {
	id      string
	state   map[stateKey]*matrix.ClientEvent
	members map[string]string // user ID -> membership
}

func (rm *room) membership(userID string) string { return rm.members[userID] }

func (rm *room) content(typ, key string, v any) bool {
	ev := rm.state[stateKey{typ, key}]
	return ev != nil && json.Unmarshal(ev.Content, v) == nil
}

func (rm *room) joinRule() string {
	var c struct {
		JoinRule string `json:"join_rule"`
	}
	rm.content("m.room.join_rules", "", &c)
	return c.JoinRule
}

func (rm *room) joined() []string {
	var out []string
	for id, m := range rm.members {
		if m == "join" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// powerLevels is the part of m.room.power_levels the fake enforces.
type powerLevels struct {
	Users         map[string]int `json:"users"`
	UsersDefault  int            `json:"users_default"`
	Events        map[string]int `json:"events"`
	EventsDefault int            `json:"events_default"`
	StateDefault  *int           `json:"state_default"`
	Invite        *int           `json:"invite"`
	Kick          *int           `json:"kick"`
}

func (rm *room) levels() powerLevels {
	var pl powerLevels
	rm.content("m.room.power_levels", "", &pl)
	return pl
}

func (rm *room) level(userID string) int {
	pl := rm.levels()
	if l, ok := pl.Users[userID]; ok {
		return l
	}
	return pl.UsersDefault
}

// mayPost reports whether userID's power level suffices to send typ.
func (rm *room) mayPost(userID, typ string, state bool) bool {
	pl := rm.levels()
	need := pl.EventsDefault
	if state {
		need = 50
		if pl.StateDefault != nil {
			need = *pl.StateDefault
		}
	}
	if l, ok := pl.Events[typ]; ok {
		need = l
	}
	return rm.level(userID) >= need
}

func (rm *room) mayInvite(userID string) bool {
	pl := rm.levels()
	need := 0
	if pl.Invite != nil {
		need = *pl.Invite
	}
	return rm.level(userID) >= need
}

// mayKick reports whether kicker may kick target: the kick level, and a
// level above the target's.
func (rm *room) mayKick(kicker, target string) bool {
	need := 50
	if pl := rm.levels(); pl.Kick != nil {
		need = *pl.Kick
	}
	return rm.level(kicker) >= need && rm.level(kicker) > rm.level(target)
}

// Namespace regexes are compiled once; they come from trusted test config.
var regexCache sync.Map

func matchNS(list []matrix.Namespace, id string, exclusiveOnly bool) bool {
	for _, ns := range list {
		if exclusiveOnly && !ns.Exclusive {
			continue
		}
		// Anchored like matrix.Registration.InUsers, so both agree.
		expr := "^(?:" + ns.Regex + ")$"
		re, ok := regexCache.Load(expr)
		if !ok {
			compiled, err := regexp.Compile(expr)
			if err != nil {
				continue
			}
			re, _ = regexCache.LoadOrStore(expr, compiled)
		}
		if re.(*regexp.Regexp).MatchString(id) {
			return true
		}
	}
	return false
}

// ownsUser reports whether a local user is the AS's sender or in its users
// namespaces; only local users count (spec: users namespaces select local users).
func (s *Server) ownsUser(as *appservice, userID string) bool {
	return userID == as.sender || (s.local(userID) && matchNS(as.reg.Namespaces.Users, userID, false))
}

// claimLocked checks whether the caller (an AS, or nil for a normal user)
// may create a user or alias with this ID: an AS only inside its own
// namespaces, and nobody inside another AS's exclusive namespace.
func (s *Server) claimLocked(as *appservice, id string, isAlias bool) reply {
	nsOf := func(a *appservice) []matrix.Namespace {
		if isAlias {
			return a.reg.Namespaces.Aliases
		}
		return a.reg.Namespaces.Users
	}
	if as != nil && !matchNS(nsOf(as), id, false) {
		return fail(400, "M_EXCLUSIVE", id+" is outside the namespaces of application service "+as.reg.ID)
	}
	for _, other := range s.ases {
		if other != as && matchNS(nsOf(other), id, true) {
			return fail(400, "M_EXCLUSIVE", id+" is in an exclusive namespace of application service "+other.reg.ID)
		}
	}
	return reply{}
}

// interestedLocked decides whether ev concerns the AS (spec: Registration;
// requirements HS-REG-02..05).
func (s *Server) interestedLocked(as *appservice, ev *matrix.ClientEvent, rm *room) bool {
	if s.ownsUser(as, ev.Sender) || (ev.StateKey != nil && s.ownsUser(as, *ev.StateKey)) {
		return true
	}
	return s.roomInterestLocked(as, rm)
}

// roomInterestLocked decides whether the AS is interested in the room
// itself: by its rooms or aliases namespace, or one of its users in it.
func (s *Server) roomInterestLocked(as *appservice, rm *room) bool {
	if matchNS(as.reg.Namespaces.Rooms, rm.id, false) {
		return true
	}
	for name, a := range s.aliases {
		if a.roomID == rm.id && matchNS(as.reg.Namespaces.Aliases, name, false) {
			return true
		}
	}
	var canonical struct {
		Alias      string   `json:"alias"`
		AltAliases []string `json:"alt_aliases"`
	}
	if rm.content("m.room.canonical_alias", "", &canonical) {
		for _, name := range append(canonical.AltAliases, canonical.Alias) {
			if name != "" && matchNS(as.reg.Namespaces.Aliases, name, false) {
				return true
			}
		}
	}
	for _, id := range rm.joined() {
		if s.ownsUser(as, id) {
			return true
		}
	}
	return false
}

// emitLocked creates an event at the end of the stream, applies it to the
// room state and queues it for every interested AS.
func (s *Server) emitLocked(rm *room, sender, typ string, key *string, content any, ts *int64) *matrix.ClientEvent {
	raw, ok := content.(json.RawMessage)
	if !ok {
		raw, _ = json.Marshal(content)
	}
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	ev := &matrix.ClientEvent{
		EventID: "$" + randomString(32), Type: typ, RoomID: rm.id, Sender: sender,
		OriginServerTS: s.cfg.Clock.Now().UnixMilli(), Content: raw,
	}
	if key != nil {
		k := *key // the event owns its state key
		ev.StateKey = &k
	}
	if ts != nil {
		ev.OriginServerTS = *ts
	}
	s.events[ev.EventID] = ev
	s.stream = append(s.stream, ev)
	if key != nil {
		rm.state[stateKey{typ, *key}] = ev
		if typ == "m.room.member" {
			var m struct {
				Membership string `json:"membership"`
			}
			_ = json.Unmarshal(raw, &m)
			rm.members[*key] = m.Membership
		}
	}
	if !s.cfg.ManualDelivery {
		for _, as := range s.ases {
			if as.reg.URL != nil && s.interestedLocked(as, ev, rm) {
				as.pending = append(as.pending, ev)
				as.wakeUp()
			}
		}
	}
	s.notifyLocked()
	return ev
}

func (s *Server) memberContentLocked(userID, membership string) map[string]any {
	c := map[string]any{"membership": membership}
	if u := s.users[userID]; u != nil && membership == "join" {
		if u.displayname != "" {
			c["displayname"] = u.displayname
		}
		if u.avatar != "" {
			c["avatar_url"] = u.avatar
		}
	}
	return c
}

func (s *Server) newSessionLocked(userID, deviceID string) (token, device string) {
	if deviceID == "" {
		deviceID = strings.ToUpper(randomString(10))
	}
	token = "fakehs_" + randomString(24)
	s.sessions[token] = &session{userID: userID, deviceID: deviceID}
	if !s.users[userID].devices[deviceID] {
		s.users[userID].devices[deviceID] = true
		s.deviceListChangedLocked(userID)
	}
	return token, deviceID
}

// randomString is URL-safe and free of the sigils used in Matrix IDs.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// validLocalpart follows the user ID grammar of the appendices.
func validLocalpart(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._=-/+", r))
	})
}

func validAlias(s string) bool {
	local, server, ok := strings.Cut(s, ":")
	return ok && strings.HasPrefix(local, "#") && len(local) > 1 && server != ""
}

// Events returns every event so far, in stream order.
func (s *Server) Events() []matrix.ClientEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]matrix.ClientEvent, len(s.stream))
	for i, ev := range s.stream {
		out[i] = *ev
	}
	return out
}

// UserExists reports whether a local user is registered.
func (s *Server) UserExists(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[userID] != nil
}

// ResolveAlias returns the room an alias points to.
func (s *Server) ResolveAlias(roomAlias string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.aliases[roomAlias]
	if !ok {
		return "", false
	}
	return a.roomID, true
}

// JoinedMembers lists the users joined to a room, sorted.
func (s *Server) JoinedMembers(roomID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rm := s.rooms[roomID]; rm != nil {
		return rm.joined()
	}
	return nil
}
