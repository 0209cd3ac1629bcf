/**
 * A SockJS connection that stays up: it reconnects with exponential back-off and jitter, reports
 * its status (connecting / connected / reconnecting / offline, or idle once stopped, and the
 * transport in use), and
 * matches replies to requests by their `id` / `re`.
 *
 * It knows nothing about rooms or sign-in: after each (re)connection it calls `onOpen`, where the
 * app authenticates again and rejoins its room. Messages are JSON objects; see docs/protocol.md.
 *
 * When several game servers run, a request may be answered with a `redirect` (another server
 * hosts the room, or is less loaded): `requestFollowing` follows it. The connection is
 * re-pointed at the `url` of the redirect (`moveTo`), the app signs in there as after any
 * reconnection (`onRedirect` hands it the redirect's token first), and once signed in it calls
 * `resume()`, which sends the request again on the new socket. Later reconnections go to the
 * new URL; when that server cannot be reached they go back to the home URL (the constructor's
 * `url`), whose server knows where the room is now.
 */

/**
 * Protocol 3 (docs/protocol.md, "Protocol 3"): a `state` whose table is a JSON Merge Patch
 * (RFC 7396) of the last table this socket received of its room (it has no `game`; a whole
 * table, `full` or protocol 2, always has) comes out with the whole table, and `tables` (room
 * -> table, one map per socket) keeps it for the next patch. Other messages pass as they are;
 * a `left` forgets the room.
 */
export function wholeState(msg, tables) {
  if (!msg || typeof msg !== 'object') return msg;
  if (msg.msg === 'left') tables.delete(msg.room);
  if (msg.msg !== 'state' || !msg.table || typeof msg.table !== 'object') return msg;
  const merge = (target, patch) => {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
    const isObject = target && typeof target === 'object' && !Array.isArray(target);
    const result = isObject ? { ...target } : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete result[key];
      else result[key] = merge(result[key], value);
    }
    return result;
  };
  const whole = msg.full || 'game' in msg.table;
  const table = whole ? msg.table : merge(tables.get(msg.room) || {}, msg.table);
  tables.set(msg.room, table);
  return whole ? msg : { ...msg, table };
}

/** Every transport sockjs-client 1.6 offers, in its own order of preference. */
export const TRANSPORTS = [
  'websocket',
  'xhr-streaming',
  'xdr-streaming',
  'eventsource',
  'iframe-eventsource',
  'htmlfile',
  'iframe-htmlfile',
  'xhr-polling',
  'xdr-polling',
  'iframe-xhr-polling',
  'jsonp-polling',
];

/**
 * The transports named in `?transports=a,b` of a query string, or null to let sockjs-client
 * choose. Unknown names are dropped; if none is left, null.
 */
export function transportsFromQuery(search) {
  const value = new URLSearchParams(search || '').get('transports');
  if (!value) return null;
  const names = value.split(',').map((t) => t.trim()).filter((t) => TRANSPORTS.includes(t));
  return names.length ? names : null;
}

/**
 * Delay before reconnection attempt number `attempt` (0-based): exponential from `base` up to
 * `max`, with "equal jitter" (between half and all of it) so that many clients dropped at once
 * by a server restart do not all come back in the same instant.
 */
