package harness

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/asconform/asconform/internal/matrix"
)

func init() { register(mautrixSample{}) }

// mautrixSample is the sample application service on the mautrix-python
// framework built by ci/images/mautrix-sample (its README has the contract).
type mautrixSample struct{}

func (mautrixSample) Name() string         { return "mautrix-sample" }
func (mautrixSample) Side() string         { return "appservice" }
func (mautrixSample) DefaultImage() string { return "localhost/asconform/mautrix-sample:latest" }
func (mautrixSample) Recipe() string       { return "ci/images/mautrix-sample/build.sh" }
func (mautrixSample) Capabilities() string { return sampleCapabilities }

// sampleCapabilities is what both sample bridges do beyond the spec (their
// READMEs under ci/images describe it); they bridge no third-party protocol.
const sampleCapabilities = JoinsOnInvite + "," + EchoesMessages + "," + RegistersQueriedUsers + "," + CreatesQueriedAliases

func (mautrixSample) Container(s Settings) (ContainerSpec, error) {
	if len(s.Registrations) != 1 || s.HomeserverURL == "" {
		return ContainerSpec{}, errors.New("mautrix-sample: needs exactly one registration and the homeserver URL")
	}
	reg, err := s.Registrations[0].Marshal()
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("mautrix-sample: registration: %w", err)
	}
	return ContainerSpec{
		Files: map[string][]byte{"/conf/registration.yaml": reg},
		Env:   map[string]string{"ASCONFORM_HS_URL": s.HomeserverURL, "ASCONFORM_HS_DOMAIN": s.ServerName},
		Port:  29333,
		// mautrix's own health endpoint; it needs no token.
		Ready: Probe{Path: "/_matrix/mau/ready", Want: "{"},
	}, nil
}

// Registration is the registration the sample expects: ghosts and portal
// aliases under "sample_", its bot "samplebot".
func (mautrixSample) Registration(serverName, url string) matrix.Registration {
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
