package harness

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// What an application service may declare it does beyond the spec. The AS
// suite's specs that need one carry the label NeedsLabel(capability); an AS
// that has not declared it gets those specs skipped, with the reason.
const (
	// JoinsOnInvite: the AS's bot joins a room it is invited to.
	JoinsOnInvite = "joins-on-invite"
	// EchoesMessages: a message from a user who is not the AS's, in a room
	// where the bot is joined, makes one of its users send a message back
	// ("echo: <body>").
	EchoesMessages = "echoes-messages"
	// RegistersQueriedUsers: a query for a user of its namespace makes the
	// AS register that user and answer 200.
	RegistersQueriedUsers = "registers-queried-users"
	// CreatesQueriedAliases: a query for an alias of its namespace makes the
	// AS create a room, bind the alias and answer 200.
	CreatesQueriedAliases = "creates-queried-aliases"
	// ThirdPartyProtocol (=NAME): the AS serves the third-party lookup
	// endpoints for protocol NAME.
	ThirdPartyProtocol = "thirdparty-protocol"
	// RemoteNetwork: the AS bridges a tiny remote network the suite drives
	// through /_asconform/remote/ on the AS's own port (README: "What an AS
	// may declare"): a remote user's message goes into the channel's portal
	// as that user's ghost, and a Matrix user's message in a portal reaches
	// the channel.
	RemoteNetwork = "remote-network"
	// ActsAsDevices: the ghost that answers a message (the echo, with
	// echoes-messages) has a device the AS created (v1.17 "Device
	// management": PUT /devices/{deviceId} as that user), and the AS acts
	// as it, naming it with ?device_id= (v1.17 "Identity assertion").
	ActsAsDevices = "acts-as-devices"
)

var knownCapabilities = []string{JoinsOnInvite, EchoesMessages, RegistersQueriedUsers, CreatesQueriedAliases, ThirdPartyProtocol, RemoteNetwork, ActsAsDevices}

// Capabilities are the declared capabilities, name -> value ("" for those
// that take none).
type Capabilities map[string]string

// CapabilityDeclarer is implemented by application-service flavors whose AS
// does more than the spec asks: the capabilities of its default image.
type CapabilityDeclarer interface {
	Capabilities() string
}

// ParseCapabilities reads a comma-separated list such as
// "joins-on-invite,thirdparty-protocol=irc"; "" and "none" declare nothing.
func ParseCapabilities(s string) (Capabilities, error) {
	c := Capabilities{}
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return c, nil
	}
	for _, item := range strings.Split(s, ",") {
		name, value, hasValue := strings.Cut(strings.TrimSpace(item), "=")
		switch {
		case !slices.Contains(knownCapabilities, name):
			return nil, fmt.Errorf("unknown capability %q (known: %s, or none)", name, strings.Join(knownCapabilities, ", "))
		case name == ThirdPartyProtocol && (!hasValue || value == ""):
			return nil, fmt.Errorf("capability %s needs the protocol's name (%s=NAME)", name, name)
		case name != ThirdPartyProtocol && hasValue:
			return nil, fmt.Errorf("capability %s takes no value", name)
		}
		c[name] = value
	}
	return c, nil
}

// Has says whether the capability is declared.
func (c Capabilities) Has(name string) bool {
	_, ok := c[name]
	return ok
}

// Missing lists the capabilities of needs that are not declared.
func (c Capabilities) Missing(needs []string) []string {
	var out []string
	for _, n := range needs {
		if !c.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// String lists the capabilities in the form ParseCapabilities reads.
func (c Capabilities) String() string {
	if len(c) == 0 {
		return "none"
	}
	var out []string
	for n, v := range c {
		if v != "" {
			n += "=" + v
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// NeedsLabel is the Ginkgo label of a spec that needs capability name.
func NeedsLabel(name string) string { return "needs:" + name }

// NeededBy lists the capabilities a spec's labels say it needs.
func NeededBy(labels []string) []string {
	var out []string
	for _, l := range labels {
		if n, ok := strings.CutPrefix(l, "needs:"); ok {
			out = append(out, n)
		}
	}
	return out
}
