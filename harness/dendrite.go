package harness

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

func init() { register(dendrite{}) }

// dendrite configures Dendrite (matrix-org/dendrite) as built by
// ci/images/dendrite: the image's entrypoint generates Dendrite's default
// config and a signing key, then merges the overrides written here over it,
// so only what the suite needs differs from Dendrite's defaults.
type dendrite struct{}

func (dendrite) Name() string         { return "dendrite" }
func (dendrite) Side() string         { return "homeserver" }
func (dendrite) DefaultImage() string { return "localhost/asconform/dendrite:latest" }
func (dendrite) Recipe() string       { return "ci/images/dendrite/build.sh" }

const dendritePort = 8008

func (dendrite) Container(s Settings) (ContainerSpec, error) {
	files := map[string][]byte{}
	regPaths := []string{}
	for i, reg := range s.Registrations {
		data, err := reg.Marshal()
		if err != nil {
			return ContainerSpec{}, fmt.Errorf("dendrite: registration %s: %w", reg.ID, err)
		}
		p := fmt.Sprintf("/conf/appservices/as%02d.yaml", i+1)
		files[p] = data
		regPaths = append(regPaths, p)
	}
	overrides := map[string]any{
		"global": map[string]any{
			"server_name": s.ServerName,
			// Nothing outside the test network: no federation, no key
			// notaries, no phoning home.
			"disable_federation": true,
			"report_stats":       map[string]any{"enabled": false},
			// JetStream stays on disk (Dendrite's default): its queue of
			// undelivered AS events must survive a restart.
		},
		"app_service_api": map[string]any{"config_files": regPaths},
		"client_api": map[string]any{
			"registration_disabled": false,
			"guests_disabled":       true,
			"rate_limiting":         map[string]any{"enabled": false},
		},
		"federation_api": map[string]any{"key_perspectives": []any{}},
		"user_api":       map[string]any{"bcrypt_cost": 4},
		"sync_api":       map[string]any{"fulltext": map[string]any{"enabled": false}},
		"logging":        []any{map[string]any{"type": "std", "level": "info"}},
	}
	cfg, err := yaml.Marshal(overrides)
	if err != nil {
		return ContainerSpec{}, err
	}
	files["/conf/overrides.yaml"] = cfg
	return ContainerSpec{
		Files: files,
		Env:   map[string]string{"DENDRITE_SERVER_NAME": s.ServerName},
		// The suite registers its test users without a captcha or email.
		Cmd:   []string{"-really-enable-open-registration", "-http-bind-address", fmt.Sprintf(":%d", dendritePort)},
		Port:  dendritePort,
		Ready: HomeserverProbe,
	}, nil
}
