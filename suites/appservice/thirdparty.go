package appservice

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API, "Third-party networks" (protocols.yaml and
// definitions/protocol*.yaml, user.yaml, location.yaml): for an AS that
// declares the protocol it bridges.
var _ = describe("AS third-party protocol metadata and lookups", needs(harness.ThirdPartyProtocol), func() {
	const timeout = 30 * time.Second

	It("serves its protocol's metadata with user and location fields, an icon, and a field type with a regexp and a placeholder for every field", Label("AS-3PE-02", "AS-3PE-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		meta := f.protocolMetadata(ctx)
		if problems := protocolProblems(meta); len(problems) > 0 {
			Fail(fmt.Sprintf("the metadata of protocol %s is not valid against protocol.yaml:\n%s", f.protocol(), strings.Join(problems, "\n")))
		}
		observeFieldTypes(meta)
	}, NodeTimeout(timeout))

	It("lists its protocol's instances, each with desc, fields and a network_id unique across instances", Label("AS-3PE-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		meta := f.protocolMetadata(ctx)
		if problems := instanceProblems(meta["instances"]); len(problems) > 0 {
			Fail(fmt.Sprintf("the instances of protocol %s are not valid against protocol_instance.yaml:\n%s", f.protocol(), strings.Join(problems, "\n")))
		}
	}, NodeTimeout(timeout))

	It("orders user and location fields from the broadest grouping (the fields its instances preset) to the narrowest", Label("AS-3PE-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		meta := f.protocolMetadata(ctx)
		// The spec's example: instances preset "network", and user_fields
		// is ["network", "nickname"]. A preset field groups the others, so
		// it comes before every field no instance presets.
		preset := map[string]bool{}
		instances, _ := meta["instances"].([]any)
		for _, i := range instances {
			inst, _ := i.(map[string]any)
			fields, _ := inst["fields"].(map[string]any)
			for k := range fields {
				preset[k] = true
			}
		}
		suites.Observe("fields its instances preset", sortedKeys(map[string]any{}, preset))
		if len(preset) == 0 {
			suites.Observe("order", "no instance presets a field: nothing to judge")
			return
		}
		var problems []string
		for _, key := range []string{"user_fields", "location_fields"} {
			names, _ := meta[key].([]any)
			narrow := ""
			for _, n := range names {
				name, _ := n.(string)
				switch {
				case !preset[name]:
					if narrow == "" {
						narrow = name
					}
				case narrow != "":
					problems = append(problems, fmt.Sprintf("%s lists the grouping field %s after %s, which no instance presets", key, name, narrow))
				}
			}
			suites.Observe(key, names)
		}
		if len(problems) > 0 {
			Fail(strings.Join(problems, "\n"))
		}
	}, NodeTimeout(timeout))

	It("answers 404 for the metadata of a protocol it does not bridge", Label("AS-3PE-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		other := "asconform-no-such-protocol"
		resp := f.Push.MustProtocol(ctx, other)
		suites.Observe("protocol "+other, resp.String())
		Expect(resp).To(match.HaveStatus(http.StatusNotFound), "metadata of protocol %s, which it does not bridge", other)
	}, NodeTimeout(timeout))

	It("answers user and location lookups and reverse lookups with an array of the schema's shape, or 404", Label("AS-3PE-06", "AS-3PE-07", "AS-3PE-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		p := f.protocol()
		meta := f.protocolMetadata(ctx)
		// Search by each field's placeholder: "a valid example of the field value".
		search := func(key string) url.Values {
			v := url.Values{}
			types, _ := meta["field_types"].(map[string]any)
			names, _ := meta[key].([]any)
			for _, n := range names {
				name, _ := n.(string)
				if ft, ok := types[name].(map[string]any); ok {
					if ph, ok := ft["placeholder"].(string); ok {
						v.Set(name, ph)
					}
				}
			}
			return v
		}
		lookups := []struct {
			name, item string
			call       func() csapi.Response
		}{
			{"GET /thirdparty/user/" + p, "user", func() csapi.Response { return f.Push.MustThirdPartyUsers(ctx, p, search("user_fields")) }},
			{"GET /thirdparty/location/" + p, "location", func() csapi.Response {
				return f.Push.MustThirdPartyLocations(ctx, p, search("location_fields"))
			}},
			{"GET /thirdparty/user?userid=", "user", func() csapi.Response { return f.Push.MustThirdPartyUserByID(ctx, f.Ghost("remote")) }},
			{"GET /thirdparty/location?alias=", "location", func() csapi.Response {
				return f.Push.MustThirdPartyLocationByAlias(ctx, f.Alias("remote"))
			}},
		}
		var failures []string
		for _, l := range lookups {
			resp := l.call()
			suites.Observe(l.name, resp.String())
			if problems := lookupProblems(resp, l.item); len(problems) > 0 {
				failures = append(failures, l.name+": "+strings.Join(problems, "; "))
			}
		}
		if len(failures) > 0 {
			Fail(fmt.Sprintf("%d of %d third-party lookups answered neither 404 nor an array of the schema's users or locations:\n%s", len(failures), len(lookups), strings.Join(failures, "\n")))
		}
	}, NodeTimeout(timeout))
})

// protocolMetadata fetches the declared protocol's metadata: 200 and a
// JSON object, else the spec fails here.
func (f *Fixture) protocolMetadata(ctx context.Context) map[string]any {
	GinkgoHelper()
	resp := f.Push.MustProtocol(ctx, f.protocol())
	suites.Observe("protocol "+f.protocol(), resp.String())
	Expect(resp).To(match.HaveStatus(http.StatusOK), "metadata of protocol %s, which the AS declares it bridges", f.protocol())
	var meta map[string]any
	Expect(json.Unmarshal(resp.Body, &meta)).To(Succeed(), "the metadata is not a JSON object: %s", resp.Body)
	return meta
}

// protocolProblems checks protocol_base.yaml: required keys and their
// types, and that every user and location field has a field type with a
// regexp and a placeholder ("Each entry in those arrays MUST have an entry here").
func protocolProblems(meta map[string]any) []string {
	var out []string
	types, ok := meta["field_types"].(map[string]any)
	if !ok {
		out = append(out, fmt.Sprintf("field_types is %s, not an object", jsonKind(meta["field_types"])))
	}
	for name, ft := range types {
		entry, ok := ft.(map[string]any)
		if !ok {
			out = append(out, fmt.Sprintf("field_types.%s is %s, not an object", name, jsonKind(ft)))
			continue
		}
		for _, k := range []string{"regexp", "placeholder"} {
			if _, ok := entry[k].(string); !ok {
				out = append(out, fmt.Sprintf("field_types.%s.%s is %s, not a string", name, k, jsonKind(entry[k])))
			}
		}
	}
	for _, key := range []string{"user_fields", "location_fields"} {
		names, ok := meta[key].([]any)
		if !ok {
			out = append(out, fmt.Sprintf("%s is %s, not an array", key, jsonKind(meta[key])))
			continue
		}
		for _, n := range names {
			name, ok := n.(string)
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s lists %s, not a string", key, jsonKind(n)))
			case types != nil && types[name] == nil:
				out = append(out, fmt.Sprintf("%s lists %s, which has no entry in field_types", key, name))
			}
		}
	}
	if _, ok := meta["icon"].(string); !ok {
		out = append(out, fmt.Sprintf("icon is %s, not a string", jsonKind(meta["icon"])))
	}
	if _, ok := meta["instances"].([]any); !ok {
		out = append(out, fmt.Sprintf("instances is %s, not an array", jsonKind(meta["instances"])))
	}
	sort.Strings(out)
	return out
}

