package harness

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

func init() { Register(synapse{ciImage{"synapse", "homeserver", "synapse"}}) }

// synapse configures Synapse (element-hq/synapse). It writes a complete
// config rather than patching a generated one, so the same flavor works for
// our Debian-built image and for the published matrixdotorg/synapse image.
type synapse struct{ ciImage }

const synapsePort = 8008

func (f synapse) Container(s Settings) (ContainerSpec, error) {
	files, err := f.homeserverFiles(s.Registrations, "/conf/homeserver.yaml", func(regPaths []string) map[string]any {
		return synapseConfig(s, regPaths)
	})
	if err != nil {
		return ContainerSpec{}, err
	}
	files["/conf/log.yaml"] = []byte(synapseLogConfig)
	files["/conf/signing.key"] = []byte(signingKey())
	var env map[string]string
	if s.ColdStart {
		// Imports then look for .pyc files only under this empty directory
		// (in the container's throwaway layer) and compile every module.
		env = map[string]string{"PYTHONPYCACHEPREFIX": "/tmp/asconform-no-bytecode"}
	}
	return ContainerSpec{
		Files:      files,
		Env:        env,
		Entrypoint: []string{"python3", "-m", "synapse.app.homeserver"},
		Cmd:        []string{"--config-path", "/conf/homeserver.yaml"},
		Port:       synapsePort,
		Ready:      HomeserverProbe,
	}, nil
}

// synapseConfig is Synapse's complete configuration.
func synapseConfig(s Settings, regPaths []string) map[string]any {
	lots := map[string]any{"per_second": 10000, "burst_count": 100000}
	config := map[string]any{
		"server_name": s.ServerName,
		"pid_file":    "/data/homeserver.pid",
		"listeners": []any{map[string]any{
			"port": synapsePort, "type": "http", "tls": false, "x_forwarded": false,
			"bind_addresses": []string{"0.0.0.0"},
			"resources":      []any{map[string]any{"names": []string{"client"}, "compress": false}},
		}},
		"database":                                 map[string]any{"name": "sqlite3", "args": map[string]any{"database": "/data/homeserver.db"}},
		"log_config":                               "/conf/log.yaml",
		"media_store_path":                         "/data/media_store",
		"signing_key_path":                         "/conf/signing.key",
		"report_stats":                             false,
		"trusted_key_servers":                      []any{},
		"suppress_key_server_warning":              true,
		"enable_registration":                      true,
		"enable_registration_without_verification": true,
		"macaroon_secret_key":                      randomHex(32),
		"form_secret":                              randomHex(32),
		"registration_shared_secret":               randomHex(32),
		"bcrypt_rounds":                            4,
		"url_preview_enabled":                      false,
		"app_service_config_files":                 regPaths,
		"rc_message":                               lots,
		"rc_registration":                          lots,
		"rc_joins":                                 map[string]any{"local": lots, "remote": lots},
		"rc_joins_per_room":                        lots,
		"rc_invites":                               map[string]any{"per_room": lots, "per_user": lots, "per_issuer": lots},
		"rc_login":                                 map[string]any{"address": lots, "account": lots, "failed_attempts": lots},
		"rc_admin_redaction":                       lots,
		"rc_3pid_validation":                       lots,
		"rc_presence":                              map[string]any{"per_user": lots},
		"rc_delayed_event_mgmt":                    lots,
	}
	if s.RateLimits {
		// A burst of RateLimitBurst messages, then one every 10 s.
		config["rc_message"] = map[string]any{"per_second": 0.1, "burst_count": RateLimitBurst}
	}
	// Synapse pushes to-device messages to ASes with receive_ephemeral
	// (or de.sorunome.msc2409.push_ephemeral) only behind this flag.
	experimental := map[string]any{}
	if s.HasExtension(ExtToDevice) {
		experimental["msc2409_to_device_messages_enabled"] = true
	}
	if s.HasExtension(ExtMSC3202) {
		experimental["msc3202_transaction_extensions"] = true
	}
	if s.HasExtension(ExtKeyClaims) {
		experimental["msc3983_appservice_otk_claims"] = true
	}
	if s.HasExtension(ExtKeyQueries) {
		experimental["msc3984_appservice_key_query"] = true
	}
	if len(experimental) > 0 {
		config["experimental_features"] = experimental
	}
	return config
}

// Logs go to stderr so the container log holds them.
const synapseLogConfig = `version: 1
formatters:
  plain:
    format: '%(asctime)s %(levelname)s %(name)s: %(message)s'
handlers:
  console:
    class: logging.StreamHandler
    formatter: plain
root:
  level: INFO
  handlers: [console]
disable_existing_loggers: false
`

// signingKey is a fresh ed25519 key in Synapse's "alg version seed" format.
func signingKey() string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return "ed25519 a_asc " + base64.RawStdEncoding.EncodeToString(priv.Seed()) + "\n"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Unstable extensions Synapse switches on for a profile, beside those of
// flavor.go (whose constants belong there; kept here while flavor.go is
// another helper's to change).
const (
	// ExtKeyClaims: one-time key claims for an AS's exclusive users
	// forwarded to the AS (MSC3983).
	ExtKeyClaims = "msc3983-otk-claims"
	// ExtKeyQueries: device key queries for an AS's exclusive users
	// forwarded to the AS (MSC3984).
	ExtKeyQueries = "msc3984-key-queries"
)
