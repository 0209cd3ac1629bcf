"""Composition: build the hub, the storage and the application from a `Config`, and run them.

This is the one place that knows every layer; everything else receives what it needs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any, Coroutine, TypeVar

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

from game_server import tokens
from game_server.broker import LocalBroker, RedisBroker, make_broker
from game_server.config import Config, ConfigError, dev_token_keys
from game_server.memory import CHECK_SECONDS, MemoryReturn
from game_server.metrics import Metrics
from game_server.protocol import Hub, HubSettings
from game_server.storage.db import make_engine
from game_server.storage.chat import ChatLog
from game_server.storage.history import GameHistory
from game_server.directory import RedisDirectory
from game_server.hosting import Hosting
from game_server.storage.hosts import RoomHosts
from game_server.storage.movelog import MoveLog
from game_server.storage.users import AsyncUserStore, UserStore
from game_server.tables import Player, Table
from game_server.notify import ADMIN_HOST
from game_server.transport.app import DevLogin, make_admin_app, make_app, make_metrics_app
from game_server.transport.http_server import GameHTTPServer
from game_server.transport.sockjs_fixes import close_streams

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Seconds a Python thread may hold the GIL before another gets it (stock: 0.005).
SWITCH_INTERVAL = 0.0005
#: Net new container objects between two young garbage collections (stock: 700).
GC_YOUNG_THRESHOLD = 10_000
#: Connections the kernel may hold waiting for accept() (Tornado's default: 128; Linux caps
#: it at net.core.somaxconn). With 128, a burst of connects overflowed the queue and clients
#: waited out SYN retransmissions (1, 3, 7, 15 s ...): docs/performance.md, target 5.
LISTEN_BACKLOG = 4096
#: The close frame every open session gets when the server stops (SIGTERM, SIGINT).
CLOSE_SHUTDOWN = (4005, "Server shutting down")
#: At most this long for the close frames to be written before the listening socket closes.
SHUTDOWN_WRITE_SECONDS = 1.0
#: Largest request body of the local admin endpoint (a notification's data is at most 4 KiB).
ADMIN_MAX_BODY = 64 * 1024


class StartupError(Exception):
    """The server cannot start: the message says why and what to do, in one line."""


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def check_database(url: str) -> None:
    """Refuse to start on a database that cannot be reached or was never migrated.

    Raises:
        StartupError: either, with the URL (without its password) and what to do.
    """
    from sqlalchemy.exc import SQLAlchemyError

    quiet = logging.getLogger("alembic")  # its INFO lines would be the start's loudest
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        from game_server.storage.migrate import current, head
        revision = current(url)
        newest = head()
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StartupError(f"cannot reach the database at {_safe_url(url)} "
                           f"(GAME_DATABASE_URL): {reason}") from None
    finally:
        quiet.setLevel(level)
    if revision is None:
        raise StartupError(f"the database at {_safe_url(url)} has no tables: run "
                           "`game-server migrate` first")
    if revision != newest:
        log.warning("the database is at migration %s, this server's newest is %s: run "
                    "`game-server migrate`", revision, newest)


def bind_port(port: int) -> list[socket.socket]:
    """The listening sockets of GAME_PORT (bound, not yet accepting).

    Raises:
        StartupError: the port cannot be had (in use, or a privileged port).
    """
    try:
        return tornado.netutil.bind_sockets(port, backlog=LISTEN_BACKLOG)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise StartupError(f"cannot listen on port {port} (GAME_PORT or --port): {reason}; "
                           "stop what holds it or choose another port") from None


@dataclass
class Server:
    config: Config
    hub: Hub
    app: tornado.web.Application
    users: AsyncUserStore
    keyring: tokens.Keyring
    move_log: MoveLog
    engine: Any
    #: Notifications to this server's users (and, with Redis, every server's): `publish`.
    broker: LocalBroker | RedisBroker | None = None
    #: The Prometheus metrics (GAME_METRICS), served by `start_metrics`; None when off.
    metrics: Metrics | None = None

    async def recover(self) -> int:
        """Host again the rooms this server (GAME_SERVER_ID) had open; returns how many."""
        loop = asyncio.get_running_loop()
        rooms = await loop.run_in_executor(None, self.move_log.load_open_rooms)
        tables = [Table.replay(room.id, room.name, room.game, room.seats, actions)
                  for room, actions in rooms]
        await self.hub.recover(tables)
        return len(tables)

    def close(self) -> None:
        close_streams(self.app.sockjs_router)
        self.hub.stop_timers()
        self.users.close()
        self.move_log.close()
        if self.hub.chat.chat_log is not None:
            self.hub.chat.chat_log.close()
        self.engine.dispose()


def keyring_for(config: Config) -> tokens.Keyring:
    """The token keys: GAME_TOKEN_KEYS, or in dev mode a generated local key.

    Raises:
        ConfigError: no keys outside dev mode, or malformed keys.
    """
    text = config.token_keys
    if not text:
        if not config.dev:
            raise ConfigError("GAME_TOKEN_KEYS is not set. Generate a key with "
                              "`game-server keygen` and set GAME_TOKEN_KEYS=1:<key> "
                              "(or run `game-server serve --dev` for local play).")
        text = dev_token_keys()
    try:
        return tokens.parse_keys(text)
    except ValueError as error:
        raise ConfigError(f"GAME_TOKEN_KEYS: {error}") from None


def build(config: Config, sockjs_settings: dict[str, Any] | None = None) -> Server:
    """Everything the server needs, wired together (no socket is opened)."""
    keyring = keyring_for(config)
    # GAME_DB_TIMEOUT: a hung database fails calls like a refusing one (0: no deadline).
    engine = make_engine(config.database_url, timeout=config.db_timeout or None)
    users = AsyncUserStore(UserStore(engine))
    move_log = MoveLog(engine, config.server_id)

    async def load_user(user_id: int) -> Player | None:
        user = await users.get(user_id)
        return Player(user.id, user.name) if user is not None else None

    metrics = Metrics() if config.metrics else None
    def issue(user_id: int) -> str:
        return tokens.issue_token(keyring, user_id)

    hub = Hub(read_token=lambda token: tokens.read_token(keyring, token),
              load_user=load_user, move_log=move_log, metrics=metrics, issue_token=issue,
              settings=HubSettings(server_id=config.server_id, bot_delay=config.bot_delay,
                                   grace_seconds=config.grace_seconds,
                                   sign_in_seconds=config.sign_in_seconds,
                                   rooms_per_user=config.rooms_per_user,
                                   quick_play_wait=config.quick_play_wait))
    # Subscribes once per server (with Redis: `start()`), never per connection.
    broker = make_broker(config, hub.chat.from_broker)
    # Room chat is kept with the game's history on a writer of its own; lobby chat reaches
    # the other servers' lobbies through the broker (game_server/protocol/chat.py).
    hub.chat.chat_log = ChatLog(engine)
    if config.redis_url:
        hub.chat.publish = broker.publish
    if config.redis_url:
        # Several game servers: the directory in Redis, hosts and epochs in the database.
        directory = RedisDirectory(config.redis_url, prefix=config.redis_prefix,
                                   ttl=config.heartbeat_ttl)
        hub.hosting = Hosting(hub=hub, directory=directory,
                              hosts=RoomHosts(engine), move_log=move_log,
                              server_id=config.server_id, public_url=config.public_url,
                              issue_token=issue, ttl=config.heartbeat_ttl)
    dev_login = None
    if config.dev:
        async def login(name: str) -> tuple[int, str]:
            user = await users.get_or_create(name)
            return user.id, user.name

        dev_login = DevLogin(login=login, issue_token=issue)
    if metrics is not None:
        metrics.watch(rooms=lambda: [table.status.value for table in hub.lobby],
                      send_queues=hub.send_queues, commits=lambda: move_log.stats)
    sockjs_settings = {"socket_takeover": config.socket_takeover, **(sockjs_settings or {})}
    app = make_app(hub, dev_login=dev_login, sockjs_settings=sockjs_settings,
                   history=GameHistory(engine), site_url=config.site_url,
                   server_origins=config.server_origins)
    return Server(config, hub, app, users, keyring, move_log, engine, broker, metrics)


def start_admin(port: int, broker: LocalBroker | RedisBroker
                ) -> tornado.httpserver.HTTPServer | None:
    """Listen for the local admin endpoint (`POST /notify`) on 127.0.0.1:`port`; None when
    `port` is 0 or cannot be had (another server on this machine holds it): the game server
    runs on without it, after one warning."""
    if not port:
        return None
    sock = _listening_socket(ADMIN_HOST, port, "no local admin endpoint", (
        "`game-server notify` cannot reach this server; give each server on this machine its "
        "own GAME_ADMIN_PORT, or 0 to turn it off"))
    if sock is None:
        return None
    http = tornado.httpserver.HTTPServer(make_admin_app(broker.send),
                                         max_body_size=ADMIN_MAX_BODY)
    http.add_sockets([sock])
    return http


def _listening_socket(host: str, port: int, missing: str, advice: str) -> socket.socket | None:
    """A non-blocking socket listening on host:port for a listener the server can do without
    (admin, metrics); None, after one warning saying what is `missing` and the `advice`, when
    the address cannot be had. Not tornado.netutil.bind_sockets: it leaves the socket open
    when the port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        log.warning("%s: cannot listen on %s:%d (%s); %s", missing, host, port,
                    error.strerror or error, advice)
        return None
    return sock


