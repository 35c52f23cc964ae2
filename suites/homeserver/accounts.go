package homeserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Client-server API, "Appservice Login", "Account registration" and the
// application-service extensions (identity assertion, timestamps): what the
// AS's token and namespaces allow, and what they allow nobody else.
var _ = describe("Logging in and registering as the AS", func() {
	const timeout = time.Minute

	It("logs the AS in as one of its registered users with m.login.application_service", Label("HS-LOGIN-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "visitor")
		resp, err := f.ASClient.LoginAS(ctx, ghost)
		Expect(resp, err).To(match.HaveStatus(http.StatusOK))
		Expect(resp).To(match.HaveJSONKeys("user_id", "access_token", "device_id"))
		Expect(resp.Field("user_id")).To(Equal(ghost), "the login must be of the user named in the identifier")
		whoami, err := f.client("visitor", resp.Field("access_token")).WhoAmI(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(whoami.Field("user_id")).To(Equal(ghost), "the access token the login returned must act as that user")
	}, NodeTimeout(timeout))

	It("refuses the AS a login as a user outside its namespaces with M_EXCLUSIVE", Label("HS-NS-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		resp, err := f.ASClient.LoginAS(ctx, alice.UserID(ctx))
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.ErrCode()).To(Equal("M_EXCLUSIVE"), "logging in outside the AS's namespaces answered %s", resp)
		Expect(resp.Status).To(BeNumerically(">=", 400))
	}, NodeTimeout(timeout))

	It("answers M_FORBIDDEN to m.login.application_service for a user never registered, and for a token that is not an AS's", Label("HS-LOGIN-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		never, err := f.ASClient.LoginAS(ctx, f.Ghost("never_registered"))
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("login as a user never registered", never.String())
		alice := f.NewUser(ctx, "alice")
		notAS, err := alice.LoginAS(ctx, f.RegisterGhost(ctx, "registered"))
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("login with a normal user's token", notAS.String())
		// An invalid token is HS-LOGIN-05's case: the two statements disagree there.
		Expect(never.ErrCode()).To(Equal("M_FORBIDDEN"), "the login as a user never registered answered %s", never)
		Expect(notAS.ErrCode()).To(Equal("M_FORBIDDEN"), "the AS login with a normal user's token answered %s", notAS)
	}, NodeTimeout(timeout))

	It("answers 401 M_MISSING_TOKEN and M_UNKNOWN_TOKEN to m.login.application_service without a valid as_token", Label("HS-LOGIN-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		// Every case is tried before any is judged, so the report holds them all.
		var wrong []string
		for _, c := range []struct{ name, token, errcode string }{
			{"no token", "", "M_MISSING_TOKEN"},
			{"an unknown token", "as_not_a_token_" + f.unique, "M_UNKNOWN_TOKEN"},
		} {
			anon := f.client(c.name, c.token)
			reg, err := anon.RegisterAS(ctx, f.GhostLocalpart("tokenless"), true)
			Expect(err).NotTo(HaveOccurred())
			login, err := anon.LoginAS(ctx, f.Ghost("tokenless"))
			Expect(err).NotTo(HaveOccurred())
			for what, resp := range map[string]csapi.Response{"/register": reg, "/login": login} {
				if resp.Status != http.StatusUnauthorized || resp.ErrCode() != c.errcode {
					wrong = append(wrong, fmt.Sprintf("%s with %s: %s (want 401 %s)", what, c.name, resp, c.errcode))
				}
			}
		}
		Expect(wrong).To(BeEmpty(), "requests with m.login.application_service and no valid as_token")
	}, NodeTimeout(timeout))

	It("answers M_EXCLUSIVE before user-interactive authentication to a normal user registering in an exclusive namespace", Label("HS-NS-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		anon := f.client("squatter", "")
		// No auth dict at all: a server that started user-interactive
		// authentication first would answer 401 with its flows.
		Expect(anon.Do(ctx, http.MethodPost, "/_matrix/client/v3/register", map[string]any{
			"username": f.GhostLocalpart("early"), "password": "pw-" + f.unique,
		}, csapi.WithToken(""))).To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))

	It("reports a username in an exclusive namespace as unavailable with M_EXCLUSIVE", Label("HS-NS-09"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		anon := f.client("asker", "")
		Expect(anon.Do(ctx, http.MethodGet, "/_matrix/client/v3/register/available?username="+url.QueryEscape(f.GhostLocalpart("wanted")), nil, csapi.WithToken(""))).
			To(match.HaveError(http.StatusBadRequest, "M_EXCLUSIVE"))
	}, NodeTimeout(timeout))

	It("reports the asserted user to whoami called by the AS with ?user_id=", Label("HS-ID-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "asserted")
		resp, err := f.ASClient.WhoAmI(ctx, csapi.AsUser(ghost))
		Expect(resp, err).To(match.HaveStatus(http.StatusOK))
		Expect(resp.Field("user_id")).To(Equal(ghost), "whoami must name the user the AS asserted")
	}, NodeTimeout(timeout))

	It("acts as the device of the asserted user named with ?device_id=", Label("HS-ID-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost, device := f.registerWithDevice(ctx, "device")
		as, err := f.ASClient.WhoAmI(ctx, csapi.AsUser(ghost), csapi.Query("device_id", device))
		Expect(as, err).To(match.HaveStatus(http.StatusOK))
		Expect(as.Field("device_id")).To(Equal(device), "whoami with ?device_id= must name the device the AS asserted")
	}, NodeTimeout(timeout))

	It("answers 400 M_UNKNOWN_DEVICE to ?device_id= naming a device the asserted user does not have", Label("HS-ID-06"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost, _ := f.registerWithDevice(ctx, "nodevice")
		Expect(f.ASClient.WhoAmI(ctx, csapi.AsUser(ghost), csapi.Query("device_id", "NOSUCHDEVICE"))).To(match.HaveError(http.StatusBadRequest, "M_UNKNOWN_DEVICE"), "a device_id the user does not have")
	}, NodeTimeout(timeout))

	It("acts as no device when the AS names none: whoami with ?user_id= alone reports no device_id", Label("HS-ID-07"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost, device := f.registerWithDevice(ctx, "deviceless")
		as, err := f.ASClient.WhoAmI(ctx, csapi.AsUser(ghost))
		Expect(as, err).To(match.HaveStatus(http.StatusOK))
		suites.Observe("whoami", as.String())
		Expect(as.Field("device_id")).To(BeEmpty(), "whoami named a device although the AS asserted none (the user has device %s)", device)
	}, NodeTimeout(timeout))

	It("lets the AS create a device for its user with PUT /devices/{deviceId} (201), update it (200) and list it", Label("HS-DEV-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "devices")
		path := "/_matrix/client/v3/devices/ASCBRIDGE"
		Expect(f.ASClient.Do(ctx, http.MethodPut, path, map[string]any{"display_name": "bridge"}, csapi.AsUser(ghost))).
			To(match.HaveStatus(http.StatusCreated), "creating a new device must answer 201")
		Expect(f.ASClient.Do(ctx, http.MethodPut, path, map[string]any{"display_name": "bridge, renamed"}, csapi.AsUser(ghost))).
			To(match.HaveStatus(http.StatusOK), "updating an existing device must answer 200")
		Expect(f.ASClient.MustDeviceIDs(ctx, csapi.AsUser(ghost))).To(ContainElement("ASCBRIDGE"), "GET /devices of the user does not list the device the AS created")
	}, NodeTimeout(timeout))

	It("does not let a normal user create a device with PUT /devices/{deviceId}", Label("HS-DEV-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		resp, err := alice.Do(ctx, http.MethodPut, "/_matrix/client/v3/devices/ASCNEWDEVICE", map[string]any{"display_name": "mine"})
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("answer", resp.String())
		Expect(resp.Status).To(BeNumerically(">=", 400), "a normal user created a device through PUT /devices/{deviceId}")
		Expect(alice.MustDeviceIDs(ctx)).NotTo(ContainElement("ASCNEWDEVICE"), "a normal user created a device through PUT /devices/{deviceId}")
	}, NodeTimeout(timeout))

	It("lets the AS delete a device of its user without user-interactive authentication", Label("HS-DEV-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost, device := f.registerWithDevice(ctx, "deleting")
		Expect(f.ASClient.Do(ctx, http.MethodDelete, "/_matrix/client/v3/devices/"+csapi.PathEscape(device), map[string]any{}, csapi.AsUser(ghost))).
			To(match.HaveStatus(http.StatusOK), "deleting a device as the AS must need no user-interactive authentication")
		Expect(f.ASClient.MustDeviceIDs(ctx, csapi.AsUser(ghost))).NotTo(ContainElement(device), "the deleted device is still listed")
	}, NodeTimeout(timeout))

	It("lets the AS delete devices of its user with POST /delete_devices without user-interactive authentication", Label("HS-DEV-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost, device := f.registerWithDevice(ctx, "bulkdeleting")
		Expect(f.ASClient.Do(ctx, http.MethodPost, "/_matrix/client/v3/delete_devices", map[string]any{"devices": []string{device}}, csapi.AsUser(ghost))).
			To(match.HaveStatus(http.StatusOK), "deleting devices with POST /delete_devices as the AS must need no user-interactive authentication")
		Expect(f.ASClient.MustDeviceIDs(ctx, csapi.AsUser(ghost))).NotTo(ContainElement(device), "the device deleted with POST /delete_devices is still listed")
	}, NodeTimeout(timeout))

	It("lets the AS upload and replace its user's cross-signing keys without user-interactive authentication", Label("HS-DEV-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "crosssigning")
		for i, what := range []string{"uploading", "replacing"} {
			resp, err := f.ASClient.Do(ctx, http.MethodPost, "/_matrix/client/v3/keys/device_signing/upload",
				map[string]any{"master_key": newMasterKey(ghost)}, csapi.AsUser(ghost))
			Expect(err).NotTo(HaveOccurred())
			suites.Observe(fmt.Sprintf("%d: %s the master key", i+1, what), resp.String())
			Expect(resp).To(match.HaveStatus(http.StatusOK), "%s the user's master key as the AS must need no user-interactive authentication", what)
		}
	}, NodeTimeout(timeout))

	It("gives no tokens to POST /refresh called with the as_token and ?user_id= of the AS's user and a refresh_token that is not one", Label("HS-ID-09"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		ghost := f.RegisterGhost(ctx, "refreshing")
		resp, err := f.ASClient.Do(ctx, http.MethodPost, "/_matrix/client/v3/refresh",
			map[string]any{"refresh_token": "not_a_refresh_token_" + f.unique}, csapi.AsUser(ghost))
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("answer to /refresh with identity assertion", resp.String())
		suites.Observe("status and errcode", fmt.Sprintf("%d %s", resp.Status, resp.Field("errcode")))
		Expect(resp).To(match.NotHaveJSONKeys("access_token", "refresh_token"), "/refresh gave tokens on the AS's identity assertion alone")
		Expect(resp.Status).To(BeNumerically(">=", 400), "/refresh with a refresh_token that is not one answered %s", resp)
	}, NodeTimeout(timeout))

	It("places an event sent with an old ?ts= at the tip of the room, after the events sent before it", Label("HS-TS-05"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "tip")
		first := room.Say(ctx, alice, "sent first")
		yesterday := time.Now().Add(-24 * time.Hour).UnixMilli()
		backdated := room.Say(ctx, f.ASClient, "bridged in from yesterday", csapi.AsUser(room.Ghost), csapi.Query("ts", strconv.FormatInt(yesterday, 10)))
		var newest []string
		// A homeserver may persist asynchronously: the read gets a few seconds.
		Eventually(func() []string {
			// Expect, not MustDo: Eventually retries what Expect fails.
			resp, err := alice.Do(ctx, http.MethodGet, "/_matrix/client/v3/rooms/"+csapi.PathEscape(room.ID)+"/messages", nil, csapi.Query("dir", "b"), csapi.Query("limit", "5"))
			Expect(resp, err).To(match.HaveStatus(http.StatusOK))
			var page struct {
				Chunk []matrix.ClientEvent `json:"chunk"`
			}
			Expect(json.Unmarshal(resp.Body, &page)).To(Succeed())
			newest = nil
			for _, ev := range page.Chunk {
				newest = append(newest, ev.EventID)
			}
			return newest
		}).WithContext(ctx).WithTimeout(wait(5 * time.Second)).Should(ContainElements(first, backdated))
		suites.Observe("newest events, newest first", strings.Join(newest, " "))
		Expect(slices.Index(newest, backdated)).To(BeNumerically("<", slices.Index(newest, first)), "the event sent with an old ts is not at the tip of the room: /messages lists it as older than %s, sent before it", first)
	}, NodeTimeout(timeout))

	It("stamps an AS's event sent without ?ts= with the server's clock", Label("HS-TS-04"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "clock")
		before := time.Now()
		sent := room.Say(ctx, f.ASClient, "no ts here", csapi.AsUser(room.Ghost))
		after := time.Now()
		ts := originServerTS(ctx, alice, room.ID, sent)
		// The container shares this machine's clock; a second either way
		// allows for rounding and scheduling.
		Expect(ts).To(BeNumerically(">=", before.Add(-time.Second).UnixMilli()), "origin_server_ts is before the send")
		Expect(ts).To(BeNumerically("<=", after.Add(time.Second).UnixMilli()), "origin_server_ts is after the send")
	}, NodeTimeout(timeout))

	It("refuses a ts that is no valid origin_server_ts with 400", Label("HS-TS-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "clockless")
		resp, err := f.ASClient.Do(ctx, http.MethodPut,
			"/_matrix/client/v3/rooms/"+csapi.PathEscape(room.ID)+"/send/m.room.message/"+csapi.TxnID(),
			map[string]any{"msgtype": "m.text", "body": "when?"}, csapi.AsUser(room.Ghost), csapi.Query("ts", "yesterday"))
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("answer to ts=yesterday", resp.String())
		Expect(resp.Status).To(Equal(http.StatusBadRequest), "a send with ts=yesterday answered %s", resp)
	}, NodeTimeout(timeout))

	It("lets the AS list a room's joined members while any of its users is in the room", Label("HS-ID-10"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "member")
		// The AS acts as its sender user, who is not in the room; its ghost is.
		resp, err := f.ASClient.Do(ctx, http.MethodGet, "/_matrix/client/v3/rooms/"+csapi.PathEscape(room.ID)+"/joined_members", nil)
		Expect(resp, err).To(match.HaveStatus(http.StatusOK))
		var members struct {
			Joined map[string]any `json:"joined"`
		}
		Expect(resp.JSON(&members)).To(Succeed())
		Expect(members.Joined).To(HaveKey(room.Ghost))
		Expect(members.Joined).To(HaveKey(alice.UserID(ctx)))
	}, NodeTimeout(timeout))

	It("ignores ?ts= from a normal user: the extension is the AS's alone", Label("HS-EXT-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "witness")
		past := time.Date(2015, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
		resp, err := alice.SendMessage(ctx, room.ID, "backdated?", csapi.TS(past))
		Expect(err).NotTo(HaveOccurred())
		if resp.Status != http.StatusOK {
			// Refusing the parameter keeps the extension the AS's too.
			Expect(resp.Status).To(BeNumerically(">=", 400))
			return
		}
		Expect(originServerTS(ctx, alice, room.ID, resp.Field("event_id"))).NotTo(Equal(past), "a normal user's ?ts= set origin_server_ts")
	}, NodeTimeout(timeout))
})

