#!/usr/bin/python3
"""Minimal "sample" bridge on top of mautrix-python, for asconform.

The framework (mautrix.appservice.AppService) is what is under test: it serves
the AS API (routes, hs_token check, transaction parsing and de-duplication,
ping, /_matrix/mau/live and /ready) and its IntentAPI makes every
client-server call (registration with m.login.application_service, ?user_id=
identity assertion, ?ts= timestamp massaging, joins). This file only wires the
sample network's behaviour into the framework's hooks; see README.md. The
sample network itself is a few in-memory channels the suite drives through
/_asconform/remote/ on the AS's port (the remote-network capability).

Environment: ASCONFORM_HS_URL, ASCONFORM_HS_DOMAIN (required);
ASCONFORM_REGISTRATION (default /conf/registration.yaml), ASCONFORM_AS_PORT
(default 29333), ASCONFORM_LOG_LEVEL (default DEBUG).
"""

import asyncio
import logging
import os
import signal
import sys

import yaml
from aiohttp import web
from mautrix.appservice import AppService, ASStateStore
from mautrix.client.state_store import MemoryStateStore
from mautrix.types import (
    EventType,
    Membership,
    MessageType,
    RoomCreatePreset,
    RoomDirectoryVisibility,
    TextMessageEventContent,
)

log = logging.getLogger("sample")

GHOST_PREFIX = "sample_"
ECHO_LOCALPART = "sample_echo"
REMOTE_PATH = "/_asconform/remote"


class MemoryASStateStore(MemoryStateStore, ASStateStore):
    """The framework's in-memory stores combined (its default is a JSON file
    in the working directory)."""

    def __init__(self) -> None:
        MemoryStateStore.__init__(self)
        ASStateStore.__init__(self)


class Found(dict):
    """An empty JSON object that the framework treats as a hit: it answers
    404 whenever the query callback's result is falsy, and {} is falsy."""

    def __bool__(self) -> bool:
        return True


