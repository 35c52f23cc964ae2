package homeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Application Service API: ephemeral data (v1.13), third-party networks,
// and the room directory per network.
var _ = describe("Ephemeral data, third-party lookups and network directories", func() {
	const timeout = 60 * time.Second

	// ephemeralRoom is the start of the ephemeral specs: alice's room
	// bridged by the AS that opted in, on a SUT that models the feature
	// (the kind of ephemeral data) the spec pushes.
	ephemeralRoom := func(ctx SpecContext, feature string) (*Fixture, *scenarios.AppService, *csapi.Client, scenarios.BridgedRoom) {
		f := NewFixture(ctx)
		f.needs(feature)
		eph := f.EphemeralAS()
		alice := f.NewUser(ctx, "alice")
		return f, eph, alice, f.BridgedRoomOf(ctx, eph, alice, "bob")
	}

	It("pushes typing notifications in the ephemeral array, with the room_id, to an AS that opted in", Label("HS-EPH-01", "HS-EPH-04", "HS-EPH-06"), func(ctx SpecContext) {
		_, eph, alice, room := ephemeralRoom(ctx, "typing notifications")
		alice.MustTyping(ctx, room.ID, alice.UserID(ctx), true)
		found, err := eph.WaitForEphemeral(ctx, func(e map[string]any) bool { return e["type"] == "m.typing" && e["room_id"] == room.ID })
		Expect(err).NotTo(HaveOccurred(), "no m.typing with room_id %s arrived in an ephemeral array", room.ID)
		content, _ := found["content"].(map[string]any)
		Expect(content["user_ids"]).To(ContainElement(alice.UserID(ctx)))
	}, NodeTimeout(timeout))

	It("pushes typing notifications only in rooms the AS is interested in, in transactions that carry an events array even when it is empty", Label("HS-EPH-04", "HS-TXN-03"), func(ctx SpecContext) {
		_, eph, alice, room := ephemeralRoom(ctx, "typing notifications")
		elsewhere := alice.MustCreateRoom(ctx, map[string]any{"preset": "public_chat"}) // no user of the AS's in it
		alice.MustTyping(ctx, elsewhere, alice.UserID(ctx), true)
		// Typing in the bridged room, started later, bounds the wait.
		alice.MustTyping(ctx, room.ID, alice.UserID(ctx), true)
		_, err := eph.WaitForEphemeral(ctx, func(e map[string]any) bool { return e["type"] == "m.typing" && e["room_id"] == room.ID })
		Expect(err).NotTo(HaveOccurred(), "no m.typing with room_id %s arrived in an ephemeral array", room.ID)
		for _, e := range scenarios.Ephemeral(eph.Deliveries()) {
			Expect(e["type"] == "m.typing" && e["room_id"] == elsewhere).To(BeFalse(), "a typing notification in %s, a room the AS has no interest in, reached the AS", elsewhere)
		}
		ephemeralOnly := 0
		for _, d := range eph.Deliveries() {
			if len(d.Txn.Ephemeral) == 0 {
				continue
			}
			if len(d.Txn.Events) == 0 {
				ephemeralOnly++
			}
			var body map[string]json.RawMessage
			_ = json.Unmarshal(d.Exchange.Body, &body)
			Expect(bytes.HasPrefix(bytes.TrimSpace(body["events"]), []byte("["))).To(BeTrue(), "transaction %s carries ephemeral data without an events array", d.TxnID)
		}
		suites.Observe("transactions carrying ephemeral data and no event", ephemeralOnly)
	}, NodeTimeout(timeout))

	It("pushes a read receipt in a room the AS is interested in, with its room_id, to an AS that opted in", Label("HS-EPH-05", "HS-EPH-06", "HS-EPH-08"), func(ctx SpecContext) {
		_, eph, alice, room := ephemeralRoom(ctx, "read receipts")
		read := room.Say(ctx, alice, "read me")
		Expect(alice.Receipt(ctx, room.ID, read)).To(match.HaveStatus(http.StatusOK))

		receipt, err := eph.WaitForEphemeral(ctx, func(e map[string]any) bool { return e["type"] == "m.receipt" && e["room_id"] == room.ID })
		Expect(err).NotTo(HaveOccurred(), "no m.receipt with room_id %s arrived in an ephemeral array", room.ID)
		var types []string
		for _, e := range scenarios.Ephemeral(eph.Deliveries()) {
			t, _ := e["type"].(string)
			types = append(types, t)
		}
		suites.Observe("ephemeral types received", strings.Join(types, ", "))
		content, _ := receipt["content"].(map[string]any)
		ofEvent, _ := content[read].(map[string]any)
		readers, _ := ofEvent["m.read"].(map[string]any)
		Expect(readers).To(HaveKey(alice.UserID(ctx)), "the m.receipt does not say that alice read the event (client-server shape)")
		for _, t := range types {
			Expect([]string{"m.presence", "m.typing", "m.receipt"}).To(ContainElement(t), "the ephemeral array held an entry of type %q", t)
		}
	}, NodeTimeout(timeout))

	It("keeps a normal user's private read receipt from an AS that opted in, while pushing the same user's public receipt", Label("HS-EPH-07"), func(ctx SpecContext) {
		_, eph, alice, room := ephemeralRoom(ctx, "read receipts")
		first := room.Say(ctx, alice, "read in private")
		second := room.Say(ctx, alice, "read in public")
		receipt := func(c *csapi.Client, kind, eventID string, opts ...csapi.Option) {
			GinkgoHelper()
			resp, err := c.Do(ctx, http.MethodPost, "/_matrix/client/v3/rooms/"+csapi.PathEscape(room.ID)+"/receipt/"+kind+"/"+csapi.PathEscape(eventID), map[string]any{}, opts...)
			Expect(resp, err).To(match.HaveStatus(http.StatusOK), "sending an %s receipt", kind)
		}
		// The ghost's private receipt may reach its own AS (its namespace
		// matches): observed. alice's must not: she is in no namespace.
		receipt(eph.ASClient, "m.read.private", first, csapi.AsUser(room.Ghost))
		receipt(alice, "m.read.private", first)
		receipt(alice, "m.read", second)
		// The public receipt, sent last, bounds the wait for the others.
		_, err := eph.WaitForEphemeral(ctx, func(e map[string]any) bool {
			content, _ := e["content"].(map[string]any)
			return e["type"] == "m.receipt" && e["room_id"] == room.ID && content[second] != nil
		})
		Expect(err).NotTo(HaveOccurred(), "no m.receipt for %s (alice's public receipt) arrived in an ephemeral array", second)
		readers := func(kind string) map[string]bool {
			out := map[string]bool{}
			for _, e := range scenarios.Ephemeral(eph.Deliveries()) {
				if e["type"] != "m.receipt" || e["room_id"] != room.ID {
					continue
				}
				content, _ := e["content"].(map[string]any)
				for _, ofEvent := range content {
					ofEvent, _ := ofEvent.(map[string]any)
					users, _ := ofEvent[kind].(map[string]any)
					for u := range users {
						out[u] = true
					}
				}
			}
			return out
		}
		private := readers("m.read.private")
		suites.Observe("the ghost's private receipt reached its AS", private[room.Ghost])
		Expect(private).NotTo(HaveKey(alice.UserID(ctx)), "a private read receipt of alice, a user in no namespace of the AS, reached the AS")
		Expect(readers("m.read")).To(HaveKey(alice.UserID(ctx)), "alice's public read receipt did not reach the AS as m.read")
	}, NodeTimeout(timeout))

	It("pushes the presence of a user who shares a room with the AS's users to an AS that opted in", Label("HS-EPH-03"), func(ctx SpecContext) {
		_, eph, alice, _ := ephemeralRoom(ctx, "presence")
		alice.MustDo(ctx, http.MethodPut, "/_matrix/client/v3/presence/"+csapi.PathEscape(alice.UserID(ctx))+"/status",
			map[string]any{"presence": "online", "status_msg": "bridged"})
		_, err := eph.WaitForEphemeral(ctx, func(e map[string]any) bool { return e["type"] == "m.presence" && e["sender"] == alice.UserID(ctx) })
		Expect(err).NotTo(HaveOccurred(), "no m.presence of %s arrived in an ephemeral array", alice.UserID(ctx))
	}, NodeTimeout(timeout))

	It("(observed) which ephemeral data made while the AS was down reaches it once it is back", Label("HS-EPH-01", "HS-TXN-08", "informational"), func(ctx SpecContext) {
		f, eph, alice, room := ephemeralRoom(ctx, "read receipts")
		eph.Settle(ctx, room)
		sent := eph.SayWhileDown(ctx, room, "said while the AS is down", 1)
		// What the homeserver models of the three kinds, made while down.
		made := []string{"m.receipt"}
		Expect(alice.Receipt(ctx, room.ID, sent[0].ID)).To(match.HaveStatus(http.StatusOK))
		if !f.Env.lacks["typing notifications"] {
			made = append(made, "m.typing")
			alice.MustTyping(ctx, room.ID, alice.UserID(ctx), true)
		}
		if !f.Env.lacks["presence"] {
			made = append(made, "m.presence")
			alice.MustDo(ctx, http.MethodPut, "/_matrix/client/v3/presence/"+csapi.PathEscape(alice.UserID(ctx))+"/status", map[string]any{"presence": "online", "status_msg": "while the AS was down"})
		}
		By("AS back")
		back := time.Now()
		eph.AS.Reset()
		eph.WaitForAll(ctx, sent)
		// A message after the AS is back: ephemeral data may wait for the next transaction.
		eph.ExpectAck(ctx, room.Say(ctx, alice, "said once the AS is back"))
		Expect(eph.Deliveries()).To(scenarios.DeliverExactlyOnceInOrder(sent))
		// Per kind: tried in a transaction the AS failed, delivered after.
		tried, delivered := map[string]bool{}, map[string]bool{}
		for _, d := range eph.Deliveries() {
			failed := d.Exchange.Status != http.StatusOK
			if !failed && d.Exchange.Start.Before(back) {
				continue // acknowledged before the AS went down
			}
			for _, e := range scenarios.Ephemeral([]scenarios.Delivered{d}) {
				if t, _ := e["type"].(string); e["room_id"] == room.ID || t == "m.presence" && e["sender"] == alice.UserID(ctx) {
					tried[t] = tried[t] || failed
					delivered[t] = delivered[t] || !failed
				}
			}
		}
		for _, t := range made {
			suites.Observe(t+" made while the AS was down: in a failed transaction, delivered once it was back", fmt.Sprintf("%t, %t", tried[t], delivered[t]))
		}
	}, NodeTimeout(timeout))

	It("sends no ephemeral data to an AS that did not opt in", Label("HS-EPH-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("typing notifications") // what it pushes to the AS that opted in
		eph := f.EphemeralAS()
		f.ExpectNoEphemeral() // also after the spec's own check
		alice := f.NewUser(ctx, "alice")
		// Both ASes have a ghost in the room; only eph opted in.
		room := f.NewBridgedRoom(ctx, alice, "bob")
		eve := f.RegisterGhostOf(ctx, eph, "eve")
		_, err := alice.Invite(ctx, room.ID, eve)
		Expect(err).NotTo(HaveOccurred())
		eph.ASClient.MustJoin(ctx, room.ID, csapi.AsUser(eve))
		_, err = alice.Typing(ctx, room.ID, alice.UserID(ctx), true)
		Expect(err).NotTo(HaveOccurred())
		// The opted-in AS seeing the typing bounds the wait for the other.
		_, err = eph.WaitForEphemeral(ctx, func(map[string]any) bool { return true })
		Expect(err).NotTo(HaveOccurred(), "the opted-in AS got no ephemeral data either")
		Expect(f.Deliveries()).To(scenarios.CarryNoEphemeral(), "an AS without receive_ephemeral got ephemeral data")
	}, NodeTimeout(timeout))

	for _, lookup := range []struct {
		kind, field, value, key string
		entity                  func(*Fixture) string // what the AS finds
	}{
		{"user", "nick", "bob", "userid", func(f *Fixture) string { return f.Ghost("remote_bob") }},
		{"location", "channel", "#bridged", "alias", func(f *Fixture) string { return f.Alias("bridged") }},
	} {
		It("hands a client's third-party "+lookup.kind+" search to the AS of that protocol and returns its answer", Label("HS-3PE-01"), func(ctx SpecContext) {
			f := NewFixture(ctx)
			protocol := f.number().Protocol()
			f.expectLookupHandedOver(ctx, lookup.kind, protocol, map[string]string{lookup.field: lookup.value},
				map[string]any{lookup.key: lookup.entity(f), "protocol": protocol, "fields": map[string]string{lookup.field: lookup.value}})
		}, NodeTimeout(timeout))
	}

	It("hands a client's reverse location lookup by an alias of the AS's namespace to the AS and returns its answer", Label("HS-3PE-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		alias := f.Alias("bridged")
		f.expectLookupHandedOver(ctx, "location", "", map[string]string{"alias": alias},
			map[string]any{"alias": alias, "protocol": f.number().Protocol(), "fields": map[string]string{"channel": "#bridged"}})
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
		Expect(f.ASClient.SetAppServiceVisibility(ctx, "net1", room.ID, "public")).To(match.HaveStatus(http.StatusOK))
		Expect(listedInAllNetworks(ctx, alice, room.ID)).To(BeTrue(), "the published room is not in the directory of all networks")
	}, NodeTimeout(timeout))

	It("removes a room from its network's directory when the AS sets it private", Label("HS-DIR-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		f.needs("the public room directory")
		alice := f.NewUser(ctx, "alice")
		room := f.NewBridgedRoom(ctx, alice, "bob")
		Expect(f.ASClient.SetAppServiceVisibility(ctx, "net1", room.ID, "public")).To(match.HaveStatus(http.StatusOK))
		Expect(listedInAllNetworks(ctx, alice, room.ID)).To(BeTrue(), "the published room is not in the directory of all networks")
		Expect(f.ASClient.SetAppServiceVisibility(ctx, "net1", room.ID, "private")).To(match.HaveStatus(http.StatusOK))
		Expect(listedInAllNetworks(ctx, alice, room.ID)).To(BeFalse(), "the room is still listed after the AS set its visibility in network net1 to private")
	}, NodeTimeout(timeout))

	It("gives clients the AS's protocol metadata with an instance_id on each instance, and lists a network's rooms by that instance_id",
		Label("HS-3PE-02", "HS-DIR-03"), func(ctx SpecContext) {
			f := NewFixture(ctx)
			f.needs("client-side third-party lookups")
			f.needs("the public room directory")
			protocol := f.number().Protocol()
			served := protocolMetadata("net1", "net2")
			f.AS.On(fakeas.ThirdParty).Always().Respond(http.StatusOK, served)
			alice := f.NewUser(ctx, "alice")

			resp, err := alice.Do(ctx, http.MethodGet, "/_matrix/client/v3/thirdparty/protocol/"+csapi.PathEscape(protocol), nil)
			Expect(resp, err).To(match.HaveStatus(http.StatusOK))
			var got struct {
				UserFields     []string         `json:"user_fields"`
				LocationFields []string         `json:"location_fields"`
				Instances      []map[string]any `json:"instances"`
			}
			Expect(resp.JSON(&got)).To(Succeed())
			Expect(got.UserFields).To(Equal([]string{"nick"}), "the AS's user_fields were not passed on")
			Expect(got.LocationFields).To(Equal([]string{"channel"}), "the AS's location_fields were not passed on")
			Expect(got.Instances).To(HaveLen(2), "the AS served 2 instances")
			instanceOf := map[string]string{} // network_id -> instance_id
			for _, in := range got.Instances {
				network, _ := in["network_id"].(string)
				id, _ := in["instance_id"].(string)
				Expect(id).NotTo(BeEmpty(), "instance %v has no instance_id", in)
				Expect(in).To(HaveKeyWithValue("desc", "Sample "+network), "the instance's own fields were not passed on")
				instanceOf[network] = id
			}
			suites.Observe("instance_ids", instanceOf)
			Expect(instanceOf).To(HaveLen(2))
			Expect(instanceOf["net1"]).NotTo(Equal(instanceOf["net2"]), "two instances share an instance_id")

			room := f.NewBridgedRoom(ctx, alice, "bob")
			Expect(f.ASClient.SetAppServiceVisibility(ctx, "net1", room.ID, "public")).To(match.HaveStatus(http.StatusOK))
			listedIn := func(network string) bool {
				listed, err := alice.PublicRooms(ctx, map[string]any{"third_party_instance_id": instanceOf[network], "limit": 500})
				Expect(listed, err).To(match.HaveStatus(http.StatusOK))
				return strings.Contains(string(listed.Body), room.ID)
			}
			Expect(listedIn("net1")).To(BeTrue(), "the room published in network net1 is not listed for net1's instance_id")
			Expect(listedIn("net2")).To(BeFalse(), "the room published in network net1 is listed for net2's instance_id")
		}, NodeTimeout(timeout))
})

