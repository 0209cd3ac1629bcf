"""The connection's redirects, run in the browser against a stubbed SockJS (no server behind it):
following a `redirect` to another server, sending the request again there, reconnecting to the
new server and back to the home URL when it is gone, and the status and lobby note they show.
Then the app's part on a real server: keeping the newest token, and the partial room list.

`FAKE_JS` stands in for sockjs-client: every socket the connection opens is kept in
`FakeSock.all`, the test opens, fails and closes them, reads what the client sent (`sent`) and
answers as a server would (`receive`). A small stand-in for app.js signs in after each open
(`auth`, then `resume()` or a rejoin) as the real app does, with the newest token it was given.
"""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import expect

from browser_helpers import frames, sign_in


def run(page, script: str):
    return page.evaluate(f"async () => {{ {script} }}")


FAKE_JS = """
  const c = await import('/js/connection.js');
  const r = await import('/js/render.js');
  const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
  class FakeSock {
    constructor(url, _reserved, options) {
      this.url = url; this.options = options; this.readyState = 0; this.sent = [];
      this.transport = null; this.closedWith = null;
      FakeSock.all.push(this);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close(code, reason) {
      this.readyState = 3; this.closedWith = [code, reason];
      setTimeout(() => this.onclose && this.onclose({code, reason}), 0);
    }
    open() { this.readyState = 1; this.transport = 'xhr-polling'; this.onopen(); }
    fail() { this.readyState = 3; this.onclose({code: 2000, reason: 'All transports failed'}); }
    receive(msg) { this.onmessage({data: JSON.stringify(msg)}); }
    last() { return this.sent[this.sent.length - 1]; }
  }
  FakeSock.all = [];
  const latest = () => FakeSock.all[FakeSock.all.length - 1];
  const welcome = (sock, server) => sock.receive({msg: 'welcome', user: {id: 1, name: 'Ann'}, server,
    protocol: 2, games: [], token: `T-${server}`, re: sock.sent[0].id});
  // The app's part: the newest token, auth after each open, then resume() or a rejoin.
  const app = {token: 'T-home', room: null, messages: [], statuses: [], rejoins: 0};
  const conn = new c.Connection({
    url: 'sockjs', transports: ['xhr-polling'], SockJS: FakeSock, random: () => 0,
    onMessage: (msg) => app.messages.push(msg),
    onStatus: (status) => app.statuses.push({...status}),
    onRedirect: (redirect) => { app.token = redirect.token; },
    onOpen: async () => {
      const reply = await conn.request({msg: 'auth', protocol: 2, token: app.token}).catch((e) => e);
      if (reply.msg !== 'welcome') return;
      app.token = reply.token;
      conn.markHealthy();
      if (conn.resume()) return;
      if (app.room) { app.rejoins += 1; conn.requestFollowing({msg: 'join', room: app.room, as: 'player'}).catch(() => {}); }
    },
  });
  const settle = (promise) => promise.then((value) => ({value}), (error) => ({error}));
"""


def test_a_join_answered_with_a_redirect_is_sent_again_on_the_other_server(open_page):
    page = open_page()
    result = run(page, FAKE_JS + """
      conn.start();
      const home = latest();
      home.open();
      const auth = home.sent[0];
      welcome(home, 'game-1');
      await tick();
      // The room is on game-2: the reply to the join is a redirect.
      const joined = settle(conn.requestFollowing({msg: 'join', room: 'room42', as: 'player'}));
      const join = home.last();
      home.receive({msg: 'redirect', room: 'room42', server: 'game-2', url: 'http://b.example/sockjs',
                    token: 'T-redirect', re: join.id});
      await tick();
      const moving = {...conn.status};
      const statusDuringMove = r.renderStatus(conn.status);
      const moved = latest();
      moved.open();
      const authThere = moved.sent[0];
      welcome(moved, 'game-2');
      await tick();
      const again = moved.sent[1];
      moved.receive({msg: 'state', room: 'room42', seq: 3, table: {}, re: again.id});
      const outcome = await joined;
      return {
        sockets: FakeSock.all.map((s) => [s.url, s.options]),
        homeClosed: home.closedWith,
        auth: [auth.token, authThere.token],
        again: [again.msg, again.room, again.as],
        reply: [outcome.value.msg, outcome.value.room],
        moving: [moving.moving, moving.state],
        label: statusDuringMove.textContent,
        movingAttr: statusDuringMove.dataset.moving,
        after: [conn.status.moving, conn.status.state, conn.url, conn.home],
        // The app never saw the redirect itself (the connection followed it), but did see the state.
        seen: app.messages.map((m) => m.msg),
      };
    """)
    assert result["sockets"] == [["sockjs", {"transports": ["xhr-polling"]}],
                                 ["http://b.example/sockjs", {"transports": ["xhr-polling"]}]]
    assert result["homeClosed"] == [1000, "moved"]
    assert result["auth"] == ["T-home", "T-redirect"]
    assert result["again"] == ["join", "room42", "player"]
    assert result["reply"] == ["state", "room42"]
    assert result["moving"] == [True, "connecting"]
    assert result["label"] == "➜Moving to the table…"
    assert result["movingAttr"] == "true"
    assert result["after"] == [False, "connected", "http://b.example/sockjs", "sockjs"]
    assert result["seen"] == ["welcome", "welcome", "state"]


