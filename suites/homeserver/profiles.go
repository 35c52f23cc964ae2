package homeserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
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

// Unstable extensions of the AS API, checked only when their profile is
// chosen (suites.Profiles). A homeserver that shows no sign of an extension
// is reported skipped as not implementing it, not failed; one that
// implements it wrongly fails.
var _ = describe("Unstable extensions for encrypted bridges", Label(suites.ProfileLabel("e2ee-bridges")), func() {
	const timeout = time.Minute

	It("pushes a to-device message for a device of the AS's user to the AS, with sender, type, content, to_user_id and to_device_id", Label("HS-TODEV-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "todevice")
		alice := f.NewUser(ctx, "alice")
		content := map[string]any{"nonce": "n" + f.unique, "body": "for the bridge"}
		msg := toDevice(ctx, eph, alice, ghost, device, content)
		Expect(msg["to_user_id"]).To(Equal(ghost), "to_user_id must name the recipient, the AS's user")
		Expect(msg["to_device_id"]).To(Equal(device), "to_device_id must name the recipient's device")
		Expect(msg["sender"]).To(Equal(alice.UserID(ctx)), "sender must name the user who sent the message")
		Expect(msg["type"]).To(Equal(toDeviceType), "type must be the message's event type")
		Expect(msg["content"]).To(Equal(content), "content must be the message's content as sent")
	}, NodeTimeout(timeout))

	It("keeps a to-device message in the transaction it retries after the AS failed it", Label("HS-TODEV-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "todeviceretry")
		alice := f.NewUser(ctx, "alice")
		nonce := "n" + f.unique
		// Fail the first transaction carrying the message, not whatever
		// else comes first (device list changes of the new device).
		var failedOnce atomic.Bool
		eph.AS.On(fakeas.Transactions).Always().Do(func(_ context.Context, in fakeas.Request) error {
			if bytes.Contains(in.Body, []byte(nonce)) && failedOnce.CompareAndSwap(false, true) {
				return fakeas.Answer{Status: http.StatusInternalServerError, Body: map[string]string{"errcode": "M_UNKNOWN", "error": "scripted failure"}}
			}
			return nil
		})
		// The failed attempt carrying the message shows the extension at
		// work; without it the homeserver shows no sign of implementing it.
		toDevice(ctx, eph, alice, ghost, device, map[string]any{"nonce": nonce})
		failed := eph.ToDeviceDeliveries(nonce)
		Expect(failed).NotTo(BeEmpty())
		if failed[0].Exchange.Status == http.StatusOK {
			suites.HarnessError(fmt.Errorf("the transaction carrying the to-device message was not the one the fake AS failed (%s)", failed[0].TxnID))
		}
		retried := failed[0].TxnID
		Expect(eph.WaitForTxnAck(ctx, retried)).NotTo(HaveOccurred(), "the homeserver did not retry transaction %s after the AS failed it", retried)
		var acked []string
		for _, d := range eph.ToDeviceDeliveries(nonce) {
			if d.Exchange.Status == http.StatusOK {
				acked = append(acked, d.TxnID)
			}
		}
		suites.Observe("transactions carrying the message, acknowledged", fmt.Sprint(acked))
		Expect(acked).NotTo(BeEmpty(), "the to-device message was lost: transaction %s was retried without it, and no later transaction carried it", retried)
	}, NodeTimeout(timeout))

	It("pushes to the AS no to-device message its user's device sent to a user outside its namespaces", Label("HS-TODEV-03"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "todevicereverse")
		alice := f.NewUser(ctx, "alice")
		aliceDevice := setUp("alice's whoami")(alice.WhoAmI(ctx)).Field("device_id")
		reverse := "r" + f.unique
		eph.ASClient.MustDo(ctx, http.MethodPut, "/_matrix/client/v3/sendToDevice/"+toDeviceType+"/"+csapi.TxnID(),
			map[string]any{"messages": map[string]any{alice.UserID(ctx): map[string]any{aliceDevice: map[string]any{"nonce": reverse}}}},
			csapi.AsUser(ghost), csapi.Query("device_id", device))
		// A message to the AS's user after it: once it is pushed, the first
		// would have been too.
		toDevice(ctx, eph, alice, ghost, device, map[string]any{"nonce": "n" + f.unique})
		Expect(eph.ToDeviceDeliveries(reverse)).To(BeEmpty(), "the AS was pushed the to-device message its user sent to alice, a user outside its namespaces")
		prefix := "@" + eph.NamespacePrefix()
		for _, d := range eph.Deliveries() {
			var body map[string]json.RawMessage
			if json.Unmarshal(d.Exchange.Body, &body) != nil {
				continue
			}
			for _, k := range scenarios.ToDeviceKeys {
				var msgs []struct {
					ToUserID string `json:"to_user_id"`
				}
				_ = json.Unmarshal(body[k], &msgs)
				for _, m := range msgs {
					Expect(m.ToUserID).To(HavePrefix(prefix), "transaction %s pushed a to-device message for a user outside its namespaces", d.TxnID)
				}
			}
		}
	}, NodeTimeout(timeout))

	It("reports the one-time key counts of its user's device in the transaction that concerns the user", Label("HS-OTK-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device, pushed := f.keysPushed(ctx, eph, "otk", threeOneTimeKeys("AAAAA"))
		counts := pushedOTKCounts(pushed)
		suites.Observe("counts for the user", fmt.Sprint(counts[ghost]))
		Expect(counts).To(HaveKey(ghost), "the counts must name the AS's user the transaction concerns")
		Expect(counts[ghost]).To(HaveKey(device), "the counts must name the device that uploaded the keys")
		Expect(counts[ghost][device]["signed_curve25519"]).To(Equal(3), "signed_curve25519 count of the device's unclaimed one-time keys")
	}, NodeTimeout(timeout))

	It("reports one key fewer in the one-time key counts of its user's device after a client claimed one", Label("HS-OTK-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device, pushed := f.keysPushed(ctx, eph, "otkclaimed", threeOneTimeKeys("AAAAB"))
		before := pushedOTKCounts(pushed)
		Expect(before[ghost][device]["signed_curve25519"]).To(Equal(3), "signed_curve25519 count of the device's unclaimed one-time keys")
		bob := f.NewUser(ctx, "bob")
		claimed := bob.MustDo(ctx, http.MethodPost, "/_matrix/client/v3/keys/claim", map[string]any{
			"one_time_keys": map[string]any{ghost: map[string]any{device: "signed_curve25519"}},
		})
		suites.Observe("claim", claimed.String())
		nonce := "c" + f.unique
		toDevice(ctx, eph, bob, ghost, device, map[string]any{"nonce": nonce})
		var after map[string]map[string]map[string]int
		key := scenarios.FirstField(eph.ToDeviceDeliveries(nonce), &after, otkCountKeys...)
		suites.Observe("counts after the claim", fmt.Sprint(after[ghost]))
		Expect(key).NotTo(BeEmpty(), "the transaction after the claim, which concerns the user whose counts changed, must carry the counts")
		Expect(after[ghost][device]["signed_curve25519"]).To(Equal(2), "after a claim, the count of the device's unclaimed one-time keys must be one less")
	}, NodeTimeout(timeout))

	It("reports the unused fallback key types of its user's device in the transaction that concerns the user", Label("HS-OTK-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device, pushed := f.keysPushed(ctx, eph, "fallback", func(ghost, device string) map[string]any {
			return map[string]any{"fallback_keys": map[string]any{"signed_curve25519:AAAAFB": signedKey(ghost, device, 9, true)}}
		})
		var types map[string]map[string][]string
		key := scenarios.FirstField(pushed, &types, "device_unused_fallback_key_types", "org.matrix.msc3202.device_unused_fallback_key_types")
		suites.Observe("unused fallback key types key", map[bool]string{true: "none", false: key}[key == ""])
		if key == "" {
			Skip("not implemented: the transaction carrying the to-device message has no device_unused_fallback_key_types (nor org.matrix.msc3202.device_unused_fallback_key_types)")
		}
		suites.Observe("types for the user", fmt.Sprint(types[ghost]))
		Expect(types[ghost][device]).To(ConsistOf("signed_curve25519"), "the unused fallback key types of the device that uploaded a signed_curve25519 fallback key")
	}, NodeTimeout(timeout))

	It("lists a user sharing a room with its user under device_lists.changed after the user's devices change", Label("HS-DLIST-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		if !eph.Reg.MSC3202 {
			Skip("needs the registration of the ephemeral AS with org.matrix.msc3202: true, which the profile's run writes (not in external mode)")
		}
		alice := f.NewUser(ctx, "alice")
		f.BridgedRoomOf(ctx, eph, alice, "bob")
		// Only what follows the new device counts: alice's first device
		// came before she shared a room with the AS's user.
		mark := len(eph.Deliveries())
		login := f.client("alice's new device", "").MustDo(ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
			"type": "m.login.password", "identifier": map[string]any{"type": "m.id.user", "user": f.Outside("alice")}, "password": "pw-" + f.unique,
		}, csapi.WithToken(""))
		f.secrets["alice's new device access_token"] = login.Field("access_token")

		var key string
		var lists struct {
			Changed []string `json:"changed"`
			Left    []string `json:"left"`
		}
		waitCtx, cancel := context.WithTimeout(ctx, wait(extensionWait))
		defer cancel()
		_, _ = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool {
			for _, d := range eph.Deliveries()[min(mark, len(eph.Deliveries())):] {
				var body map[string]json.RawMessage
				if json.Unmarshal(d.Exchange.Body, &body) != nil {
					continue
				}
				for _, k := range []string{"device_lists", "org.matrix.msc3202.device_lists"} {
					if raw, ok := body[k]; ok && json.Unmarshal(raw, &lists) == nil && slices.Contains(lists.Changed, alice.UserID(ctx)) {
						key = k
						return true
					}
					if _, ok := body[k]; ok {
						key = k // seen, without alice so far
					}
				}
			}
			return false
		})
		suites.Observe("device lists key", map[bool]string{true: "none", false: key}[key == ""])
		if key == "" {
			Skip(fmt.Sprintf("not implemented: no transaction carried device_lists (nor org.matrix.msc3202.device_lists) within %s of alice's new device", wait(extensionWait)))
		}
		Expect(lists.Changed).To(ContainElement(alice.UserID(ctx)), "device_lists.changed must name alice, who shares a room with the AS's user and logged in on a new device")
	}, NodeTimeout(timeout))

	It("acts as the device of its user named with MSC3202's org.matrix.msc3202.device_id", Label("HS-ID-11"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		if !eph.Reg.MSC3202 {
			Skip("needs the registration of the ephemeral AS with org.matrix.msc3202: true, which the profile's run writes (not in external mode)")
		}
		ghost, device := f.registerDeviceOf(ctx, eph, "msc3202device")
		as, err := eph.ASClient.WhoAmI(ctx, csapi.AsUser(ghost), csapi.Query("org.matrix.msc3202.device_id", device))
		Expect(as, err).To(match.HaveStatus(http.StatusOK))
		suites.Observe("whoami", as.String())
		if as.Field("device_id") == "" {
			Skip("not implemented: whoami with org.matrix.msc3202.device_id reports no device (the homeserver ignores the unstable parameter)")
		}
		Expect(as.Field("device_id")).To(Equal(device), "whoami must name the device the AS asserted with org.matrix.msc3202.device_id")
	}, NodeTimeout(timeout))

	It("forwards a client's one-time key claim for a device of its user that uploaded none to the AS, and returns the key the AS gave", Label("HS-KEYS-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "otkclaim")
		keyID := "signed_curve25519:AAAAQC"
		given := signedKey(ghost, device, 42, false)
		eph.AS.On(fakeas.KeysClaim).Always().Respond(http.StatusOK, map[string]any{ghost: map[string]any{device: map[string]any{keyID: given}}})
		alice := f.NewUser(ctx, "alice")
		claimed, err := alice.Do(ctx, http.MethodPost, "/_matrix/client/v3/keys/claim", map[string]any{
			"one_time_keys": map[string]any{ghost: map[string]any{device: "signed_curve25519"}},
		})
		Expect(err).NotTo(HaveOccurred())
		asked := forwarded(ctx, eph, fakeas.KeysClaim)
		if asked == nil {
			suites.Observe("claim forwarded", "no")
			Skip(fmt.Sprintf("not implemented: the homeserver did not forward the claim to POST %s (the client got %s; Synapse: experimental_features.msc3983_appservice_otk_claims)", fakeas.KeysClaimPath, claimed))
		}
		suites.Observe("claim forwarded", string(asked.Body))
		var req map[string]map[string][]string
		Expect(json.Unmarshal(asked.Body, &req)).To(Succeed(), "the forwarded claim must map user IDs to device IDs to lists of algorithms")
		Expect(req[ghost][device]).To(ContainElement("signed_curve25519"), "the forwarded claim must name the user, the device and the algorithm claimed")
		Expect(claimed.Status).To(Equal(http.StatusOK), "the client's claim must succeed: %s", claimed)
		var got struct {
			OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
		}
		Expect(claimed.JSON(&got)).To(Succeed())
		suites.Observe("keys claimed for the device", fmt.Sprint(len(got.OneTimeKeys[ghost][device])))
		Expect(got.OneTimeKeys[ghost][device]).To(HaveKey(keyID), "the claim must return the one-time key the AS gave for the device")
		want, _ := json.Marshal(given)
		Expect(string(got.OneTimeKeys[ghost][device][keyID])).To(MatchJSON(want), "the claim must return the one-time key the AS gave, as it gave it")
	}, NodeTimeout(timeout))

	It("forwards a client's device key query for its user to the AS and lists the devices the AS answered with beside those it holds", Label("HS-KEYS-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "keyquery")
		eph.ASClient.MustDo(ctx, http.MethodPost, "/_matrix/client/v3/keys/upload", map[string]any{"device_keys": deviceKeys(ghost, device)},
			csapi.AsUser(ghost), csapi.Query("device_id", device))
		asOnly := "ASONLY" + f.unique
		given := deviceKeys(ghost, asOnly)
		eph.AS.On(fakeas.KeysQuery).Always().Respond(http.StatusOK, map[string]any{"device_keys": map[string]any{ghost: map[string]any{asOnly: given}}})
		alice := f.NewUser(ctx, "alice")
		queried, err := alice.Do(ctx, http.MethodPost, "/_matrix/client/v3/keys/query", map[string]any{"device_keys": map[string]any{ghost: []string{}}})
		Expect(err).NotTo(HaveOccurred())
		asked := forwarded(ctx, eph, fakeas.KeysQuery)
		if asked == nil {
			suites.Observe("query forwarded", "no")
			Skip(fmt.Sprintf("not implemented: the homeserver did not forward the query to POST %s (the client got %s; Synapse: experimental_features.msc3984_appservice_key_query)", fakeas.KeysQueryPath, queried))
		}
		suites.Observe("query forwarded", string(asked.Body))
		var req map[string][]string
		Expect(json.Unmarshal(asked.Body, &req)).To(Succeed(), "the forwarded query must map user IDs to lists of device IDs")
		Expect(req).To(HaveKey(ghost), "the forwarded query must name the user queried")
		Expect(queried.Status).To(Equal(http.StatusOK), "the client's query must succeed: %s", queried)
		var got struct {
			DeviceKeys map[string]map[string]struct {
				Keys json.RawMessage `json:"keys"`
			} `json:"device_keys"`
		}
		Expect(queried.JSON(&got)).To(Succeed())
		suites.Observe("devices listed", fmt.Sprint(slices.Sorted(maps.Keys(got.DeviceKeys[ghost]))))
		Expect(got.DeviceKeys[ghost]).To(HaveKey(asOnly), "the query must list the device the AS answered with")
		want, _ := json.Marshal(given["keys"])
		Expect(string(got.DeviceKeys[ghost][asOnly].Keys)).To(MatchJSON(want), "the query must list the device the AS answered with, with the keys the AS gave")
		Expect(got.DeviceKeys[ghost]).To(HaveKey(device), "the AS's answer is merged over what the homeserver holds: the device whose keys the homeserver holds stays listed")
	}, NodeTimeout(timeout))
})