export function backoffDelay(attempt, { base = 500, max = 15000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** After this many failed attempts in a row (or when the browser says so) we show "offline". */
const OFFLINE_AFTER = 3;

/**
 * Failed attempts in a row at a server a redirect sent us to before reconnecting to the home
 * URL instead: that server may be gone (crashed, drained), and the home URL reaches one that
 * knows which server hosts the room now (it redirects us, or takes the room over).
 */
export const MOVED_ATTEMPTS = 2;

/**
 * A request carried over by redirects gives up after this many redirects (a loop guard) or this
 * long (its server stays unreachable): it then fails with code `unavailable`. Long enough for
 * the servers to notice that a crashed server is gone (its heartbeat expires after 5 s).
 */
export const MAX_REDIRECTS = 10;
export const CARRY_TIMEOUT_MS = 30000;

const JSONP_GUARD = Symbol('guarded jsonp callbacks');

/**
 * sockjs-client's jsonp-polling keeps its callbacks in `window._jp` and deletes one when its
 * session is closed, but cannot cancel the script it already requested: when the server answers
 * that poll later (a room list pushed to the old session after a move, a heartbeat), the script
 * calls a function that is gone and the page gets an uncaught TypeError. Here such late answers
 * find a function that does nothing. (sockjs-client only creates `_jp` when it is missing.)
 */
function guardJsonpCallbacks(global) {
  if (!global || (global._jp && global._jp[JSONP_GUARD])) return;
  const stale = () => {};
  global._jp = new Proxy(global._jp || {}, {
    get(target, key) {
      if (key === JSONP_GUARD) return true;
      if (key in target || typeof key !== 'string' || !/^a[0-9a-z]+$/.test(key)) return target[key];
      return stale;
    },
  });
}

export class Connection {
  /**
   * @param {object} options
   * @param {string} options.url SockJS endpoint, e.g. "/sockjs": the home URL
   * @param {string[]|null} options.transports restrict sockjs-client to these, or null
   * @param {(msg: object) => void} options.onMessage every message from the server
   * @param {(status: object) => void} options.onStatus {state, transport, attempt, retryIn, moving}
   * @param {() => void} options.onOpen called after each successful (re)connection
   * @param {(info: object) => void} [options.onClose] {code, reason, wasOpen}
   * @param {(redirect: object) => void} [options.onRedirect] a redirect is being followed:
   *   keep its `token` for the `auth` on the new connection
   */
  constructor({ url, transports, onMessage, onStatus, onOpen, onClose, onRedirect, SockJS, random }) {
    this.home = url;
    this.url = url;
    this.transports = transports;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.onOpen = onOpen || (() => {});
    this.onClose = onClose || (() => {});
    this.onRedirect = onRedirect || (() => {});
    this.SockJS = SockJS || window.SockJS;
    if (!SockJS && typeof window !== 'undefined') guardJsonpCallbacks(window);
    this.random = random || Math.random;
    this.sock = null;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();
    this.retryTimer = null;
    this.stopped = true;
    this.movedFailures = 0; // failed attempts in a row at this.url when it is not this.home
    this.carried = null; // the request being carried to another server (see follow)
    this.status = { state: 'connecting', transport: null, attempt: 0, retryIn: null, moving: false };
    this._onOnline = () => this._retryNow();
    this._onOffline = () => {
      if (this.status.state !== 'connected') this._setStatus({ state: 'offline' });
    };
    // Test-only hook: end-to-end tests define window.__GAME_TEST__ before the page loads, to
    // see every frame received and to drop the connection as a network failure would.
    this.testHook = typeof window !== 'undefined' && window.__GAME_TEST__ ? window.__GAME_TEST__ : null;
    if (this.testHook) {
      this.testHook.frames = this.testHook.frames || [];
      this.testHook.wire = this.testHook.wire || [];
      this.testHook.connection = this;
    }
  }

  /** Open the connection; it keeps reconnecting until stop(). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
    this._setStatus({ state: 'connecting', transport: null, retryIn: null });
    this._connect();
  }

  /** Close for good (sign-out): no reconnection. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    if (this.sock) this.sock.close(1000, 'bye');
    this.sock = null;
    this._failPending('closed');
    this._dropCarried({ msg: 'error', code: 'closed', text: 'The connection was closed.' });
    this._setStatus({ state: 'idle', transport: null, retryIn: null });
  }

  /** The session works (the server welcomed us): back-off starts from the beginning again. */
  markHealthy() {
    this.attempt = 0;
  }

  get connected() {
    return this.status.state === 'connected';
  }

  /** Send a message; gives it an id when it has none. Returns the id, or null when offline. */
  send(msg) {
    if (!this.sock || this.sock.readyState !== 1) return null;
    const message = { ...msg };
    if (message.id == null) message.id = this.nextId++;
    this.sock.send(JSON.stringify(message));
    return message.id;
  }

  /**
   * Send a message and wait for the reply that carries its id as `re`. Resolves with the reply
   * (which onMessage also sees, unless it is a `redirect`: the caller follows it or not);
   * rejects with the server's `error` message (which onMessage then does not see), or with
   * {code: "offline"} when not connected.
   */
  request(msg, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const id = this.send(msg);
      if (id == null) {
        reject({ msg: 'error', code: 'offline', text: 'Not connected to the server; retrying.' });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject({ msg: 'error', code: 'timeout', text: 'The server did not answer in time.' });
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /** Drop the current socket as a network failure would (the client then reconnects). */
  drop() {
    if (this.sock) this.sock.close(4000, 'dropped');
  }

  /**
   * Point the connection at another server's SockJS URL: the current socket is closed (with no
   * reconnection to the old URL) and a new one opens at `url` at once, with the same transports.
   * Later reconnections go there too (see MOVED_ATTEMPTS). Requests waiting for a reply on
   * the old socket fail with code `offline`.
   */
  moveTo(url) {
    this.url = url;
    this.movedFailures = 0;
    if (this.stopped) return;
    const old = this.sock;
    this.sock = null;
    if (old) old.close(1000, 'moved');
    this._failPending('offline');
    this.attempt = 0;
    this._setStatus({ state: 'connecting', transport: null, retryIn: null });
    this._connect();
  }

  /**
   * Send a request and wait for its final reply, following `redirect`s (see follow). Rejects
   * like request().
   */
  async requestFollowing(msg) {
    const reply = await this.request(msg);
    return reply.msg === 'redirect' ? this.follow(reply, msg) : reply;
  }

  /**
   * Follow a `redirect`: hand it to `onRedirect` (the app keeps its token), move to its `url`,
   * and once the app has signed in there (it then calls resume()) send `msg` again. Resolves
   * with the reply to `msg` on the server that serves it; `msg` null only moves (resolves with
   * null once signed in there). Status `moving` is true meanwhile.
   *
   * Rejects with the server's error, with code `unavailable` after MAX_REDIRECTS redirects or
   * CARRY_TIMEOUT_MS, or with code `superseded` when another redirect is followed before this
   * one is done.
   */
  follow(redirect, msg = null) {
    return new Promise((resolve, reject) => {
      const carried = { msg, hops: MAX_REDIRECTS, resolve, reject, timer: null };
      this._dropCarried({ msg: 'error', code: 'superseded', text: 'Moved on to another room.' });
      carried.timer = setTimeout(() => {
        if (this.carried !== carried) return;
        this._dropCarried({ msg: 'error', code: 'unavailable',
          text: 'Could not reach the server of this room; try again in a moment.' });
      }, CARRY_TIMEOUT_MS);
      this._carry(carried, redirect);
    });
  }

  /**
   * The app has signed in on a new socket (after `auth`). If a request is being carried to
   * this server by a redirect, send it again now and return true: the app must then not
   * rejoin on its own, the carried request does. Returns false when there is none (or the
   * redirect carried no request: the move is then done).
   */
  resume() {
    const carried = this.carried;
    if (!carried) return false;
    if (!carried.msg) {
      this._settle(carried);
      carried.resolve(null);
      return false;
    }
    this.request(carried.msg).then((reply) => {
      if (this.carried !== carried) return;
      if (reply.msg === 'redirect') {
        this._carry(carried, reply);
        return;
      }
      this._settle(carried);
      carried.resolve(reply);
    }, (error) => {
      if (this.carried !== carried) return;
      // The socket was lost before the reply: the request goes again after the next sign-in.
      if (error.code === 'offline') return;
      this._settle(carried);
      carried.reject(error);
    });
    return true;
  }

  /** True while a request is being carried to another server by a redirect. */
  get moving() {
    return this.carried != null;
  }

  _carry(carried, redirect) {
    if (carried.hops <= 0) {
      this._settle(carried);
      carried.reject({ msg: 'error', code: 'unavailable',
        text: 'The room keeps moving between servers; try again in a moment.' });
      return;
    }
    carried.hops -= 1;
    this.carried = carried;
    this.onRedirect(redirect);
    this._setStatus({ moving: true });
    this.moveTo(redirect.url);
  }

  _settle(carried) {
    clearTimeout(carried.timer);
    if (this.carried === carried) {
      this.carried = null;
      this._setStatus({ moving: false });
    }
  }

  _dropCarried(error) {
    const carried = this.carried;
    if (!carried) return;
    this._settle(carried);
    carried.reject(error);
  }

  _connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const options = this.transports ? { transports: this.transports } : {};
    let sock;
    try {
      sock = new this.SockJS(this.url, null, options);
    } catch (err) {
      this._closedAt(false);
      this._scheduleRetry();
      return;
    }
    this.sock = sock;
    let wasOpen = false;
    const tables = new Map(); // protocol 3: the last whole table of each room on this socket
    sock.onopen = () => {
      if (this.sock !== sock) return;
      wasOpen = true;
      this._setStatus({ state: 'connected', transport: sock.transport || null, retryIn: null });
      this.onOpen();
    };
    sock.onmessage = (event) => {
      if (this.sock !== sock) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        if (this.testHook) this.testHook.frames.push(event.data);
        return;
      }
      const received = msg;
      msg = wholeState(msg, tables);
      if (this.testHook) {
        // `frames`: each message as the app reads it (a patched state with its whole table);
        // `wire`: the texts as they came.
        this.testHook.frames.push(msg === received ? event.data : JSON.stringify(msg));
        this.testHook.wire.push(event.data);
      }
      if (msg && msg.re != null && this.pending.has(msg.re)) {
        const waiter = this.pending.get(msg.re);
        this.pending.delete(msg.re);
        clearTimeout(waiter.timer);
        if (msg.msg === 'error') {
          // The caller of request() handles its own errors; nobody else hears of them.
          waiter.reject(msg);
          return;
        }
        waiter.resolve(msg);
        // Likewise its redirects: requestFollowing() follows them, and only them.
        if (msg.msg === 'redirect') return;
      }
      this.onMessage(msg);
    };
    sock.onclose = (event) => {
      if (this.sock !== sock) return;
      this.sock = null;
      this._failPending('offline');
      this.onClose({ code: event.code, reason: event.reason, wasOpen });
      this._closedAt(wasOpen);
      if (!this.stopped) this._scheduleRetry();
    };
  }

  /**
   * A socket closed (or could not be made): after MOVED_ATTEMPTS failed attempts in a row at
   * a server a redirect sent us to, the next attempts go to the home URL.
   */
  _closedAt(wasOpen) {
    if (this.url === this.home) return;
    this.movedFailures = wasOpen ? 0 : this.movedFailures + 1;
    if (this.movedFailures >= MOVED_ATTEMPTS) {
      // That server seems gone: the home URL reaches one that knows where the room is now.
      this.url = this.home;
      this.movedFailures = 0;
    }
  }

  _scheduleRetry() {
    const delay = backoffDelay(this.attempt, { random: this.random });
    this.attempt += 1;
    const browserOffline = typeof navigator !== 'undefined' && navigator.onLine === false;
    const state = browserOffline || this.attempt > OFFLINE_AFTER ? 'offline' : 'reconnecting';
    this._setStatus({ state, transport: null, retryIn: delay });
    this.retryTimer = setTimeout(() => {
      this._setStatus({ state: state === 'offline' ? 'offline' : 'reconnecting', retryIn: null });
      this._connect();
    }, delay);
  }

  _retryNow() {
    if (this.stopped || this.sock) return;
    this._connect();
  }

  _failPending(code) {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject({ msg: 'error', code, text: 'The connection was lost; retrying.', re: id });
    }
    this.pending.clear();
  }

  _setStatus(patch) {
    this.status = { ...this.status, ...patch, attempt: this.attempt };
    this.onStatus(this.status);
  }
}
