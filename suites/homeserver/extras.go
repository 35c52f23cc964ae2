package homeserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API: ephemeral data (v1.13), third-party networks,
// and the room directory per network.
var _ = Describe("Ephemeral data, third-party lookups and network directories", Label("homeserver"), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = 60 * time.Second

	It("pushes typing notifications in the ephemeral array, with the room_id, to an AS that opted in", Label("HS-EPH-01", "HS-EPH-04", "HS-EPH-06"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("ephemeral data")
		eph := f.EphemeralAS()
		alice := f.NewUser(ctx, "alice")
		room := f.newBridgedRoomOf(ctx, eph, alice, "bob")
		typing, err := alice.Typing(ctx, room.ID, alice.UserID(ctx), true)
		Expect(err).NotTo(HaveOccurred())
		Expect(typing).To(match.HaveStatus(http.StatusOK))

		var found map[string]any
		waitCtx, cancel := context.WithTimeout(ctx, wait(20*time.Second))
		defer cancel()
		_, err = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool {
			for _, d := range eph.Deliveries() {
				for _, raw := range d.Txn.Ephemeral {
					var e map[string]any
					if json.Unmarshal(raw, &e) == nil && e["type"] == "m.typing" && e["room_id"] == room.ID {
						found = e
						return true
					}
				}
			}
			return false
		})
		Expect(err).NotTo(HaveOccurred(), "no m.typing with room_id %s arrived in an ephemeral array", room.ID)
		content, _ := found["content"].(map[string]any)
		Expect(content["user_ids"]).To(ContainElement(alice.UserID(ctx)))
	}, NodeTimeout(timeout))

	It("pushes a read receipt in a room the AS is interested in, with its room_id, to an AS that opted in", Label("HS-EPH-05", "HS-EPH-06", "HS-EPH-08"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("ephemeral data")
		eph := f.EphemeralAS()
		alice := f.NewUser(ctx, "alice")
		room := f.newBridgedRoomOf(ctx, eph, alice, "bob")
		read := room.Say(ctx, alice, "read me")
		resp, err := alice.Receipt(ctx, room.ID, read)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveStatus(http.StatusOK))

		var receipt map[string]any
		var types []string
		waitCtx, cancel := context.WithTimeout(ctx, wait(20*time.Second))
		defer cancel()
		_, err = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool {
			types = nil
			for _, d := range eph.Deliveries() {
				for _, raw := range d.Txn.Ephemeral {
					var e map[string]any
					_ = json.Unmarshal(raw, &e)
					t, _ := e["type"].(string)
					types = append(types, t)
					if t == "m.receipt" && e["room_id"] == room.ID {
						receipt = e
					}
				}
			}
			return receipt != nil
		})
		Expect(err).NotTo(HaveOccurred(), "no m.receipt with room_id %s arrived in an ephemeral array", room.ID)
		suites.Observe("ephemeral types received", strings.Join(types, ", "))
		content, _ := receipt["content"].(map[string]any)
		ofEvent, _ := content[read].(map[string]any)
		readers, _ := ofEvent["m.read"].(map[string]any)
		Expect(readers).To(HaveKey(alice.UserID(ctx)), "the m.receipt does not say that alice read the event (client-server shape)")
		for _, t := range types {
			Expect([]string{"m.presence", "m.typing", "m.receipt"}).To(ContainElement(t), "the ephemeral array held an entry of type %q", t)
		}
	}, NodeTimeout(timeout))

	It("pushes the presence of a user who shares a room with the AS's users to an AS that opted in", Label("HS-EPH-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("ephemeral data")
		eph := f.EphemeralAS()
		alice := f.NewUser(ctx, "alice")
		f.newBridgedRoomOf(ctx, eph, alice, "bob")
		resp, err := alice.Do(ctx, http.MethodPut, "/_matrix/client/v3/presence/"+csapi.PathEscape(alice.UserID(ctx))+"/status",
			map[string]any{"presence": "online", "status_msg": "bridged"})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		waitCtx, cancel := context.WithTimeout(ctx, wait(20*time.Second))
		defer cancel()
		_, err = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool {
			for _, d := range eph.Deliveries() {
				for _, raw := range d.Txn.Ephemeral {
					var e map[string]any
					if json.Unmarshal(raw, &e) == nil && e["type"] == "m.presence" && e["sender"] == alice.UserID(ctx) {
						return true
					}
				}
			}
			return false
		})
		Expect(err).NotTo(HaveOccurred(), "no m.presence of %s arrived in an ephemeral array", alice.UserID(ctx))
	}, NodeTimeout(timeout))

	It("sends no ephemeral data to an AS that did not opt in", Label("HS-EPH-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("ephemeral data")
		eph := f.EphemeralAS()
		alice := f.NewUser(ctx, "alice")
		// Both ASes have a ghost in the room; only eph opted in.
		room := f.NewBridgedRoom(ctx, alice, "bob")
		eve := f.RegisterGhostOf(ctx, eph, "eve")
		_, err := alice.Invite(ctx, room.ID, eve)
		Expect(err).NotTo(HaveOccurred())
		joined, err := eph.ASClient.Join(ctx, room.ID, csapi.AsUser(eve))
		Expect(err).NotTo(HaveOccurred())
		Expect(joined).To(match.HaveStatus(http.StatusOK))
		_, err = alice.Typing(ctx, room.ID, alice.UserID(ctx), true)
		Expect(err).NotTo(HaveOccurred())
		// The opted-in AS seeing the typing bounds the wait for the other.
		waitCtx, cancel := context.WithTimeout(ctx, wait(20*time.Second))
		defer cancel()
		_, err = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool { return hasEphemeral(eph.Deliveries()) })
		Expect(err).NotTo(HaveOccurred(), "the opted-in AS got no ephemeral data either")
		Expect(hasEphemeral(f.Deliveries())).To(BeFalse(), "an AS without receive_ephemeral got ephemeral data")
	}, NodeTimeout(timeout))

	It("hands a client's third-party user search to the AS of that protocol and returns its answer", Label("HS-3PE-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("client-side third-party lookups")
		protocol := f.number().Protocol()
		found := []map[string]any{{"userid": f.Ghost("remote_bob"), "protocol": protocol, "fields": map[string]string{"nick": "bob"}}}
		f.AS.On(fakeas.ThirdParty).Always().Do(func(_ context.Context, in fakeas.Request) error {
			if strings.HasPrefix(in.Param, "protocol/") {
				return fakeas.Answer{Status: http.StatusOK, Body: map[string]any{
					"user_fields": []string{"nick"}, "location_fields": []string{"channel"}, "icon": "mxc://x/y",
					"field_types": map[string]any{"nick": map[string]string{"regexp": ".*", "placeholder": "nick"}, "channel": map[string]string{"regexp": ".*", "placeholder": "#c"}},
					"instances":   []any{map[string]any{"desc": "Sample", "fields": map[string]string{}, "network_id": "net1"}},
				}}
			}
			return fakeas.Answer{Status: http.StatusOK, Body: found}
		})
		alice := f.NewUser(ctx, "alice")
		resp, err := alice.ThirdPartyUsers(ctx, protocol, map[string]string{"nick": "bob"})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp).To(match.HaveStatus(http.StatusOK))
		var got []map[string]any
		Expect(resp.JSON(&got)).To(Succeed())
		Expect(got).To(HaveLen(1))
		Expect(got[0]["userid"]).To(Equal(f.Ghost("remote_bob")))
		var asked *recorder.Exchange
		for _, e := range f.Received() {
			if strings.HasPrefix(e.Path, "/_matrix/app/v1/thirdparty/user/") {
				asked = &e
			}
		}
		Expect(asked).NotTo(BeNil(), "the AS was not asked")
		Expect(asked.Query.Get("nick")).To(Equal("bob"), "the search fields were not handed to the AS")
		Expect(*asked).To(match.BeBearer(f.Reg.HSToken))
	}, NodeTimeout(timeout))

	It("lets only the AS publish a room in its network's directory", Label("HS-DIR-01", "HS-DIR-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("the public room directory")
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		byUser, err := alice.SetAppServiceVisibility(ctx, "net1", room.ID, "public")
		Expect(err).NotTo(HaveOccurred())
		suites.Observe("a normal user publishing", byUser.String())
		Expect(byUser.Status).To(BeNumerically(">=", 400), "a normal user must not use the AS directory endpoint")
		byAS, err := f.ASClient.SetAppServiceVisibility(ctx, "net1", room.ID, "public")
		Expect(err).NotTo(HaveOccurred())
		Expect(byAS).To(match.HaveStatus(http.StatusOK))
		listed, err := alice.PublicRooms(ctx, map[string]any{"include_all_networks": true, "limit": 500})
		Expect(err).NotTo(HaveOccurred())
		Expect(listed).To(match.HaveStatus(http.StatusOK))
		Expect(string(listed.Body)).To(ContainSubstring(room.ID), "the published room is not in the directory of all networks")
	}, NodeTimeout(timeout))
})

func hasEphemeral(ds []Delivered) bool {
	for _, d := range ds {
		if len(d.Txn.Ephemeral) > 0 {
			return true
		}
	}
	return false
}