class SampleBridge:
    def __init__(self, reg: dict, hs_url: str, domain: str) -> None:
        self.domain = domain
        self.bot_localpart = str(reg["sender_localpart"])
        self.az = AppService(
            server=hs_url,
            domain=domain,
            as_token=str(reg["as_token"]),
            hs_token=str(reg["hs_token"]),
            bot_localpart=self.bot_localpart,
            id=str(reg["id"]),
            log=logging.getLogger("mau.as"),
            state_store=MemoryASStateStore(),
            query_user=self.query_user,
            query_alias=self.query_alias,
        )
        self.az.matrix_event_handler(self.handle_event)
        # The sample network: channel C's portal is #sample_C, user N's
        # ghost @sample_N. Said before a portal exists = scrollback.
        self.portals: dict[str, str] = {}  # channel -> room ID
        self.channels: dict[str, str] = {}  # room ID -> channel
        self.scrollback: dict[str, list[dict]] = {}
        self.relayed: dict[str, list[dict]] = {}
        router = self.az.app.router
        router.add_route("PUT", REMOTE_PATH + "/{channel}/{id}", self.remote_say)
        router.add_route("GET", REMOTE_PATH + "/{channel}", self.remote_relayed)

    def is_ours(self, user_id: str) -> bool:
        """The bot or a ghost (@sample_*:domain)."""
        localpart, sep, server = user_id.removeprefix("@").partition(":")
        return (
            user_id.startswith("@")
            and sep == ":"
            and server == self.domain
            and (localpart == self.bot_localpart or localpart.startswith(GHOST_PREFIX))
        )

    def intent_for(self, user_id: str):
        if user_id == self.az.bot_mxid:
            return self.az.intent
        return self.az.intent.user(user_id)

    # -- AS API queries (the framework has checked hs_token already) ------

    async def query_user(self, user_id: str):
        localpart = user_id.removeprefix("@").partition(":")[0]
        if (
            not self.is_ours(user_id)
            or localpart == self.bot_localpart
            or len(localpart) == len(GHOST_PREFIX)
        ):
            log.info("user query %s: not a sample user -> 404", user_id)
            return None
        intent = self.intent_for(user_id)
        await intent.ensure_registered()
        await intent.set_displayname(f"{localpart[len(GHOST_PREFIX):]} (sample)")
        log.info("user query %s: registered -> 200", user_id)
        return Found()

    async def query_alias(self, alias: str):
        localpart, _, server = alias.removeprefix("#").partition(":")
        name = localpart[len(GHOST_PREFIX):]
        if not alias.startswith("#" + GHOST_PREFIX) or server != self.domain or not name:
            log.info("alias query %s: not a sample alias -> 404", alias)
            return None
        bot = self.az.intent
        room_id = await bot.create_room(
            name=f"{name} (sample)",
            preset=RoomCreatePreset.PUBLIC,
            visibility=RoomDirectoryVisibility.PRIVATE,
        )
        await bot.add_room_alias(room_id, localpart)
        self.portals[name], self.channels[room_id] = room_id, name
        for msg in self.scrollback.pop(name, []):
            await self.bridge_in(room_id, msg)
        log.info("alias query %s: created %s -> 200", alias, room_id)
        return Found()

    # -- the sample network (test scaffolding, authenticated by hs_token) --

    def remote_authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.az.hs_token}"

    async def remote_say(self, request: web.Request) -> web.Response:
        """A user of the sample network says something in a channel."""
        if not self.remote_authorized(request):
            return web.json_response({"errcode": "M_FORBIDDEN", "error": "hs_token"}, status=403)
        channel = request.match_info["channel"]
        try:
            body = await request.json()
            msg = {
                "id": request.match_info["id"],
                "sender": str(body["sender"]),
                "body": str(body["body"]),
                "ts": int(body.get("ts") or 0) or None,
                "url": body.get("url"),
            }
        except (ValueError, KeyError, TypeError):
            return web.json_response({"errcode": "M_BAD_JSON", "error": "sender, body"}, status=400)
        room_id = self.portals.get(channel)
        if room_id is None:
            self.scrollback.setdefault(channel, []).append(msg)
            log.info("remote %s in %s kept as scrollback", msg["id"], channel)
        else:
            await self.bridge_in(room_id, msg)
        return web.json_response({})

    async def remote_relayed(self, request: web.Request) -> web.Response:
        """What reached a channel of the sample network from Matrix."""
        if not self.remote_authorized(request):
            return web.json_response({"errcode": "M_FORBIDDEN", "error": "hs_token"}, status=403)
        return web.json_response({"relayed": self.relayed.get(request.match_info["channel"], [])})

    async def bridge_in(self, room_id: str, msg: dict) -> None:
        """Send a sample-network message into its portal as its sender's
        ghost, at its original time, linked to the original."""
        ghost = self.intent_for(f"@{GHOST_PREFIX}{msg['sender']}:{self.domain}")
        content = TextMessageEventContent(
            msgtype=MessageType.TEXT, body=msg["body"], external_url=msg["url"]
        )
        event_id = await ghost.send_message(room_id, content, timestamp=msg["ts"])
        log.info("remote %s bridged into %s as %s: %s", msg["id"], room_id, ghost.mxid, event_id)

    # -- events pushed in transactions -----------------------------------

    async def handle_event(self, evt) -> None:
        log.info("event %s %s from %s in %s", evt.event_id, evt.type.t, evt.sender, evt.room_id)
        if evt.type == EventType.ROOM_MEMBER:
            # (Invites sent by our own users come from the framework's
            # ensure_joined, which joins by itself.)
            if (
                evt.content.membership == Membership.INVITE
                and self.is_ours(evt.state_key)
                and not self.is_ours(evt.sender)
            ):
                await self.intent_for(evt.state_key).join_room_by_id(evt.room_id)
                log.info("%s accepted the invite to %s", evt.state_key, evt.room_id)
        elif evt.type == EventType.ROOM_MESSAGE and not self.is_ours(evt.sender):
            self.relay(evt)
            await self.echo(evt)

    def relay(self, evt) -> None:
        """Pass a Matrix user's message in a portal on to its channel."""
        channel = self.channels.get(evt.room_id)
        body = getattr(evt.content, "body", None)
        if channel is None or not isinstance(body, str):
            return
        self.relayed.setdefault(channel, []).append(
            {"id": evt.event_id, "sender": evt.sender, "body": body, "ts": evt.timestamp}
        )
        log.info("relayed %s to %s", evt.event_id, channel)

    async def echo(self, evt) -> None:
        store = self.az.state_store
        members = await store.get_members(evt.room_id, memberships=(Membership.JOIN,))
        ours = [m for m in members if self.is_ours(m)]
        if not ours:
            log.info("message %s: none of our users is joined to %s", evt.event_id, evt.room_id)
            return
        body = getattr(evt.content, "body", None)
        if not isinstance(body, str):
            return
        echo_id = f"@{ECHO_LOCALPART}:{self.domain}"
        echo = self.intent_for(echo_id)
        # If the room is invite-only, one of our users already in it invites
        # the echo ghost (the framework's ensure_joined does that).
        inviter = self.intent_for(ours[0]) if echo_id not in ours else None
        await echo.ensure_joined(evt.room_id, bot=inviter)
        event_id = await echo.send_text(
            evt.room_id, f"echo: {body}", timestamp=evt.timestamp + 1
        )
        log.info("echoed %s as %s in %s: %s", evt.event_id, echo_id, evt.room_id, event_id)


async def main() -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("mau").setLevel(os.environ.get("ASCONFORM_LOG_LEVEL", "DEBUG"))
    try:
        hs_url = os.environ["ASCONFORM_HS_URL"]
        domain = os.environ["ASCONFORM_HS_DOMAIN"]
    except KeyError as e:
        log.error("environment variable %s is required", e.args[0])
        return 2
    reg_path = os.environ.get("ASCONFORM_REGISTRATION", "/conf/registration.yaml")
    port = int(os.environ.get("ASCONFORM_AS_PORT", "29333"))
    try:
        with open(reg_path) as f:
            reg = yaml.safe_load(f)
        bridge = SampleBridge(reg, hs_url, domain)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        log.error("cannot use registration %s: %r", reg_path, e)
        return 2

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await bridge.az.start(host="0.0.0.0", port=port)
    bridge.az.ready = True
    log.info(
        "appservice %s (bot %s) listening on 0.0.0.0:%d, homeserver %s (%s)",
        reg["id"], bridge.az.bot_mxid, port, hs_url, domain,
    )
    await stop.wait()
    log.info("stopping")
    await bridge.az.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
