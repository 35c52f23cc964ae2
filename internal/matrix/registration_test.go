package matrix_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/asconform/asconform/internal/matrix"
)

const validRegistration = `id: bridge
url: http://localhost:9000
as_token: as-secret
hs_token: hs-secret
sender_localpart: bridgebot
namespaces:
  users:
    - exclusive: true
      regex: "@bridge_.*:example\\.org"
  aliases:
    - exclusive: false
      regex: "#bridge_.*:example\\.org"
  rooms: []
rate_limited: false
protocols: [irc]
receive_ephemeral: true
`

func TestParseRegistrationValid(t *testing.T) {
	reg, err := matrix.ParseRegistration([]byte(validRegistration))
	if err != nil {
		t.Fatalf("valid registration rejected: %v", err)
	}
	if reg.ID != "bridge" || reg.ASToken != "as-secret" || reg.HSToken != "hs-secret" || reg.SenderLocalpart != "bridgebot" {
		t.Errorf("scalar fields not decoded: %+v", reg)
	}
	if reg.URL == nil || *reg.URL != "http://localhost:9000" {
		t.Errorf("url = %v, want http://localhost:9000", reg.URL)
	}
	if len(reg.Namespaces.Users) != 1 || !reg.Namespaces.Users[0].Exclusive || reg.Namespaces.Users[0].Regex != `@bridge_.*:example\.org` {
		t.Errorf("users namespace = %+v", reg.Namespaces.Users)
	}
	if len(reg.Namespaces.Aliases) != 1 || reg.Namespaces.Aliases[0].Exclusive {
		t.Errorf("aliases namespace = %+v", reg.Namespaces.Aliases)
	}
	if reg.RateLimited == nil || *reg.RateLimited {
		t.Errorf("rate_limited = %v, want explicit false", reg.RateLimited)
	}
	if !reflect.DeepEqual(reg.Protocols, []string{"irc"}) || !reg.ReceiveEphemeral {
		t.Errorf("protocols/receive_ephemeral = %v/%v", reg.Protocols, reg.ReceiveEphemeral)
	}

	data, err := reg.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := matrix.ParseRegistration(data)
	if err != nil {
		t.Fatalf("Marshal output does not parse back: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(again, reg) {
		t.Fatalf("round trip changed the registration:\nbefore %+v\nafter  %+v\nyaml:\n%s", reg, again, data)
	}
}

func TestParseRegistrationOptionalFields(t *testing.T) {
	tests := []struct {
		name    string
		url     string // the url line, or "" for none
		wantURL *string
	}{
		{"url null means no traffic", "url: null\n", nil},
		{"url absent", "", nil},
		{"https url", "url: https://as.example.org:8443/base\n", ptr("https://as.example.org:8443/base")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "id: a\n" + tt.url + "as_token: x\nhs_token: y\nsender_localpart: bot\nnamespaces: {users: [], aliases: [], rooms: []}\n"
			reg, err := matrix.ParseRegistration([]byte(doc))
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !reflect.DeepEqual(reg.URL, tt.wantURL) {
				t.Errorf("URL = %v, want %v", deref(reg.URL), deref(tt.wantURL))
			}
			if reg.RateLimited != nil {
				t.Errorf("rate_limited absent but decoded as %v", *reg.RateLimited)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestParseRegistrationErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(validRegistration, old) {
			panic("fixture does not contain " + old)
		}
		return strings.Replace(validRegistration, old, new, 1)
	}
	tests := []struct {
		name string
		doc  string
		want []string // every string must appear in the error
	}{
		{"missing id", replace("id: bridge\n", ""), []string{"id is required"}},
		{"empty id", replace("id: bridge", `id: ""`), []string{"id is required"}},
		{"missing as_token", replace("as_token: as-secret\n", ""), []string{"as_token is required"}},
		{"missing hs_token", replace("hs_token: hs-secret\n", ""), []string{"hs_token is required"}},
		{"missing sender_localpart", replace("sender_localpart: bridgebot\n", ""), []string{"sender_localpart is required"}},
		{"several missing at once", strings.Replace(replace("id: bridge\n", ""), "hs_token: hs-secret\n", "", 1), []string{"id is required", "hs_token is required"}},
		{"url with another scheme", replace("http://localhost:9000", "ftp://localhost:9000"), []string{"url", "ftp://localhost:9000", "http(s)"}},
		{"url without scheme", replace("http://localhost:9000", "localhost:9000"), []string{"url", "localhost:9000"}},
		{"url without host", replace("http://localhost:9000", `"http://"`), []string{"url", "http://"}},
		{"url not a URL", replace("http://localhost:9000", `"http://[::1"`), []string{"url"}},
		{"invalid users regex", replace(`"@bridge_.*:example\\.org"`, `"@bridge_[:example"`), []string{"namespaces.users[0].regex"}},
		{"invalid aliases regex", replace(`"#bridge_.*:example\\.org"`, `"#(bridge"`), []string{"namespaces.aliases[0].regex"}},
		{"invalid rooms regex", replace("rooms: []", "rooms: [{exclusive: false, regex: \"!a**\"}]"), []string{"namespaces.rooms[0].regex"}},
		{"typo in a top-level field", replace("hs_token:", "hs_tokn:"), []string{"hs_tokn"}},
		{"typo in a namespace field", replace("exclusive: true", "exclusiv: true"), []string{"exclusiv"}},
		{"wrong type", replace("receive_ephemeral: true", "receive_ephemeral: [yes]"), []string{"registration"}},
		{"not YAML at all", "id: [unclosed\n  as_token: {\n", []string{"not valid YAML"}},
		{"a YAML list instead of a map", "- id: bridge\n- as_token: x\n", []string{"not valid YAML", "!!seq"}},
		{"a scalar", "just some text", []string{"not valid YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := matrix.ParseRegistration([]byte(tt.doc))
			if err == nil {
				t.Fatalf("accepted:\n%s\nas %+v", tt.doc, reg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
			if !reflect.DeepEqual(reg, matrix.Registration{}) {
				t.Errorf("a rejected file still returned a registration: %+v", reg)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	bad := "not a url"
	err := matrix.Registration{URL: &bad, Namespaces: matrix.Namespaces{Users: []matrix.Namespace{{Regex: "("}}}}.Validate()
	if err == nil {
		t.Fatal("empty registration passed Validate")
	}
	for _, w := range []string{"id is required", "as_token is required", "hs_token is required", "sender_localpart is required", `url "not a url"`, "namespaces.users[0].regex"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error does not mention %q: %v", w, err)
		}
	}
}

func TestNamespaceMatching(t *testing.T) {
	reg := matrix.Registration{Namespaces: matrix.Namespaces{
		Users: []matrix.Namespace{
			{Exclusive: true, Regex: `@bridge_.*:example\.org`},
			{Regex: `@a:hs|@b:hs`},
		},
		Aliases: []matrix.Namespace{{Regex: `#bridge_.*:example\.org`}},
	}}
	tests := []struct {
		name    string
		fn      func(string) bool
		id      string
		matches bool
	}{
		{"user in namespace", reg.InUsers, "@bridge_alice:example.org", true},
		{"user outside namespace", reg.InUsers, "@alice:example.org", false},
		{"user with a prefix before the match", reg.InUsers, "@x@bridge_alice:example.org", false},
		{"user with a suffix after the match", reg.InUsers, "@bridge_alice:example.org.evil", false},
		{"escaped dot is literal", reg.InUsers, "@bridge_alice:exampleXorg", false},
		{"alternation, second branch", reg.InUsers, "@b:hs", true},
		{"alternation, first branch with suffix", reg.InUsers, "@a:hsX", false},
		{"alternation, second branch with prefix", reg.InUsers, "X@b:hs", false},
		{"alias in namespace", reg.InAliases, "#bridge_irc:example.org", true},
		{"alias with suffix", reg.InAliases, "#bridge_irc:example.org:8448", false},
		{"user regex does not cover aliases", reg.InAliases, "@bridge_alice:example.org", false},
		{"alias regex does not cover users", reg.InUsers, "#bridge_irc:example.org", false},
		{"empty namespaces match nothing", matrix.Registration{}.InUsers, "@bridge_alice:example.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.id); got != tt.matches {
				t.Errorf("%s: got %v, want %v", tt.id, got, tt.matches)
			}
		})
	}
}