def test_reconnections_go_to_the_new_server_and_home_when_it_is_gone(open_page):
    page = open_page()
    result = run(page, FAKE_JS + """
      conn.start();
      latest().open();
      welcome(latest(), 'game-1');
      await tick();
      const created = settle(conn.requestFollowing({msg: 'create', game: 'hearts', name: 'Four', seats: 4}));
      // A create placed on a less loaded server: room null.
      latest().receive({msg: 'redirect', room: null, server: 'game-2', url: '/g/game-2/sockjs', token: 'T-r',
                        re: latest().last().id});
      await tick();
      latest().open();
      welcome(latest(), 'game-2');
      await tick();
      const create = latest().sent[1];
      latest().receive({msg: 'state', room: 'room77', seq: 0, table: {}, re: create.id});
      const reply = await created;
      app.room = 'room77';
      const urls = () => FakeSock.all.map((s) => s.url);
      // The connection drops: it comes back to game-2, and rejoins there.
      latest().close(4000, 'dropped');
      await tick(600);
      const afterDrop = urls();
      latest().open();
      welcome(latest(), 'game-2');
      await tick();
      const rejoin = latest().sent[1];
      // game-2 dies: attempts at it fail, and after MOVED_ATTEMPTS of them the home URL is used.
      latest().close(4000, 'dropped');
      for (let i = 0; i < c.MOVED_ATTEMPTS; i += 1) {
        await tick(1100);
        latest().fail();
      }
      await tick(1400);
      const afterDeath = urls();
      // Home: the rejoin is redirected to the server that took the room over, and followed.
      latest().open();
      welcome(latest(), 'game-1');
      await tick();
      latest().receive({msg: 'redirect', room: 'room77', server: 'game-3', url: '/g/game-3/sockjs', token: 'T-3',
                        re: latest().sent[1].id});
      await tick();
      latest().open();
      welcome(latest(), 'game-3');
      await tick();
      const rejoinThere = latest().sent[1];
      return {
        create: [create.msg, create.game, create.name, create.seats, reply.value.room],
        afterDrop, rejoin: [rejoin.msg, rejoin.room],
        afterDeath, rejoinThere: [rejoinThere.msg, rejoinThere.room],
        token: app.token, url: conn.url, moving: conn.moving,
      };
    """)
    assert result["create"] == ["create", "hearts", "Four", 4, "room77"]
    assert result["afterDrop"] == ["sockjs", "/g/game-2/sockjs", "/g/game-2/sockjs"]
    assert result["rejoin"] == ["join", "room77"]
    assert result["afterDeath"] == ["sockjs", "/g/game-2/sockjs", "/g/game-2/sockjs",
                                    "/g/game-2/sockjs", "/g/game-2/sockjs", "sockjs"]
    assert result["rejoinThere"] == ["join", "room77"]
    assert result["url"] == "/g/game-3/sockjs"
    assert result["token"] == "T-game-3"
    assert result["moving"] is True  # until game-3 answers the join


