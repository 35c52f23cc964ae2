package mutants

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/asconform/asconform/harness"
	"github.com/asconform/asconform/internal/matrix"
)

// configMutants break what a homeserver does with its configuration
// (registrations, rate limits), its legacy routes, and the AS's control of
// its namespace.
func configMutants() []Mutant {
	return []Mutant{
		{
			Name: "duplicate-registrations-accepted", Bug: "the homeserver starts with two registrations sharing an id or an as_token (planted by giving the later one an id and a token of its own before the homeserver reads them, as a server that silently keeps them apart would)",
			Killers:       []string{"HS-REG-01"},
			Because:       `started with (registrations .* sharing an as_token|two registrations sharing the id)`,
			Registrations: keptApart,
		},
		{
			Name: "no-legacy-fallback", Bug: "the homeserver never falls back to the legacy path: a PUT it makes on /transactions/{txnId} reaches the AS on the versioned path again",
			Killers: []string{"HS-LEG-01"},
			Because: `did not fall back`,
			Push: func(r *http.Request) {
				if id, ok := strings.CutPrefix(r.URL.Path, "/transactions/"); ok {
					setPath(r, "/_matrix/app/v1/transactions/"+id)
				}
			},
		},
		{
			Name: "no-legacy-query-fallback", Bug: "the homeserver never falls back to the legacy query paths: a GET it makes on /users/{userId} or /rooms/{roomAlias} reaches the AS on the versioned path again",
			Killers: []string{"HS-LEG-01"},
			Because: `did not fall back to the legacy query path`,
			Push: func(r *http.Request) {
				for _, route := range []string{"/users/", "/rooms/"} {
					if subject, ok := strings.CutPrefix(r.URL.Path, route); ok {
						setPath(r, "/_matrix/app/v1"+route+subject)
					}
				}
			},
		},
		{
			Name: "legacy-path-forever", Bug: "once it fell back, the homeserver sends every later transaction to the legacy path and never tries the versioned one again",
			Killers: []string{"HS-LEG-02"},
			Because: `no PUT on the versioned path .* after the AS was upgraded`,
			Push:    stayOnLegacy(),
		},
		{
			Name: "masqueraded-users-rate-limited", Bug: "the AS's masqueraded users are rate-limited whatever rate_limited says (the proxy answers 429 to a user's messages or typing notifications after the burst a normal user gets)",
			Killers:  []string{"HS-REG-06"},
			Because:  `under rate_limited: false, got 429`,
			Response: limitMasqueraded(),
		},
		{
			Name: "alias-control-denied", Bug: "the AS may not delete an alias of its namespace it did not create itself: the deletion is not made and answered 403",
			Killers: []string{"HS-NS-10"},
			Because: `the AS could not delete the alias`,
			Request: func(r *http.Request) {
				if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/directory/room/") && r.URL.Query().Get("user_id") == "" && byASToken(r) {
					r.Method = http.MethodGet
					r.Header.Set(deniedHeader, "1")
				}
			},
			Response: func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
				if r.Header.Get(deniedHeader) != "" {
					return http.StatusForbidden, map[string]any{"errcode": "M_FORBIDDEN", "error": "You don't have permission to delete the alias."}
				}
				return status, body
			},
		},
	}
}

const deniedHeader = "X-Asconform-Mutant-Denied"

// keptApart gives each registration that repeats an earlier one's id or
// as_token one of its own.
func keptApart(regs []matrix.Registration) []matrix.Registration {
	ids, tokens := map[string]bool{}, map[string]bool{}
	out := make([]matrix.Registration, len(regs))
	for i, reg := range regs {
		if ids[reg.ID] {
			reg.ID = fmt.Sprintf("%s-kept-apart-%d", reg.ID, i)
		}
		if tokens[reg.ASToken] {
			reg.ASToken = fmt.Sprintf("%s_kept_apart_%d", reg.ASToken, i)
		}
		ids[reg.ID], tokens[reg.ASToken] = true, true
		out[i] = reg
	}
	return out
}

// setPath points r at path (unescaped, no escaping needed).
func setPath(r *http.Request, path string) {
	r.URL.Path, r.URL.RawPath = path, ""
	r.RequestURI = (&url.URL{Path: path, RawQuery: r.URL.RawQuery}).RequestURI()
}

// stayOnLegacy sends every versioned transaction to the legacy path once
// the same service (by hs_token) has had one there.
func stayOnLegacy() func(*http.Request) {
	var mu sync.Mutex
	fellBack := map[string]bool{}
	return func(r *http.Request) {
		token := r.Header.Get("Authorization")
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/transactions/") {
			fellBack[token] = true
			return
		}
		if id, ok := strings.CutPrefix(r.URL.Path, "/_matrix/app/v1/transactions/"); ok && fellBack[token] {
			setPath(r, "/transactions/"+id)
		}
	}
}

// byASToken says whether r is made with the as_token of a fake AS.
func byASToken(r *http.Request) bool {
	_, ok := serviceOf(r)
	return ok
}

// serviceOf is the fake AS whose as_token r is made with.
func serviceOf(r *http.Request) (Service, bool) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	services, _ := knownServices()
	for _, s := range services {
		if s.ASToken == token {
			return s, true
		}
	}
	return Service{}, false
}

// limitMasqueraded answers 429 to each masqueraded user's messages (and
// typing notifications) after the burst a normal user gets under
// harness.Settings.RateLimits.
func limitMasqueraded() responseRewrite {
	var mu sync.Mutex
	sent := map[string]int{}
	return func(r *http.Request, status int, body map[string]any) (int, map[string]any) {
		user := r.URL.Query().Get("user_id")
		limitedKind := strings.Contains(r.URL.Path, "/send/") || strings.Contains(r.URL.Path, "/typing/")
		if user == "" || r.Method != http.MethodPut || !limitedKind || status != http.StatusOK {
			return status, body
		}
		mu.Lock()
		defer mu.Unlock()
		key := user + " " + map[bool]string{true: "send", false: "typing"}[strings.Contains(r.URL.Path, "/send/")]
		sent[key]++
		if sent[key] > harness.RateLimitBurst {
			return http.StatusTooManyRequests, map[string]any{"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 10000}
		}
		return status, body
	}
}
