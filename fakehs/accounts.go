package fakehs

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

const loginAS = "m.login.application_service"

func (s *Server) versions(*call) reply {
	v := []string{"r0.6.1"}
	for minor := 1; minor <= 19; minor++ {
		v = append(v, fmt.Sprintf("v1.%d", minor))
	}
	return answer(map[string]any{"versions": v, "unstable_features": map[string]bool{}})
}

func (s *Server) whoami(c *call) reply {
	body := map[string]any{"user_id": c.who.userID, "is_guest": false}
	if c.who.deviceID != "" {
		body["device_id"] = c.who.deviceID
	}
	return answer(body)
}

type registerBody struct {
	Type         string `json:"type"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	DeviceID     string `json:"device_id"`
	InhibitLogin bool   `json:"inhibit_login"`
	Auth         *struct {
		Type string `json:"type"`
	} `json:"auth"`
}

func (s *Server) register(c *call) reply {
	if c.r.URL.Query().Get("kind") == "guest" {
		return fail(403, "M_FORBIDDEN", "guest registration is not supported")
	}
	var b registerBody
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	if b.Type == loginAS || (b.Auth != nil && b.Auth.Type == loginAS) {
		return s.registerAS(c, b)
	}
	localpart := b.Username
	if localpart == "" {
		localpart = "u" + strings.ToLower(randomString(12))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked before user-interactive authentication, as /register requires.
	id, rp := s.availableLocked(localpart)
	if rp.failed() {
		return rp
	}
	if b.Auth == nil || b.Auth.Type != "m.login.dummy" {
		return uiaChallenge("m.login.dummy", randomString(16))
	}
	s.users[id] = &user{id: id, password: b.Password, devices: map[string]bool{}}
	return s.registeredLocked(id, b)
}

// registerAvailable says whether a normal user could register the name
// (spec: GET /register/available, M_EXCLUSIVE for an AS's namespace).
func (s *Server) registerAvailable(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, rp := s.availableLocked(c.r.URL.Query().Get("username")); rp.failed() {
		return rp
	}
	return answer(map[string]any{"available": true})
}

// availableLocked is the user ID a normal user would get for localpart,
// or why it cannot: an invalid name, another AS's exclusive namespace, or
// taken.
func (s *Server) availableLocked(localpart string) (string, reply) {
	if !validLocalpart(localpart) {
		return "", fail(400, "M_INVALID_USERNAME", "invalid username "+localpart)
	}
	id := s.userID(localpart)
	if rp := s.claimLocked(nil, id, false); rp.failed() {
		return "", rp
	}
	if s.users[id] != nil {
		return "", fail(400, "M_USER_IN_USE", id+" is already taken")
	}
	return id, reply{}
}

// uiaChallenge asks for user-interactive authentication with one stage.
func uiaChallenge(stage, session string) reply {
	return reply{status: http.StatusUnauthorized, body: map[string]any{
		"flows": []any{map[string]any{"stages": []string{stage}}}, "params": map[string]any{}, "session": session,
	}}
}

// loginTokenOwnerLocked is who owns the access token of an
// m.login.application_service request, which must carry one.
func (s *Server) loginTokenOwnerLocked(c *call) (*appservice, *session, reply) {
	token := tokenOf(c.r)
	if token == "" {
		return nil, nil, fail(401, "M_MISSING_TOKEN", "m.login.application_service needs the as_token")
	}
	as, sess := s.ownerLocked(token)
	return as, sess, reply{}
}

// registerAS creates a user for an AS without password or captcha (spec:
// Server admin style permissions).
func (s *Server) registerAS(c *call, b registerBody) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	as, _, rp := s.loginTokenOwnerLocked(c)
	switch {
	case rp.failed():
		return rp
	case as == nil:
		return fail(401, "M_UNKNOWN_TOKEN", "not an application service token")
	}
	if s.noLegacyLogin.Load() && !b.InhibitLogin {
		return fail(400, "M_APPSERVICE_LOGIN_UNSUPPORTED", "this server has no legacy login: set inhibit_login")
	}
	if !validLocalpart(b.Username) {
		return fail(400, "M_INVALID_USERNAME", "invalid username "+b.Username)
	}
	id := s.userID(b.Username)
	// The AS's own sender user exists from the start.
	if s.users[id] != nil || id == as.sender {
		return fail(400, "M_USER_IN_USE", id+" is already taken")
	}
	if rp := s.claimLocked(as, id, false); rp.failed() {
		return rp
	}
	s.users[id] = &user{id: id, appservice: as.reg.ID, devices: map[string]bool{}}
	return s.registeredLocked(id, b)
}

func (s *Server) registeredLocked(id string, b registerBody) reply {
	body := map[string]any{"user_id": id, "home_server": s.cfg.ServerName}
	if !b.InhibitLogin {
		body["access_token"], body["device_id"] = s.newSessionLocked(id, b.DeviceID)
	}
	s.notifyLocked()
	return answer(body)
}

func (s *Server) loginFlows(*call) reply {
	flows := []any{map[string]string{"type": "m.login.password"}}
	if !s.noLegacyLogin.Load() {
		flows = append(flows, map[string]string{"type": loginAS})
	}
	return answer(map[string]any{"flows": flows})
}

// refresh answers POST /refresh: the fake issues no refresh tokens, so
// every one is unknown. It reads no access token, so an AS's user_id
// asserts nothing here (HS-ID-09).
func (s *Server) refresh(c *call) reply {
	var b struct {
		RefreshToken string `json:"refresh_token"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	if b.RefreshToken == "" {
		return fail(400, "M_MISSING_PARAM", "refresh_token is required")
	}
	return fail(401, "M_UNKNOWN_TOKEN", "unknown refresh token")
}