// expectLookupHandedOver: a client's third-party lookup of kind (user,
// location) in protocol ("": the reverse lookup) by fields must reach the
// spec's fake AS on the matching AS path, with the fields and its
// hs_token, and come back with what the AS found.
func (f *Fixture) expectLookupHandedOver(ctx context.Context, kind, protocol string, fields map[string]string, found map[string]any) {
	GinkgoHelper()
	f.needs("client-side third-party lookups")
	lookup := strings.TrimSuffix(kind+"/"+protocol, "/")
	f.AS.On(fakeas.ThirdParty).Always().Do(func(_ context.Context, in fakeas.Request) error {
		if strings.HasPrefix(in.Param, "protocol/") { // a homeserver may read the metadata first
			return fakeas.Answer{Status: http.StatusOK, Body: protocolMetadata("net1")}
		}
		// As a bridge would: found for this lookup only (a homeserver may
		// ask every AS, and other specs' lookups are not this one).
		ours := in.Param == lookup
		for k, v := range fields {
			ours = ours && in.Query.Get(k) == v
		}
		if !ours {
			return fakeas.Answer{Status: http.StatusNotFound, Body: map[string]string{"errcode": "M_NOT_FOUND", "error": "no such " + kind}}
		}
		return fakeas.Answer{Status: http.StatusOK, Body: []map[string]any{found}}
	})
	alice := f.NewUser(ctx, "alice")
	resp, err := alice.ThirdPartyLookup(ctx, kind, protocol, fields)
	Expect(err).NotTo(HaveOccurred())
	asPath := "/_matrix/app/v1/thirdparty/" + kind
	if protocol != "" {
		asPath += "/" + csapi.PathEscape(protocol)
	}
	var asked *recorder.Exchange
	for _, e := range f.Received() {
		if e.Path == asPath {
			asked = &e
		}
	}
	Expect(asked).NotTo(BeNil(), "the AS was not asked on %s", asPath)
	for k, v := range fields {
		Expect(asked.Query.Get(k)).To(Equal(v), "the search fields were not handed to the AS")
	}
	Expect(*asked).To(match.BeBearer(f.Reg.HSToken))
	Expect(resp).To(match.HaveStatus(http.StatusOK))
	answered, _ := json.Marshal([]any{found})
	Expect(string(resp.Body)).To(MatchJSON(answered), "the AS's answer was not returned to the client")
}

// listedInAllNetworks says whether the directory of every network, as c
// sees it, lists roomID.
func listedInAllNetworks(ctx context.Context, c *csapi.Client, roomID string) bool {
	GinkgoHelper()
	listed, err := c.PublicRooms(ctx, map[string]any{"include_all_networks": true, "limit": 500})
	Expect(listed, err).To(match.HaveStatus(http.StatusOK))
	return strings.Contains(string(listed.Body), roomID)
}

// protocolMetadata is what a fake AS serves for its protocol, with one
// instance per network.
func protocolMetadata(networks ...string) map[string]any {
	instances := []any{}
	for _, n := range networks {
		instances = append(instances, map[string]any{"desc": "Sample " + n, "fields": map[string]string{}, "network_id": n})
	}
	return map[string]any{
		"user_fields": []string{"nick"}, "location_fields": []string{"channel"}, "icon": "mxc://x/y",
		"field_types": map[string]any{"nick": map[string]string{"regexp": ".*", "placeholder": "nick"}, "channel": map[string]string{"regexp": ".*", "placeholder": "#c"}},
		"instances":   instances,
	}
}