// observeFieldTypes records, per field type, whether its regexp compiles
// (as RE2) and matches its placeholder: the placeholder is "a valid
// example of the field value", but how the regexp is anchored and which
// dialect it is in are not said, so this is observed, not judged.
func observeFieldTypes(meta map[string]any) {
	types, _ := meta["field_types"].(map[string]any)
	for _, name := range sortedKeys(types) {
		entry, _ := types[name].(map[string]any)
		re, _ := entry["regexp"].(string)
		ph, _ := entry["placeholder"].(string)
		verdict := "placeholder matches"
		switch compiled, err := regexp.Compile("^(?:" + re + ")$"); {
		case err != nil:
			verdict = "regexp does not compile as RE2: " + err.Error()
		case !compiled.MatchString(ph):
			verdict = "placeholder does not match the whole regexp"
		}
		suites.Observe("field type "+name, fmt.Sprintf("%q / %q: %s", re, ph, verdict))
	}
}

// instanceProblems checks protocol_instance.yaml and the uniqueness of
// network_id ("A unique identifier across all instances").
func instanceProblems(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("instances is %s, not an array", jsonKind(v))}
	}
	var out []string
	owner := map[string]int{}
	for i, item := range list {
		inst, ok := item.(map[string]any)
		if !ok {
			out = append(out, fmt.Sprintf("instance %d is %s, not an object", i, jsonKind(item)))
			continue
		}
		if _, ok := inst["desc"].(string); !ok {
			out = append(out, fmt.Sprintf("instance %d: desc is %s, not a string", i, jsonKind(inst["desc"])))
		}
		if _, ok := inst["fields"].(map[string]any); !ok {
			out = append(out, fmt.Sprintf("instance %d: fields is %s, not an object", i, jsonKind(inst["fields"])))
		}
		if icon, present := inst["icon"]; present {
			if _, ok := icon.(string); !ok {
				out = append(out, fmt.Sprintf("instance %d: icon is %s, not a string", i, jsonKind(icon)))
			}
		}
		id, ok := inst["network_id"].(string)
		if !ok {
			out = append(out, fmt.Sprintf("instance %d: network_id is %s, not a string", i, jsonKind(inst["network_id"])))
			continue
		}
		if first, dup := owner[id]; dup {
			out = append(out, fmt.Sprintf("network_id %q is not unique: instances %d and %d", id, first, i))
			continue
		}
		owner[id] = i
	}
	suites.Observe("instances", len(list))
	return out
}