// otkCountKeys are the names of a transaction's one-time key counts.
var otkCountKeys = []string{"device_one_time_keys_count", "org.matrix.msc3202.device_one_time_keys_count"}

// threeOneTimeKeys is an upload of three signed_curve25519 one-time keys
// whose IDs start with prefix.
func threeOneTimeKeys(prefix string) func(ghost, device string) map[string]any {
	return func(ghost, device string) map[string]any {
		keys := map[string]any{}
		for i := range 3 {
			keys[fmt.Sprintf("signed_curve25519:%s%d", prefix, i)] = signedKey(ghost, device, i, false)
		}
		return map[string]any{"one_time_keys": keys}
	}
}

// pushedOTKCounts are the one-time key counts of the pushes; the spec is
// skipped as not implemented when they carry none.
func pushedOTKCounts(pushed []scenarios.Delivered) map[string]map[string]map[string]int {
	GinkgoHelper()
	var counts map[string]map[string]map[string]int
	key := scenarios.FirstField(pushed, &counts, otkCountKeys...)
	suites.Observe("one-time key counts key", map[bool]string{true: "none", false: key}[key == ""])
	if key == "" {
		Skip("not implemented: the transaction carrying the to-device message has no device_one_time_keys_count (nor org.matrix.msc3202.device_one_time_keys_count)")
	}
	return counts
}

