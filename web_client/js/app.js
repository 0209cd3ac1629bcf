/**
 * The browser client's wiring: sign-in, the connection, the lobby and the table.
 *
 * The app keeps one small model (who we are, the last `room_list`, the last `state`, the event
 * log, the open suit picker) and redraws from it; rendering lives in render.js and is a pure
 * function of that model, so a resync after a reconnection is just a redraw. User actions are
 * buttons with a `data-action`, handled here by one listener at the document root.
 *
 * Sign-in: with the server's --dev mode, a name posted to /dev/login gives a token; otherwise
 * the main site hands over a token in the URL fragment (#token=...), which is removed from the
 * address bar at once. Tokens live 10 minutes, so on each reconnection the dev client logs in
 * again by name, and a main-site token is reused until the server refuses it.
 */

import { Connection, transportsFromQuery } from './connection.js';
import { renderRoomList, renderStatus, renderTable } from './render.js';
import { describeEvent } from './log.js';
import { parseCard } from './cards.js';

const SESSION_KEY = 'cardtable.session'; // {mode: "dev"|"token", name?, token, at}
const ROOM_KEY = 'cardtable.room'; // {id, as: "player"|"spectator"}
const LOG_KEY = 'cardtable.log'; // {room, seq, lines}
const LAST_NAME_KEY = 'cardtable.lastName';
const DEV_TOKEN_REUSE_MS = 8 * 60 * 1000; // tokens live 10 minutes; renew well before
const LOBBY_POLL_MS = 4000;
const TOAST_MS = 4500;
const LOG_KEEP = 30;

const $ = (id) => document.getElementById(id);

const model = {
  config: null,
  view: 'loading',
  user: null,
  rooms: [],
  roomNames: {},
  state: null,
  leftRoom: null, // the room we left last: late changes from it are not drawn
  log: [],
  picker: null,
  status: { state: 'idle', transport: null, retryIn: null },
};

let connection = null;

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
  if (view === 'signin') {
    $('signin-name').value = $('signin-name').value || load(LAST_NAME_KEY, localStorage) || '';
  }
  draw();
}

function draw() {
  if (model.view === 'lobby') {
    $('rooms').replaceChildren(renderRoomList(model.rooms));
  } else if (model.view === 'table' && model.state) {
    drawTable();
  }
}

/** Redraw the table, keeping keyboard focus on the same control when it still exists. */
function drawTable() {
  const root = $('view-table');
  const active = document.activeElement;
  const focusKey = root.contains(active) && active.dataset ? active.dataset.testid : null;
  const wasInHand = focusKey && focusKey.startsWith('card-');
  root.replaceChildren(renderTable({
    state: model.state,
    log: model.log,
    picker: model.picker,
    roomName: model.roomNames[model.state.room],
  }));
  if (model.picker) {
    const first = root.querySelector('[data-action="choose-suit"]');
    if (first && !root.querySelector('.suit-picker').contains(document.activeElement)) first.focus();
    return;
  }
  if (!focusKey) return;
  let target = root.querySelector(`[data-testid="${CSS.escape(focusKey)}"]`);
  if (!target && wasInHand) {
    target = root.querySelector('[data-testid="hand"] [data-playable="true"]')
      || root.querySelector('[data-testid="hand"] button')
      || root.querySelector('[data-testid="deck"]');
  }
  if (target) target.focus({ preventScroll: true });
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

function needSignIn(text) {
  if (connection) connection.stop();
  connection = null;
  save(SESSION_KEY, null);
  setUser(null);
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
    onMessage: handleMessage,
    onStatus: (status) => {
      model.status = status;
      document.body.dataset.conn = status.state;
      $('conn').replaceChildren(renderStatus(status));
    },
    onOpen: () => authenticate(),
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
    welcome = await conn.request({ msg: 'auth', token });
  } catch (err) {
    if (err.code === 'invalid_token') {
      const session = load(SESSION_KEY);
      if (session && session.mode === 'dev' && !retried) return authenticate(true);
      return needSignIn('Your sign-in has expired. Open the game from the main site again.');
    }
    if (err.code === 'already_authenticated') return undefined;
    if (err.code !== 'offline') toast(errorText(err));
    return undefined;
  }
  setUser(welcome.user);
  conn.markHealthy();
  const room = load(ROOM_KEY);
  if (room && room.id) {
    try {
      await conn.request({ msg: 'join', room: room.id, as: room.as || 'player' });
      return undefined;
    } catch (err) {
      if (err.code === 'offline') return undefined;
      forgetRoom();
      toast(`Could not return to the room: ${errorText(err)}`);
    }
  }
  if (model.view !== 'lobby') setView('lobby');
  return undefined;
}

