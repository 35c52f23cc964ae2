package reports

import (
	"slices"

	"github.com/asconform/asconform/reports/requirements"
)

// Coverage counts the catalogue's requirements, historical statements
// aside, and those a set of specs checks, per side and level.
type Coverage struct {
	total, checked map[coverageKey]int
}

type coverageKey struct {
	side  requirements.Side
	level requirements.Level
}

// CoverageOf counts the requirements for which checked says true.
func CoverageOf(checked func(id string) bool) Coverage {
	c := Coverage{total: map[coverageKey]int{}, checked: map[coverageKey]int{}}
	for _, r := range requirements.All() {
		if r.Level == requirements.Historical {
			continue
		}
		k := coverageKey{r.Side, r.Level}
		c.total[k]++
		if checked(r.ID) {
			c.checked[k]++
		}
	}
	return c
}

// Of is the count for one level of one side.
func (c Coverage) Of(side requirements.Side, level requirements.Level) (checked, total int) {
	k := coverageKey{side, level}
	return c.checked[k], c.total[k]
}

// OfSides is the count over the given sides, every level; no side: all.
func (c Coverage) OfSides(sides ...requirements.Side) (checked, total int) {
	for k, n := range c.total {
		if len(sides) == 0 || slices.Contains(sides, k.side) {
			total += n
			checked += c.checked[k]
		}
	}
	return checked, total
}
