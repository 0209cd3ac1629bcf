/**
 * A SockJS connection that stays up: it reconnects with exponential back-off and jitter, reports
 * its status (connecting / connected / reconnecting / offline, or idle once stopped, and the
 * transport in use), and
 * matches replies to requests by their `id` / `re`.
 *
 * It knows nothing about rooms or sign-in: after each (re)connection it calls `onOpen`, where the
 * app authenticates again and rejoins its room. Messages are JSON objects; see docs/protocol.md.
 */

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

export class Connection {
  /**
   * @param {object} options
   * @param {string} options.url SockJS endpoint, e.g. "/sockjs"
   * @param {string[]|null} options.transports restrict sockjs-client to these, or null
   * @param {(msg: object) => void} options.onMessage every message from the server
   * @param {(status: object) => void} options.onStatus {state, transport, attempt, retryIn}
   * @param {() => void} options.onOpen called after each successful (re)connection
   * @param {(info: object) => void} [options.onClose] {code, reason, wasOpen}
   */
  constructor({ url, transports, onMessage, onStatus, onOpen, onClose, SockJS, random }) {
    this.url = url;
    this.transports = transports;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.onOpen = onOpen || (() => {});
    this.onClose = onClose || (() => {});
    this.SockJS = SockJS || window.SockJS;
    this.random = random || Math.random;
    this.sock = null;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();
    this.retryTimer = null;
    this.stopped = true;
    this.status = { state: 'connecting', transport: null, attempt: 0, retryIn: null };
    this._onOnline = () => this._retryNow();
    this._onOffline = () => {
      if (this.status.state !== 'connected') this._setStatus({ state: 'offline' });
    };
    // Test-only hook: end-to-end tests define window.__GAME_TEST__ before the page loads, to
    // see every frame received and to drop the connection as a network failure would.
    this.testHook = typeof window !== 'undefined' && window.__GAME_TEST__ ? window.__GAME_TEST__ : null;
    if (this.testHook) {
      this.testHook.frames = this.testHook.frames || [];
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
   * (which onMessage also sees); rejects with the server's `error` message (which onMessage then
   * does not see), or with {code: "offline"} when not connected.
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

  _connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const options = this.transports ? { transports: this.transports } : {};
    let sock;
    try {
      sock = new this.SockJS(this.url, null, options);
    } catch (err) {
      this._scheduleRetry();
      return;
    }
    this.sock = sock;
    let wasOpen = false;
    sock.onopen = () => {
      if (this.sock !== sock) return;
      wasOpen = true;
      this._setStatus({ state: 'connected', transport: sock.transport || null, retryIn: null });
      this.onOpen();
    };
    sock.onmessage = (event) => {
      if (this.sock !== sock) return;
      if (this.testHook) this.testHook.frames.push(event.data);
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return;
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
      }
      this.onMessage(msg);
    };
    sock.onclose = (event) => {
      if (this.sock !== sock) return;
      this.sock = null;
      this._failPending('offline');
      this.onClose({ code: event.code, reason: event.reason, wasOpen });
      if (!this.stopped) this._scheduleRetry();
    };
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
