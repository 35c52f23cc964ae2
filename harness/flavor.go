package harness

import (
	"fmt"
	"sort"
	"strings"

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
}

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

// Flavor is the one place that knows an implementation's quirks.
type Flavor interface {
	Name() string
	Side() string // "homeserver" or "appservice"
	// DefaultImage is the image used when the user names none, and Recipe
	// the script under ci/ that builds it offline ("" if none).
	DefaultImage() string
	Recipe() string
	Container(Settings) (ContainerSpec, error)
}

// RegistrationMaker is implemented by application-service flavors: the
// registration (namespaces, sender) their AS expects to be given.
type RegistrationMaker interface {
	Registration(serverName, url string) matrix.Registration
}

var flavors = map[string]Flavor{}

func register(f Flavor) { flavors[f.Name()] = f }

// LookupFlavor returns the flavor with the given name.
func LookupFlavor(name string) (Flavor, error) {
	if f, ok := flavors[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("unknown homeserver flavor %q (known: %s)", name, strings.Join(FlavorNames(), ", "))
}

// FlavorNames lists the known flavors.
func FlavorNames() []string {
	var names []string
	for n := range flavors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
