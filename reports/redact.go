package reports

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/asconform/asconform/internal/recorder"
)

// Redact replaces every secret with a placeholder naming it, so reports can
// be shared: "<as_token>" tells a reviewer which token was sent without
// revealing it.
func Redact(exchanges []recorder.Exchange, secrets map[string]string) []recorder.Exchange {
	replacer := secretReplacer(secrets)
	out := make([]recorder.Exchange, len(exchanges))
	for i, e := range exchanges {
		e.Header = redactHeader(e.Header, replacer)
		e.Query = redactQuery(e.Query, replacer)
		e.Path = replacer.Replace(e.Path)
		e.Body = []byte(replacer.Replace(string(e.Body)))
		e.RespBody = []byte(replacer.Replace(string(e.RespBody)))
		e.Outcome = replacer.Replace(e.Outcome)
		out[i] = e
	}
	return out
}

func secretReplacer(secrets map[string]string) *strings.Replacer {
	var pairs []string
	for name, value := range secrets {
		if value != "" {
			pairs = append(pairs, value, "<"+name+">")
		}
	}
	type pr struct{ v, n string }
	var ps []pr
	for i := 0; i < len(pairs); i += 2 {
		ps = append(ps, pr{pairs[i], pairs[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return len(ps[i].v) > len(ps[j].v) })
	pairs = pairs[:0]
	for _, p := range ps {
		pairs = append(pairs, p.v, p.n)
	}
	return strings.NewReplacer(pairs...)
}

func redactHeader(h http.Header, r *strings.Replacer) http.Header {
	return redactEach(h, func(k, v string) string {
		if !strings.EqualFold(k, "Authorization") {
			return r.Replace(v)
		}
		scheme, tok, found := strings.Cut(v, " ")
		// Only a known scheme word is kept as it is: anything else may
		// itself be a secret.
		if !found || !(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Basic")) {
			scheme, tok = "", v
		}
		if rt := r.Replace(tok); rt != tok {
			return strings.TrimSpace(scheme + " " + rt)
		}
		return strings.TrimSpace(scheme + " <redacted>")
	})
}

func redactQuery(q url.Values, r *strings.Replacer) url.Values {
	return redactEach(q, func(_, v string) string { return r.Replace(v) })
}

// redactEach copies a header or query with each value passed through
// redact; nil stays nil.
func redactEach[M interface {
	~map[string][]string
	Add(key, value string)
}](m M, redact func(key, value string) string) M {
	if m == nil {
		return nil
	}
	out := M{}
	for k, vs := range m {
		for _, v := range vs {
			out.Add(k, redact(k, v))
		}
	}
	return out
}
