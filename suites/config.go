// Package suites holds what the conformance suites share: configuration,
// the run's lifecycle, and turning Ginkgo's report into asconform's.
package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/reports/requirements"
)

// Config is read from the environment so that `go test` and the asconform
// command configure a run the same way (Variables lists them).
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
	SharedHS         string        // ASCONFORM_SHARED_HS: a homeserver the mutation runs share
	Profiles         []string      // ASCONFORM_PROFILE: opt-in profiles of unstable extensions (comma-separated)

	ASFlavor       string // ASCONFORM_AS_FLAVOR: application service under test
	ASImage        string // ASCONFORM_AS_IMAGE
	ASURL          string // ASCONFORM_AS_URL: external mode for the AS side
	ASRegistration string // ASCONFORM_AS_REGISTRATION: its registration file (external mode)
	ASExpectations string // expectations of the AS flavor (ASCONFORM_EXPECTATIONS overrides both)
	ASCapabilities string // ASCONFORM_AS_CAPABILITIES: what the AS does beyond the spec (default: its flavor's declaration)
	FakeHSPort     string // ASCONFORM_FAKEHS_PORT: external AS mode

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

// Variable is an ASCONFORM_ variable a user may set.
type Variable struct {
	Name string
	// Default is the value when unset; About, when set, says what the
	// default is where no one value is (a flavor's, per side, ...).
	Default, About string
	Meaning        string
}

// Variables are the variables a run reads. They are the one source of
// their defaults, and of README.md's configuration table (asconform docs).
var Variables = []Variable{
	{Name: "ASCONFORM_HS_FLAVOR", Default: "synapse", Meaning: "homeserver implementation: how to configure and start it (`asconform list flavors`; `fakehs`: the reference, no Docker)"},
	{Name: "ASCONFORM_HS_IMAGE", About: "the flavor's default", Meaning: "container image of the homeserver"},
	{Name: "ASCONFORM_HS_URL", Meaning: "external mode: base URL of a running homeserver"},
	{Name: "ASCONFORM_HS_SERVER_NAME", Default: "asconform.test", Meaning: "server name"},
	{Name: "ASCONFORM_REGISTRATIONS", Meaning: "external mode: directory of registration files (`asconform registrations` writes them)"},
	{Name: "ASCONFORM_FAKES_LISTEN", Default: "0.0.0.0", Meaning: "external mode: host the fake ASes (or fakehs) listen on"},
	{Name: "ASCONFORM_OUT", About: "`asconform run`: `./report`; `go test`: `<repo>/report/<side>`", Meaning: "report directory (relative: to the working directory)"},
	{Name: "ASCONFORM_EXPECTATIONS", About: "`expectations/<flavor>.yaml`; none in external mode", Meaning: "known failures"},
	{Name: "ASCONFORM_READY_TIMEOUT", Default: "120s", Meaning: "how long the SUT may take to answer its readiness probe"},
	{Name: "ASCONFORM_SPEC_VERSION", Meaning: "target an older release; later requirements are skipped"},
	{Name: "ASCONFORM_AS_FLAVOR", Default: "mautrix-sample", Meaning: "application service under test (`fakeas`: the reference, no Docker)"},
	{Name: "ASCONFORM_AS_IMAGE", About: "the AS flavor's default", Meaning: "its container image"},
	{Name: "ASCONFORM_AS_CAPABILITIES", About: "the AS flavor's declaration", Meaning: "what the AS does beyond the spec (`none`, or e.g. `joins-on-invite,thirdparty-protocol=irc`; see \"Application services under test\")"},
	{Name: "ASCONFORM_AS_URL", Meaning: "external mode for an AS you run: its URL"},
	{Name: "ASCONFORM_AS_REGISTRATION", Meaning: "external AS mode: the registration file that AS uses"},
	{Name: "ASCONFORM_FAKEHS_PORT", About: "any free port", Meaning: "external AS mode: the port fakehs listens on (where your AS expects its homeserver)"},
	{Name: "ASCONFORM_MUTANT", Meaning: "run against a named mutant (`suites/mutants/`, `suites/appservice/mutants.go`)"},
	{Name: "ASCONFORM_SHARED_HS", Meaning: "set by the homeserver mutation runs for their child runs: the file naming the homeserver they share and the child's registrations (its sockets are handed down)"},
	{Name: "ASCONFORM_PROFILE", About: "none", Meaning: "also check opt-in profiles of unstable extensions, comma separated (`asconform list profiles`; see \"Profiles: unstable extensions\")"},
	{Name: "ASCONFORM_DENDRITE", Meaning: "`go test ./suites/homeserver`: `off` skips the Dendrite run, `full` adds its slow specs"},
	{Name: "ASCONFORM_CACHE", About: "`~/.cache/asconform`", Meaning: "image recipes (`ci/images/lib.sh`): where debootstrap's downloads are kept"},
}

// Setting is variable name's value, or its default when unset.
func Setting(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return Default(name)
}

// Default is variable name's default value.
func Default(name string) string {
	i := slices.IndexFunc(Variables, func(v Variable) bool { return v.Name == name })
	if i < 0 {
		panic("suites: " + name + " is not in Variables")
	}
	return Variables[i].Default
}

// LoadConfig reads the environment and applies defaults.
func LoadConfig() (Config, error) {
	c := Config{
		Flavor:           Setting("ASCONFORM_HS_FLAVOR"),
		Image:            Setting("ASCONFORM_HS_IMAGE"),
		URL:              Setting("ASCONFORM_HS_URL"),
		ServerName:       Setting("ASCONFORM_HS_SERVER_NAME"),
		RegistrationsDir: Setting("ASCONFORM_REGISTRATIONS"),
		FakesListen:      Setting("ASCONFORM_FAKES_LISTEN"),
		Out:              Setting("ASCONFORM_OUT"),
		Expectations:     Setting("ASCONFORM_EXPECTATIONS"),
		SpecVersion:      Setting("ASCONFORM_SPEC_VERSION"),
		Mutant:           Setting("ASCONFORM_MUTANT"),
		SharedHS:         Setting("ASCONFORM_SHARED_HS"),
		ASFlavor:         Setting("ASCONFORM_AS_FLAVOR"),
		ASImage:          Setting("ASCONFORM_AS_IMAGE"),
		ASURL:            Setting("ASCONFORM_AS_URL"),
		ASRegistration:   Setting("ASCONFORM_AS_REGISTRATION"),
		ASCapabilities:   Setting("ASCONFORM_AS_CAPABILITIES"),
		FakeHSPort:       Setting("ASCONFORM_FAKEHS_PORT"),
	}
	profiles, err := parseProfiles(Setting("ASCONFORM_PROFILE"))
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
	d, err := time.ParseDuration(Setting("ASCONFORM_READY_TIMEOUT"))
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
	c.ASExpectations = Setting("ASCONFORM_EXPECTATIONS")
	if c.ASExpectations == "" && c.ASURL == "" {
		c.ASExpectations = expectationsFor(root, c.ASFlavor)
	}
	// A broken baseline must stop the run, not silently count as empty.
	for _, p := range []string{c.Expectations, c.ASExpectations} {
		if _, err := reports.LoadExpectations(p); err != nil {
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

// repoRoot is the asconform source tree, or the working directory.
func repoRoot() string {
	if root, err := harness.SourceRoot(); err == nil {
		return root
	}
	wd, _ := os.Getwd()
	return wd
}
