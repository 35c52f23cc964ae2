// Package suites holds what the conformance suites share: configuration,
// the run's lifecycle, and turning Ginkgo's report into asconform's.
package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/report"
	"github.com/asconform/asconform/report/requirements"
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
	Profiles         []string      // ASCONFORM_PROFILE: opt-in profiles of unstable extensions (comma-separated)

	ASFlavor       string // ASCONFORM_AS_FLAVOR: application service under test
	ASImage        string // ASCONFORM_AS_IMAGE
	ASURL          string // ASCONFORM_AS_URL: external mode for the AS side
	ASRegistration string // ASCONFORM_AS_REGISTRATION: its registration file (external mode)
	ASExpectations string // expectations of the AS flavor (ASCONFORM_EXPECTATIONS overrides both)
	ASCapabilities string // ASCONFORM_AS_CAPABILITIES: what the AS does beyond the spec (default: its flavor's declaration)

	outPerSide bool
}

// SUT is what a side of the run is against: a flavor the harness deploys
// (from Image, for a container), or the SUT at URL (external mode).
type SUT struct{ Flavor, Image, URL string }

// SUT is what side is run against.
func (c Config) SUT(side string) SUT {
	if side == "appservice" {
		return SUT{Flavor: c.ASFlavor, Image: c.ASImage, URL: c.ASURL}
	}
	return SUT{Flavor: c.Flavor, Image: c.Image, URL: c.URL}
}

// OutFor is the report directory of a run of side.
func (c Config) OutFor(side string) string {
	if c.outPerSide && side != "" {
		return filepath.Join(c.Out, side)
	}
	return c.Out
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
		ASFlavor:         env("ASCONFORM_AS_FLAVOR", "mautrix-sample"),
		ASImage:          os.Getenv("ASCONFORM_AS_IMAGE"),
		ASURL:            os.Getenv("ASCONFORM_AS_URL"),
		ASRegistration:   os.Getenv("ASCONFORM_AS_REGISTRATION"),
		ASCapabilities:   os.Getenv("ASCONFORM_AS_CAPABILITIES"),
	}
	profiles, err := parseProfiles(os.Getenv("ASCONFORM_PROFILE"))
	if err != nil {
		return c, err
	}
	c.Profiles = profiles
	if _, err := harness.ParseCapabilities(c.ASCapabilities); err != nil {
		return c, fmt.Errorf("ASCONFORM_AS_CAPABILITIES: %w", err)
	}
	if c.ASURL != "" && c.ASRegistration == "" {
		return c, fmt.Errorf("ASCONFORM_AS_URL is set (external mode) but ASCONFORM_AS_REGISTRATION is not: name the registration file that AS uses")
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
		// One directory per side, so that go test running both suites'
		// packages at once does not mix their reports.
		c.Out = filepath.Join(root, "report")
		c.outPerSide = true
	}
	// A flavor's baseline describes that implementation's image; in
	// external mode the SUT is whatever runs there, so none applies unless
	// named.
	if c.Expectations == "" && c.URL == "" {
		c.Expectations = expectationsFor(root, c.Flavor)
	}
	c.ASExpectations = os.Getenv("ASCONFORM_EXPECTATIONS")
	if c.ASExpectations == "" && c.ASURL == "" {
		c.ASExpectations = expectationsFor(root, c.ASFlavor)
	}
	// A broken baseline must stop the run, not silently count as empty.
	for _, p := range []string{c.Expectations, c.ASExpectations} {
		if _, err := report.LoadExpectations(p); err != nil {
			return c, err
		}
	}
	return c, nil
}

// expectationsFor is the flavor's expectations file, if the repository has one.
func expectationsFor(root, flavor string) string {
	p := filepath.Join(root, "expectations", flavor+".yaml")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// repoRoot is the asconform source tree around the working directory, or
// the working directory.
func repoRoot() string {
	if root, err := SourceRoot(); err == nil {
		return root
	}
	wd, _ := os.Getwd()
	return wd
}

// SourceRoot is the asconform source tree around the working directory:
// the nearest parent whose go.mod is asconform's.
func SourceRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(data), "module github.com/asconform/asconform\n") {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%s is not inside the asconform source tree", wd)
		}
	}
}
