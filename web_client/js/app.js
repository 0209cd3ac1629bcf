/**
 * The browser client's wiring: sign-in, the connection, the lobby and the table.
 *
 * The app keeps one small model (who we are, the games the server runs, the last `room_list`,
 * the last `state`, the event log, the game renderer's own UI state) and redraws from it;
 * rendering lives in render.js (the frame) and in the game's renderer (`games/<name>.js`,
 * loaded by the room's `table.game`), and is a pure function of that model, so a resync after
 * a reconnection is just a redraw. User actions are buttons with a `data-action`, handled here
 * by one listener at the document root: the room's own actions here, the game's by its
 * renderer's `handleAction`, which returns a move to send or a change of its UI state.
 *
 * Sign-in: with the server's --dev mode, a name posted to /dev/login gives a token; otherwise
 * the main site hands over a token in the URL fragment (#token=...), which is removed from the
 * address bar at once. Tokens live 10 minutes, and games last longer: the server hands out a
 * fresh one in `welcome`, every 5 minutes in a `token` message and in each `redirect`, and the
 * newest is kept in sessionStorage for the next `auth` (a reconnection, a reload). Should the
 * server still refuse it, the dev client logs in again by name.
 *
 * Several game servers: a `join` or `create` may be answered with a `redirect` to the server
 * that hosts the room (or a less loaded one). The connection follows it by itself
 * (`Connection.requestFollowing`): it moves to that server, the app signs in there as after
 * any reconnection, and `Connection.resume()` sends the request again. A `redirect` nobody
 * asked for (the room moved: its server drained or lost it) is followed by joining the room
 * there. Meanwhile the status says "Moving to the table…".
 *
 * Notifications (`notify`, sent by the main site or an operator) stack up in a corner: an
 * invitation with Join (the usual `join`, redirects followed) and Dismiss, any other kind with
 * its `data.text`. When even the newest token is refused and /config.json names the main site
 * (`site_url`), the page asks the site for a fresh token (`POST <site_url>token`, with the
 * site's cookies and its `_xsrf` cookie as `X-XSRFToken`) before asking the player to sign in.
 */

import { Connection, transportsFromQuery } from './connection.js';
import {
  gameInfo, inviteOf, renderGameOptions, renderNotification, renderRoomList, renderRoomListNote,
  renderRules, renderSeatOptions, renderStatus, renderTable, tableContext, tickClocks,
} from './render.js';
import { describeEvent } from './log.js';
import { announce, moveInHand, rovingHand, trapFocus } from './a11y.js';
import { copyText, openRoom, pendingRoom, takeRoomLink } from './links.js';
import { cueTurn, drawSoundToggle, planMotion, playMotion, setSound, soundOn } from './cues.js';
import { linkGameOver, refreshHistory, watchReplayLinks } from './replay.js';
import { loadRenderer, rendererFor } from './renderers.js';
import { ChatPanel } from './chat.js';

const SESSION_KEY = 'cardtable.session'; // {mode: "dev"|"token", name?, token, at}
const ROOM_KEY = 'cardtable.room'; // {id, as: "player"|"spectator"}
const LOG_KEY = 'cardtable.log'; // {room, seq, lines}
const LAST_NAME_KEY = 'cardtable.lastName';
const DEV_TOKEN_REUSE_MS = 8 * 60 * 1000; // tokens live 10 minutes; renew well before
const LOBBY_POLL_MS = 4000;
const TOAST_MS = 4500;
const NOTIFICATION_KEEP = 5; // notifications shown at most; the oldest goes first
const NOTIFICATION_MS = 15000; // a notification that is not an invitation goes away after this
const LOG_KEEP = 30;

const $ = (id) => document.getElementById(id);

/** The protocol version this client speaks (docs/protocol.md); `auth` names it. In protocol 3
 * a state's table may be a patch of the last one: connection.js makes it whole (`wholeState`). */
const PROTOCOL = 3;

