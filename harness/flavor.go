package harness

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/asconform/asconform/internal/matrix"
)

// Settings are the neutral facts a SUT needs; a Flavor turns them into one
// implementation's configuration. A homeserver gets every registration; an
// application service gets its own (the first) and the homeserver's URL as
// the container sees it.
type Settings struct {
	ServerName    string
	Registrations []matrix.Registration
	HomeserverURL string
	// Extensions are the unstable extensions the run's profile checks
	// (Ext*); a flavor switches on those its implementation has.
	Extensions []string
	// ColdStart asks for a start as after a fresh install: caches the
	// image ships (compiled bytecode) ignored. For measuring starts only.
	ColdStart bool
	// RateLimits asks for the homeserver's own rate limiting of messages
	// switched on, tight enough that a burst of RateLimitBurst messages
	// from one normal user meets a 429; otherwise the suite turns rate
	// limits off (or as high as the implementation allows).
	RateLimits bool
}

// RateLimitBurst is how many messages in a row a normal user may send
// under Settings.RateLimits before the homeserver answers 429 (at most:
// a flavor may allow fewer).
const RateLimitBurst = 5

// Unstable extensions a profile may need switched on.
const (
	// ExtToDevice: to-device messages for an AS's users pushed in
	// transactions (MSC2409, now MSC4203).
	ExtToDevice = "msc4203-to-device"
	// ExtMSC3202: device lists and one-time key counts of an AS's users'
	// devices in transactions, for registrations with org.matrix.msc3202.
	ExtMSC3202 = "msc3202-transaction-extensions"
)

// HasExtension says whether s asks for extension ext.
func (s Settings) HasExtension(ext string) bool {
	for _, e := range s.Extensions {
		if e == ext {
			return true
		}
	}
	return false
}

// ContainerSpec is how a flavor wants its container started.
type ContainerSpec struct {
	Files      map[string][]byte // container path -> content
	Entrypoint []string
	Cmd        []string
	Port       int // plain-HTTP port inside the container
	Env        map[string]string
	Ready      Probe
}

// Flavor is the one place that knows an implementation's quirks. It is
// a ContainerFlavor or an InProcessFlavor.
type Flavor interface {
	Name() string
	Side() string // "homeserver" or "appservice"
}

// ContainerFlavor is an implementation run from an image in Docker.
type ContainerFlavor interface {
	Flavor
	// DefaultImage is the image used when the user names none, and Recipe
	// the script under ci/ that builds it offline ("" if none).
	DefaultImage() string
	Recipe() string
	Container(Settings) (ContainerSpec, error)
}

// InProcessFlavor is an implementation that runs in the test process (the
// references): no Docker, no image.
type InProcessFlavor interface {
	Flavor
	Start(Settings) (Deployment, error)
}

// Model is implemented by a flavor whose SUT is a model of a server: it
// does what a server does by itself (retries, deliveries) faster, and
// leaves some features out.
type Model interface {
	// TimeScale is how long its waits are next to a real server's (0.1: a tenth).
	TimeScale() float64
	// Unmodelled names the features it does not model.
	Unmodelled() []string
}

// RegistrationMaker is implemented by application-service flavors: the
// registration (namespaces, sender) their AS expects to be given.
type RegistrationMaker interface {
	Registration(serverName, url string) matrix.Registration
}

var flavors = map[string]Flavor{}

// Register adds a flavor; each flavor registers itself from its own file
// (an init function), so adding one touches no list elsewhere. A flavor
// that lives outside harness (the reference AS) registers the same way.
func Register(f Flavor) {
	if _, dup := flavors[f.Name()]; dup {
		panic("harness: flavor " + f.Name() + " registered twice")
	}
	flavors[f.Name()] = f
}

// LookupFlavor returns the flavor with the given name.
func LookupFlavor(name string) (Flavor, error) {
	if f, ok := flavors[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("unknown flavor %q (known: %s)", name, strings.Join(FlavorNames(), ", "))
}

// FlavorNames lists the known flavors.
func FlavorNames() []string {
	names := slices.Collect(maps.Keys(flavors))
	sort.Strings(names)
	return names
}

// Target is a flavor made ready to start: its image resolved (containers)
// and the addresses by which the SUT and the test process's fakes meet.
type Target struct {
	Flavor Flavor
	Image  string // "" in process
	// Listen is the host the fakes listen on; Advertise the name the SUT
	// reaches them by.
	Listen, Advertise string
	ReadyTimeout      time.Duration
	// Run names the janitor of the SUTs started (Janitor.Run): "" for the
	// process's.
	Run string
}

// InProcessTarget is where an in-process flavor's SUT meets the fakes.
func InProcessTarget(f InProcessFlavor) Target {
	return Target{Flavor: f, Listen: "127.0.0.1", Advertise: "127.0.0.1"}
}

// String names the flavor and its image, for progress lines.
func (t Target) String() string {
	if t.Image == "" {
		return t.Flavor.Name() + " (in process)"
	}
	return t.Flavor.Name() + " (" + t.Image + ")"
}

// Start starts one SUT of the target's flavor.
func (t Target) Start(ctx context.Context, s Settings) (Deployment, error) {
	switch f := t.Flavor.(type) {
	case InProcessFlavor:
		return f.Start(s)
	case ContainerFlavor:
		return StartContainer(ctx, ContainerOptions{Flavor: f, Image: t.Image, Settings: s, ReadyTimeout: t.ReadyTimeout, Run: t.Run})
	}
	return nil, fmt.Errorf("flavor %q runs neither in a container nor in process", t.Flavor.Name())
}

// ciImage is what container flavors share: a name, a side and an image
// built offline by ci/images/<dir>/build.sh as localhost/asconform/<dir>.
type ciImage struct{ name, side, dir string }

func (c ciImage) Name() string         { return c.name }
func (c ciImage) Side() string         { return c.side }
func (c ciImage) DefaultImage() string { return "localhost/asconform/" + c.dir + ":latest" }
func (c ciImage) Recipe() string       { return "ci/images/" + c.dir + "/build.sh" }

// homeserverFiles are the files a homeserver image starts with: one per
// registration, and at configPath, as YAML, the configuration that config
// builds around their paths.
func (c ciImage) homeserverFiles(regs []matrix.Registration, configPath string, config func(regPaths []string) map[string]any) (map[string][]byte, error) {
	files := map[string][]byte{}
	regPaths, err := c.registrationFiles(files, regs)
	if err != nil {
		return nil, err
	}
	data, err := yaml.Marshal(config(regPaths))
	if err != nil {
		return nil, err
	}
	files[configPath] = data
	return files, nil
}

// registrationFiles adds one file per registration under
// /conf/appservices to files and returns their paths, in order.
func (c ciImage) registrationFiles(files map[string][]byte, regs []matrix.Registration) ([]string, error) {
	paths := []string{}
	for i, reg := range regs {
		data, err := reg.Marshal()
		if err != nil {
			return nil, fmt.Errorf("%s: registration %s: %w", c.name, reg.ID, err)
		}
		p := fmt.Sprintf("/conf/appservices/as%02d.yaml", i+1)
		files[p] = data
		paths = append(paths, p)
	}
	return paths, nil
}
