/**
 * Rendering shared by every game: pure functions from the last `room_list` / `state` message
 * (plus the event log and the renderer's own UI state) to DOM nodes. They keep no state and
 * attach no handlers: buttons carry a `data-action` that the app handles at the root. A resync
 * after a reconnection is just a redraw.
 *
 * The frame of a table is drawn here: its head, the felt with the seats around it, whose turn
 * it is (`table.to_act`), the buttons, the rules, the log, the end of a game (`table.result`).
 * What is inside the game (`table.game_state`) is drawn by the game's renderer
 * (`games/<name>.js`, see README.md): this module never reads a game's own fields.
 *
 * Every element a test needs has a stable `data-testid`; colour is never the only signal (the
 * turn, bots, disconnected seats and dimmed cards also have text or an icon and ARIA state).
 */

import { h } from './dom.js';
import { cardBack } from './cards.js';
import { seatName, verb } from './log.js';

const STATUS_LABELS = { waiting: 'Waiting', playing: 'Playing', finished: 'Finished' };
const STATUS_ICONS = { waiting: '◔', playing: '▶', finished: '✔' };

/** The catalogue entry of game `name` ({name, title, min, max, seats}), or a stand-in. */
export function gameInfo(games, name) {
  const found = (games || []).find((game) => game.name === name);
  return found || { name, title: String(name || 'Game').replace(/_/g, ' '), min: 1, max: 10, seats: 2 };
}

// ---------------------------------------------------------------------------------------------
// Connection status

const CONNECTION_LABELS = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};
const CONNECTION_ICONS = { idle: '○', connecting: '◌', connected: '●', reconnecting: '↻', offline: '✕' };

/**
 * The always-visible connection indicator: state in words and icon, plus the transport. While a
 * redirect is followed (`status.moving`) it says "Moving to the table…" instead.
 */
export function renderStatus(status) {
  const state = status.state;
  if (status.moving) {
    return h('span', {
      class: ['conn', 'conn-moving'],
      'data-testid': 'conn-status',
      'data-state': state,
      'data-moving': 'true',
      'data-transport': '',
      title: 'Connecting to the game server that hosts the room',
    },
    h('span', { class: 'conn-icon', 'aria-hidden': 'true' }, '➜'),
    h('span', { class: 'conn-label' }, 'Moving to the table…'));
  }
  let detail = null;
  if (state === 'connected' && status.transport) {
    detail = h('span', { class: 'conn-transport', 'data-testid': 'conn-transport' }, status.transport);
  } else if (status.retryIn != null) {
    detail = h('span', { class: 'conn-retry' }, `retry in ${Math.max(1, Math.round(status.retryIn / 1000))} s`);
  }
  return h('span', {
    class: ['conn', `conn-${state}`],
    'data-testid': 'conn-status',
    'data-state': state,
    'data-transport': status.transport || '',
    title: 'Connection to the game server',
  },
  h('span', { class: 'conn-icon', 'aria-hidden': 'true' }, CONNECTION_ICONS[state] || '?'),
  h('span', { class: 'conn-label' }, CONNECTION_LABELS[state] || state),
  detail);
}

// ---------------------------------------------------------------------------------------------
// Lobby

/** The lobby's room list, from the last `room_list` message; `games` is the catalogue. */
/**
 * A note above the room list when the last `room_list` was `partial` (the other game servers
 * could not be reached), else null.
 */
export function renderRoomListNote(partial) {
  if (!partial) return null;
  return h('p', { class: 'rooms-note', 'data-testid': 'rooms-partial', role: 'note' },
    h('span', { 'aria-hidden': 'true' }, 'ⓘ '), "Showing this server's rooms only");
}