const model = {
  config: null,
  games: [], // the server's games: [{name, title, min, max, seats}] (config.json, welcome)
  view: 'loading',
  user: null,
  rooms: [],
  roomsPartial: false, // the last room_list holds this server's rooms only
  roomNames: {},
  state: null,
  leftRoom: null, // the room we left last: late changes from it are not drawn
  log: [],
  ui: {}, // the game renderer's own UI state (a suit picker, cards chosen), for this room
  status: { state: 'idle', transport: null, retryIn: null, moving: false },
  notifications: [], // notifications shown: [{id, kind, data}], oldest first
};

let connection = null;
/** The chat panel (js/chat.js), made at start-up. */
let chat = null;

// ---------------------------------------------------------------------------------------------
// Storage (sessionStorage: per tab, survives a reload)

function load(key, store = sessionStorage) {
  try {
    return JSON.parse(store.getItem(key) || 'null');
  } catch (err) {
    return null;
  }
}

function save(key, value, store = sessionStorage) {
  try {
    if (value == null) store.removeItem(key);
    else store.setItem(key, JSON.stringify(value));
  } catch (err) {
    // Private mode or full storage: the app still works, only a reload forgets more.
  }
}

// ---------------------------------------------------------------------------------------------
// Toasts: short messages that go away by themselves

function toast(text, kind = 'error') {
  const box = $('toasts');
  while (box.children.length >= 3) box.firstChild.remove();
  const el = document.createElement('div');
  el.className = `toast toast-${kind}`;
  el.setAttribute('data-testid', 'toast');
  el.setAttribute('data-kind', kind);
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const icon = document.createElement('span');
  icon.className = 'toast-icon';
  icon.setAttribute('aria-hidden', 'true');
  icon.textContent = kind === 'error' ? '⚠' : 'ℹ';
  const msg = document.createElement('span');
  msg.textContent = text;
  el.append(icon, msg);
  el.addEventListener('click', () => el.remove());
  box.appendChild(el);
  setTimeout(() => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 300);
  }, TOAST_MS);
}

// ---------------------------------------------------------------------------------------------
// Notifications: `notify` messages, kept until dismissed (invitations) or for NOTIFICATION_MS

let lastNotificationId = 0;

function addNotification(msg) {
  lastNotificationId += 1;
  const notification = { id: lastNotificationId, kind: msg.kind, data: msg.data };
  model.notifications = [...model.notifications, notification].slice(-NOTIFICATION_KEEP);
  drawNotifications();
  if (!(notification.kind === 'invite' && inviteOf(notification.data))) {
    setTimeout(() => dismissNotification(notification.id), NOTIFICATION_MS);
  }
}

function dismissNotification(id) {
  const before = model.notifications.length;
  model.notifications = model.notifications.filter((notification) => notification.id !== id);
  if (model.notifications.length !== before) drawNotifications();
}

function drawNotifications() {
  $('notifications').replaceChildren(
    ...model.notifications.map((notification) => renderNotification(notification, model.games)));
}

function errorText(err) {
  if (err && err.text) return err.text;
  if (err && err.message) return err.message;
  return 'Something went wrong.';
}

// ---------------------------------------------------------------------------------------------
// Views

function setView(view) {
  model.view = view;
  document.body.dataset.view = view;
  for (const name of ['loading', 'signin', 'signin-needed', 'lobby', 'table']) {
    $(`view-${name}`).hidden = name !== view;
  }
  $('who').hidden = !model.user;
  if (view === 'lobby') refreshHistory(model.user, model.games, true); // back from a game: news
  if (view === 'signin') {
    $('signin-name').value = $('signin-name').value || load(LAST_NAME_KEY, localStorage) || '';
  }
  draw();
}

function draw() {
  if (chat) chat.update(model);
  if (model.view === 'lobby') {
    $('rooms').replaceChildren(...[renderRoomListNote(model.roomsPartial),
      renderRoomList(model.rooms, model.games)].filter(Boolean));
    refreshHistory(model.user, model.games);
  } else if (model.view === 'table' && model.state) {
    drawTable();
  }
}

