package fakehs

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// The AS's unstable key endpoints (fakeas.KeysClaimPath, KeysQueryPath).
const (
	keysClaimPath = "/_matrix/app/unstable/org.matrix.msc3983/keys/claim"
	keysQueryPath = "/_matrix/app/unstable/org.matrix.msc3984/keys/query"
)

// One-time key claims and device key queries, with the unstable
// extensions that forward them to the AS of the user's exclusive namespace
// (MSC3983, MSC3984). Not modelled: fallback keys in claims, cross-signing
// keys in queries, federation.

// keyOwnerLocked is the AS whose exclusive users namespace holds the local user
// id, if any; the caller holds s.mu.
func (s *Server) keyOwnerLocked(id string) *appservice {
	if !s.local(id) {
		return nil
	}
	for _, as := range s.ases {
		if as.reg.URL != nil && matchNS(as.reg.Namespaces.Users, id, true) {
			return as
		}
	}
	return nil
}

// claimKeys is POST /keys/claim: an unclaimed one-time key of the
// algorithm from the homeserver's store, else the exclusive AS's answer.
func (s *Server) claimKeys(c *call) reply {
	var b struct {
		OneTimeKeys map[string]map[string]string `json:"one_time_keys"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	claimed := map[string]map[string]map[string]json.RawMessage{}
	forward := map[*appservice]map[string]map[string][]string{}
	s.mu.Lock()
	for userID, devices := range b.OneTimeKeys {
		u := s.users[userID]
		for device, alg := range devices {
			if key, id, ok := u.claimLocked(device, alg); ok {
				put(claimed, userID, device, id, key)
				continue
			}
			if as := s.keyOwnerLocked(userID); as != nil {
				if forward[as] == nil {
					forward[as] = map[string]map[string][]string{}
				}
				if forward[as][userID] == nil {
					forward[as][userID] = map[string][]string{}
				}
				forward[as][userID][device] = append(forward[as][userID][device], alg)
			}
		}
	}
	s.mu.Unlock()
	for as, query := range forward {
		var got map[string]map[string]map[string]json.RawMessage
		if !s.askForKeys(c.r.Context(), as, keysClaimPath, query, &got) {
			continue
		}
		for userID, devices := range got {
			for device, keys := range devices {
				if query[userID][device] == nil {
					continue // only what was asked for
				}
				for id, key := range keys {
					put(claimed, userID, device, id, key)
				}
			}
		}
	}
	return answer(map[string]any{"one_time_keys": claimed, "failures": map[string]any{}})
}

// claimLocked takes one unclaimed one-time key of alg of u's device.
func (u *user) claimLocked(device, alg string) (json.RawMessage, string, bool) {
	if u == nil {
		return nil, "", false
	}
	ids := make([]string, 0, len(u.otks[device]))
	for id := range u.otks[device] {
		if strings.HasPrefix(id, alg+":") {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, "", false
	}
	slices.Sort(ids)
	key := u.otks[device][ids[0]]
	delete(u.otks[device], ids[0])
	if u.oneTimeKeys[device][alg] > 0 {
		u.oneTimeKeys[device][alg]--
	}
	return key, ids[0], true
}

// queryKeys is POST /keys/query: the device keys the homeserver holds,
// with the exclusive AS's answer merged over them device by device.
func (s *Server) queryKeys(c *call) reply {
	var b struct {
		DeviceKeys map[string][]string `json:"device_keys"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	result := map[string]map[string]json.RawMessage{}
	forward := map[*appservice]map[string][]string{}
	s.mu.Lock()
	for userID, wanted := range b.DeviceKeys {
		result[userID] = map[string]json.RawMessage{}
		if u := s.users[userID]; u != nil {
			for device, keys := range u.deviceKeys {
				if u.devices[device] && (len(wanted) == 0 || slices.Contains(wanted, device)) {
					result[userID][device] = keys
				}
			}
		}
		if as := s.keyOwnerLocked(userID); as != nil {
			if forward[as] == nil {
				forward[as] = map[string][]string{}
			}
			forward[as][userID] = append([]string{}, wanted...)
		}
	}
	s.mu.Unlock()
	for as, query := range forward {
		var got struct {
			DeviceKeys map[string]map[string]json.RawMessage `json:"device_keys"`
		}
		if !s.askForKeys(c.r.Context(), as, keysQueryPath, query, &got) {
			continue // an error counts as {}
		}
		for userID, devices := range got.DeviceKeys {
			wanted, asked := query[userID]
			if !asked {
				continue
			}
			for device, keys := range devices {
				if len(wanted) == 0 || slices.Contains(wanted, device) {
					result[userID][device] = keys
				}
			}
		}
	}
	return answer(map[string]any{"device_keys": result, "failures": map[string]any{}})
}

// askForKeys posts query to the AS's unstable key endpoint and decodes a
// 200 answer into v; false for anything else.
func (s *Server) askForKeys(ctx context.Context, as *appservice, path string, query, v any) bool {
	body, err := json.Marshal(query)
	if err != nil {
		return false
	}
	resp, err := s.callAS(ctx, as, http.MethodPost, path, body)
	return err == nil && resp.Status == http.StatusOK && json.Unmarshal(resp.Body, v) == nil
}

func put(m map[string]map[string]map[string]json.RawMessage, userID, device, id string, key json.RawMessage) {
	if m[userID] == nil {
		m[userID] = map[string]map[string]json.RawMessage{}
	}
	if m[userID][device] == nil {
		m[userID][device] = map[string]json.RawMessage{}
	}
	m[userID][device][id] = key
}