export function renderRoomList(rooms, games = []) {
  if (!rooms || rooms.length === 0) {
    return h('p', { class: 'empty', 'data-testid': 'no-rooms' }, 'No rooms yet. Create one!');
  }
  const order = { waiting: 0, playing: 1, finished: 2 };
  const sorted = [...rooms].sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3)
    || String(a.name).localeCompare(String(b.name)));
  return h('ul', { class: 'room-list', 'data-testid': 'room-list' },
    sorted.map((room) => {
      const full = room.players >= room.seats;
      const canJoin = room.status === 'waiting' && !full;
      return h('li', {
        class: ['room', `room-${room.status}`],
        'data-testid': `room-${room.id}`,
        'data-room': room.id,
        'data-status': room.status,
        'data-game': room.game,
      },
      h('div', { class: 'room-main' },
        h('span', { class: 'room-name', 'data-testid': 'room-name' }, room.name),
        h('span', { class: 'room-game' },
          h('span', { 'data-testid': 'room-game' }, gameInfo(games, room.game).title),
          // Two rooms may share a name: the owner tells them apart.
          room.owner_name ? h('span', { class: 'room-owner', 'data-testid': 'room-owner' },
            ` · by ${room.owner_name}`) : null)),
      h('div', { class: 'room-facts' },
        h('span', { class: ['badge', `badge-${room.status}`], 'data-testid': 'room-status' },
          h('span', { 'aria-hidden': 'true' }, `${STATUS_ICONS[room.status] || ''} `),
          STATUS_LABELS[room.status] || room.status),
        h('span', { class: 'room-players', 'data-testid': 'room-players' },
          `${room.players}/${room.seats} players`),
        room.spectators
          ? h('span', { class: 'room-spectators' }, `${room.spectators} watching`)
          : null),
      h('div', { class: 'room-actions' },
        h('button', {
          type: 'button',
          class: 'btn btn-primary',
          'data-action': 'join',
          'data-room': room.id,
          'data-testid': 'join',
          disabled: !canJoin,
          'aria-label': `Join ${room.name}`,
          title: canJoin ? null : full ? 'Every seat is taken' : 'The game has started',
        }, 'Join'),
        h('button', {
          type: 'button',
          class: 'btn',
          'data-action': 'watch',
          'data-room': room.id,
          'data-testid': 'watch',
          'aria-label': `Watch ${room.name}`,
        }, 'Watch')));
    }));
}

/** The `<option>`s of the create form's game list. */
export function renderGameOptions(games, selected) {
  return (games || []).map((game) => h('option', {
    value: game.name, selected: game.name === selected,
  }, game.title));
}

/** The `<option>`s of the create form's seat list: the game's min..max, its usual size chosen. */
export function renderSeatOptions(info, selected) {
  const options = [];
  const chosen = selected >= info.min && selected <= info.max ? selected : info.seats;
  for (let n = info.min; n <= info.max; n += 1) {
    options.push(h('option', { value: String(n), selected: n === chosen }, `${n} players`));
  }
  return options;
}

/** A game's rules (a string, or an array of short points) as nodes. */
export function renderRules(rules) {
  if (!rules) return null;
  if (Array.isArray(rules)) {
    return h('ul', { class: 'rules-list' }, rules.map((line) => h('li', null, line)));
  }
  return String(rules).split(/\n\s*\n/).map((para) => h('p', null, para.trim()));
}

// ---------------------------------------------------------------------------------------------
// Notifications (`notify` messages)

const ROOM_ID = /^[A-Za-z0-9_-]{6,32}$/;

/**
 * The invitation in an `invite` notification's data ({room, game, from: {id, name}}), or null
 * when the data is not one (it is then shown like any other kind).
 */
export function inviteOf(data) {
  if (!data || typeof data !== 'object') return null;
  const { room, game, from } = data;
  if (typeof room !== 'string' || !ROOM_ID.test(room)) return null;
  if (typeof game !== 'string' || !game) return null;
  if (!from || typeof from !== 'object' || typeof from.name !== 'string' || !from.name.trim()) return null;
  return { room, game, from: { id: from.id, name: from.name } };
}