/** The renderer of the room's game (null while it loads). */
function currentRenderer() {
  return model.state ? rendererFor(model.state.table.game) : null;
}

/**
 * Redraw the table, keeping keyboard focus on the same control when it still exists (or on
 * `focusKey`, a `data-testid`). An open dialog of the game (a picker) takes the focus.
 */
function drawTable(focusKey = null) {
  const root = $('view-table');
  const active = document.activeElement;
  const key = focusKey || (root.contains(active) && active.dataset ? active.dataset.testid : null);
  const wasInHand = Boolean(key && active && active.closest && active.closest('[data-testid="hand"]'));
  root.replaceChildren(renderTable({
    state: model.state,
    log: model.log,
    ui: model.ui,
    roomName: model.roomNames[model.state.room],
    renderer: currentRenderer(),
    info: gameInfo(model.games, model.state.table.game),
  }));
  rovingHand(root, handStop);
  announceTable(root);
  linkGameOver(root, model.state, model.user);
  const dialog = root.querySelector('[role="dialog"]');
  if (dialog) {
    // Remember where the focus was, to return it there when the dialog closes.
    if (dialogReturn == null) dialogReturn = { key, wasInHand };
    if (!dialog.contains(document.activeElement)) {
      const first = dialog.querySelector('[data-autofocus]') || dialog.querySelector('button');
      if (first) first.focus();
    }
    return;
  }
  let back = null;
  if (dialogReturn) {
    back = dialogReturn;
    dialogReturn = null;
  }
  const focusTo = back && !focusKey ? back.key : key;
  const toHand = back && !focusKey ? true : wasInHand;
  if (!focusTo && !toHand) return;
  let target = focusTo ? root.querySelector(`[data-testid="${CSS.escape(focusTo)}"]`) : null;
  if (!target && toHand) {
    target = root.querySelector('[data-testid="hand"] button[tabindex="0"]')
      || root.querySelector('[data-testid="hand"] button');
  }
  if (target) target.focus({ preventScroll: true });
}

/** The card of the hand that holds its tab stop (its data-testid), and the focus to give back
 * when an open dialog closes ({key, wasInHand}). */
let handStop = null;
let dialogReturn = null;

/** Tell screen readers the turn and the newest events, through the page's lasting live regions. */
function announceTable(root) {
  const status = root.querySelector('[data-testid="turn-status"]');
  announce('announce-turn', status ? status.textContent : '');
  const last = model.log.length ? model.log[model.log.length - 1] : null;
  const newest = last ? model.log.filter((line) => line.seq === last.seq).map((line) => line.text) : [];
  announce('announce-log', newest.join('. '));
}

function setUser(user) {
  model.user = user;
  $('user-name').textContent = user ? user.name : '';
  $('who').hidden = !user;
  const roomName = $('create-name');
  if (user && !roomName.value) roomName.value = `${user.name}’s table`.slice(0, 40);
}

// ---------------------------------------------------------------------------------------------
// Sign-in and tokens

/** Take a main-site token from the URL fragment and remove it from the address bar at once. */
function takeFragmentToken() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (!token) return null;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return token;
}

async function devLogin(name) {
  const response = await fetch('dev/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok || !body || !body.token) {
    const text = body && body.error ? body.error : `Sign-in failed (HTTP ${response.status}).`;
    throw { code: 'signin_failed', text, status: response.status };
  }
  const session = { mode: 'dev', name: body.user.name, token: body.token, at: Date.now() };
  save(SESSION_KEY, session);
  return session;
}

/**
 * Keep the newest sign-in token the server gave (`welcome`, `token`, `redirect`) for the next
 * `auth`, in place of the one from the URL fragment or the dev login.
 */
function keepToken(token) {
  const session = load(SESSION_KEY);
  if (!session || typeof token !== 'string' || !token) return;
  save(SESSION_KEY, { ...session, token, at: Date.now() });
}