// lookupProblems checks a lookup's answer: 404, or 200 with an array of
// users (userid, protocol, fields) or locations (alias, protocol, fields).
func lookupProblems(resp csapi.Response, item string) []string {
	if resp.Status == http.StatusNotFound {
		return nil
	}
	if resp.Status != http.StatusOK {
		return []string{fmt.Sprintf("answered %d, neither 200 nor 404", resp.Status)}
	}
	var v any
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		return []string{"answered 200 with a body that is not JSON"}
	}
	list, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("answered 200 with %s, not an array", jsonKind(v))}
	}
	id := map[string]string{"user": "userid", "location": "alias"}[item]
	var out []string
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			out = append(out, fmt.Sprintf("item %d is %s, not a %s object", i, jsonKind(e), item))
			continue
		}
		for _, k := range []string{id, "protocol"} {
			if _, ok := obj[k].(string); !ok {
				out = append(out, fmt.Sprintf("item %d: %s is %s, not a string", i, k, jsonKind(obj[k])))
			}
		}
		if _, ok := obj["fields"].(map[string]any); !ok {
			out = append(out, fmt.Sprintf("item %d: fields is %s, not an object", i, jsonKind(obj["fields"])))
		}
	}
	return out
}

// jsonKind names a decoded JSON value's type for a failure message.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "missing or null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a JSON object"
	}
	return fmt.Sprintf("%T", v)
}

// sortedKeys lists the keys of m and of sets, sorted.
func sortedKeys(m map[string]any, sets ...map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for _, set := range sets {
		for k := range set {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
