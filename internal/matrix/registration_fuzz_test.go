package matrix_test

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/asconform/asconform/internal/matrix"
)

// Registration files come from users (external mode) and from the harness;
// ParseRegistration must turn any of them into either an error or a
// registration that is valid and survives Marshal, since the harness
// rewrites registrations for the homeserver it starts.

var registrationSeeds = []string{
	validRegistration,
	"id: a\nurl: null\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [], aliases: [], rooms: []}\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	`{"id": "a", "url": "https://as.example.org:8443/", "as_token": "x", "hs_token": "y", "sender_localpart": "bot",
	  "namespaces": {"users": [{"exclusive": true, "regex": "@irc_.*"}]}, "protocols": ["irc", "gitter"], "rate_limited": true}`,
	// Anchors, aliases, tags, block scalars, quoting styles.
	"id: &id a\nas_token: *id\nhs_token: !!str 1\nsender_localpart: |\n  multi\n  line\nnamespaces:\n  users:\n    - &ns {exclusive: true, regex: 'a|b'}\n    - *ns\n",
	"id: a\nas_token: \"\\t\\u00e9\\x00\"\nhs_token: 'it''s'\nsender_localpart: bot\n",
	"---\nid: a\nas_token: x\nhs_token: y\nsender_localpart: bot\n...\n---\nid: second document\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [{regex: \"(?i)@Bridge_.*\"}], aliases: [{regex: \"\"}], rooms: [{regex: \"!.*:hs\"}]}\n",
	// Invalid: every field wrong in some way.
	"",
	"---\n",
	"null",
	"[]",
	"id: a\nid: b\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	"id: a\nurl: ftp://x\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	"id: a\nurl: http://\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	"id: a\nurl: 'http://[::1'\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [{regex: \"(\"}]}\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [{exclusive: yes, regex: a}]}\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nunknown_field: 1\n",
	"id: [a]\nas_token: {b: c}\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nrate_limited: maybe\n",
	"a: &a [*a, *a, *a]\n",
	"id: a\n\tas_token: x\n",
	"\xef\xbb\xbfid: a\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	"id: \"\xff\"\nas_token: x\nhs_token: y\nsender_localpart: bot\n",
	// Namespace regexes at the limits of Go's regexp: nesting depth and
	// program size, where wrapping in ^(?:...)$ (as InUsers does) may tip
	// a regex that Validate accepted over the limit.
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [{regex: \"" + strings.Repeat("(", 999) + "a" + strings.Repeat(")", 999) + "\"}]}\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [{regex: \"" + strings.Repeat("(?:", 999) + "a" + strings.Repeat(")", 999) + "\"}]}\n",
	"id: a\nas_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [{regex: \"a{1000}b{1000}c{1000}\"}]}\n",
}

func FuzzParseRegistration(f *testing.F) {
	for _, s := range registrationSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := matrix.ParseRegistration(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("rejected with an empty error message")
			}
			if !reflect.DeepEqual(reg, matrix.Registration{}) {
				t.Fatalf("rejected (%v) but returned a registration: %+v", err, reg)
			}
			return
		}
		checkAccepted(t, reg)
		checkRoundTrip(t, reg)
	})
}

// FuzzRegistrationMarshal builds registrations from arbitrary strings, as
// the harness does from its settings: whatever Validate accepts must be
// written by Marshal in a form ParseRegistration reads back unchanged.
func FuzzRegistrationMarshal(f *testing.F) {
	f.Add("bridge", "http://localhost:9000", true, "as-secret", "hs-secret", "bot", `@bridge_.*:example\.org`, true, "#bridge_.*", "irc")
	f.Add("a", "", false, "x", "y", "z", "", false, "", "")
	f.Add("yes", "https://[::1]:8448/p?q#f", true, "null", "~", "0x1F", "[a-z]+", false, "a|b", "true")
	f.Add("- list", "http://h", true, "a: b", "#c", "'q'", `\d{2,}`, true, "*", "---")
	f.Add("id\nwith\nlines", "http://h/\t", true, "tab\there", "  spaces  ", "\"", "(?i)x", true, "é", "\x7f")
	f.Add("\ufeffbom", "HTTP://H", true, "\u2028", "\r\n", "\x00", "a\nb", false, "\x85", "")
	// Once failed: line breaks did not survive Marshal (now refused by Validate).
	f.Add("a", "", false, "x", "y", "bot", "0", true, "\n", "")
	f.Add("a", "", false, "x", "\t\n", "bot", "", true, "", "")
	f.Fuzz(func(t *testing.T, id, rawURL string, hasURL bool, asTok, hsTok, sender, users string, exclusive bool, aliases, protocol string) {
		for _, s := range []string{id, rawURL, asTok, hsTok, sender, users, aliases, protocol} {
			if !utf8.ValidString(s) {
				return // YAML carries Unicode text only
			}
		}
		reg := matrix.Registration{
			ID: id, ASToken: asTok, HSToken: hsTok, SenderLocalpart: sender,
			Namespaces: matrix.Namespaces{
				Users:   []matrix.Namespace{{Exclusive: exclusive, Regex: users}},
				Aliases: []matrix.Namespace{{Exclusive: !exclusive, Regex: aliases}},
			},
			ReceiveEphemeral: exclusive,
		}
		if hasURL {
			reg.URL = &rawURL
		}
		if protocol != "" {
			reg.Protocols = []string{protocol}
			reg.RateLimited = &hasURL
		}
		if reg.Validate() != nil {
			return
		}
		checkRoundTrip(t, reg)
	})
}

// checkRoundTrip fails unless Marshal writes the valid registration reg in
// a form ParseRegistration reads back unchanged.
func checkRoundTrip(t *testing.T, reg matrix.Registration) {
	t.Helper()
	out, err := reg.Marshal()
	if err != nil {
		t.Fatalf("valid registration does not marshal: %v\n%#v", err, reg)
	}
	again, err := matrix.ParseRegistration(out)
	if err != nil {
		t.Fatalf("Marshal output of a valid registration does not parse: %v\n%#v\nmarshalled:\n%s", err, reg, out)
	}
	if !sameRegistration(reg, again) {
		t.Fatalf("round trip changed the registration:\nbefore %#v\nafter  %#v\nmarshalled:\n%s", reg, again, out)
	}
}

// checkAccepted asserts what ParseRegistration promises of a registration
// it returns, and that namespace matching can use every regex it accepted.
func checkAccepted(t *testing.T, reg matrix.Registration) {
	t.Helper()
	if err := reg.Validate(); err != nil {
		t.Fatalf("accepted registration fails Validate: %v\n%+v", err, reg)
	}
	if reg.ID == "" || reg.ASToken == "" || reg.HSToken == "" || reg.SenderLocalpart == "" {
		t.Fatalf("accepted registration lacks a required field: %+v", reg)
	}
	if reg.URL != nil {
		if u, err := url.Parse(*reg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("accepted url %q is not an http(s) URL with a host", *reg.URL)
		}
	}
	for kind, list := range map[string][]matrix.Namespace{"users": reg.Namespaces.Users, "aliases": reg.Namespaces.Aliases, "rooms": reg.Namespaces.Rooms} {
		for i, ns := range list {
			// InUsers and InAliases (and the fakes) anchor the regex; one
			// that only compiles unanchored would silently match nothing.
			if _, err := regexp.Compile("^(?:" + ns.Regex + ")$"); err != nil {
				t.Errorf("namespaces.%s[%d].regex %.80q passes Validate but not anchored, as namespace matching uses it: %v", kind, i, ns.Regex, err)
			}
		}
	}
	for _, id := range []string{"", "@bridge_alice:example.org", "#bridge_room:example.org", reg.SenderLocalpart} {
		reg.InUsers(id)
		reg.InAliases(id)
	}
}

// sameRegistration compares two registrations, counting a nil and an empty
// namespace or protocol list as the same: YAML writes both as [].
func sameRegistration(a, b matrix.Registration) bool {
	norm := func(r matrix.Registration) matrix.Registration {
		for _, l := range []*[]matrix.Namespace{&r.Namespaces.Users, &r.Namespaces.Aliases, &r.Namespaces.Rooms} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		if len(r.Protocols) == 0 {
			r.Protocols = nil
		}
		return r
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