func (s *Server) login(c *call) reply {
	var b struct {
		Type       string `json:"type"`
		Identifier struct {
			Type string `json:"type"`
			User string `json:"user"`
		} `json:"identifier"`
		User     string `json:"user"`
		Password string `json:"password"`
		DeviceID string `json:"device_id"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	name := b.Identifier.User
	if name == "" {
		name = b.User
	}
	id := name
	if !strings.HasPrefix(id, "@") {
		id = s.userID(name)
	}
	switch b.Type {
	case loginAS:
		return s.loginAS(c, id, b.DeviceID)
	case "m.login.password":
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.users[id]
		if u == nil || u.password == "" || u.password != b.Password {
			return fail(403, "M_FORBIDDEN", "invalid username or password")
		}
		if u.deactivated {
			return fail(403, "M_USER_DEACTIVATED", id+" has been deactivated")
		}
		return s.loggedInLocked(id, b.DeviceID)
	}
	return fail(400, "M_UNKNOWN", "bad login type")
}

// loginAS logs in a user of the AS's namespace (spec: Appservice Login).
func (s *Server) loginAS(c *call, id, deviceID string) reply {
	if s.noLegacyLogin.Load() {
		return fail(400, "M_APPSERVICE_LOGIN_UNSUPPORTED", "this server has no legacy login")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	as, sess, rp := s.loginTokenOwnerLocked(c)
	switch {
	case rp.failed():
		return rp
	case sess != nil:
		return fail(403, "M_FORBIDDEN", "the access token is not an application service token")
	case as == nil:
		return fail(401, "M_UNKNOWN_TOKEN", "unrecognised access token")
	case !s.ownsUser(as, id):
		return fail(400, "M_EXCLUSIVE", id+" is outside the namespaces of application service "+as.reg.ID)
	case s.users[id] == nil:
		return fail(403, "M_FORBIDDEN", id+" has not been registered")
	case s.users[id].deactivated:
		return fail(403, "M_USER_DEACTIVATED", id+" has been deactivated")
	}
	return s.loggedInLocked(id, deviceID)
}

func (s *Server) loggedInLocked(id, deviceID string) reply {
	token, device := s.newSessionLocked(id, deviceID)
	s.notifyLocked()
	return answer(map[string]any{"user_id": id, "access_token": token, "device_id": device, "home_server": s.cfg.ServerName})
}

func (s *Server) getProfile(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.r.PathValue("userId")]
	if u == nil {
		return fail(404, "M_NOT_FOUND", "unknown user")
	}
	body := map[string]string{}
	if u.displayname != "" {
		body["displayname"] = u.displayname
	}
	if u.avatar != "" {
		body["avatar_url"] = u.avatar
	}
	return answer(body)
}

func (s *Server) getProfileField(c *call) reply {
	field := c.r.PathValue("field")
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.r.PathValue("userId")]
	if u == nil {
		return fail(404, "M_NOT_FOUND", "unknown user")
	}
	var v string
	switch field {
	case "displayname":
		v = u.displayname
	case "avatar_url":
		v = u.avatar
	default:
		return fail(404, "M_NOT_FOUND", "profile field not set")
	}
	if v == "" {
		return fail(404, "M_NOT_FOUND", "profile field not set")
	}
	return answer(map[string]string{field: v})
}

// setProfileField also sends updated m.room.member events to the user's
// rooms, as the client-server API asks of homeservers.
func (s *Server) setProfileField(c *call) reply {
	field, id := c.r.PathValue("field"), c.r.PathValue("userId")
	if field != "displayname" && field != "avatar_url" {
		return fail(400, "M_INVALID_PARAM", "only displayname and avatar_url are modelled")
	}
	var b map[string]any
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	v, isString := b[field].(string)
	if !isString && b[field] != nil {
		return fail(400, "M_BAD_JSON", field+" must be a string")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if c.who.userID != id || u == nil {
		return fail(403, "M_FORBIDDEN", "cannot change the profile of another user")
	}
	if field == "displayname" {
		u.displayname = v
	} else {
		u.avatar = v
	}
	for _, rm := range s.sortedRoomsLocked() {
		if rm.membership(id) == "join" {
			s.setOwnMembershipLocked(rm, id, "join")
		}
	}
	return answer(nil)
}

// deactivate lets an AS deactivate the user it acts as; anyone else gets
// the user-interactive authentication challenge, which fakehs does not go
// further into.
func (s *Server) deactivate(c *call) reply {
	return s.withoutUIAForAS(c, func(u *user) reply {
		u.deactivated = true
		s.logoutLocked(u.id, "")
		s.notifyLocked()
		return answer(map[string]any{"id_server_unbind_result": "no-support"})
	})
}

// withoutUIAForAS runs act, under the lock, on the user an AS acts as;
// anyone else gets the user-interactive authentication challenge, which
// fakehs does not go further into (v1.17: an AS needs none).
func (s *Server) withoutUIAForAS(c *call, act func(*user) reply) reply {
	if c.who.as == nil {
		return uiaChallenge("m.login.password", "asconform-uia")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.who.userID]
	if u == nil {
		return fail(404, "M_NOT_FOUND", "unknown user")
	}
	return act(u)
}

// logoutLocked ends the sessions of userID on deviceID, or on every
// device when deviceID is empty.
func (s *Server) logoutLocked(userID, deviceID string) {
	for token, sess := range s.sessions {
		if sess.userID == userID && (deviceID == "" || sess.deviceID == deviceID) {
			delete(s.sessions, token)
		}
	}
}

// putDevice creates (201) or updates (200) a device. Only an AS may create
// one, for the user it acts as (v1.17, "Device management"); a user can
// only update a device it has.
func (s *Server) putDevice(c *call) reply {
	var b struct {
		DisplayName *string `json:"display_name"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	id := c.r.PathValue("deviceId")
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.who.userID]
	if u == nil {
		return fail(404, "M_NOT_FOUND", "unknown user")
	}
	status := http.StatusOK
	if !u.devices[id] {
		if c.who.as == nil {
			return fail(404, "M_NOT_FOUND", "no device "+id)
		}
		u.devices[id], status = true, http.StatusCreated
	}
	if b.DisplayName != nil {
		if u.deviceNames == nil {
			u.deviceNames = map[string]string{}
		}
		u.deviceNames[id] = *b.DisplayName
	}
	return reply{status: status, body: map[string]any{}}
}