// keysPushed registers a user of eph with a device, uploads keys for that
// device (upload's body) and sends the device a to-device message, which
// makes a transaction that concerns the user; it returns the transactions
// carrying the message. MSC3202's fields need the registration's opt-in.
func (f *Fixture) keysPushed(ctx context.Context, eph *scenarios.AppService, name string, upload func(ghost, device string) map[string]any) (ghost, device string, pushed []scenarios.Delivered) {
	GinkgoHelper()
	if !eph.Reg.MSC3202 {
		Skip("needs the registration of the ephemeral AS with org.matrix.msc3202: true, which the profile's run writes (asconform registrations writes it when ASCONFORM_PROFILE is set)")
	}
	ghost, device = f.registerDeviceOf(ctx, eph, name)
	eph.ASClient.MustDo(ctx, http.MethodPost, "/_matrix/client/v3/keys/upload", upload(ghost, device),
		csapi.AsUser(ghost), csapi.Query("device_id", device))
	nonce := "n" + f.unique
	toDevice(ctx, eph, f.NewUser(ctx, "alice"), ghost, device, map[string]any{"nonce": nonce})
	return ghost, device, eph.ToDeviceDeliveries(nonce)
}

// toDeviceType is the type of the to-device messages the specs send.
const toDeviceType = "org.asconform.todevice"

