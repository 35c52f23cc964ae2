// Command mautrix-go-sample is a minimal "sample" bridge on mautrix-go's
// appservice package, for asconform. The framework is what is under test: it
// serves the AS API (routes, the hs_token check, transaction parsing and
// de-duplication, ping, /_matrix/mau/live and /ready) and its IntentAPI
// makes every client-server call (m.login.application_service registration,
// ?user_id= identity assertion, ?ts= timestamp massaging, joins, a ghost's
// device and ?device_id= with CreateDeviceMSC4190). This file
// only plugs the sample network's behaviour into the framework's hooks, as
// ../README.md describes; it never works around the framework. The sample
// network itself is a few in-memory channels the suite drives through
// /_asconform/remote/ on the AS's port (the remote-network capability).
//
// Environment: ASCONFORM_HS_URL, ASCONFORM_HS_DOMAIN (required);
// ASCONFORM_REGISTRATION (default /conf/registration.yaml),
// ASCONFORM_AS_HOST (default 0.0.0.0), ASCONFORM_AS_PORT (default 29333),
// ASCONFORM_LOG_LEVEL (default debug).
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/exhttp"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

const (
	ghostPrefix   = "sample_"
	echoLocalpart = "sample_echo"
	// ghostDevice is the device each ghost acts as (the acts-as-devices
	// capability); the same ID for every user, so a restart reuses it.
	ghostDevice = id.DeviceID("SAMPLE")
	// callTimeout bounds the client-server calls one query or event makes.
	callTimeout = 60 * time.Second
)

type bridge struct {
	as     *appservice.AppService
	domain string
	bot    id.UserID
	log    zerolog.Logger

	// The sample network: channel C's portal is #sample_C, user N's ghost
	// @sample_N. What is said before a portal exists is scrollback.
	mu         sync.Mutex
	portals    map[string]id.RoomID
	channels   map[id.RoomID]string
	scrollback map[string][]remoteMessage
	relayed    map[string][]remoteMessage
}

// remoteMessage is a message of the sample network: said there, or
// relayed from Matrix (ID the event ID, Sender the Matrix user).
type remoteMessage struct {
	ID     string `json:"id"`
	Sender string `json:"sender"`
	Body   string `json:"body"`
	TS     int64  `json:"ts,omitempty"`
	URL    string `json:"url,omitempty"`
}

func main() { os.Exit(run()) }

