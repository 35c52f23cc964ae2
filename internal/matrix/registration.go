// Package matrix holds the few Matrix wire types asconform needs. They are
// written from the specification, not taken from an implementation, so that
// the suite does not inherit any server's interpretation.
package matrix

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Namespace is one entry of a registration's users, aliases or rooms list.
type Namespace struct {
	Exclusive bool   `yaml:"exclusive" json:"exclusive"`
	Regex     string `yaml:"regex" json:"regex"`
}

// Namespaces groups the three namespace kinds of a registration.
type Namespaces struct {
	Users   []Namespace `yaml:"users" json:"users"`
	Aliases []Namespace `yaml:"aliases" json:"aliases"`
	Rooms   []Namespace `yaml:"rooms" json:"rooms"`
}

// Registration is an application service registration file
// (spec: Application Service API, "Registration").
type Registration struct {
	ID               string     `yaml:"id"`
	URL              *string    `yaml:"url"` // null means the AS receives no traffic
	ASToken          string     `yaml:"as_token"`
	HSToken          string     `yaml:"hs_token"`
	SenderLocalpart  string     `yaml:"sender_localpart"`
	Namespaces       Namespaces `yaml:"namespaces"`
	RateLimited      *bool      `yaml:"rate_limited,omitempty"`
	Protocols        []string   `yaml:"protocols,omitempty"`
	ReceiveEphemeral bool       `yaml:"receive_ephemeral,omitempty"`
	// MSC3202 opts in to device lists and one-time key counts in
	// transactions (unstable, MSC3202).
	MSC3202 bool `yaml:"org.matrix.msc3202,omitempty"`
}

// ParseRegistration decodes and validates a registration file. Errors name
// the offending field so a user can fix the file.
func ParseRegistration(data []byte) (Registration, error) {
	var reg Registration
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&reg); err != nil {
		return Registration{}, fmt.Errorf("registration file is not valid YAML for a registration: %w", err)
	}
	if err := reg.Validate(); err != nil {
		return Registration{}, err
	}
	return reg, nil
}

// Validate checks the fields the spec requires.
func (r Registration) Validate() error {
	var errs []error
	missing := func(field, value string) {
		if value == "" {
			errs = append(errs, fmt.Errorf("registration: %s is required", field))
		}
	}
	missing("id", r.ID)
	missing("as_token", r.ASToken)
	missing("hs_token", r.HSToken)
	missing("sender_localpart", r.SenderLocalpart)
	if r.URL != nil {
		if u, err := url.Parse(*r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("registration: url %q is not an http(s) URL", *r.URL))
		}
	}
	for field, v := range map[string]string{"id": r.ID, "as_token": r.ASToken, "hs_token": r.HSToken, "sender_localpart": r.SenderLocalpart} {
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			errs = append(errs, fmt.Errorf("registration: %s contains a control character", field))
		}
	}
	for kind, list := range map[string][]Namespace{"users": r.Namespaces.Users, "aliases": r.Namespaces.Aliases, "rooms": r.Namespaces.Rooms} {
		for i, ns := range list {
			if strings.IndexFunc(ns.Regex, unicode.IsControl) >= 0 {
				errs = append(errs, fmt.Errorf("registration: namespaces.%s[%d].regex contains a control character", kind, i))
			}
			// Checked as it is matched: anchored.
			if _, err := regexp.Compile(anchored(ns.Regex)); err != nil {
				errs = append(errs, fmt.Errorf("registration: namespaces.%s[%d].regex: %w", kind, i, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Marshal renders the registration as YAML.
func (r Registration) Marshal() ([]byte, error) { return yaml.Marshal(r) }

// InUsers reports whether a user ID falls in one of the users namespaces.
func (r Registration) InUsers(userID string) bool { return matchAny(r.Namespaces.Users, userID) }

// InAliases reports whether a room alias falls in one of the aliases namespaces.
func (r Registration) InAliases(alias string) bool { return matchAny(r.Namespaces.Aliases, alias) }

func anchored(regex string) string { return "^(?:" + regex + ")$" }

func matchAny(list []Namespace, id string) bool {
	for _, ns := range list {
		// Namespace regexes match the whole ID in practice; anchor to avoid
		// prefix surprises.
		if re, err := regexp.Compile(anchored(ns.Regex)); err == nil && re.MatchString(id) {
			return true
		}
	}
	return false
}