def test_an_unasked_redirect_and_the_limits_of_following(open_page):
    page = open_page()
    result = run(page, FAKE_JS + """
      conn.start();
      latest().open();
      welcome(latest(), 'game-1');
      await tick();
      // Unasked (the server drains): follow() moves, and the join is sent once signed in there.
      const followed = settle(conn.follow({msg: 'redirect', room: 'room9', server: 'game-2',
                                           url: '/g/game-2/sockjs', token: 'T-drain'},
                                          {msg: 'join', room: 'room9', as: 'spectator'}));
      await tick();
      latest().open();
      // Lost before the join's reply: it is sent again after the next sign-in.
      welcome(latest(), 'game-2');
      await tick();
      latest().close(4000, 'dropped');
      await tick(600);
      latest().open();
      welcome(latest(), 'game-2');
      await tick();
      const join = latest().sent[1];
      latest().receive({msg: 'error', code: 'unknown_room', text: 'No such room.', re: join.id});
      const refused = await followed;
      // Two servers that keep sending the request to each other: given up after MAX_REDIRECTS.
      let settled = false;
      const looping = settle(conn.requestFollowing({msg: 'join', room: 'room5', as: 'player'}));
      looping.then(() => { settled = true; });
      let redirects = 0;
      while (!settled && redirects < 20) {
        const ask = latest().last();
        redirects += 1;
        latest().receive({msg: 'redirect', room: 'room5', server: `game-${redirects % 2}`,
                          url: `/g/game-${redirects % 2}/sockjs`, token: 'T', re: ask.id});
        await tick();
        if (settled) break;
        latest().open();
        welcome(latest(), 'x');
        await tick();
      }
      const loop = await looping;
      // A redirect followed while another is under way supersedes it.
      const first = settle(conn.follow({msg: 'redirect', room: 'a', server: 's', url: '/a', token: 'T'}, {msg: 'join', room: 'a'}));
      const second = settle(conn.follow({msg: 'redirect', room: 'b', server: 's', url: '/b', token: 'T'}, null));
      await tick();
      latest().open();
      welcome(latest(), 'b');
      const moved = await second;
      return {
        join: [join.msg, join.room, join.as],
        refused: refused.error.code, redirects, loop: loop.error.code,
        superseded: (await first).error.code, moved: moved.value, url: conn.url, moving: conn.moving,
      };
    """)
    assert result["join"] == ["join", "room9", "spectator"]
    assert result["refused"] == "unknown_room"
    assert result["redirects"] == 11  # MAX_REDIRECTS (10) followed, the 11th is not
    assert result["loop"] == "unavailable"
    assert result["superseded"] == "superseded"
    assert result["moved"] is None
    assert result["url"] == "/b"
    assert result["moving"] is False


def test_a_partial_room_list_gets_a_note(open_page):
    page = open_page()
    result = run(page, """
      const r = await import('/js/render.js');
      const note = r.renderRoomListNote(true);
      return {note: note.textContent, testid: note.dataset.testid, none: r.renderRoomListNote(false)};
    """)
    assert result == {"note": "ⓘ Showing this server's rooms only", "testid": "rooms-partial",
                      "none": None}


# --- the app's part, on a real (single) server ----------------------------------------------

SESSION = "() => JSON.parse(sessionStorage.getItem('cardtable.session') || 'null')"


def _dev_token(server_url: str, name: str) -> str:
    request = urllib.request.Request(server_url + "dev/login", method="POST",
                                     data=json.dumps({"name": name}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["token"]


def test_the_newest_token_from_the_server_is_kept_for_the_next_sign_in(open_page, live_server):
    page = open_page()
    sign_in(page, "Tess")
    welcome = next(f for f in frames(page) if f.get("msg") == "welcome")
    assert welcome["token"]
    page.wait_for_function(f"() => ({SESSION})().token === {json.dumps(welcome['token'])}")

    # Every 5 minutes the server sends a `token`: it replaces the one kept.
    fresh = _dev_token(live_server.url, "Tess")
    assert fresh != welcome["token"]
    page.evaluate("""(token) => {
      const conn = window.__GAME_TEST__.connection;
      window.__requests = [];
      const request = conn.request.bind(conn);
      conn.request = (msg, timeout) => { window.__requests.push(msg); return request(msg, timeout); };
      conn.onMessage({msg: 'token', token});
    }""", fresh)
    page.wait_for_function(f"() => ({SESSION})().token === {json.dumps(fresh)}")

    # The next sign-in (a reconnection here) uses it, and keeps the token of its welcome.
    page.evaluate("() => window.__GAME_TEST__.connection.drop()")
    page.wait_for_function("() => window.__requests.some((m) => m.msg === 'auth')")
    auth = page.evaluate("() => window.__requests.find((m) => m.msg === 'auth')")
    assert auth["token"] == fresh and auth["protocol"] == 3
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "connected")
    expect(page.get_by_test_id("lobby")).to_be_visible()
    welcomes = [f for f in frames(page) if f.get("msg") == "welcome"]
    assert len(welcomes) == 2
    last = welcomes[-1]
    page.wait_for_function(f"() => ({SESSION})().token === {json.dumps(last['token'])}")


def test_a_partial_room_list_says_so_in_the_lobby(open_page):
    page = open_page()
    sign_in(page, "Pat")
    note = page.get_by_test_id("rooms-partial")
    expect(note).to_have_count(0)
    deliver = "(msg) => window.__GAME_TEST__.connection.onMessage(msg)"
    page.evaluate(deliver, {"msg": "room_list", "partial": True, "rooms": [
        {"id": "room01", "name": "Here", "game": "crazy_eights", "seats": 2, "players": 1,
         "spectators": 0, "status": "waiting", "server": "game-1"}]})
    expect(note).to_have_text("ⓘ Showing this server's rooms only")
    expect(page.get_by_test_id("room-room01")).to_be_visible()
    page.evaluate(deliver, {"msg": "room_list", "rooms": []})
    expect(note).to_have_count(0)
    expect(page.get_by_test_id("no-rooms")).to_be_visible()
