// Package requirements is the catalogue of normative statements of the
// Matrix Application Service API that asconform checks. Specs name entries
// by ID; reports link each verdict back to its entry.
package requirements

import (
	"fmt"
	"sort"
	"strings"
)

// Side is the party a requirement binds.
type Side string

const (
	Homeserver Side = "homeserver"
	AppService Side = "appservice"
)

// Level is the strength of a requirement (RFC 2119 keyword, or a schema rule).
type Level string

const (
	Must       Level = "MUST"
	MustNot    Level = "MUST NOT"
	Should     Level = "SHOULD"
	ShouldNot  Level = "SHOULD NOT"
	May        Level = "MAY"
	Schema     Level = "SCHEMA"     // required by the OpenAPI definition rather than prose
	Historical Level = "HISTORICAL" // from the 2015 design drafts, not in today's spec
)

// Strict reports whether breaking the requirement is a failure rather than
// a non-strict finding.
func (l Level) Strict() bool { return l == Must || l == MustNot || l == Schema }

// Requirement is one normative statement. Summary is our own paraphrase.
type Requirement struct {
	ID      string // stable: SIDE-AREA-NN, e.g. HS-TXN-01
	Side    Side
	Level   Level
	Since   string // spec version that introduced it, e.g. "v1.1"; "2015-draft" for historical ones
	Section string // section heading in the spec
	URL     string // link to the section of the spec release
	Summary string
}

var byID = map[string]Requirement{}

func init() {
	for _, r := range catalogue {
		if _, dup := byID[r.ID]; dup {
			panic("requirements: duplicate ID " + r.ID)
		}
		byID[r.ID] = r
	}
}

// Lookup returns the requirement with the given ID.
func Lookup(id string) (Requirement, bool) {
	r, ok := byID[id]
	return r, ok
}

// Validate returns an error naming every ID that is not in the catalogue.
func Validate(ids ...string) error {
	var unknown []string
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown requirement ID(s): %s", strings.Join(unknown, ", "))
	}
	return nil
}

// All returns the catalogue sorted by ID.
func All() []Requirement {
	out := make([]Requirement, len(catalogue))
	copy(out, catalogue)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
