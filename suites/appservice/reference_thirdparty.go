package appservice

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/suites/mutants"
)

// referenceProtocol is the third-party protocol the reference AS bridges
// (referenceCapabilities declares it).
const referenceProtocol = "sample"

// referenceNetwork is the network_id of its first protocol instance, where
// it lists its portal rooms.
const referenceNetwork = "sample"

const nicknameRegexp, channelRegexp = `[a-z0-9_]+`, `#[a-z0-9_]+`

var (
	nicknameRE = regexp.MustCompile(`^(?:` + nicknameRegexp + `)$`)
	channelRE  = regexp.MustCompile(`^(?:` + channelRegexp + `)$`)
)

// protocolMetadata is the reference AS's answer to GET
// /thirdparty/protocol/sample, valid against protocol.yaml unless a mutant
// breaks it.
func (b *bridge) protocolMetadata() map[string]any {
	userFields := []string{"network", "nickname"}
	if b.flawed(mutants.NarrowFieldFirst) {
		userFields = []string{"nickname", "network"}
	}
	if b.flawed(mutants.UntypedProtocolField) {
		userFields = append(userFields, "realname")
	}
	second := "sample-test"
	if b.flawed(mutants.DuplicateNetworkID) {
		second = "sample"
	}
	return map[string]any{
		"user_fields":     userFields,
		"location_fields": []string{"network", "channel"},
		"icon":            "mxc://" + serverOf(b.reg) + "/sample",
		"field_types": map[string]any{
			"network":  map[string]string{"regexp": `([a-z0-9]+\.)*[a-z0-9]+`, "placeholder": "sample.example"},
			"nickname": map[string]string{"regexp": nicknameRegexp, "placeholder": "jim"},
			"channel":  map[string]string{"regexp": channelRegexp, "placeholder": "#lobby"},
		},
		"instances": []map[string]any{
			{"desc": "Sample network", "fields": map[string]string{"network": "sample.example"}, "network_id": "sample"},
			{"desc": "Sample test network", "icon": "mxc://" + serverOf(b.reg) + "/sample-test", "fields": map[string]string{"network": "test.sample.example"}, "network_id": second},
		},
	}
}

// thirdParty answers the third-party endpoints: metadata for its protocol,
// users and portal rooms of the sample network by nickname or channel, and
// the reverse lookups of IDs in its namespaces; 404 M_NOT_FOUND otherwise.
func (b *bridge) thirdParty(_ context.Context, in fakeas.Request) error {
	prefix, server := b.prefix(), serverOf(b.reg)
	network := in.Query.Get("network")
	if network == "" {
		network = "sample.example"
	}
	var found []map[string]any
	switch in.Param {
	case "protocol/" + referenceProtocol:
		return fakeas.Answer{Status: http.StatusOK, Body: b.protocolMetadata()}
	case "user/" + referenceProtocol:
		if nick := in.Query.Get("nickname"); nicknameRE.MatchString(nick) {
			found = append(found, b.thirdPartyUser("@"+prefix+nick+":"+server, network, nick))
		}
	case "location/" + referenceProtocol:
		if channel := in.Query.Get("channel"); channelRE.MatchString(channel) {
			found = append(found, b.thirdPartyLocation("#"+prefix+channel[1:]+":"+server, network, channel))
		}
	case "user":
		if id := in.Query.Get("userid"); b.reg.InUsers(id) {
			nick := strings.TrimPrefix(strings.SplitN(id, ":", 2)[0], "@"+prefix)
			found = append(found, b.thirdPartyUser(id, network, nick))
		}
	case "location":
		if alias := in.Query.Get("alias"); b.reg.InAliases(alias) {
			channel := "#" + strings.TrimPrefix(strings.SplitN(alias, ":", 2)[0], "#"+prefix)
			found = append(found, b.thirdPartyLocation(alias, network, channel))
		}
	default:
		if b.flawed(mutants.AnyProtocol) && strings.HasPrefix(in.Param, "protocol/") {
			return fakeas.Answer{Status: http.StatusOK, Body: b.protocolMetadata()}
		}
	}
	switch {
	case len(found) == 0:
		return notFound
	case b.flawed(mutants.LookupObject):
		return fakeas.Answer{Status: http.StatusOK, Body: found[0]}
	}
	return fakeas.Answer{Status: http.StatusOK, Body: found}
}

func (b *bridge) thirdPartyUser(id, network, nick string) map[string]any {
	return map[string]any{"userid": id, "protocol": referenceProtocol, "fields": map[string]string{"network": network, "nickname": nick}}
}

func (b *bridge) thirdPartyLocation(alias, network, channel string) map[string]any {
	return map[string]any{"alias": alias, "protocol": referenceProtocol, "fields": map[string]string{"network": network, "channel": channel}}
}

// prefix is the literal start of the users regex ("sample_").
func (b *bridge) prefix() string {
	return strings.TrimPrefix(strings.SplitN(b.reg.Namespaces.Users[0].Regex, ".*", 2)[0], "@")
}
