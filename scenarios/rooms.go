package scenarios

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/fakeas"
	"github.com/asconform/asconform/internal/csapi"
)

// BridgedRoom is a room created by a normal user with one of the AS's
// ghosts joined, so the homeserver must push the room's events to the AS.
type BridgedRoom struct {
	ID    string
	Owner *csapi.Client
	Ghost string
}

// OpenBridgedRoom sets up such a room through the client-server API with
// ghost, a user the AS registered.
func (a *AppService) OpenBridgedRoom(ctx context.Context, owner *csapi.Client, ghost string) BridgedRoom {
	GinkgoHelper()
	roomID, err := BridgeRoom(ctx, a.ASClient, owner, ghost)
	Expect(err).NotTo(HaveOccurred(), "setting up a bridged room")
	return BridgedRoom{ID: roomID, Owner: owner, Ghost: ghost}
}

// BridgeRoom is that set-up outside a spec (the benchmarks): owner creates
// a public room and invites ghost, whom the AS (as) joins.
func BridgeRoom(ctx context.Context, as, owner *csapi.Client, ghost string) (string, error) {
	created, err := owner.CreateRoom(ctx, map[string]any{"preset": "public_chat"})
	if err := Answered(created, err); err != nil {
		return "", err
	}
	roomID := created.Field("room_id")
	if err := Answered(owner.Invite(ctx, roomID, ghost)); err != nil {
		return "", err
	}
	return roomID, Answered(as.Join(ctx, roomID, csapi.AsUser(ghost)))
}

// Say sends a text message as c and returns its event ID.
func (r BridgedRoom) Say(ctx context.Context, c *csapi.Client, text string, opts ...csapi.Option) string {
	GinkgoHelper()
	return c.MustSend(ctx, r.ID, text, opts...)
}

// Sent is an event a scenario sent, with its room.
type Sent struct{ Room, ID string }

// Said sends text as the room's owner and returns it as Sent.
func (r BridgedRoom) Said(ctx context.Context, text string) Sent {
	GinkgoHelper()
	return Sent{Room: r.ID, ID: r.Say(ctx, r.Owner, text)}
}

// IRCChannel is the room an IRC bridge builds for a channel when the
// homeserver asks about the channel's alias, with an IRC user's scrollback.
type IRCChannel struct {
	RoomID, ScrollbackID string
}

// BuildIRCChannelOnAliasQuery scripts the AS, as an IRC bridge, to build
// the channel during the next alias query: a room named name, alias
// published, the IRC user's ghost (ghostLocalpart, ghost) registered and
// joined, and the ghost's scrollback sent with its IRC time ts. The result
// is filled in by the time the homeserver has its answer.
func (a *AppService) BuildIRCChannelOnAliasQuery(alias, name, ghostLocalpart, ghost, scrollback string, ts int64) *IRCChannel {
	channel := &IRCChannel{}
	bridge := a.ASClient
	a.AS.On(fakeas.Rooms).Do(func(ctx context.Context, _ fakeas.Request) error {
		roomID, err := CreatePortal(ctx, bridge, alias, name)
		if err != nil {
			return err
		}
		if err := Answered(bridge.RegisterAS(ctx, ghostLocalpart, true)); err != nil {
			return err
		}
		if err := Answered(bridge.Join(ctx, roomID, csapi.AsUser(ghost))); err != nil {
			return err
		}
		said, err := bridge.SendMessage(ctx, roomID, scrollback, csapi.AsUser(ghost), csapi.TS(ts))
		if err := Answered(said, err); err != nil {
			return err
		}
		channel.RoomID, channel.ScrollbackID = roomID, said.Field("event_id")
		return nil
	}).Respond(http.StatusOK, nil)
	return channel
}
