package fakeas

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/asconform/asconform/internal/matrix"
)

// Member is the n-th fake AS (from 1) of the homeserver suite's pool. Its
// registration ID, bot and namespaces all derive from n, so that each fake
// AS (and the spec that holds it) has IDs of its own.
type Member int

// ID is the member's registration ID.
func (m Member) ID() string { return fmt.Sprintf("asconform-%d", m) }

// Prefix is the localpart prefix of the member's exclusive users and
// aliases namespaces.
func (m Member) Prefix() string { return fmt.Sprintf("asc%d_", m) }

// SharedPrefix is the localpart prefix of its non-exclusive users
// namespace: it claims interest without reserving the IDs.
func (m Member) SharedPrefix() string { return fmt.Sprintf("asc%dshared_", m) }

// Bot is the member's sender_localpart.
func (m Member) Bot() string { return fmt.Sprintf("asc%d-bot", m) }

// Protocol is the third-party protocol the member bridges.
func (m Member) Protocol() string { return fmt.Sprintf("asc%dnet", m) }

// Registration is the member's registration: fresh random tokens, the
// namespaces above on serverName, and url.
func (m Member) Registration(serverName, url string) matrix.Registration {
	server := regexp.QuoteMeta(serverName)
	off := false
	return matrix.Registration{
		ID:              m.ID(),
		URL:             &url,
		ASToken:         "as_" + randomHex(16),
		HSToken:         "hs_" + randomHex(16),
		SenderLocalpart: m.Bot(),
		Namespaces: matrix.Namespaces{
			Users: []matrix.Namespace{
				{Exclusive: true, Regex: "@" + m.Prefix() + ".*:" + server},
				{Exclusive: false, Regex: "@" + m.SharedPrefix() + ".*:" + server},
			},
			Aliases: []matrix.Namespace{{Exclusive: true, Regex: "#" + m.Prefix() + ".*:" + server}},
			Rooms:   []matrix.Namespace{},
		},
		RateLimited: &off,
		Protocols:   []string{m.Protocol()},
	}
}

// MemberOf is the member whose registration ID is id; false for a
// registration not made by Member (external mode's may be any).
func MemberOf(id string) (Member, bool) {
	n, ok := strings.CutPrefix(id, "asconform-")
	return parseNumber(n, ok)
}

// PoolUser is a user ID of the pool's: a member's bot, or a user of its
// exclusive users namespace.
type PoolUser struct {
	Member Member
	Bot    bool
	Server string
}

// ParseUser reads a user ID as one of the pool's.
func ParseUser(userID string) (PoolUser, bool) {
	local, server, found := strings.Cut(strings.TrimPrefix(userID, "@"), ":")
	rest, ok := strings.CutPrefix(local, "asc")
	if !found || !strings.HasPrefix(userID, "@") || !ok {
		return PoolUser{}, false
	}
	digits := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if digits <= 0 {
		return PoolUser{}, false
	}
	m, ok := parseNumber(rest[:digits], true)
	switch {
	case ok && rest[digits:] == "-bot":
		return PoolUser{Member: m, Bot: true, Server: server}, true
	case ok && rest[digits] == '_':
		return PoolUser{Member: m, Server: server}, true
	}
	return PoolUser{}, false
}

// BotID is the user ID of the member's bot on server.
func (m Member) BotID(server string) string { return "@" + m.Bot() + ":" + server }

func parseNumber(s string, ok bool) (Member, bool) {
	n, err := strconv.Atoi(s)
	if !ok || err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, false
	}
	return Member(n), true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