/** A token for the next `auth`: reused while fresh; in dev mode renewed by logging in again. */
async function currentToken({ renew = false } = {}) {
  const session = load(SESSION_KEY);
  if (!session) throw { code: 'signed_out', text: 'Not signed in.' };
  if (session.mode === 'dev') {
    if (!renew && session.token && Date.now() - session.at < DEV_TOKEN_REUSE_MS) return session.token;
    return (await devLogin(session.name)).token;
  }
  return session.token;
}

/** The value of a cookie of this page ('' when it has none). */
function cookieValue(name) {
  for (const part of document.cookie.split(';')) {
    const index = part.indexOf('=');
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch (err) {
      return value;
    }
  }
  return '';
}

/**
 * A fresh token from the main site (`site_url` in /config.json) for the user signed in there:
 * `POST <site_url>token` with the site's cookies, and its `_xsrf` cookie as `X-XSRFToken`
 * (Tornado's CSRF check). Null when there is no site, or it gives none (signed out, refused).
 */
async function siteToken() {
  const site = model.config && typeof model.config.site_url === 'string' ? model.config.site_url : '';
  if (!site) return null;
  try {
    const response = await fetch(`${site}token`, {
      method: 'POST',
      credentials: 'include',
      cache: 'no-store',
      headers: { 'X-XSRFToken': cookieValue('_xsrf') },
    });
    if (!response.ok) return null;
    const body = await response.json();
    return body && typeof body.token === 'string' && body.token ? body.token : null;
  } catch (err) {
    return null; // the site cannot be reached, or its answer is not JSON
  }
}

function needSignIn(text) {
  if (connection) connection.stop();
  connection = null;
  save(SESSION_KEY, null);
  setUser(null);
  model.notifications = [];
  drawNotifications();
  if (model.config && model.config.dev) {
    setView('signin');
    if (text) toast(text);
  } else {
    if (text) $('signin-needed-text').textContent = text;
    setView('signin-needed');
  }
}

async function onSigninSubmit(event) {
  event.preventDefault();
  const input = $('signin-name');
  const error = $('signin-error');
  const name = input.value.trim();
  error.hidden = true;
  if (!name) {
    error.textContent = 'Please enter a name.';
    error.hidden = false;
    input.focus();
    return;
  }
  const submit = event.target.querySelector('[type="submit"]');
  submit.disabled = true;
  try {
    await devLogin(name);
    save(LAST_NAME_KEY, name, localStorage);
    startConnection();
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
    input.focus();
  } finally {
    submit.disabled = false;
  }
}

function signOut() {
  if (connection) {
    if (model.state) connection.send({ msg: 'leave' });
    connection.stop();
  }
  connection = null;
  save(SESSION_KEY, null);
  save(ROOM_KEY, null);
  save(LOG_KEY, null);
  model.state = null;
  model.log = [];
  model.notifications = [];
  drawNotifications();
  setUser(null);
  if (model.config && model.config.dev) setView('signin');
  else needSignIn('You signed out. Open the game from the main site to sign in again.');
}

// ---------------------------------------------------------------------------------------------
// Connection: auth, then rejoin the room we were in

function startConnection() {
  if (connection) connection.stop();
  connection = new Connection({
    url: 'sockjs',
    transports: transportsFromQuery(window.location.search),
    onMessage: receive,
    onStatus: (status) => {
      model.status = status;
      document.body.dataset.conn = status.state;
      $('conn').replaceChildren(renderStatus(status));
    },
    onOpen: () => authenticate(),
    onRedirect: (redirect) => keepToken(redirect.token),
    onClose: ({ reason, wasOpen }) => {
      if (wasOpen && reason && !/^(dropped|Normal closure|Go away!)$/i.test(reason)) {
        toast(`Connection closed: ${reason}`);
      }
    },
  });
  if (model.view === 'signin' || model.view === 'loading') setView('loading');
  connection.start();
}

