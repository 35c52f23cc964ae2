package homeserver

import (
	"context"
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/asconform/asconform/internal/csapi"
	"github.com/asconform/asconform/scenarios/match"
)

// BridgedRoom is a room created by a normal user with one of the AS's
// ghosts joined, so the homeserver must push the room's events to the AS.
type BridgedRoom struct {
	ID    string
	Owner *csapi.Client
	Ghost string
}

// NewBridgedRoom sets up such a room through the client-server API.
func (f *Fixture) NewBridgedRoom(ctx context.Context, owner *csapi.Client, ghostName string) BridgedRoom {
	GinkgoHelper()
	return f.newBridgedRoomOf(ctx, f.AppService, owner, ghostName)
}

func (f *Fixture) newBridgedRoomOf(ctx context.Context, a *AppService, owner *csapi.Client, ghostName string) BridgedRoom {
	GinkgoHelper()
	ghost := f.RegisterGhostOf(ctx, a, ghostName)
	created, err := owner.CreateRoom(ctx, map[string]any{"preset": "public_chat"})
	Expect(err).NotTo(HaveOccurred())
	Expect(created).To(match.HaveStatus(http.StatusOK))
	roomID := created.Field("room_id")
	invited, err := owner.Invite(ctx, roomID, ghost)
	Expect(err).NotTo(HaveOccurred())
	Expect(invited).To(match.HaveStatus(http.StatusOK))
	joined, err := a.ASClient.Join(ctx, roomID, csapi.AsUser(ghost))
	Expect(err).NotTo(HaveOccurred())
	Expect(joined).To(match.HaveStatus(http.StatusOK), fmt.Sprintf("the AS joining %s as its ghost", roomID))
	return BridgedRoom{ID: roomID, Owner: owner, Ghost: ghost}
}

// Say sends a text message and returns its event ID.
func (r BridgedRoom) Say(ctx context.Context, c *csapi.Client, text string, opts ...csapi.Option) string {
	resp, err := c.SendMessage(ctx, r.ID, text, opts...)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp).To(match.HaveStatus(http.StatusOK))
	id := resp.Field("event_id")
	Expect(id).NotTo(BeEmpty(), "send answered without an event_id")
	return id
}