/**
 * One notification, {id, kind, data}, as a card of the stack: an invitation says who invites
 * you to which game, with Join and Dismiss; any other kind shows `data.text` when it is a string,
 * else only its kind. Everything from the notification goes in as text, never as markup.
 */
export function renderNotification(notification, games = []) {
  const invite = notification.kind === 'invite' ? inviteOf(notification.data) : null;
  const data = notification.data;
  const title = invite ? gameInfo(games, invite.game).title : null;
  let body = null;
  if (invite) {
    body = `${invite.from.name} invites you to ${title}`;
  } else if (data && typeof data === 'object' && typeof data.text === 'string' && data.text) {
    body = data.text;
  }
  const dismiss = h('button', {
    type: 'button',
    class: 'btn btn-small',
    'data-action': 'notification-dismiss',
    'data-notification': notification.id,
    'data-testid': 'notification-dismiss',
  }, 'Dismiss');
  return h('section', {
    class: ['notification', `notification-${invite ? 'invite' : 'other'}`],
    'data-testid': 'notification',
    'data-kind': notification.kind,
    'data-notification': notification.id,
    'aria-label': invite ? 'Invitation' : 'Notification',
  },
  h('p', { class: 'notification-kind', 'data-testid': 'notification-kind' },
    h('span', { 'aria-hidden': 'true' }, invite ? '✉ ' : 'ℹ '), invite ? 'Invitation' : notification.kind),
  body != null ? h('p', { class: 'notification-text', 'data-testid': 'notification-text' }, body) : null,
  h('div', { class: 'notification-actions' },
    invite ? h('button', {
      type: 'button',
      class: 'btn btn-primary btn-small',
      'data-action': 'notification-join',
      'data-notification': notification.id,
      'data-room': invite.room,
      'data-testid': 'notification-join',
      'aria-label': `Join ${invite.from.name}'s ${title} room`,
    }, 'Join') : null,
    dismiss));
}

// ---------------------------------------------------------------------------------------------
// The context a renderer draws with

/**
 * Where a seat sits around the oval, relative to the viewer (at the bottom; others clockwise,
 * so the next seat is on the viewer's left). Returns the unit direction {dx, dy} from the
 * centre (dy > 0 is down).
 */
export function seatDirection(seat, count, base) {
  const rel = (seat - base + count) % count;
  const angle = Math.PI / 2 + (rel * 2 * Math.PI) / count;
  return { dx: Math.cos(angle), dy: Math.sin(angle), rel };
}

/**
 * A turn clock's text at server time `now`: the seconds left for the move and the bank
 * behind them, then the bank running down (table.clock, docs/protocol.md "Turn clocks").
 */
export function clockText(deadline, bank, now) {
  const left = deadline - now;
  if (left >= 0) return `⏱ ${Math.ceil(left)} s${bank > 0 ? ` + ${Math.ceil(bank)}` : ''}`;
  return `⏱ bank ${Math.max(0, Math.ceil(bank + left))} s`;
}

/**
 * Count the turn clocks drawn by renderSeat down to `now` (server time: the page's clock
 * plus the offset seen in the last state), without drawing the table again.
 */
export function tickClocks(now, root = document) {
  for (const mark of root.querySelectorAll('[data-testid="clock"]')) {
    mark.textContent = clockText(Number(mark.dataset.deadline), Number(mark.dataset.bank), now);
  }
}

/**
 * The seats drawn around the table: while a game runs, only the taken ones, so a room started
 * with fewer players than seats draws no empty seat; between games (waiting, or after a game,
 * when the next deal may seat someone new) every seat.
 */
export function drawnSeats(table) {
  const seats = table.seats || [];
  return seats.map((entry, i) => i).filter((i) => table.status !== 'playing' || seats[i]);
}

/** seatDirection for a seat among the drawn ones (`drawnSeats`). */
export function seatPlace(table, seat) {
  const drawn = drawnSeats(table);
  const at = Math.max(0, drawn.indexOf(seat));
  const base = table.you != null ? Math.max(0, drawn.indexOf(table.you)) : 0;
  return seatDirection(at, drawn.length || 1, base);
}

