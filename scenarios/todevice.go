package scenarios

import (
	"context"
	"encoding/json"
	"time"

	"github.com/asconform/asconform/internal/recorder"
)

// The unstable extensions for encrypted bridges put more than events in a
// transaction: to-device messages and the state of a device's keys.

// ToDeviceKeys are the names a transaction may carry to-device messages
// under: MSC4203's stable name, then the unstable one Synapse uses.
var ToDeviceKeys = []string{"to_device", "de.sorunome.msc2409.to_device"}

// ToDeviceDeliveries are the transactions carrying the to-device message
// whose content has nonce, in arrival order.
func (a *AppService) ToDeviceDeliveries(nonce string) []Delivered {
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
	for _, k := range ToDeviceKeys {
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

// WaitForToDevice waits up to d (not scaled: the caller's bound says when
// an extension counts as absent) for a to-device message whose content
// carries nonce, and returns it with the transaction key it came under
// ("" if none came).
func (a *AppService) WaitForToDevice(ctx context.Context, nonce string, d time.Duration) (map[string]any, string) {
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

// FirstField decodes into v the first of keys a transaction of ds
// carries, and returns that key ("" if none).
func FirstField(ds []Delivered, v any, keys ...string) string {
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