async function authenticate(retried = false) {
  const conn = connection;
  let token;
  try {
    token = await currentToken({ renew: retried });
  } catch (err) {
    if (err.code === 'signed_out') return needSignIn(null);
    toast(errorText(err));
    if (conn === connection) conn.drop();
    return undefined;
  }
  if (conn !== connection) return undefined;
  let welcome;
  try {
    welcome = await conn.request({ msg: 'auth', protocol: PROTOCOL, token });
  } catch (err) {
    if (err.code === 'invalid_token') {
      const session = load(SESSION_KEY);
      if (session && session.mode === 'dev' && !retried) return authenticate(true);
      if (!retried && !(session && session.mode === 'dev')) {
        // The token expired while the page was closed: the main site may give a fresh one.
        const fresh = await siteToken();
        if (conn !== connection) return undefined;
        if (fresh) {
          save(SESSION_KEY, { mode: 'token', token: fresh, at: Date.now() });
          return authenticate(true);
        }
      }
      return needSignIn('Your sign-in has expired. Open the game from the main site again.');
    }
    if (err.code === 'already_authenticated') return undefined;
    if (err.code !== 'offline') toast(errorText(err));
    return undefined;
  }
  setUser(welcome.user);
  if (Array.isArray(welcome.games) && welcome.games.length) setGames(welcome.games);
  conn.markHealthy();
  // Moved here by a redirect: the request that was redirected is sent again (its caller
  // waits for the reply), not a rejoin.
  if (conn.resume()) return undefined;
  const linked = pendingRoom(); // opened with a room's link (#room=<id>)
  if (linked) {
    try {
      await openRoom((message) => conn.requestFollowing(message), linked);
      return undefined;
    } catch (err) {
      if (QUIET_ERRORS.has(err.code)) return undefined;
      toast(`Could not open the room: ${errorText(err)}`);
    }
  }
  const room = load(ROOM_KEY);
  if (room && room.id) {
    try {
      await conn.requestFollowing({ msg: 'join', room: room.id, as: room.as || 'player' });
      return undefined;
    } catch (err) {
      if (QUIET_ERRORS.has(err.code)) return undefined;
      forgetRoom();
      toast(`Could not return to the room: ${errorText(err)}`);
    }
  }
  if (model.view !== 'lobby') setView('lobby');
  return undefined;
}

/**
 * Errors of a request that need no word to the player: the connection is lost (the request
 * goes again after the reconnection), or was closed, or a newer redirect is being followed.
 */
const QUIET_ERRORS = new Set(['offline', 'closed', 'superseded']);

/**
 * A `redirect` nobody asked for: the room we are in moved to another server (ours is draining,
 * or another took the room over). Join it there, as we were (player or spectator).
 */
function followMovedRoom(redirect) {
  const conn = connection;
  // With an `re` it answers a request that timed out: nobody waits for it any more.
  if (!conn || redirect.re != null) return;
  const stored = load(ROOM_KEY);
  const room = redirect.room || (stored && stored.id);
  const as = (stored && stored.id === room && stored.as) || 'player';
  const join = room ? { msg: 'join', room, as } : null;
  conn.follow(redirect, join).catch((err) => {
    if (QUIET_ERRORS.has(err.code) || conn !== connection) return;
    forgetRoom();
    setView('lobby');
    requestRooms();
    toast(`Could not return to the room: ${errorText(err)}`);
  });
}

function forgetRoom() {
  save(ROOM_KEY, null);
  save(LOG_KEY, null);
  model.state = null;
  model.log = [];
  model.ui = {};
}

// ---------------------------------------------------------------------------------------------
// Messages from the server

// Messages are handled one at a time, in order: a `state` of a game whose renderer is not
// loaded yet waits for it (a dynamic import), and every message after it waits too.
let inbox = Promise.resolve();

function receive(msg) {
  inbox = inbox.then(() => handleMessage(msg)).catch((err) => {
    // eslint-disable-next-line no-console
    console.error('could not handle', msg, err);
  });
}