// toDevice sends, as from, a to-device message with content (carrying a
// nonce) to the device of ghost, a user of eph, and returns it as pushed
// to eph. It skips the spec when no transaction carried it: the homeserver
// then shows no sign of the extension (HS-TODEV-01).
func toDevice(ctx context.Context, eph *scenarios.AppService, from *csapi.Client, ghost, device string, content map[string]any) map[string]any {
	GinkgoHelper()
	from.MustDo(ctx, http.MethodPut, "/_matrix/client/v3/sendToDevice/"+toDeviceType+"/"+csapi.TxnID(),
		map[string]any{"messages": map[string]any{ghost: map[string]any{device: content}}})
	msg, key := eph.WaitForToDevice(ctx, content["nonce"].(string), wait(extensionWait))
	if key == "" {
		suites.Observe("to-device key", "none: no transaction carried the message")
		Skip(fmt.Sprintf("not implemented: no transaction carried the to-device message within %s, under to_device or de.sorunome.msc2409.to_device (Synapse: experimental_features.msc2409_to_device_messages_enabled)", wait(extensionWait)))
	}
	suites.Observe("to-device key", key)
	return msg
}

// signedKey is a curve25519 key object for device; its key and signature
// are never checked (nobody claims it), so fixed bytes do.
func signedKey(userID, device string, n int, fallback bool) map[string]any {
	k := map[string]any{
		"key":        base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("%032d", n))),
		"signatures": map[string]any{userID: map[string]string{"ed25519:" + device: "c2lnbmF0dXJl"}},
	}
	if fallback {
		k["fallback"] = true
	}
	return k
}

