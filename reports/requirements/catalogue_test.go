package requirements

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var (
	specIDPattern = regexp.MustCompile(`^(HS|AS)-[A-Z0-9]+-\d\d$`)
	histIDPattern = regexp.MustCompile(`^HIST-[A-Z0-9]+-\d\d$`)
)

var knownSince = func() map[string]bool {
	m := map[string]bool{"2014-draft": true, "2015-draft": true, Unstable: true}
	for _, v := range Versions {
		m[v] = true
	}
	return m
}()

var knownLevels = func() map[Level]bool {
	m := map[Level]bool{}
	for _, l := range Levels {
		m[l] = true
	}
	return m
}()

func TestCatalogueNotEmpty(t *testing.T) {
	if len(catalogue) < 60 {
		t.Fatalf("catalogue has %d entries, expected at least 60", len(catalogue))
	}
}

func TestCatalogueEntriesWellFormed(t *testing.T) {
	for i, r := range catalogue {
		where := r.ID
		if where == "" {
			where = fmt.Sprintf("entry #%d", i)
		}
		for name, v := range map[string]string{
			"ID": r.ID, "Side": string(r.Side), "Level": string(r.Level), "Since": r.Since,
			"Section": r.Section, "URL": r.URL, "Summary": r.Summary,
		} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: empty %s", where, name)
			}
		}
		if r.Side != Homeserver && r.Side != AppService {
			t.Errorf("%s: unknown side %q", where, r.Side)
		}
		if !knownLevels[r.Level] {
			t.Errorf("%s: unknown level %q", where, r.Level)
		}
		if !knownSince[r.Since] {
			t.Errorf("%s: Since %q is not a known version", where, r.Since)
		}
		if strings.ContainsAny(r.Summary, "\n\r") {
			t.Errorf("%s: summary must be one line", where)
		}

		historical := strings.HasPrefix(r.ID, "HIST-")
		if historical {
			if !histIDPattern.MatchString(r.ID) {
				t.Errorf("%s: historical ID does not match %s", where, histIDPattern)
			}
			if r.Level != Historical {
				t.Errorf("%s: historical entry has level %q", where, r.Level)
			}
			if !strings.HasSuffix(r.Since, "-draft") {
				t.Errorf("%s: historical entry has Since %q", where, r.Since)
			}
			if !strings.HasPrefix(r.URL, "https://") {
				t.Errorf("%s: URL %q is not https", where, r.URL)
			}
			continue
		}

		if !specIDPattern.MatchString(r.ID) {
			t.Errorf("%s: ID does not match %s", where, specIDPattern)
		}
		if r.Level == Historical {
			t.Errorf("%s: Historical level on a non-HIST ID", where)
		}
		if strings.HasSuffix(r.Since, "-draft") {
			t.Errorf("%s: draft Since on a non-HIST ID", where)
		}
		if r.Since == Unstable {
			if !strings.HasPrefix(r.URL, "https://github.com/matrix-org/matrix-spec-proposals/") {
				t.Errorf("%s: URL %q of an unstable requirement does not name its MSC", where, r.URL)
			}
		} else if !strings.HasPrefix(r.URL, "https://spec.matrix.org/") {
			t.Errorf("%s: URL %q is not on spec.matrix.org", where, r.URL)
		}
		if r.Since != Unstable && !strings.Contains(r.URL, "#") {
			t.Errorf("%s: URL %q has no section anchor", where, r.URL)
		}
		switch {
		case strings.HasPrefix(r.ID, "HS-") && r.Side != Homeserver:
			t.Errorf("%s: HS- ID bound to %q", where, r.Side)
		case strings.HasPrefix(r.ID, "AS-") && r.Side != AppService:
			t.Errorf("%s: AS- ID bound to %q", where, r.Side)
		}
	}
}

func TestCatalogueIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range catalogue {
		if seen[r.ID] {
			t.Errorf("duplicate ID %s", r.ID)
		}
		seen[r.ID] = true
	}
	if len(byID) != len(catalogue) {
		t.Errorf("byID has %d entries, catalogue %d", len(byID), len(catalogue))
	}
}

// IDs that other code is written against; they must keep existing.
var pinnedIDs = []string{
	"HS-LOGIN-01", "HS-LOGIN-02",
	"HS-NS-01", "HS-NS-02", "HS-NS-03", "HS-NS-04",
	"HS-TXN-01", "HS-TXN-02", "HS-TXN-03", "HS-TXN-04", "HS-TXN-05", "HS-TXN-06", "HS-TXN-07",
	"HS-ID-01", "HS-ID-02",
	"HS-TS-01",
	"AS-AUTH-01", "AS-AUTH-02",
	"AS-TXN-01", "AS-TXN-02",
}

func TestPinnedIDsExist(t *testing.T) {
	if err := Validate(pinnedIDs...); err != nil {
		t.Fatal(err)
	}
	for _, id := range pinnedIDs {
		r, ok := Lookup(id)
		if !ok || r.ID != id {
			t.Errorf("Lookup(%s) = %+v, %v", id, r, ok)
		}
	}
}

func TestValidateRejectsUnknown(t *testing.T) {
	if err := Validate("HS-NOPE-99"); err == nil {
		t.Fatal("Validate accepted an unknown ID")
	}
}

func TestAllSorted(t *testing.T) {
	all := All()
	if len(all) != len(catalogue) {
		t.Fatalf("All() returned %d entries, want %d", len(all), len(catalogue))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Errorf("All() not sorted at %d: %s >= %s", i, all[i-1].ID, all[i].ID)
		}
	}
}

func TestAllAfter(t *testing.T) {
	// HS-TS-01 came in v1.3, HS-TXN-02 in v1.4, HS-TXN-01 in v1.0.
	cases := []struct {
		ids    []string
		target string
		later  bool
		since  string
	}{
		{[]string{"HS-TS-01"}, "v1.2", true, "v1.3"},
		{[]string{"HS-TS-01"}, "v1.3", false, ""},
		{[]string{"HS-TS-01", "HS-TXN-02"}, "v1.2", true, "v1.3"},
		{[]string{"HS-TS-01", "HS-TXN-01"}, "v1.2", false, ""},
		{[]string{"NOPE-01"}, "v1.2", false, ""},
		{nil, "v1.2", false, ""},
	}
	for _, c := range cases {
		later, since := AllAfter(c.ids, c.target)
		if later != c.later || since != c.since {
			t.Errorf("AllAfter(%v, %s) = %v, %q; want %v, %q", c.ids, c.target, later, since, c.later, c.since)
		}
	}
}