async function handleMessage(msg) {
  if (msg.msg === 'state' && msg.table && !rendererFor(msg.table.game)) {
    await loadRenderer(msg.table.game);
  }
  switch (msg.msg) {
    case 'welcome':
      setUser(msg.user);
      if (Array.isArray(msg.games) && msg.games.length) setGames(msg.games);
      keepToken(msg.token);
      break;
    case 'token':
      keepToken(msg.token);
      break;
    case 'notify':
      addNotification(msg);
      break;
    case 'redirect':
      followMovedRoom(msg);
      break;
    case 'room_list':
      model.rooms = msg.rooms || [];
      model.roomsPartial = msg.partial === true;
      for (const room of model.rooms) model.roomNames[room.id] = room.name;
      if (model.view === 'lobby') draw();
      break;
    case 'state':
      handleState(msg);
      break;
    case 'left':
      model.leftRoom = msg.room;
      if (!model.state || msg.room === model.state.room) {
        forgetRoom();
        setView('lobby');
        requestRooms();
      }
      break;
    case 'error':
      toast(errorText(msg));
      break;
    case 'chat':
      if (chat) chat.receive(msg);
      break;
    default:
      break;
  }
}

function handleState(msg) {
  // A room we just left may still have sent a change or two before our `leave` arrived.
  if (msg.room === model.leftRoom) {
    if (msg.re == null) return;
    model.leftRoom = null; // we joined it again
  }
  const previous = model.state && model.state.room === msg.room ? model.state : null;
  if (previous && msg.seq < previous.seq) return; // an older view: never go back
  if (!previous) {
    const stored = load(LOG_KEY);
    model.log = stored && stored.room === msg.room ? stored.lines : [];
    model.logSeq = stored && stored.room === msg.room ? stored.seq : -1;
  }
  const renderer = rendererFor(msg.table.game);
  if (msg.event && msg.seq > (model.logSeq ?? -1)) {
    for (const text of describeEvent(msg.event, msg.table, previous && previous.table, renderer)) {
      model.log.push({ seq: msg.seq, text });
    }
    model.log = model.log.slice(-LOG_KEEP);
    model.logSeq = msg.seq;
    save(LOG_KEY, { room: msg.room, seq: msg.seq, lines: model.log });
  }
  if (!previous) model.ui = {};
  model.state = msg;
  const table = msg.table;
  // The turn clock's countdown reads the server's time: how far ours is from it.
  if (table.clock) model.clockOffset = table.clock.now - Date.now() / 1000;
  save(ROOM_KEY, { id: msg.room, as: table.you == null ? 'spectator' : 'player' });
  if (renderer && typeof renderer.reconcileUi === 'function') {
    model.ui = table.game_state == null ? {}
      : renderer.reconcileUi(model.ui, table.game_state, tableContext(msg, { ui: model.ui, info: gameInfo(model.games, table.game) })) || {};
  }
  // A card's move is animated from where it was in the drawing before this one.
  const motion = model.view === 'table' && previous ? planMotion($('view-table'), renderer, msg,
    tableContext(msg, { ui: model.ui, info: gameInfo(model.games, table.game) })) : null;
  if (model.view !== 'table') setView('table');
  else draw();
  playMotion($('view-table'), motion);
  cueTurn(previous, msg);
}

function requestRooms() {
  if (connection && connection.connected && model.user) connection.send({ msg: 'room_list' });
}

// ---------------------------------------------------------------------------------------------
// User actions

/** Send a message for which any error arrives as a toast (see handleMessage). */
function act(message) {
  if (!connection || connection.send(message) == null) {
    toast('Not connected to the server; reconnecting…');
    return false;
  }
  return true;
}

/**
 * Send a request and wait for its reply, following a redirect to another server (a `join` of a
 * room hosted there, a `create` placed there). An error arrives as a toast; returns null then.
 */