def http_server(app: tornado.web.Application, config: Config) -> GameHTTPServer:
    """The public HTTP server around `app`, with the limits of the config (not listening)."""
    return GameHTTPServer(app, trust_proxy=config.trust_proxy,
                          per_address=config.connections_per_address,
                          timeout=config.http_timeout)


def start_metrics(address: tuple[str, int], metrics: Metrics
                  ) -> tornado.httpserver.HTTPServer | None:
    """Serve `/metrics` on `address` (GAME_METRICS_ADDRESS), apart from the public port; None
    when the address cannot be had: the game server runs on without it, after one warning."""
    host, port = address
    sock = _listening_socket(host, port, "no /metrics", (
        "give each server on this machine its own GAME_METRICS_ADDRESS, or GAME_METRICS=off"))
    if sock is None:
        return None
    http = tornado.httpserver.HTTPServer(make_metrics_app(metrics.registry))
    http.add_sockets([sock])
    return http


def tune_gc() -> None:
    """Make the cyclic garbage collector's full collections rare (call once set up).

    A full collection stops the process for about 0.6 µs per tracked object (130 ms with
    1,000 connections here), and with the stock young threshold of 700 objects that were
    only in flight at a young collection are promoted so often that a full collection came
    every few seconds under load: it was the limit of the load tool's ramp
    (docs/performance.md). A larger young threshold promotes far fewer of them; freezing what
    start-up made (modules, the recovered rooms) keeps it out of every later collection.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
    gc.collect()
    gc.freeze()


def run_loop(config: Config, main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on the event loop GAME_EVENT_LOOP names (uvloop by default)."""
    if config.event_loop == "uvloop":
        import uvloop
        return uvloop.run(main)
    return asyncio.run(main)