/**
 * What a renderer gets besides the game's view: the room's table view and helpers that map
 * game players (the numbers inside `game_state`) to seats and names.
 *
 * @param {object} state the last `state` message
 * @param {object} options {ui: the renderer's own UI state, info: the game's catalogue entry}
 */
export function tableContext(state, { ui = {}, info = null } = {}) {
  const table = state.table;
  const players = table.players || [];
  const toAct = table.to_act || [];
  const you = table.you;
  const me = you != null && players.includes(you) ? players.indexOf(you) : null;
  const count = (table.seats || []).length || 1;
  return {
    room: state.room,
    seq: state.seq,
    table,
    status: table.status,
    info: info || { name: table.game, title: table.game, min: 1, max: 10, seats: count },
    you,
    me,
    players,
    ui: ui || {},
    /** The seat of game player `p` (undefined if none). */
    seatOf: (p) => players[p],
    /** The game player of room seat `seat`, or null. */
    playerOf: (seat) => (players.includes(seat) ? players.indexOf(seat) : null),
    /** "You" for the viewer, else the player's name. */
    name: (p) => seatName(players[p], table, null),
    verb,
    /** True if game player `p` may move now. */
    canAct: (p) => toAct.includes(players[p]),
    /** True if the viewer may move now. */
    myTurn: table.status === 'playing' && you != null && toAct.includes(you),
    /** The direction from the felt's centre towards player `p`'s seat ({dx, dy}, unit). */
    direction: (p) => seatPlace(table, players[p] ?? 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Table

function seatedCount(table) {
  return (table.seats || []).filter(Boolean).length;
}

function renderSeat(entry, index, table, ctx, renderer) {
  const { dx, dy } = seatPlace(table, index);
  const style = { left: `${(50 + 43 * dx).toFixed(1)}%`, top: `${(50 + 40 * dy).toFixed(1)}%` };
  if (!entry) {
    return h('li', {
      class: 'seat is-empty', style, 'data-testid': `seat-${index}`, 'data-seat': index,
    },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, '+'),
    h('span', { class: 'seat-info' }, h('span', { class: 'seat-name' }, 'Empty seat')));
  }
  const player = ctx.playerOf(index);
  const info = player != null && table.game_state && renderer && renderer.seatInfo
    ? renderer.seatInfo(player, table.game_state, ctx) : null;
  const isTurn = table.status === 'playing' && (table.to_act || []).includes(index);
  const isYou = table.you === index;
  const name = entry.user && entry.user.name ? entry.user.name : `Seat ${index + 1}`;
  const marks = [];
  if (isTurn) {
    marks.push(h('span', { class: 'mark mark-turn', 'data-testid': 'turn-mark' },
      (info && info.turnMark) || '▶ Turn'));
  }
  for (const mark of (info && info.marks) || []) {
    marks.push(h('span', { class: ['mark', mark.class], 'data-testid': mark.testid }, mark.text));
  }
  if (entry.bot) marks.push(h('span', { class: 'mark mark-bot', 'data-testid': 'bot-mark' }, '⚙ Bot'));
  if (!entry.connected && !entry.bot) {
    marks.push(h('span', { class: 'mark mark-offline', 'data-testid': 'offline-mark' }, '⚠ Offline'));
  }
  const clock = table.clock && (table.clock.running || []).find((c) => c.seat === index);
  if (clock && table.status === 'playing') {
    marks.push(h('span', {
      class: 'mark mark-clock', 'data-testid': 'clock', 'data-deadline': clock.deadline,
      'data-bank': clock.bank, role: 'timer',
    }, clockText(clock.deadline, clock.bank, table.clock.now)));
  }
  if (table.clock && (table.clock.away || []).includes(index)) {
    marks.push(h('span', { class: 'mark mark-away', 'data-testid': 'away-mark' }, '☾ Away'));
  }
  if (table.owner === index) marks.push(h('span', { class: 'mark mark-owner' }, '★ Owner'));
  if (table.status === 'finished' && table.result && table.result.winner === index) {
    marks.push(h('span', { class: 'mark mark-winner', 'data-testid': 'winner-mark' }, '♛ Winner'));
  }
  return h('li', {
    class: ['seat', isTurn && 'is-turn', isYou && 'is-you', entry.bot && 'is-bot',
      !entry.connected && !entry.bot && 'is-offline'],
    style,
    'data-testid': `seat-${index}`,
    'data-seat': index,
    'data-turn': isTurn ? 'true' : 'false',
    'aria-current': isTurn ? 'true' : null,
  },
  h('span', { class: 'avatar', 'aria-hidden': 'true' }, entry.bot && entry.user.id == null ? '⚙' : name.slice(0, 1).toUpperCase()),
  h('span', { class: 'seat-info' },
    h('span', { class: 'seat-name', 'data-testid': 'seat-name' }, name, isYou ? h('span', { class: 'you' }, ' (you)') : null),
    info && info.text != null
      ? h('span', { class: 'seat-count', 'data-testid': 'seat-count', 'data-count': info.count },
        info.count != null ? cardBack({ class: 'mini' }) : null, ` ${info.text}`)
      : null,
    marks.length ? h('span', { class: 'seat-marks' }, marks) : null));
}

/** The address that opens a room: `<this page>#room=<id>` (app.js joins it after sign-in). */
export function roomLink(room) {
  const base = typeof window === 'undefined' ? '/' : `${window.location.origin}${window.location.pathname}`;
  return `${base}#room=${encodeURIComponent(room)}`;
}

/** The room's link, to share, with a button that copies it. */
function renderRoomLink(room) {
  const link = roomLink(room);
  return h('span', { class: 'room-link' },
    h('a', { href: link, 'data-testid': 'room-link', class: 'room-link-url' }, `#room=${room}`),
    h('button', {
      type: 'button', class: 'btn btn-small', 'data-action': 'copy-link', 'data-link': link,
      'data-testid': 'copy-link',
    }, 'Copy link'));
}

function waitingStatus(table, info) {
  const seated = seatedCount(table);
  // The server deals as soon as the last seat is filled (tables/seating.py, _start_if_full).
  return `Waiting for players: ${seated} of ${table.seats.length} seats taken.`
    + ' The game starts by itself when the last seat is filled'
    + (table.you === table.owner ? ': add bots, or start it earlier.' : ', or when the owner starts it.')
    + (seated < info.min ? ` ${info.title} needs at least ${info.min} players.` : '');
}

function finishedTitle(table) {
  const winner = table.result ? table.result.winner : null;
  if (winner == null) return 'Game over';
  return winner === table.you ? 'You win! ♛' : `${seatName(winner, table, null)} wins`;
}

function finishedStatus(table) {
  const winner = table.result ? table.result.winner : null;
  if (winner == null) return 'Game over.';
  return winner === table.you ? 'Game over: you win!' : `Game over: ${seatName(winner, table, null)} wins.`;
}

function renderActions(table, room, info) {
  const isOwner = table.you != null && table.you === table.owner;
  const seated = seatedCount(table);
  const free = table.seats.length - seated;
  const buttons = [];
  if (isOwner && table.status !== 'playing' && (table.status === 'waiting' || free > 0)) {
    buttons.push(h('button', {
      type: 'button', class: 'btn', 'data-action': 'add_bot', 'data-testid': 'add-bot', disabled: free === 0,
    }, '⚙ Add bot'));
  }
  const enough = Math.max(1, info.min || 1);
  if (isOwner && table.status === 'waiting') {
    buttons.push(h('button', {
      type: 'button', class: 'btn btn-primary', 'data-action': 'start', 'data-testid': 'start',
      disabled: seated < enough,
      title: seated < enough ? `${info.title} needs at least ${enough} players` : null,
    }, '▶ Start game'));
  }
  if (isOwner && table.status === 'finished') {
    buttons.push(h('button', {
      type: 'button', class: 'btn btn-primary', 'data-action': 'start', 'data-testid': 'new-game',
      disabled: seated < enough,
    }, '↻ New game'));
  }
  if (table.you != null && table.status === 'finished') {
    // Ask to play again with the same seats: dealt once every person seated has asked.
    const asked = (table.rematch || []).includes(table.you);
    buttons.push(h('button', {
      type: 'button', class: 'btn', 'data-action': 'rematch', 'data-testid': 'rematch',
      disabled: asked,
    }, asked ? 'Rematch asked' : '⇄ Rematch'));
  }
  if (table.you == null && table.status === 'waiting' && free > 0) {
    buttons.push(h('button', {
      type: 'button', class: 'btn btn-primary', 'data-action': 'join', 'data-room': room,
      'data-testid': 'take-seat',
    }, 'Take a seat'));
  }
  buttons.push(h('button', {
    type: 'button', class: 'btn btn-quiet', 'data-action': 'leave', 'data-testid': 'leave',
  }, table.you == null ? 'Stop watching' : 'Leave room'));
  return h('div', { class: 'actions', 'data-testid': 'actions' }, buttons);
}

/** The scores of `table.result` by seat: what a renderer without its own result panel shows. */
function renderPlainResult(table) {
  const result = table.result || { scores: [] };
  return h('table', { class: 'scores' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Player'),
      h('th', { scope: 'col' }, 'Score'))),
    h('tbody', null, (table.seats || []).map((entry, seat) => (entry && result.scores[seat] != null
      ? h('tr', { class: [seat === result.winner && 'is-winner'], 'data-testid': `score-${seat}` },
        h('th', { scope: 'row' }, seat === result.winner ? '♛ ' : '', seatName(seat, table, null)),
        h('td', { class: 'points' }, String(result.scores[seat])))
      : null))));
}

function renderGameOver(table, body) {
  const isOwner = table.you != null && table.you === table.owner;
  return h('section', {
    class: 'game-over', 'data-testid': 'game-over', 'aria-labelledby': 'game-over-title', role: 'region',
  },
  h('h2', { id: 'game-over-title', 'data-testid': 'winner' }, finishedTitle(table)),
  body || renderPlainResult(table),
  table.totals ? h('p', { class: 'game-over-totals', 'data-testid': 'totals' },
    `Totals after ${table.totals.games} game${table.totals.games === 1 ? '' : 's'}: `,
    table.totals.scores.map((score, seat) => (score == null ? null
      : `${seatName(seat, table, null)} ${score}`)).filter(Boolean).join(', ')) : null,
  (table.rematch || []).length ? h('p', { class: 'game-over-rematch', 'data-testid': 'rematch-asked' },
    `Rematch asked by ${table.rematch.map((seat) => seatName(seat, table, null)).join(', ')}.`) : null,
  (table.deck_reveals || []).length ? h('details', { class: 'game-over-fairness', 'data-testid': 'deck-reveals' },
    h('summary', null, 'Shuffle check: each deal\'s commitment, order and salt'),
    h('ul', null, table.deck_reveals.map((deal) => h('li', null,
      `Deal ${deal.deal}: commitment ${deal.deck_commit}, salt ${deal.salt}, order ${deal.order.join(',')}`))),
    h('p', null, 'Check them with the verifier in docs/fairness.md.')) : null,
  h('p', { class: 'game-over-next' },
    isOwner ? 'Start a new game with the same seats, or leave.' : 'The owner can start a new game.'));
}

function renderLog(log) {
  const lines = (log || []).slice(-12);
  return h('section', { class: 'log', 'aria-labelledby': 'log-title' },
    h('h2', { id: 'log-title' }, 'Recent events'),
    h('ol', { 'data-testid': 'log' },
      lines.map((line) => h('li', { 'data-testid': 'log-line' }, line.text))));
}

function renderRulesPanel(renderer, info) {
  const rules = renderRules(renderer && renderer.rules);
  if (!rules) return null;
  return h('details', { class: 'rules', 'data-testid': 'rules' },
    h('summary', null, `How to play ${info.title}`),
    rules);
}

/**
 * The whole table view.
 * @param {object} view {state, log, ui, roomName, renderer, info}: `state` is the last `state`
 *   message, `ui` the renderer's own UI state, `renderer` the game's renderer (null while it
 *   loads), `info` the game's catalogue entry.
 */
export function renderTable({ state, log, ui, roomName, renderer, info }) {
  const table = state.table;
  const game = info || gameInfo([], table.game);
  const ctx = tableContext(state, { ui, info: game });
  const parts = table.game_state != null && renderer
    ? renderer.renderGameState(table.game_state, ctx) || {} : {};
  const myTurn = ctx.myTurn;
  const toAct = table.to_act || [];
  let status;
  if (table.status === 'waiting') status = waitingStatus(table, game);
  else if (table.status === 'finished') status = finishedStatus(table);
  else status = parts.status || 'Playing.';
  let hand = null;
  if (table.you == null) {
    hand = h('div', { class: 'hand-area spectating', 'data-testid': 'spectating' },
      h('p', null, '◉ You are watching this table. Players’ cards stay hidden.'));
  } else if (parts.hand) {
    hand = h('div', { class: 'hand-area' }, parts.hand);
  }
  return h('div', {
    class: ['table-view', `game-${table.game}`, myTurn && 'my-turn', `status-${table.status}`],
    'data-testid': 'table',
    'data-game': table.game,
    'data-room': state.room,
    'data-seq': state.seq,
    'data-status': table.status,
    'data-to-act': toAct.join(','),
    'data-turn': toAct.length === 1 ? toAct[0] : '',
    'data-you': table.you ?? '',
  },
  h('div', { class: 'table-head' },
    h('h1', { class: 'room-title', 'data-testid': 'room-title' }, roomName || 'Room'),
    h('span', { class: 'room-game', 'data-testid': 'table-game' }, game.title),
    h('span', { class: ['badge', `badge-${table.status}`], 'data-testid': 'table-status' },
      h('span', { 'aria-hidden': 'true' }, `${STATUS_ICONS[table.status] || ''} `),
      STATUS_LABELS[table.status] || table.status),
    h('span', { class: 'spectator-count', 'data-testid': 'spectator-count' },
      `◉ ${table.spectators || 0} watching`),
    renderRoomLink(state.room)),
  h('div', { class: 'table-main' },
    h('div', { class: 'felt-wrap' },
      h('div', { class: 'felt', role: 'region', 'aria-label': 'Card table' },
        h('ol', { class: 'seats', 'aria-label': 'Seats' },
          drawnSeats(table).map((i) => renderSeat(table.seats[i], i, table, ctx, renderer))),
        table.status === 'waiting' || !parts.centre
          ? h('div', { class: 'centre waiting-note' },
            h('p', null, table.status === 'waiting' ? '◔ Waiting for players' : '…'))
          : parts.centre)),
    // The end of a game is told below the felt, in the page's flow: over the felt it hid the
    // seats, and on a phone its score table was cut off and covered the hand.
    table.status === 'finished' ? renderGameOver(table, parts.result) : null,
    h('div', { class: 'side' },
      // Announced through the page's lasting live region (a11y.js), not from here: this
      // paragraph is drawn anew with every update.
      h('p', { class: ['turn-status', myTurn && 'is-mine'], 'data-testid': 'turn-status' },
        status),
      renderActions(table, state.room, game),
      parts.side || null,
      renderLog(log),
      renderRulesPanel(renderer, game))),
  hand,
  parts.dialog || null);
}