async function ask(message) {
  if (!connection) return null;
  try {
    return await connection.requestFollowing(message);
  } catch (err) {
    if (err.code !== 'superseded' && err.code !== 'closed') toast(errorText(err));
    return null;
  }
}

/** A click on a `data-action` button: the room's own actions, else the game renderer's. */
function onAction(button) {
  const action = button.dataset.action;
  switch (action) {
    case 'signout':
      signOut();
      break;
    case 'refresh':
      requestRooms();
      break;
    case 'join':
    case 'watch':
      ask({ msg: 'join', room: button.dataset.room, as: action === 'join' ? 'player' : 'spectator' });
      break;
    case 'notification-join':
      dismissNotification(Number(button.dataset.notification));
      ask({ msg: 'join', room: button.dataset.room, as: 'player' });
      break;
    case 'notification-dismiss':
      dismissNotification(Number(button.dataset.notification));
      break;
    case 'add_bot':
      act({ msg: 'add_bot' });
      break;
    case 'quick_play':
      ask({ msg: 'quick_play', game: $('create-game').value });
      break;
    case 'start':
      act({ msg: 'start' });
      break;
    case 'rematch':
      act({ msg: 'rematch' });
      break;
    case 'leave':
      if (act({ msg: 'leave' }) && model.state) model.leftRoom = model.state.room;
      break;
    case 'toggle-sound':
      setSound(!soundOn(), button);
      break;
    case 'copy-link':
      copyText(button.dataset.link).then((ok) => toast(ok ? 'Link copied.' : `Copy this link: ${button.dataset.link}`, 'info'));
      break;
    default:
      if (model.view === 'table' && model.state && button.closest('#view-table')) {
        gameAction(action, { ...button.dataset });
      }
      break;
  }
}

/**
 * Hand a game action to the room's renderer. It answers with what to do: `move` (a payload to
 * send as `{msg: "move", move}`), `ui` (its new UI state, drawn at once) and `focus` (the
 * `data-testid` to focus after the redraw), or null for nothing.
 */
function gameAction(action, dataset) {
  const renderer = currentRenderer();
  if (!renderer || typeof renderer.handleAction !== 'function') return false;
  const ctx = tableContext(model.state, { ui: model.ui, info: gameInfo(model.games, model.state.table.game) });
  const answer = renderer.handleAction(action, dataset, ctx);
  if (!answer) return false;
  if (answer.ui) model.ui = answer.ui;
  if (answer.move) act({ msg: 'move', move: answer.move });
  if (answer.ui || answer.focus) drawTable(answer.focus || null);
  return true;
}

async function onCreateSubmit(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.elements.name.value.trim();
  if (!name) {
    toast('Give the room a name.');
    form.elements.name.focus();
    return;
  }
  const submit = form.querySelector('[type="submit"]');
  submit.disabled = true;
  try {
    const create = {
      msg: 'create',
      game: form.elements.game.value,
      name,
      seats: Number(form.elements.seats.value),
    };
    // Room options (docs/protocol.md: turn clocks, spectators, chat); defaults are left out.
    const clock = form.elements.clock.value;
    if (clock) {
      const [move, bank] = clock.split(',').map(Number);
      create.clock = { move, bank };
    }
    if (form.elements.spectators.value !== 'public') create.spectators = form.elements.spectators.value;
    if (form.elements.spectator_chat.checked) create.spectator_chat = true;
    const reply = await ask(create);
    if (reply && reply.room) {
      model.roomNames[reply.room] = name;
      if (model.view === 'table') draw();
    }
  } finally {
    submit.disabled = false;
  }
}

/** The games the server runs: fill the create form (game list, seat counts, rules). */
function setGames(games) {
  model.games = games;
  const select = $('create-game');
  const current = select.value;
  select.replaceChildren(...renderGameOptions(games,
    games.some((g) => g.name === current) ? current : games[0] && games[0].name));
  onGameChosen();
  if (model.view === 'lobby') draw();
  if (model.notifications.length) drawNotifications(); // game titles in invitations
}

