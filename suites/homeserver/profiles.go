package homeserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/recorder"
	"github.com/asconform/asconform/scenarios/match"
	"github.com/asconform/asconform/suites"
)

// Unstable extensions of the AS API, checked only when their profile is
// chosen (suites.Profiles). A homeserver that shows no sign of an extension
// is reported skipped as not implementing it, not failed; one that
// implements it wrongly fails.
var _ = Describe("Unstable extensions for encrypted bridges", Label("homeserver", suites.ProfileLabel("e2ee-bridges")), func() {
	BeforeEach(requireEnv, NodeTimeout(startTimeout))
	const timeout = time.Minute

	It("pushes a to-device message for a device of the AS's user to the AS, with sender, type, content, to_user_id and to_device_id", Label("HS-TODEV-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "todevice")
		alice := f.NewUser(ctx, "alice")
		const typ = "org.asconform.todevice"
		content := map[string]any{"nonce": "n" + f.unique, "body": "for the bridge"}
		sent, err := alice.Do(ctx, http.MethodPut, "/_matrix/client/v3/sendToDevice/"+typ+"/"+csapi.TxnID(),
			map[string]any{"messages": map[string]any{ghost: map[string]any{device: content}}})
		Expect(err).NotTo(HaveOccurred())
		Expect(sent).To(match.HaveStatus(http.StatusOK))

		msg, key := eph.waitToDevice(ctx, content["nonce"].(string), wait(extensionWait))
		if key == "" {
			suites.Observe("to-device key", "none: no transaction carried the message")
			Skip(fmt.Sprintf("not implemented: no transaction carried the to-device message within %s, under to_device or de.sorunome.msc2409.to_device (Synapse: experimental_features.msc2409_to_device_messages_enabled)", wait(extensionWait)))
		}
		suites.Observe("to-device key", key)
		Expect(msg["to_user_id"]).To(Equal(ghost), "to_user_id must name the recipient, the AS's user")
		Expect(msg["to_device_id"]).To(Equal(device), "to_device_id must name the recipient's device")
		Expect(msg["sender"]).To(Equal(alice.UserID(ctx)), "sender must name the user who sent the message")
		Expect(msg["type"]).To(Equal(typ), "type must be the message's event type")
		Expect(msg["content"]).To(Equal(content), "content must be the message's content as sent")
	}, NodeTimeout(timeout))

	It("keeps a to-device message in the transaction it retries after the AS failed it", Label("HS-TODEV-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device := f.registerDeviceOf(ctx, eph, "todeviceretry")
		alice := f.NewUser(ctx, "alice")
		const typ = "org.asconform.todevice"
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
		sent, err := alice.Do(ctx, http.MethodPut, "/_matrix/client/v3/sendToDevice/"+typ+"/"+csapi.TxnID(),
			map[string]any{"messages": map[string]any{ghost: map[string]any{device: map[string]any{"nonce": nonce}}}})
		Expect(err).NotTo(HaveOccurred())
		Expect(sent).To(match.HaveStatus(http.StatusOK))

		// The failed attempt carrying the message shows the extension at
		// work; without it the homeserver shows no sign of implementing it.
		_, key := eph.waitToDevice(ctx, nonce, wait(extensionWait))
		if key == "" {
			suites.Observe("to-device key", "none: no transaction carried the message")
			Skip(fmt.Sprintf("not implemented: no transaction carried the to-device message within %s, under to_device or de.sorunome.msc2409.to_device", wait(extensionWait)))
		}
		suites.Observe("to-device key", key)
		failed := eph.toDeviceDeliveries(nonce)
		Expect(failed).NotTo(BeEmpty())
		if failed[0].Exchange.Status == http.StatusOK {
			suites.HarnessError(fmt.Errorf("the transaction carrying the to-device message was not the one the fake AS failed (%s)", failed[0].TxnID))
		}
		retried := failed[0].TxnID
		// Wait for the homeserver to retry that transaction successfully.
		waitCtx, cancel := context.WithTimeout(ctx, wait(deliveryTimeout))
		defer cancel()
		_, err = eph.AS.Recorder().WaitFor(waitCtx, func([]recorder.Exchange) bool {
			for _, d := range eph.Deliveries() {
				if d.TxnID == retried && d.Exchange.Status == http.StatusOK {
					return true
				}
			}
			return false
		})
		Expect(err).NotTo(HaveOccurred(), "the homeserver did not retry transaction %s after the AS failed it", retried)
		var acked []string
		for _, d := range eph.toDeviceDeliveries(nonce) {
			if d.Exchange.Status == http.StatusOK {
				acked = append(acked, d.TxnID)
			}
		}
		suites.Observe("transactions carrying the message, acknowledged", fmt.Sprint(acked))
		Expect(acked).NotTo(BeEmpty(), "the to-device message was lost: transaction %s was retried without it, and no later transaction carried it", retried)
	}, NodeTimeout(timeout))

	It("reports the one-time key counts of its user's device in the transaction that concerns the user", Label("HS-OTK-01"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device, pushed := f.keysPushed(ctx, eph, "otk", func(ghost, device string) map[string]any {
			keys := map[string]any{}
			for i := range 3 {
				keys[fmt.Sprintf("signed_curve25519:AAAAA%d", i)] = signedKey(ghost, device, i, false)
			}
			return map[string]any{"one_time_keys": keys}
		})
		var counts map[string]map[string]map[string]int
		key := firstField(pushed, &counts, "device_one_time_keys_count", "org.matrix.msc3202.device_one_time_keys_count")
		suites.Observe("one-time key counts key", map[bool]string{true: "none", false: key}[key == ""])
		if key == "" {
			Skip("not implemented: the transaction carrying the to-device message has no device_one_time_keys_count (nor org.matrix.msc3202.device_one_time_keys_count)")
		}
		suites.Observe("counts for the user", fmt.Sprint(counts[ghost]))
		Expect(counts).To(HaveKey(ghost), "the counts must name the AS's user the transaction concerns")
		Expect(counts[ghost]).To(HaveKey(device), "the counts must name the device that uploaded the keys")
		Expect(counts[ghost][device]["signed_curve25519"]).To(Equal(3), "signed_curve25519 count of the device's unclaimed one-time keys")
	}, NodeTimeout(timeout))

	It("reports the unused fallback key types of its user's device in the transaction that concerns the user", Label("HS-OTK-02"), func(ctx SpecContext) {
		f := NewFixture(ctx)
		eph := f.EphemeralAS()
		ghost, device, pushed := f.keysPushed(ctx, eph, "fallback", func(ghost, device string) map[string]any {
			return map[string]any{"fallback_keys": map[string]any{"signed_curve25519:AAAAFB": signedKey(ghost, device, 9, true)}}
		})
		var types map[string]map[string][]string
		key := firstField(pushed, &types, "device_unused_fallback_key_types", "org.matrix.msc3202.device_unused_fallback_key_types")
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
		f.newBridgedRoomOf(ctx, eph, alice, "bob")
		// Only what follows the new device counts: alice's first device
		// came before she shared a room with the AS's user.
		mark := len(eph.Deliveries())
		login, err := f.client("alice's new device", "").Do(ctx, http.MethodPost, "/_matrix/client/v3/login", map[string]any{
			"type": "m.login.password", "identifier": map[string]any{"type": "m.id.user", "user": f.Outside("alice")}, "password": "pw-" + f.unique,
		}, csapi.WithToken(""))
		Expect(err).NotTo(HaveOccurred())
		Expect(login).To(match.HaveStatus(http.StatusOK), "logging alice in on a new device")
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
})

// keysPushed registers a user of eph with a device, uploads keys for that
// device (upload's body) and sends the device a to-device message, which
// makes a transaction that concerns the user; it returns the transactions
// carrying the message. MSC3202's fields need the registration's opt-in.
func (f *Fixture) keysPushed(ctx context.Context, eph *AppService, name string, upload func(ghost, device string) map[string]any) (ghost, device string, pushed []Delivered) {
	GinkgoHelper()
	if !eph.Reg.MSC3202 {
		Skip("needs the registration of the ephemeral AS with org.matrix.msc3202: true, which the profile's run writes (asconform registrations writes it when ASCONFORM_PROFILE is set)")
	}
	ghost, device = f.registerDeviceOf(ctx, eph, name)
	uploaded, err := eph.ASClient.Do(ctx, http.MethodPost, "/_matrix/client/v3/keys/upload", upload(ghost, device),
		csapi.AsUser(ghost), csapi.Query("device_id", device))
	Expect(err).NotTo(HaveOccurred())
	Expect(uploaded).To(match.HaveStatus(http.StatusOK), "uploading keys as the AS's user's device")
	alice := f.NewUser(ctx, "alice")
	nonce := "n" + f.unique
	sent, err := alice.Do(ctx, http.MethodPut, "/_matrix/client/v3/sendToDevice/org.asconform.todevice/"+csapi.TxnID(),
		map[string]any{"messages": map[string]any{ghost: map[string]any{device: map[string]any{"nonce": nonce}}}})
	Expect(err).NotTo(HaveOccurred())
	Expect(sent).To(match.HaveStatus(http.StatusOK))
	if _, key := eph.waitToDevice(ctx, nonce, wait(extensionWait)); key == "" {
		Skip("not implemented: the to-device message that should bring the keys' state never came (HS-TODEV-01)")
	}
	return ghost, device, eph.toDeviceDeliveries(nonce)
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

// firstField decodes into v the first of keys a transaction of ds carries,
// and returns that key ("" if none).
func firstField(ds []Delivered, v any, keys ...string) string {
	for _, d := range ds {
		var body map[string]json.RawMessage
		if json.Unmarshal(d.Exchange.Body, &body) != nil {
			continue
		}
		for _, k := range keys {
			if raw, ok := body[k]; ok && json.Unmarshal(raw, v) == nil {
				return k
			}
		}
	}
	return ""
}

// toDeviceDeliveries are the transactions carrying the to-device message
// whose content has nonce, in arrival order.
func (a *AppService) toDeviceDeliveries(nonce string) []Delivered {
	var out []Delivered
	for _, d := range a.Deliveries() {
		if _, key := toDeviceIn(d, nonce); key != "" {
			out = append(out, d)
		}
	}
	return out
}

// toDeviceIn finds the to-device message whose content has nonce in a
// transaction, and the key it came under.
func toDeviceIn(d Delivered, nonce string) (map[string]any, string) {
	var body map[string]json.RawMessage
	if json.Unmarshal(d.Exchange.Body, &body) != nil {
		return nil, ""
	}
	for _, k := range toDeviceKeys {
		var msgs []map[string]any
		_ = json.Unmarshal(body[k], &msgs)
		for _, m := range msgs {
			if c, _ := m["content"].(map[string]any); c != nil && c["nonce"] == nonce {
				return m, k
			}
		}
	}
	return nil, ""
}

// extensionWait bounds the wait for what an extension pushes; running out
// of it means the homeserver shows no sign of the extension. Synapse
// pushed a to-device message after 3 to 14 s on a loaded machine.
const extensionWait = 30 * time.Second

// toDeviceKeys are the names a transaction may carry to-device messages
// under: MSC4203's stable name, then the unstable one Synapse uses.
var toDeviceKeys = []string{"to_device", "de.sorunome.msc2409.to_device"}

// waitToDevice waits up to d for a to-device message whose content carries
// nonce, and returns it with the transaction key it came under ("" if none
// came).
func (a *AppService) waitToDevice(ctx context.Context, nonce string, d time.Duration) (map[string]any, string) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var found map[string]any
	var key string
	_, _ = a.AS.Recorder().WaitFor(ctx, func([]recorder.Exchange) bool {
		for _, d := range a.Deliveries() {
			if found, key = toDeviceIn(d, nonce); key != "" {
				return true
			}
		}
		return false
	})
	return found, key
}

// registerDeviceOf registers a user in a's namespace, logged in (no
// inhibit_login), and returns it with the device the registration made.
func (f *Fixture) registerDeviceOf(ctx context.Context, a *AppService, name string) (userID, deviceID string) {
	GinkgoHelper()
	registered, err := a.ASClient.RegisterAS(ctx, a.namespacePrefix()+name+f.unique, false)
	if err != nil || registered.Status != http.StatusOK || registered.Field("device_id") == "" {
		suites.HarnessError(fmt.Errorf("registering %s with a device as the AS: %v %v", name, registered, err))
	}
	return registered.Field("user_id"), registered.Field("device_id")
}
