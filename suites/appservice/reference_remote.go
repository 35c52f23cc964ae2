package appservice

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/internal/matrix"
	"github.com/asconform/asconform/scenarios"
	"github.com/asconform/asconform/suites/mutants"
)

// remoteNet is the remote network the reference AS bridges (the
// remote-network capability; README: "What an AS may declare"): channel C
// has the portal of alias #<prefix>C, remote user N the ghost @<prefix>N.
// In memory, as in both samples.
type remoteNet struct {
	mu         sync.Mutex
	portals    map[string]string // channel -> portal room ID
	channels   map[string]string // portal room ID -> channel
	scrollback map[string][]scenarios.RemoteMessage
	relayed    map[string][]scenarios.RemoteMessage
}

func newRemoteNet() *remoteNet {
	return &remoteNet{portals: map[string]string{}, channels: map[string]string{},
		scrollback: map[string][]scenarios.RemoteMessage{}, relayed: map[string][]scenarios.RemoteMessage{}}
}

// remoteHTTP serves the remote network: PUT {channel}/{id} says a remote
// message, GET {channel} lists what reached the channel from Matrix. The
// suite authenticates with the hs_token, which fakeas checks (Mount).
func (b *bridge) remoteHTTP(w http.ResponseWriter, r *http.Request) {
	channel, id, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), scenarios.RemotePath), "/")
	channel, _ = url.PathUnescape(channel)
	id, _ = url.PathUnescape(id)
	switch {
	case r.Method == http.MethodGet && id == "" && channel != "":
		b.remote.mu.Lock()
		relayed := append([]scenarios.RemoteMessage{}, b.remote.relayed[channel]...)
		b.remote.mu.Unlock()
		matrix.WriteJSON(w, http.StatusOK, map[string]any{"relayed": relayed})
	case r.Method == http.MethodPut && id != "" && channel != "":
		var m scenarios.RemoteMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Sender == "" {
			matrix.WriteJSON(w, http.StatusBadRequest, matrix.Error{ErrCode: "M_BAD_JSON", Error: "a remote message has a sender and a body"})
			return
		}
		m.ID = id
		b.remote.mu.Lock()
		room, bridged := b.remote.portals[channel]
		if !bridged {
			b.remote.scrollback[channel] = append(b.remote.scrollback[channel], m)
		}
		b.remote.mu.Unlock()
		if bridged {
			if err := b.bridgeIn(r.Context(), room, channel, m); err != nil {
				matrix.WriteJSON(w, http.StatusBadGateway, matrix.Error{ErrCode: "M_UNKNOWN", Error: err.Error()})
				return
			}
		}
		matrix.WriteJSON(w, http.StatusOK, struct{}{})
	default:
		matrix.WriteJSON(w, http.StatusNotFound, matrix.Error{ErrCode: "M_UNRECOGNIZED", Error: "unknown remote endpoint"})
	}
}

// openPortal records roomID as the portal of alias's channel and bridges
// in the channel's scrollback, before the alias query is answered.
func (b *bridge) openPortal(ctx context.Context, alias, roomID string) error {
	channel := strings.TrimPrefix(strings.SplitN(alias, ":", 2)[0], "#"+b.prefix())
	b.remote.mu.Lock()
	b.remote.portals[channel], b.remote.channels[roomID] = roomID, channel
	kept := b.remote.scrollback[channel]
	delete(b.remote.scrollback, channel)
	b.remote.mu.Unlock()
	if b.flawed(mutants.DropsScrollback) {
		return nil
	}
	for _, m := range kept {
		if err := b.bridgeIn(ctx, roomID, channel, m); err != nil {
			return err
		}
	}
	return nil
}

// bridgeIn sends a remote message into its portal as its sender's ghost,
// at its remote time, linked to the original.
func (b *bridge) bridgeIn(ctx context.Context, roomID, channel string, m scenarios.RemoteMessage) error {
	ghost := "@" + b.prefix() + m.Sender + ":" + serverOf(b.reg)
	var as []csapi.Option
	if !b.flawed(mutants.RemoteAsBot) {
		if resp, err := b.hs.RegisterAS(ctx, b.prefix()+m.Sender, true); err != nil || (resp.Status != http.StatusOK && resp.ErrCode() != "M_USER_IN_USE") {
			return fmt.Errorf("register ghost %s: %v %v", ghost, resp, err)
		}
		as = append(as, csapi.AsUser(ghost))
		if err := b.check(b.hs.Join(ctx, roomID, as...)); err != nil {
			return err
		}
	}
	content := map[string]any{"msgtype": "m.text", "body": m.Body}
	if m.URL != "" && !b.flawed(mutants.NoExternalURL) {
		content["external_url"] = m.URL
	}
	if m.TS != 0 {
		as = append(as, csapi.TS(m.TS))
	}
	return b.check(b.hs.SendEvent(ctx, roomID, "m.room.message", content, as...))
}

// relay passes a Matrix user's message in a portal on to its channel.
func (b *bridge) relay(ev matrix.ClientEvent, body string) {
	b.remote.mu.Lock()
	defer b.remote.mu.Unlock()
	channel, portal := b.remote.channels[ev.RoomID]
	if !portal || b.flawed(mutants.DropsMatrixMessages) {
		return
	}
	b.remote.relayed[channel] = append(b.remote.relayed[channel], scenarios.RemoteMessage{ID: ev.EventID, Sender: ev.Sender, Body: body, TS: ev.OriginServerTS})
}