async def serve(config: Config) -> None:
    """Listen on config.port until SIGINT or SIGTERM."""
    # The move-log writer is a Python thread: with the default 5 ms GIL switch interval the
    # event loop could wait that long behind it for each batch. Measured with the load tool
    # (docs/performance.md): 0.5 ms raised the sustainable rate by a median 1.34x.
    sys.setswitchinterval(SWITCH_INTERVAL)
    keyring_for(config)  # a missing or malformed key first: ConfigError, exit status 2
    check_database(config.database_url)
    # Bound before recovering (a port in use fails at once), accepting after: connections
    # wait in the backlog until the rooms are back.
    sockets = bind_port(config.port)
    server = build(config)
    recovered = await server.recover()
    if recovered:
        log.info("recovered %d room(s) of server %s from the move log", recovered,
                 config.server_id)
    tune_gc()
    memory = MemoryReturn(lambda: len(server.hub.peers))
    returning = tornado.ioloop.PeriodicCallback(memory.check, CHECK_SECONDS * 1000)
    returning.start()
    http = http_server(server.app, config)
    http.add_sockets(sockets)
    server.broker.start()
    admin = start_admin(config.admin_port, server.broker)
    metrics = (start_metrics(config.metrics_address, server.metrics)
               if server.metrics is not None else None)
    hosting = server.hub.hosting
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # SIGTERM (a deploy) drains when other servers can take the rooms over.
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if hosting is not None:
        hosting.on_drain_requested = stop.set
        hosting.start()
    mode = " (dev mode: sign in with any name)" if config.dev else ""
    print(f"Card-table server {config.server_id} listening on "
          f"http://localhost:{config.port}/{mode}", flush=True)
    if admin is not None:
        log.info("local admin endpoint (POST /notify) on http://%s:%d/", ADMIN_HOST,
                 config.admin_port)
    if metrics is not None:
        log.info("metrics on http://%s:%d/metrics", *config.metrics_address)
    await stop.wait()
    # Everything below, the drain included, ends within GAME_DRAIN_SECONDS.
    deadline = loop.time() + config.drain_seconds
    if hosting is not None:
        log.info("draining: handing every room to other servers (at most %.0f s)",
                 config.drain_seconds)
        try:
            await hosting.drain(config.drain_seconds)
        except Exception:
            log.exception("drain failed; the rooms stay in the database for a takeover")
        await hosting.stop()
        await hosting.directory.close()
    log.info("shutting down")
    # Every session still open gets a close frame with a reason, so its client knows to
    # reconnect later rather than guessing from a dropped socket; its seat, if any, is marked
    # disconnected and that change is committed with the rest below.
    closed = close_sessions(server.hub, *CLOSE_SHUTDOWN)
    await asyncio.sleep(0)  # the disconnects reach the engine (and the move log's queue)

    def remaining() -> float:
        return max(0.0, deadline - loop.time())

    await server.hub.flush(remaining())
    if server.hub.engine.pending_commits():
        log.warning("shutting down with %d commit(s) not confirmed by the move log",
                    server.hub.engine.pending_commits())
    # The close frames go out before the listening socket does: a polling client (xhr,
    # jsonp) gets its close frame from its next poll.
    await _written(closed, min(SHUTDOWN_WRITE_SECONDS, remaining()))
    http.stop()
    returning.stop()
    if admin is not None:
        admin.stop()
    if metrics is not None:
        metrics.stop()
    await server.broker.close()
    server.close()


def close_sessions(hub: Hub, code: int, reason: str) -> list[Any]:
    """Close every open session with `code` and `reason`; returns their peers. One that
    fails to close never stops the others."""
    peers = list(hub.peers.values())
    for peer in peers:
        try:
            peer.close(code, reason)
        except Exception:
            log.debug("closing %r failed", peer, exc_info=True)
    return peers


async def _written(peers: list[Any], seconds: float) -> None:
    """Wait (at most `seconds`) until nothing waits to be sent to `peers`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            if not any(peer.queued() for peer in peers):
                break
        except Exception:  # a transport already gone has nothing to write
            break
        await asyncio.sleep(0.05)
    # One more turn of the loop, for the writes the last sends started.
    await asyncio.sleep(min(0.1, max(0.0, end - loop.time())))
