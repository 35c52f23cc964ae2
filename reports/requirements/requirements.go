// Package requirements is the catalogue of normative statements of the
// Matrix Application Service API that asconform checks. Specs name entries
// by ID; reports link each verdict back to its entry.
package requirements

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Side is the party a requirement binds.
type Side string

const (
	Homeserver Side = "homeserver"
	AppService Side = "appservice"
)

// Level is the spec's own word for a statement: an RFC 2119 keyword, a
// lower-case word kept as the spec wrote it, a schema rule, or none.
//
// Verdict rule: only MUST, MUST NOT and SCHEMA make a failed spec a strict
// failure. The spec adopts RFC 2119 for its capitalised keywords only, so a
// lower-case "must", "will", "should" or "may", a statement of fact with no
// keyword (Stated) and what the spec implies without saying (Implied) make
// a failure non-strict: a finding the report names by the spec's own word,
// not a broken MUST. MAY and lower-case "may" are permissions: a spec only
// observes how the SUT uses them.
type Level string

const (
	Must        Level = "MUST"
	MustNot     Level = "MUST NOT"
	Should      Level = "SHOULD"
	ShouldNot   Level = "SHOULD NOT"
	May         Level = "MAY"
	LowerMust   Level = "must"   // lower-case in the spec
	LowerShould Level = "should" // lower-case in the spec
	LowerMay    Level = "may"    // lower-case in the spec
	Will        Level = "will"   // "the homeserver will ...": described behaviour
	Stated      Level = "stated" // a statement of fact with no keyword ("prevents", "is used", "is expected")
	Implied     Level = "implied"
	Schema      Level = "SCHEMA"     // required by the OpenAPI definition rather than prose
	Historical  Level = "HISTORICAL" // from the 2014-2015 design drafts, not in today's spec
)

// Levels lists every level, strongest first.
var Levels = []Level{Must, MustNot, Schema, Should, ShouldNot, May, LowerMust, Will, LowerShould, LowerMay, Stated, Implied, Historical}

// Strict reports whether breaking the requirement is a failure rather than
// a non-strict finding.
func (l Level) Strict() bool { return l == Must || l == MustNot || l == Schema }

// Requirement is one normative statement. Summary is our own paraphrase.
type Requirement struct {
	ID      string // stable: SIDE-AREA-NN, e.g. HS-TXN-01
	Side    Side
	Level   Level
	Since   string // spec version that introduced it, e.g. "v1.1"; "2014-draft" or "2015-draft" for historical ones
	Section string // section heading in the spec
	URL     string // link to the section of the spec release
	Summary string
	// Question says where the spec is ambiguous on this statement; reports
	// show it beside the verdict rather than deciding it silently.
	Question string
	// OutOfReach says what checking the statement needs that no flavor
	// here offers; listings show it instead of a silent gap.
	OutOfReach string
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

// idShape is the form of a requirement ID: side, area, number.
var idShape = regexp.MustCompile(`^(HS|AS|HIST)-[A-Z0-9]+-\d\d$`)

// LooksLikeID says whether a spec's label has the form of a requirement ID,
// in the catalogue or not (Validate says which are).
func LooksLikeID(label string) bool { return idShape.MatchString(label) }

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

// Unstable is the Since of a requirement of an unstable extension (an MSC
// not merged into a spec release): checked only by an opt-in profile.
const Unstable = "unstable"

// Versions are the spec releases requirements can be dated by, oldest first.
var Versions = []string{
	"v1.0", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9",
	"v1.10", "v1.11", "v1.12", "v1.13", "v1.14", "v1.15", "v1.16", "v1.17", "v1.18", "v1.19",
}

// KnownVersion reports whether v is one of Versions.
func KnownVersion(v string) bool { return versionIndex(v) >= 0 }

func versionIndex(v string) int {
	for i, known := range Versions {
		if known == v {
			return i
		}
	}
	return -1
}

// AllAfter reports whether every requirement named came after spec version
// target, and the earliest of their versions. Historical and unknown IDs
// never count as later.
func AllAfter(ids []string, target string) (bool, string) {
	t := versionIndex(target)
	if t < 0 || len(ids) == 0 {
		return false, ""
	}
	earliest := ""
	for _, id := range ids {
		r, ok := byID[id]
		i := versionIndex(r.Since)
		if !ok || i < 0 || i <= t {
			return false, ""
		}
		if earliest == "" || i < versionIndex(earliest) {
			earliest = r.Since
		}
	}
	return true, earliest
}
