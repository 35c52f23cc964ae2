package homeserver

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/asconform/asconform/reports"
	"github.com/asconform/asconform/suites"
)

// describeWithVersions records the SUT with the spec versions it advertises
// on /_matrix/client/versions, so a report can tell a miss of a release the
// homeserver claims from one of a later release it never claimed.
func describeWithVersions(ctx context.Context, sut reports.SUT, baseURL string) {
	sut.Versions = advertisedVersions(ctx, baseURL)
	suites.DescribeSUT(sut)
}

// advertisedVersions is the homeserver's versions list, or nil if it gives
// none (the report then shows every miss alike).
func advertisedVersions(ctx context.Context, baseURL string) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/_matrix/client/versions", nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Versions []string `json:"versions"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return nil
	}
	return body.Versions
}
