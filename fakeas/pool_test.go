package fakeas

import "testing"

// What a member makes, the parsers read back; nothing else passes.
func TestPoolNames(t *testing.T) {
	m := Member(12)
	reg := m.Registration("hs.test", "http://as:1")
	if got, ok := MemberOf(reg.ID); !ok || got != m {
		t.Errorf("MemberOf(%q) = %v, %v", reg.ID, got, ok)
	}
	for _, id := range []string{"sample", "asconform-", "asconform-0", "asconform-x", "asconform-012"} {
		if got, ok := MemberOf(id); ok {
			t.Errorf("MemberOf(%q) = %v", id, got)
		}
	}
	if !reg.InUsers("@"+m.Prefix()+"x:hs.test") || !reg.InUsers("@"+m.SharedPrefix()+"x:hs.test") || reg.SenderLocalpart != m.Bot() {
		t.Errorf("registration %+v", reg)
	}
	want := map[string]PoolUser{
		"@asc12_x:hs.test":           {Member: 12, Server: "hs.test"},
		"@asc12-bot:hs.test:8448":    {Member: 12, Bot: true, Server: "hs.test:8448"},
		"@" + m.Prefix() + "ghost:s": {Member: 12, Server: "s"},
	}
	for id, w := range want {
		if got, ok := ParseUser(id); !ok || got != w {
			t.Errorf("ParseUser(%q) = %+v, %v; want %+v", id, got, ok, w)
		}
	}
	for _, id := range []string{"@asc12shared_x:s", "@asc_x:s", "@ascx_y:s", "@plain:s", "asc1_x:s", "@asc1_x", "@asc1-botty:s"} {
		if got, ok := ParseUser(id); ok {
			t.Errorf("ParseUser(%q) = %+v", id, got)
		}
	}
	if got := m.BotID("s"); got != "@asc12-bot:s" {
		t.Errorf("BotID = %q", got)
	}
}
