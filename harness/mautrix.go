package harness

import (
	"fmt"
	"regexp"

	"github.com/asconform/asconform/internal/matrix"
)

// The sample application service (ci/images/mautrix-sample/README.md has
// the contract) on two frameworks: the same bridge, registration,
// environment, port and behaviour.
func init() {
	Register(mautrixSample{ciImage{"mautrix-sample", "appservice", "mautrix-sample"}, ""})
	// mautrix-go's Client.CreateDeviceMSC4190 gives a ghost a device and
	// acts as it; mautrix-python 0.20.7 has no such call.
	Register(mautrixSample{ciImage{"mautrix-go", "appservice", "mautrix-go-sample"}, "," + ActsAsDevices})
}

type mautrixSample struct {
	ciImage
	extra string // capabilities beyond the common ones, comma first
}

// sampleCapabilities is what both sample bridges do beyond the spec (their
// READMEs under ci/images describe it); they bridge no third-party protocol.
const sampleCapabilities = JoinsOnInvite + "," + EchoesMessages + "," + RegistersQueriedUsers + "," + CreatesQueriedAliases + "," + RemoteNetwork

func (f mautrixSample) Capabilities() string { return sampleCapabilities + f.extra }

func (f mautrixSample) Container(s Settings) (ContainerSpec, error) {
	if len(s.Registrations) != 1 || s.HomeserverURL == "" {
		return ContainerSpec{}, fmt.Errorf("%s: needs exactly one registration and the homeserver URL", f.name)
	}
	reg, err := s.Registrations[0].Marshal()
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("%s: registration: %w", f.name, err)
	}
	return ContainerSpec{
		Files: map[string][]byte{"/conf/registration.yaml": reg},
		Env:   map[string]string{"ASCONFORM_HS_URL": s.HomeserverURL, "ASCONFORM_HS_DOMAIN": s.ServerName},
		Port:  29333,
		// mautrix's own health endpoint; it needs no token.
		Ready: Probe{Path: "/_matrix/mau/ready", Want: "{"},
	}, nil
}

func (mautrixSample) Registration(serverName, url string) matrix.Registration {
	return SampleRegistration(serverName, url)
}

// SampleRegistration is the registration the sample bridge expects: ghosts
// and portal aliases under "sample_", its bot "samplebot".
func SampleRegistration(serverName, url string) matrix.Registration {
	server := regexp.QuoteMeta(serverName)
	off := false
	return matrix.Registration{
		ID: "sample", URL: &url,
		ASToken: "as_" + randomHex(16), HSToken: "hs_" + randomHex(16),
		SenderLocalpart: "samplebot",
		Namespaces: matrix.Namespaces{
			Users:   []matrix.Namespace{{Exclusive: true, Regex: "@sample_.*:" + server}},
			Aliases: []matrix.Namespace{{Exclusive: true, Regex: "#sample_.*:" + server}},
			Rooms:   []matrix.Namespace{},
		},
		RateLimited: &off,
	}
}
