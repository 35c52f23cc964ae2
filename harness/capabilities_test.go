package harness

import (
	"context"
	"errors"
	"testing"

	"github.com/asconform/asconform/internal/matrix"
)

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

// The mautrix-go flavor runs the same bridge as the mautrix-python sample:
// same registration shape and container contract, its own image recipe.
func TestMautrixGoFlavor(t *testing.T) {
	found, err := LookupFlavor("mautrix-go")
	if err != nil {
		t.Fatal(err)
	}
	f := found.(ContainerFlavor)
	if f.Side() != "appservice" || f.Recipe() != "ci/images/mautrix-go-sample/build.sh" {
		t.Fatalf("side %s, recipe %s", f.Side(), f.Recipe())
	}
	reg := f.(RegistrationMaker).Registration("example.test", "http://as")
	if reg.SenderLocalpart != "samplebot" || reg.Namespaces.Users[0].Regex != `@sample_.*:example\.test` {
		t.Fatalf("registration %+v", reg)
	}
	if _, err := f.Container(Settings{ServerName: "example.test"}); err == nil {
		t.Fatal("a container without registration and homeserver URL was accepted")
	}
	spec, err := f.Container(Settings{ServerName: "example.test", HomeserverURL: "http://hs:8008", Registrations: []matrix.Registration{reg}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Port != 29333 || spec.Env["ASCONFORM_HS_URL"] != "http://hs:8008" || spec.Env["ASCONFORM_HS_DOMAIN"] != "example.test" || len(spec.Files["/conf/registration.yaml"]) == 0 {
		t.Fatalf("container %+v", spec)
	}
}

// A cold start of Synapse ignores the bytecode its image ships; a warm one
// uses it.
func TestSynapseColdStart(t *testing.T) {
	f, err := LookupFlavor("synapse")
	if err != nil {
		t.Fatal(err)
	}
	for _, cold := range []bool{false, true} {
		spec, err := f.(ContainerFlavor).Container(Settings{ServerName: "example.test", ColdStart: cold})
		if err != nil {
			t.Fatal(err)
		}
		if _, ignored := spec.Env["PYTHONPYCACHEPREFIX"]; ignored != cold {
			t.Errorf("cold start %v: env %v", cold, spec.Env)
		}
	}
}

// The reference refuses registrations sharing an as_token as a server
// that quits while starting (ErrQuit), not as a harness failure.
func TestReferenceRefusalIsQuit(t *testing.T) {
	url := "http://127.0.0.1:1"
	a := matrix.Registration{ID: "a", URL: &url, ASToken: "same", HSToken: "h1", SenderLocalpart: "a"}
	b := matrix.Registration{ID: "b", URL: &url, ASToken: "same", HSToken: "h2", SenderLocalpart: "b"}
	d, err := referenceHS{}.Start(Settings{ServerName: "hs.test", Registrations: []matrix.Registration{a, b}})
	if err == nil {
		_ = d.Stop(context.Background())
		t.Fatal("fakehs started with two registrations sharing an as_token")
	}
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("the refusal does not wrap ErrQuit: %v", err)
	}
}
