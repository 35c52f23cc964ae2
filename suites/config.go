// Package suites holds what the conformance suites share: configuration,
// the run's lifecycle, and turning Ginkgo's report into asconform's.
package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/asconform/asconform/requirements"
)

// Config is read from the environment so that `go test` and the asconform
// command configure a run the same way. README.md lists the variables.
type Config struct {
	Flavor           string        // ASCONFORM_HS_FLAVOR
	Image            string        // ASCONFORM_HS_IMAGE
	URL              string        // ASCONFORM_HS_URL: external mode when set
	ServerName       string        // ASCONFORM_HS_SERVER_NAME
	RegistrationsDir string        // ASCONFORM_REGISTRATIONS: external mode
	FakesListen      string        // ASCONFORM_FAKES_LISTEN: external mode
	Out              string        // ASCONFORM_OUT
	Expectations     string        // ASCONFORM_EXPECTATIONS
	ReadyTimeout     time.Duration // ASCONFORM_READY_TIMEOUT
	SpecVersion      string        // ASCONFORM_SPEC_VERSION: skip what came later
	Mutant           string        // ASCONFORM_MUTANT: break the SUT on purpose (mutants package)
}

// LoadConfig reads the environment and applies defaults.
func LoadConfig() (Config, error) {
	c := Config{
		Flavor:           env("ASCONFORM_HS_FLAVOR", "synapse"),
		Image:            os.Getenv("ASCONFORM_HS_IMAGE"),
		URL:              os.Getenv("ASCONFORM_HS_URL"),
		ServerName:       env("ASCONFORM_HS_SERVER_NAME", "asconform.test"),
		RegistrationsDir: os.Getenv("ASCONFORM_REGISTRATIONS"),
		FakesListen:      env("ASCONFORM_FAKES_LISTEN", "0.0.0.0"),
		Out:              os.Getenv("ASCONFORM_OUT"),
		Expectations:     os.Getenv("ASCONFORM_EXPECTATIONS"),
		SpecVersion:      os.Getenv("ASCONFORM_SPEC_VERSION"),
		Mutant:           os.Getenv("ASCONFORM_MUTANT"),
	}
	if c.SpecVersion != "" && !requirements.KnownVersion(c.SpecVersion) {
		return c, fmt.Errorf("ASCONFORM_SPEC_VERSION %q is not a spec release this suite knows (e.g. v1.16)", c.SpecVersion)
	}
	d, err := time.ParseDuration(env("ASCONFORM_READY_TIMEOUT", "120s"))
	if err != nil {
		return c, fmt.Errorf("ASCONFORM_READY_TIMEOUT: %w", err)
	}
	c.ReadyTimeout = d
	if c.URL != "" && c.RegistrationsDir == "" {
		return c, fmt.Errorf("ASCONFORM_HS_URL is set (external mode) but ASCONFORM_REGISTRATIONS is not: name the directory of registration files installed on that homeserver (make them with `asconform registrations`)")
	}
	root := repoRoot()
	if c.Out == "" {
		c.Out = filepath.Join(root, "report")
	}
	if c.Expectations == "" {
		p := filepath.Join(root, "expectations", c.Flavor+".yaml")
		if _, err := os.Stat(p); err == nil {
			c.Expectations = p
		}
	}
	return c, nil
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// repoRoot is the nearest parent directory holding go.mod, or the working
// directory.
func repoRoot() string {
	wd, _ := os.Getwd()
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}