// getDevices lists the devices of the acting user.
func (s *Server) getDevices(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.who.userID]
	devices := []map[string]any{}
	if u != nil {
		for _, id := range slices.Sorted(maps.Keys(u.devices)) {
			d := map[string]any{"device_id": id}
			if name, ok := u.deviceNames[id]; ok {
				d["display_name"] = name
			}
			devices = append(devices, d)
		}
	}
	return answer(map[string]any{"devices": devices})
}

// deleteDevice deletes a device: an AS needs no user-interactive
// authentication (v1.17); anyone else gets the challenge.
func (s *Server) deleteDevice(c *call) reply {
	id := c.r.PathValue("deviceId")
	return s.withoutUIAForAS(c, func(u *user) reply {
		if !u.devices[id] {
			return fail(404, "M_NOT_FOUND", "no device "+id)
		}
		s.dropDeviceLocked(u, id)
		return answer(nil)
	})
}

// deleteDevices is POST /delete_devices: like deleteDevice for each
// device named, devices the user does not have ignored; no user-interactive
// authentication for an AS (v1.17).
func (s *Server) deleteDevices(c *call) reply {
	var b struct {
		Devices []string `json:"devices"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	if b.Devices == nil {
		return fail(400, "M_BAD_JSON", "devices is required")
	}
	return s.withoutUIAForAS(c, func(u *user) reply {
		for _, id := range b.Devices {
			if u.devices[id] {
				s.dropDeviceLocked(u, id)
			}
		}
		return answer(nil)
	})
}

// dropDeviceLocked forgets device id of u and logs its sessions out.
func (s *Server) dropDeviceLocked(u *user, id string) {
	delete(u.devices, id)
	delete(u.deviceNames, id)
	delete(u.otks, id)
	delete(u.deviceKeys, id)
	s.logoutLocked(u.id, id)
}

// uploadCrossSigning stores the user's cross-signing keys. Replacing keys
// asks a normal user for user-interactive authentication, never an AS
// (v1.17).
func (s *Server) uploadCrossSigning(c *call) reply {
	var b map[string]json.RawMessage
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.who.userID]
	if u == nil {
		return fail(404, "M_NOT_FOUND", "unknown user")
	}
	if u.crossSigning && c.who.as == nil {
		return uiaChallenge("m.login.password", "asconform-uia")
	}
	u.crossSigning = true
	return answer(nil)
}

// uploadKeys counts the one-time keys a device uploads (keys are not
// checked: fakehs serves no key claims); device keys are accepted and kept
// nowhere.
func (s *Server) uploadKeys(c *call) reply {
	var b struct {
		OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys"`
		FallbackKeys map[string]json.RawMessage `json:"fallback_keys"`
		DeviceKeys   json.RawMessage            `json:"device_keys"`
	}
	if rp := c.decode(&b); rp.failed() {
		return rp
	}
	if c.who.deviceID == "" {
		return fail(400, "M_UNKNOWN_DEVICE", "uploading keys needs a device: name it with ?device_id=")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.who.userID]
	if u == nil {
		return fail(404, "M_NOT_FOUND", "unknown user")
	}
	if u.oneTimeKeys == nil {
		u.oneTimeKeys = map[string]map[string]int{}
	}
	counts := u.oneTimeKeys[c.who.deviceID]
	if counts == nil {
		counts = map[string]int{}
		u.oneTimeKeys[c.who.deviceID] = counts
	}
	if u.otks == nil {
		u.otks = map[string]map[string]json.RawMessage{}
	}
	if u.otks[c.who.deviceID] == nil {
		u.otks[c.who.deviceID] = map[string]json.RawMessage{}
	}
	for id, key := range b.OneTimeKeys {
		alg, _, _ := strings.Cut(id, ":")
		counts[alg]++
		u.otks[c.who.deviceID][id] = key
	}
	if len(b.DeviceKeys) > 0 && string(b.DeviceKeys) != "null" {
		if u.deviceKeys == nil {
			u.deviceKeys = map[string]json.RawMessage{}
		}
		u.deviceKeys[c.who.deviceID] = b.DeviceKeys
	}
	// A new fallback key replaces the device's one of that algorithm.
	for id := range b.FallbackKeys {
		alg, _, _ := strings.Cut(id, ":")
		if u.fallbackKeys == nil {
			u.fallbackKeys = map[string][]string{}
		}
		if !slices.Contains(u.fallbackKeys[c.who.deviceID], alg) {
			u.fallbackKeys[c.who.deviceID] = append(u.fallbackKeys[c.who.deviceID], alg)
		}
	}
	return answer(map[string]any{"one_time_key_counts": counts})
}