// extensionWait bounds the wait for what an extension pushes; running out
// of it means the homeserver shows no sign of the extension. Synapse
// pushed a to-device message after 3 to 14 s on a loaded machine.
const extensionWait = 30 * time.Second

// registerDeviceOf registers a user in a's namespace, logged in (no
// inhibit_login), and returns it with the device the registration made.
func (f *Fixture) registerDeviceOf(ctx context.Context, a *scenarios.AppService, name string) (userID, deviceID string) {
	GinkgoHelper()
	registered := setUp("registering " + name + " with a device as the AS")(a.ASClient.RegisterAS(ctx, a.NamespacePrefix()+name+f.unique, false))
	if registered.Field("device_id") == "" {
		suites.HarnessError(fmt.Errorf("registering %s with a device as the AS: no device_id in %v", name, registered))
	}
	return registered.Field("user_id"), registered.Field("device_id")
}

// forwarded waits a little for the fake AS to get a request of route rt
// (the homeserver forwards it while the client waits, but records land
// after the answer) and returns the first, or nil.
func forwarded(ctx context.Context, eph *scenarios.AppService, rt fakeas.Route) *recorder.Exchange {
	GinkgoHelper()
	waitCtx, cancel := context.WithTimeout(ctx, eph.Wait(scenarios.LateQueryWait))
	defer cancel()
	_, _ = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool { return len(eph.Routed(rt)) > 0 })
	if got := eph.Routed(rt); len(got) > 0 {
		return &got[0]
	}
	return nil
}

// deviceKeys is a device keys object of device; like signedKey's, its
// keys and signature are fixed bytes nobody checks.
func deviceKeys(userID, device string) map[string]any {
	return map[string]any{
		"user_id": userID, "device_id": device,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys": map[string]any{
			"curve25519:" + device: base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32.32s", "c"+device))),
			"ed25519:" + device:    base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32.32s", "e"+device))),
		},
		"signatures": map[string]any{userID: map[string]string{"ed25519:" + device: "c2lnbmF0dXJl"}},
	}
}