/** A game was chosen in the create form: offer its seat counts and show its rules. */
function onGameChosen() {
  const name = $('create-game').value;
  const info = gameInfo(model.games, name);
  const seats = $('create-seats');
  const previous = Number(seats.value);
  seats.replaceChildren(...renderSeatOptions(info, seats.dataset.game === name ? previous : info.seats));
  seats.dataset.game = name;
  const hint = $('create-rules');
  loadRenderer(name).then((renderer) => {
    if ($('create-game').value !== name) return;
    hint.replaceChildren(...[].concat(renderRules(renderer.rules) || []));
  });
}

/** Arrow keys move between the cards of the hand; Escape goes to the game (closes a picker). */
function onKeydown(event) {
  if (event.key === 'Escape' && model.view === 'table' && model.state) {
    if (gameAction('escape', {})) event.preventDefault();
    return;
  }
  // A dialog keeps the focus; in the hand, arrow keys move between the cards (one tab stop).
  if (trapFocus(event, $('view-table')) || moveInHand(event)) event.preventDefault();
}

// ---------------------------------------------------------------------------------------------
// Start-up

async function loadConfig() {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await fetch('config.json', { cache: 'no-store' });
      if (response.ok) return await response.json();
    } catch (err) {
      // The server may be restarting; try again below.
    }
    if (attempt === 0) toast('Cannot reach the game server; retrying…');
    await new Promise((resolve) => setTimeout(resolve, Math.min(10000, 500 * 2 ** attempt)));
  }
}

async function main() {
  takeRoomLink(); // before the token: both may be in the fragment
  const fragmentToken = takeFragmentToken();
  window.addEventListener('hashchange', () => {
    // A room's link opened in this tab while it runs: open that room now.
    if (!takeRoomLink() || !connection || !model.user) return;
    const room = pendingRoom();
    if (room && !(model.state && model.state.room === room)) {
      openRoom((message) => connection.requestFollowing(message), room)
        .catch((err) => { if (!QUIET_ERRORS.has(err.code)) toast(`Could not open the room: ${errorText(err)}`); });
    }
  });
  document.addEventListener('click', (event) => {
    const button = event.target.closest('[data-action]');
    if (button && !button.disabled) onAction(button);
  });
  document.addEventListener('keydown', onKeydown);
  document.addEventListener('focusin', (event) => {
    const card = event.target instanceof HTMLElement && event.target.closest('[data-testid="hand"] button');
    if (card) handStop = card.dataset.testid;
  });
  $('signin-form').addEventListener('submit', onSigninSubmit);
  $('create-form').addEventListener('submit', onCreateSubmit);
  $('create-game').addEventListener('change', onGameChosen);
  $('conn').replaceChildren(renderStatus(model.status));
  chat = new ChatPanel($('chat'), {
    send: (message) => (connection ? connection.request(message)
      : Promise.reject({ text: 'Not connected to the server.' })),
  });
  drawSoundToggle($('sound-toggle'));
  setInterval(() => {
    if (model.view === 'lobby' && !document.hidden) requestRooms();
  }, LOBBY_POLL_MS);
  setInterval(() => tickClocks(Date.now() / 1000 + (model.clockOffset || 0)), 500);

  model.config = await loadConfig();
  document.body.dataset.dev = model.config.dev ? 'true' : 'false';
  if (Array.isArray(model.config.games)) setGames(model.config.games);
  watchReplayLinks(() => model.games); // #game=<id>: a finished game's replay, signed in or not
  if (fragmentToken) {
    save(SESSION_KEY, { mode: 'token', token: fragmentToken, at: Date.now() });
  }
  const session = load(SESSION_KEY);
  if (session && (session.mode === 'token' || model.config.dev)) {
    startConnection();
  } else if (model.config.dev) {
    setView('signin');
    $('signin-name').focus();
  } else {
    setView('signin-needed');
  }
}

main();