func run() int {
	level, err := zerolog.ParseLevel(strings.ToLower(envOr("ASCONFORM_LOG_LEVEL", "debug")))
	if err != nil {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(os.Stderr).Level(level).With().Timestamp().Logger()
	hsURL, domain := os.Getenv("ASCONFORM_HS_URL"), os.Getenv("ASCONFORM_HS_DOMAIN")
	if hsURL == "" || domain == "" {
		log.Error().Msg("environment variables ASCONFORM_HS_URL and ASCONFORM_HS_DOMAIN are required")
		return 2
	}
	regPath := envOr("ASCONFORM_REGISTRATION", "/conf/registration.yaml")
	port, err := strconv.ParseUint(envOr("ASCONFORM_AS_PORT", "29333"), 10, 16)
	if err != nil {
		log.Error().Err(err).Msg("ASCONFORM_AS_PORT")
		return 2
	}
	reg, err := appservice.LoadRegistration(regPath)
	if err != nil {
		log.Error().Err(err).Str("path", regPath).Msg("cannot use the registration")
		return 2
	}
	as, err := appservice.CreateFull(appservice.CreateOpts{
		Registration:     reg,
		HomeserverDomain: domain,
		HomeserverURL:    hsURL,
		HostConfig:       appservice.HostConfig{Hostname: envOr("ASCONFORM_AS_HOST", "0.0.0.0"), Port: uint16(port)},
	})
	if err != nil {
		log.Error().Err(err).Msg("cannot create the appservice")
		return 2
	}
	as.Log = log.With().Str("component", "appservice").Logger()
	as.Middleware = append(as.Middleware, accessLog(log))
	b := &bridge{as: as, domain: domain, bot: as.BotMXID(), log: log.With().Str("component", "sample").Logger(),
		portals: map[string]id.RoomID{}, channels: map[id.RoomID]string{},
		scrollback: map[string][]remoteMessage{}, relayed: map[string][]remoteMessage{}}
	as.QueryHandler = b
	as.Router.HandleFunc("PUT /_asconform/remote/{channel}/{id}", b.remoteSay)
	as.Router.HandleFunc("GET /_asconform/remote/{channel}", b.remoteRelayed)

	ep := appservice.NewEventProcessor(as)
	ep.On(event.StateMember, b.handleMember)
	ep.On(event.EventMessage, b.handleMessage)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ep.Start(ctx)
	go as.Start()
	as.Ready = true
	b.log.Info().Str("id", reg.ID).Stringer("bot", b.bot).Uint64("port", port).
		Str("homeserver", hsURL).Str("domain", domain).Msg("appservice listening")
	<-ctx.Done()
	b.log.Info().Msg("stopping")
	ep.Stop()
	as.Stop()
	return 0
}

// ours says whether userID is the bot or a ghost (@sample_*:domain).
func (b *bridge) ours(userID id.UserID) bool {
	localpart, server, err := userID.Parse()
	return err == nil && server == b.domain && (userID == b.bot || strings.HasPrefix(localpart, ghostPrefix))
}

// QueryUser registers a ghost @sample_<x> (non-empty x) and names it; any
// other user, the bot included, is not found.
func (b *bridge) QueryUser(userID id.UserID) bool {
	localpart, _, _ := userID.Parse()
	if !b.ours(userID) || userID == b.bot || localpart == ghostPrefix {
		b.log.Info().Stringer("user_id", userID).Msg("user query: not a sample user -> 404")
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	intent := b.as.Intent(userID)
	if err := intent.EnsureRegistered(ctx); err != nil {
		b.log.Error().Err(err).Stringer("user_id", userID).Msg("user query: registering failed")
		return false
	}
	if err := intent.SetDisplayName(ctx, strings.TrimPrefix(localpart, ghostPrefix)+" (sample)"); err != nil {
		b.log.Warn().Err(err).Stringer("user_id", userID).Msg("user query: setting the displayname failed")
	}
	b.log.Info().Stringer("user_id", userID).Msg("user query: registered -> 200")
	return true
}

// QueryAlias makes the bot create a public room for #sample_<x> and bind
// the alias to it.
func (b *bridge) QueryAlias(alias id.RoomAlias) bool {
	localpart, server, _ := strings.Cut(strings.TrimPrefix(string(alias), "#"), ":")
	name, isSample := strings.CutPrefix(localpart, ghostPrefix)
	if !strings.HasPrefix(string(alias), "#") || !isSample || name == "" || server != b.domain {
		b.log.Info().Stringer("alias", alias).Msg("alias query: not a sample alias -> 404")
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	bot := b.as.BotIntent()
	room, err := bot.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "public_chat", Visibility: "private", Name: name + " (sample)",
	})
	if err != nil {
		b.log.Error().Err(err).Stringer("alias", alias).Msg("alias query: creating the room failed")
		return false
	}
	if _, err := bot.CreateAlias(ctx, alias, room.RoomID); err != nil {
		b.log.Error().Err(err).Stringer("alias", alias).Msg("alias query: binding the alias failed")
		return false
	}
	b.mu.Lock()
	b.portals[name], b.channels[room.RoomID] = room.RoomID, name
	kept := b.scrollback[name]
	delete(b.scrollback, name)
	b.mu.Unlock()
	for _, m := range kept {
		if err := b.bridgeIn(ctx, room.RoomID, m); err != nil {
			b.log.Error().Err(err).Str("remote_id", m.ID).Msg("alias query: bridging scrollback failed")
		}
	}
	b.log.Info().Stringer("alias", alias).Stringer("room_id", room.RoomID).Msg("alias query: created -> 200")
	return true
}

// remoteSay: a user of the sample network says something in a channel. It
// is bridged into the channel's portal, or kept until the portal exists.
func (b *bridge) remoteSay(w http.ResponseWriter, r *http.Request) {
	if !b.as.CheckServerToken(w, r) {
		return
	}
	var m remoteMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Sender == "" {
		mautrix.MBadJSON.WithMessage("a remote message has a sender and a body").Write(w)
		return
	}
	m.ID = r.PathValue("id")
	channel := r.PathValue("channel")
	b.mu.Lock()
	room, ok := b.portals[channel]
	if !ok {
		b.scrollback[channel] = append(b.scrollback[channel], m)
	}
	b.mu.Unlock()
	if ok {
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		defer cancel()
		if err := b.bridgeIn(ctx, room, m); err != nil {
			b.log.Error().Err(err).Str("remote_id", m.ID).Msg("bridging a remote message failed")
			mautrix.MUnknown.WithMessage(err.Error()).Write(w)
			return
		}
	} else {
		b.log.Info().Str("remote_id", m.ID).Str("channel", channel).Msg("remote message kept as scrollback")
	}
	exhttp.WriteEmptyJSONResponse(w, http.StatusOK)
}

// remoteRelayed lists what reached a channel of the sample network from Matrix.
func (b *bridge) remoteRelayed(w http.ResponseWriter, r *http.Request) {
	if !b.as.CheckServerToken(w, r) {
		return
	}
	b.mu.Lock()
	relayed := append([]remoteMessage{}, b.relayed[r.PathValue("channel")]...)
	b.mu.Unlock()
	exhttp.WriteJSONResponse(w, http.StatusOK, map[string]any{"relayed": relayed})
}

// actAsDevice gives a ghost its device once (MSC4190, spec v1.17 "Device
// management") and makes its intent send ?device_id= from then on.
func (b *bridge) actAsDevice(ctx context.Context, intent *appservice.IntentAPI) error {
	if intent.SetAppServiceDeviceID {
		return nil
	}
	if err := intent.EnsureRegistered(ctx); err != nil {
		return err
	}
	return intent.CreateDeviceMSC4190(ctx, ghostDevice, "asconform sample")
}

// bridgeIn sends a sample-network message into its portal as its sender's
// ghost, at its original time, linked to the original.
func (b *bridge) bridgeIn(ctx context.Context, room id.RoomID, m remoteMessage) error {
	intent := b.as.Intent(id.NewUserID(ghostPrefix+m.Sender, b.domain))
	if err := b.actAsDevice(ctx, intent); err != nil {
		return err
	}
	content := &event.Content{
		Parsed: &event.MessageEventContent{MsgType: event.MsgText, Body: m.Body},
		Raw:    map[string]any{},
	}
	if m.URL != "" {
		// MessageEventContent has no field for it.
		content.Raw["external_url"] = m.URL
	}
	resp, err := intent.SendMessageEvent(ctx, room, event.EventMessage, content, mautrix.ReqSendEvent{Timestamp: m.TS})
	if err != nil {
		return err
	}
	b.log.Info().Str("remote_id", m.ID).Stringer("room_id", room).Stringer("event_id", resp.EventID).Msg("remote message bridged")
	return nil
}

// relay passes a Matrix user's message in a portal on to its channel.
func (b *bridge) relay(evt *event.Event, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	channel, ok := b.channels[evt.RoomID]
	if !ok {
		return
	}
	b.relayed[channel] = append(b.relayed[channel], remoteMessage{ID: evt.ID.String(), Sender: evt.Sender.String(), Body: body, TS: evt.Timestamp})
	b.log.Info().Stringer("event_id", evt.ID).Str("channel", channel).Msg("relayed")
}

// handleMember accepts an invite to one of our users sent by someone who
// is not ours (invites from our own users come from EnsureJoined, which
// joins by itself).
func (b *bridge) handleMember(ctx context.Context, evt *event.Event) {
	content := evt.Content.AsMember()
	if evt.StateKey == nil || content.Membership != event.MembershipInvite {
		return
	}
	target := id.UserID(*evt.StateKey)
	if !b.ours(target) || b.ours(evt.Sender) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := b.as.Intent(target).JoinRoomByID(ctx, evt.RoomID); err != nil {
		b.log.Error().Err(err).Stringer("user_id", target).Stringer("room_id", evt.RoomID).Msg("accepting the invite failed")
		return
	}
	b.log.Info().Stringer("user_id", target).Stringer("room_id", evt.RoomID).Msg("accepted the invite")
}

// handleMessage echoes a text from a user who is not ours, in a room where
// one of ours is joined, as @sample_echo with the original's time + 1 ms.
func (b *bridge) handleMessage(ctx context.Context, evt *event.Event) {
	if b.ours(evt.Sender) {
		return
	}
	content := evt.Content.AsMessage()
	if content.Body == "" {
		return
	}
	b.relay(evt, content.Body)
	members, err := b.as.StateStore.GetRoomJoinedOrInvitedMembers(ctx, evt.RoomID)
	if err != nil {
		b.log.Error().Err(err).Stringer("room_id", evt.RoomID).Msg("reading the state store failed")
		return
	}
	var inviter id.UserID
	echo := id.NewUserID(echoLocalpart, b.domain)
	for _, m := range members {
		if b.ours(m) && b.as.StateStore.IsInRoom(ctx, evt.RoomID, m) && (inviter == "" || m == echo) {
			inviter = m
		}
	}
	if inviter == "" {
		b.log.Info().Stringer("event_id", evt.ID).Stringer("room_id", evt.RoomID).Msg("message: none of our users is joined")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	intent := b.as.Intent(echo)
	if err := b.actAsDevice(ctx, intent); err != nil {
		b.log.Error().Err(err).Stringer("user_id", echo).Msg("creating the echo ghost's device failed")
		return
	}
	// If the room is invite-only, one of our users already in it invites
	// the echo ghost (EnsureJoined does that with BotOverride).
	params := appservice.EnsureJoinedParams{}
	if inviter != echo {
		params.BotOverride = b.as.Intent(inviter).Client
	}
	if err := intent.EnsureJoined(ctx, evt.RoomID, params); err != nil {
		b.log.Error().Err(err).Stringer("room_id", evt.RoomID).Msg("echo ghost could not join")
		return
	}
	resp, err := intent.SendMessageEvent(ctx, evt.RoomID, event.EventMessage,
		&event.MessageEventContent{MsgType: event.MsgText, Body: "echo: " + content.Body},
		mautrix.ReqSendEvent{Timestamp: evt.Timestamp + 1})
	if err != nil {
		b.log.Error().Err(err).Stringer("room_id", evt.RoomID).Msg("sending the echo failed")
		return
	}
	b.log.Info().Stringer("event_id", evt.ID).Stringer("echo_id", resp.EventID).Stringer("room_id", evt.RoomID).Msg("echoed")
}

// accessLog logs one line per request (query string included, so a legacy
// ?access_token= shows in the log).
func accessLog(log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r)
			log.Info().Str("component", "access").Str("method", r.Method).Str("uri", r.URL.RequestURI()).
				Int("status", sw.status).Dur("took", time.Since(start)).Msg("request")
		})
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
