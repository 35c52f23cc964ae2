package fakehs_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/asconform/asconform/internal/csapi"
)

func TestDevicesManagedByTheAS(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("devices")
	path := "/_matrix/client/v3/devices/BRIDGE"
	resp, err := e.asc.Do(e.ctx, http.MethodPut, path, map[string]any{"display_name": "b"}, csapi.AsUser(ghost))
	e.must(resp, err, 201)
	resp, err = e.asc.Do(e.ctx, http.MethodPut, path, map[string]any{"display_name": "c"}, csapi.AsUser(ghost))
	e.must(resp, err, 200)
	listed := e.ok(e.asc.Do(e.ctx, http.MethodGet, "/_matrix/client/v3/devices", nil, csapi.AsUser(ghost)))
	if !strings.Contains(string(listed.Body), `"device_id":"BRIDGE"`) || !strings.Contains(string(listed.Body), `"display_name":"c"`) {
		t.Fatalf("GET /devices: %s", listed)
	}
	e.ok(e.asc.Do(e.ctx, http.MethodDelete, path, map[string]any{}, csapi.AsUser(ghost)))
	resp, err = e.asc.Do(e.ctx, http.MethodDelete, path, map[string]any{}, csapi.AsUser(ghost))
	e.wantErr(resp, err, 404, "M_NOT_FOUND")

	alice := e.user("alice")
	resp, err = alice.Do(e.ctx, http.MethodPut, "/_matrix/client/v3/devices/NEW", map[string]any{})
	e.wantErr(resp, err, 404, "M_NOT_FOUND")
	resp, err = alice.Do(e.ctx, http.MethodDelete, "/_matrix/client/v3/devices/NEW", map[string]any{})
	e.must(resp, err, 401) // user-interactive authentication for users
}

func TestCrossSigningReplacedWithoutUIAOnlyByTheAS(t *testing.T) {
	e := setup(t)
	ghost := e.ghost("keys")
	upload := "/_matrix/client/v3/keys/device_signing/upload"
	for range 2 {
		e.ok(e.asc.Do(e.ctx, http.MethodPost, upload, map[string]any{"master_key": map[string]any{}}, csapi.AsUser(ghost)))
	}
	alice := e.user("alice")
	e.ok(alice.Do(e.ctx, http.MethodPost, upload, map[string]any{"master_key": map[string]any{}}))
	resp, err := alice.Do(e.ctx, http.MethodPost, upload, map[string]any{"master_key": map[string]any{}})
	e.must(resp, err, 401) // replacing keys: user-interactive authentication for users
}
