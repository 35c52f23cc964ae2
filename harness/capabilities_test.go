package harness

import "testing"

func TestParseCapabilities(t *testing.T) {
	c, err := ParseCapabilities(" joins-on-invite, thirdparty-protocol=irc ")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Has(JoinsOnInvite) || c[ThirdPartyProtocol] != "irc" || c.Has(EchoesMessages) {
		t.Fatalf("got %v", c)
	}
	if got := c.String(); got != "joins-on-invite,thirdparty-protocol=irc" {
		t.Fatalf("String() = %q", got)
	}
	if got := c.Missing(NeededBy([]string{"AS-AUTH-04", NeedsLabel(JoinsOnInvite), NeedsLabel(EchoesMessages)})); len(got) != 1 || got[0] != EchoesMessages {
		t.Fatalf("Missing = %v", got)
	}
	for _, s := range []string{"", "none"} {
		if c, err := ParseCapabilities(s); err != nil || len(c) != 0 || c.String() != "none" {
			t.Fatalf("%q: %v %v", s, c, err)
		}
	}
	for _, bad := range []string{"flies", "thirdparty-protocol", "thirdparty-protocol=", "joins-on-invite=yes"} {
		if _, err := ParseCapabilities(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// Every AS flavor's declaration parses.
func TestFlavorCapabilities(t *testing.T) {
	for _, name := range FlavorNames() {
		f, _ := LookupFlavor(name)
		if d, ok := f.(CapabilityDeclarer); ok {
			if _, err := ParseCapabilities(d.Capabilities()); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
