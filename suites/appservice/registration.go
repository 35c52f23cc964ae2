package appservice

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/asconform/asconform/suites"
	. "github.com/onsi/ginkgo/v2"
	"gopkg.in/yaml.v3"
)

// Application Service API, "Registration": the registration file the AS
// comes with (registration.yaml: id, url, as_token, hs_token,
// sender_localpart and namespaces required; each namespace entry needs
// exclusive and regex).
var _ = describe("AS registration", func() {
	const timeout = 30 * time.Second

	It("comes with a registration stating id, url (a string or null), as_token, hs_token, sender_localpart and namespaces (observed: protocols, a null url)", Label("AS-REG-01", "AS-REG-03", "AS-3PE-01"), func(ctx SpecContext) {
		doc := registrationDocument(ctx)
		var problems []string
		for _, field := range []string{"id", "as_token", "hs_token", "sender_localpart"} {
			v, ok := doc[field]
			s, isString := v.(string)
			switch {
			case !ok:
				problems = append(problems, "lacks "+field)
			case !isString || s == "":
				problems = append(problems, fmt.Sprintf("has %s = %v, not a non-empty string", field, v))
			}
		}
		url, ok := doc["url"]
		switch {
		case !ok:
			problems = append(problems, "lacks url (required, but may be null)")
		case url == nil:
			suites.Observe("url", "null: the AS wants no traffic from the homeserver (AS-REG-03)")
		default:
			if _, isString := url.(string); !isString {
				problems = append(problems, fmt.Sprintf("has url = %v, neither a string nor null", url))
			}
			suites.Observe("url", "a URL (AS-REG-03's null url not used)")
		}
		if ns, ok := doc["namespaces"]; !ok {
			problems = append(problems, "lacks namespaces")
		} else if _, isMap := ns.(map[string]any); !isMap {
			problems = append(problems, fmt.Sprintf("has namespaces = %v, not an object", ns))
		}
		if p, ok := doc["protocols"]; ok {
			suites.Observe("protocols announced (AS-3PE-01)", p)
		} else {
			suites.Observe("protocols announced (AS-3PE-01)", "none")
		}
		if len(problems) > 0 {
			Fail("the registration " + strings.Join(problems, "; "))
		}
	}, NodeTimeout(timeout))

	It("comes with a registration whose every users, aliases and rooms namespace entry has a string regex and a boolean exclusive", Label("AS-REG-02"), func(ctx SpecContext) {
		doc := registrationDocument(ctx)
		namespaces, _ := doc["namespaces"].(map[string]any)
		var problems []string
		for _, kind := range []string{"users", "aliases", "rooms"} {
			v, ok := namespaces[kind]
			if !ok || v == nil {
				continue // each list is optional
			}
			list, isList := v.([]any)
			if !isList {
				problems = append(problems, fmt.Sprintf("namespaces.%s is %v, not a list", kind, v))
				continue
			}
			for i, e := range list {
				entry, _ := e.(map[string]any)
				where := fmt.Sprintf("namespaces.%s[%d]", kind, i)
				if re, isString := entry["regex"].(string); !isString {
					problems = append(problems, fmt.Sprintf("%s has no string regex (%v)", where, entry["regex"]))
				} else if _, err := regexp.Compile(re); err != nil {
					suites.Observe(where+" regex", fmt.Sprintf("%q is not a regular expression Go's regexp reads: %v", re, err))
				}
				if _, isBool := entry["exclusive"].(bool); !isBool {
					problems = append(problems, fmt.Sprintf("%s has no boolean exclusive (%v)", where, entry["exclusive"]))
				}
			}
		}
		if len(problems) > 0 {
			Fail("the registration's namespaces break the schema: " + strings.Join(problems, "; "))
		}
	}, NodeTimeout(timeout))

	It("comes with exclusive user and alias namespaces that start with an underscore after the sigil", Label("AS-REG-04"), func(ctx SpecContext) {
		doc := registrationDocument(ctx)
		namespaces, _ := doc["namespaces"].(map[string]any)
		var problems, seen []string
		for _, k := range []struct{ kind, sigil string }{{"users", "@"}, {"aliases", "#"}} {
			list, _ := namespaces[k.kind].([]any)
			for _, e := range list {
				entry, _ := e.(map[string]any)
				re, _ := entry["regex"].(string)
				if exclusive, _ := entry["exclusive"].(bool); !exclusive {
					continue
				}
				seen = append(seen, re)
				if !underscoreAfterSigil(re, k.sigil) {
					problems = append(problems, fmt.Sprintf("exclusive %s namespace %q does not start with an underscore after the sigil (e.g. %s_irc_.*)", k.kind, re, k.sigil))
				}
			}
		}
		suites.Observe("exclusive user and alias namespaces", seen)
		if len(problems) > 0 {
			Fail(strings.Join(problems, "\n"))
		}
	}, NodeTimeout(timeout))
})

// underscoreAfterSigil says whether a namespace regex starts, after an
// optional ^ and its sigil (escaped or not), with a literal underscore.
func underscoreAfterSigil(re, sigil string) bool {
	re = strings.TrimPrefix(re, "^")
	re = strings.TrimPrefix(re, `\`)
	rest, ok := strings.CutPrefix(re, sigil)
	return ok && (strings.HasPrefix(rest, "_") || strings.HasPrefix(rest, `\_`))
}

// registrationDocument is the registration the AS under test runs with, as
// a YAML document, after observing where it comes from: in external mode
// the file the user gives (ASCONFORM_AS_REGISTRATION), which the AS itself
// uses; for the reference AS, the file it comes with; for a container
// flavor, the file the harness writes into the container from what the
// flavor declares its AS expects (namespaces, sender_localpart, id; the
// tokens are fresh and the url is the harness's), so there only the
// namespaces and the sender are the AS side's own.
func registrationDocument(ctx SpecContext) map[string]any {
	GinkgoHelper()
	f := NewFixture(ctx)
	cfg, err := suites.Settings()
	if err != nil {
		suites.HarnessError(err)
	}
	var data []byte
	var source string
	switch {
	case cfg.ASURL != "":
		if data, err = os.ReadFile(cfg.ASRegistration); err != nil {
			suites.HarnessError(err)
		}
		source = "the file the AS under test uses (ASCONFORM_AS_REGISTRATION=" + cfg.ASRegistration + ")"
	case cfg.ASFlavor == ReferenceFlavor:
		data, source = referenceFile, "the file the reference AS comes with"
	default:
		if data, err = f.Env.Reg.Marshal(); err != nil {
			suites.HarnessError(err)
		}
		source = "the file the harness writes into the container from the registration flavor " + cfg.ASFlavor +
			" says its AS expects: its id, sender_localpart and namespaces are the AS side's; its tokens and url are the harness's, so the presence of the required fields is the harness's doing"
	}
	suites.Observe("registration checked", source)
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil || doc == nil {
		Fail(fmt.Sprintf("the registration is not a YAML mapping: %v", err))
	}
	suites.Observe("sender_localpart", doc["sender_localpart"])
	suites.Observe("namespaces", doc["namespaces"])
	return doc
}
