package reports

import (
	"slices"
	"strings"

	"github.com/asconform/asconform/reports/requirements"
)

// NewestClaimed is the newest spec release among the versions the SUT
// advertises (an r0.x release counts as v1.0, its successor), or "" when it
// advertises none we know.
func (s SUT) NewestClaimed() string {
	newest := -1
	for _, v := range s.Versions {
		if strings.HasPrefix(v, "r0.") {
			v = "v1.0"
		}
		if i := slices.Index(requirements.Versions, v); i > newest {
			newest = i
		}
	}
	if newest < 0 {
		return ""
	}
	return requirements.Versions[newest]
}

// Unclaimed reports whether res is a miss (fail, non-strict or expected
// failure) of requirements all introduced after the newest version the SUT
// claims, and the earliest of their versions: "lacks a feature of a release
// it never claimed", shown apart from misses of releases it does claim. It
// changes no verdict and no exit status.
func (r Report) Unclaimed(res Result) (bool, string) {
	switch res.Verdict {
	case Fail, NonStrict, ExpectedFailure:
	default:
		return false, ""
	}
	newest := r.SUT.NewestClaimed()
	if newest == "" {
		return false, ""
	}
	return requirements.AllAfter(res.Requirements, newest)
}