function forgetRoom() {
  save(ROOM_KEY, null);
  save(LOG_KEY, null);
  model.state = null;
  model.log = [];
  model.picker = null;
}

// ---------------------------------------------------------------------------------------------
// Messages from the server

function handleMessage(msg) {
  switch (msg.msg) {
    case 'welcome':
      setUser(msg.user);
      break;
    case 'room_list':
      model.rooms = msg.rooms || [];
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
  if (msg.event && msg.seq > (model.logSeq ?? -1)) {
    for (const text of describeEvent(msg.event, msg.table, previous && previous.table)) {
      model.log.push({ seq: msg.seq, text });
    }
    model.log = model.log.slice(-LOG_KEEP);
    model.logSeq = msg.seq;
    save(LOG_KEY, { room: msg.room, seq: msg.seq, lines: model.log });
  }
  model.state = msg;
  const table = msg.table;
  save(ROOM_KEY, { id: msg.room, as: table.you == null ? 'spectator' : 'player' });
  if (model.picker) {
    const stillMine = table.status === 'playing' && table.turn === table.you
      && (table.hand || []).includes(model.picker);
    if (!stillMine) model.picker = null;
  }
  if (model.view !== 'table') setView('table');
  else draw();
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

async function ask(message) {
  if (!connection) return null;
  try {
    return await connection.request(message);
  } catch (err) {
    toast(errorText(err));
    return null;
  }
}

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
    case 'put': {
      const card = button.dataset.card;
      const parsed = parseCard(card);
      if (parsed && parsed.rank === '8' && button.dataset.playable === 'true') {
        model.picker = card;
        drawTable();
      } else {
        act({ msg: 'put', card });
      }
      break;
    }
    case 'choose-suit':
      model.picker = null;
      act({ msg: 'put', card: button.dataset.card, suit: button.dataset.suit });
      drawTable();
      break;
    case 'cancel-suit':
      closePicker();
      break;
    case 'take':
      act({ msg: 'take', from: 'deck' });
      break;
    case 'add_bot':
      act({ msg: 'add_bot' });
      break;
    case 'start':
      act({ msg: 'start' });
      break;
    case 'leave':
      if (act({ msg: 'leave' }) && model.state) model.leftRoom = model.state.room;
      break;
    default:
      break;
  }
}

function closePicker() {
  const card = model.picker;
  model.picker = null;
  drawTable();
  const button = card && document.querySelector(`[data-testid="card-${card}"]`);
  if (button) button.focus();
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
    const reply = await ask({
      msg: 'create',
      game: form.elements.game.value,
      name,
      seats: Number(form.elements.seats.value),
    });
    if (reply && reply.room) {
      model.roomNames[reply.room] = name;
      if (model.view === 'table') draw();
    }
  } finally {
    submit.disabled = false;
  }
}

/** Arrow keys move between the cards of the hand; Escape closes the suit picker. */
function onKeydown(event) {
  if (event.key === 'Escape' && model.picker) {
    event.preventDefault();
    closePicker();
    return;
  }
  const target = event.target;
  if (!(target instanceof HTMLElement) || !target.closest('[data-testid="hand"]')) return;
  if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
  const cards = [...target.closest('[data-testid="hand"]').querySelectorAll('button')];
  const index = cards.indexOf(target);
  const next = cards[index + (event.key === 'ArrowRight' ? 1 : -1)];
  if (next) {
    event.preventDefault();
    next.focus();
  }
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
  const fragmentToken = takeFragmentToken();
  document.addEventListener('click', (event) => {
    const button = event.target.closest('[data-action]');
    if (button && !button.disabled) onAction(button);
  });
  document.addEventListener('keydown', onKeydown);
  $('signin-form').addEventListener('submit', onSigninSubmit);
  $('create-form').addEventListener('submit', onCreateSubmit);
  $('conn').replaceChildren(renderStatus(model.status));
  setInterval(() => {
    if (model.view === 'lobby' && !document.hidden) requestRooms();
  }, LOBBY_POLL_MS);

  model.config = await loadConfig();
  document.body.dataset.dev = model.config.dev ? 'true' : 'false';
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
