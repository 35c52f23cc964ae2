package harness

import "fmt"

func init() { Register(dendrite{ciImage{"dendrite", "homeserver", "dendrite"}}) }

// dendrite configures Dendrite (matrix-org/dendrite) as built by
// ci/images/dendrite: the image's entrypoint generates Dendrite's default
// config and a signing key, then merges the overrides written here over it,
// so only what the suite needs differs from Dendrite's defaults.
type dendrite struct{ ciImage }

const dendritePort = 8008

func (f dendrite) Container(s Settings) (ContainerSpec, error) {
	files, err := f.homeserverFiles(s.Registrations, "/conf/overrides.yaml", func(regPaths []string) map[string]any {
		return dendriteOverrides(s, regPaths)
	})
	if err != nil {
		return ContainerSpec{}, err
	}
	return ContainerSpec{
		Files: files,
		Env:   map[string]string{"DENDRITE_SERVER_NAME": s.ServerName},
		// The suite registers its test users without a captcha or email.
		Cmd:   []string{"-really-enable-open-registration", "-http-bind-address", fmt.Sprintf(":%d", dendritePort)},
		Port:  dendritePort,
		Ready: HomeserverProbe,
	}, nil
}

// dendriteOverrides is what differs from Dendrite's default configuration.
func dendriteOverrides(s Settings, regPaths []string) map[string]any {
	// Dendrite counts a caller's requests over a sliding window: at most
	// threshold of them within cooloff_ms.
	rateLimiting := map[string]any{"enabled": false}
	if s.RateLimits {
		rateLimiting = map[string]any{"enabled": true, "threshold": RateLimitBurst, "cooloff_ms": 2000}
	}
	return map[string]any{
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
			"rate_limiting":         rateLimiting,
		},
		"federation_api": map[string]any{"key_perspectives": []any{}},
		"user_api":       map[string]any{"bcrypt_cost": 4},
		"sync_api":       map[string]any{"fulltext": map[string]any{"enabled": false}},
		"logging":        []any{map[string]any{"type": "std", "level": "info"}},
	}
}
