package harness

import (
	"fmt"
	"regexp"

	"github.com/asconform/asconform/internal/matrix"
)

// NewRegistration builds the registration of the n-th fake AS of a run:
// fresh random tokens and exclusive users and aliases namespaces under the
// prefix "ascN_" (and a non-exclusive one, "ascNshared_"), so each AS (and the spec that holds it) has its own IDs.
func NewRegistration(n int, serverName, url string) matrix.Registration {
	server := regexp.QuoteMeta(serverName)
	prefix := NamespacePrefix(n)
	off := false
	return matrix.Registration{
		ID:              fmt.Sprintf("asconform-%d", n),
		URL:             &url,
		ASToken:         "as_" + randomHex(16),
		HSToken:         "hs_" + randomHex(16),
		SenderLocalpart: fmt.Sprintf("asc%d-bot", n),
		Namespaces: matrix.Namespaces{
			Users: []matrix.Namespace{
				{Exclusive: true, Regex: "@" + prefix + ".*:" + server},
				{Exclusive: false, Regex: "@" + SharedPrefix(n) + ".*:" + server},
			},
			Aliases: []matrix.Namespace{{Exclusive: true, Regex: "#" + prefix + ".*:" + server}},
			Rooms:   []matrix.Namespace{},
		},
		RateLimited: &off,
		Protocols:   []string{Protocol(n)},
	}
}

// Protocol is the third-party protocol the n-th fake AS bridges.
func Protocol(n int) string { return fmt.Sprintf("asc%dnet", n) }

// SharedPrefix is the localpart prefix of the n-th fake AS's non-exclusive
// users namespace: it claims interest without reserving the IDs.
func SharedPrefix(n int) string { return fmt.Sprintf("asc%dshared_", n) }

// NamespacePrefix is the localpart prefix owned by the n-th fake AS.
func NamespacePrefix(n int) string { return fmt.Sprintf("asc%d_", n) }
