package harness

import (
	"errors"

	"github.com/asconform/asconform/internal/matrix"
)

func init() { register(mautrixGoSample{}) }

// mautrixGoSample is the sample application service on mautrix-go built by
// ci/images/mautrix-go-sample: the same bridge as the mautrix-python sample
// (same registration, environment, port and behaviour), on the other
// framework.
type mautrixGoSample struct{}

func (mautrixGoSample) Name() string         { return "mautrix-go" }
func (mautrixGoSample) Side() string         { return "appservice" }
func (mautrixGoSample) DefaultImage() string { return "localhost/asconform/mautrix-go-sample:latest" }
func (mautrixGoSample) Recipe() string       { return "ci/images/mautrix-go-sample/build.sh" }
func (mautrixGoSample) Capabilities() string { return sampleCapabilities }

func (mautrixGoSample) Container(s Settings) (ContainerSpec, error) {
	spec, err := mautrixSample{}.Container(s)
	if err != nil {
		return ContainerSpec{}, errors.New("mautrix-go: needs exactly one registration and the homeserver URL")
	}
	return spec, nil
}

func (mautrixGoSample) Registration(serverName, url string) matrix.Registration {
	return mautrixSample{}.Registration(serverName, url)
}