// readEvent reads an event as c sees it. The spec promises no
// read-after-write: a homeserver that persists events asynchronously
// (Dendrite answers 404 for some tens of milliseconds after the send) gets
// a few seconds to show the event; any other answer is returned at once.
func readEvent(ctx context.Context, c *csapi.Client, roomID, eventID string) csapi.Response {
	GinkgoHelper()
	deadline := time.Now().Add(wait(5 * time.Second))
	resp, err := c.GetEvent(ctx, roomID, eventID)
	for err == nil && resp.Status == http.StatusNotFound && time.Now().Before(deadline) {
		time.Sleep(wait(100 * time.Millisecond))
		resp, err = c.GetEvent(ctx, roomID, eventID)
	}
	Expect(err).NotTo(HaveOccurred())
	return resp
}

// originServerTS reads an event's origin_server_ts as c sees it.
func originServerTS(ctx SpecContext, c *csapi.Client, roomID, eventID string) int64 {
	GinkgoHelper()
	resp := readEvent(ctx, c, roomID, eventID)
	Expect(resp).To(match.HaveStatus(http.StatusOK))
	var ev struct {
		OriginServerTS int64 `json:"origin_server_ts"`
	}
	Expect(json.Unmarshal(resp.Body, &ev)).To(Succeed())
	return ev.OriginServerTS
}

// registerWithDevice registers a user in the AS's namespace, logged in (no
// inhibit_login), and returns it with the device the registration made.
func (f *Fixture) registerWithDevice(ctx context.Context, name string) (userID, deviceID string) {
	GinkgoHelper()
	registered := f.ASClient.MustRegisterAS(ctx, f.GhostLocalpart(name), false)
	Expect(registered.Field("device_id")).NotTo(BeEmpty(), "registration without inhibit_login gave no device_id")
	return registered.Field("user_id"), registered.Field("device_id")
}

// newMasterKey is a cross-signing master key for userID with a fresh public
// key (a master key carries no signature the server checks).
func newMasterKey(userID string) map[string]any {
	pub := make([]byte, ed25519.PublicKeySize)
	_, _ = rand.Read(pub)
	key := base64.RawStdEncoding.EncodeToString(pub)
	return map[string]any{"user_id": userID, "usage": []string{"master"}, "keys": map[string]string{"ed25519:" + key: key}}
}
