/**
 * Rendering: pure functions from the last `room_list` / `state` message (plus the event log and
 * the open suit picker) to DOM nodes. They keep no state and attach no handlers: buttons carry a
 * `data-action` that the app handles at the root. A resync after a reconnection is just a redraw.
 *
 * Every element a test needs has a stable `data-testid`; colour is never the only signal (the
 * turn, bots, disconnected seats and dimmed cards also have text or an icon and ARIA state).
 */

import { h } from './dom.js';
import { parseCard, cardName, suitLabel, playableCards, SUITS, SUIT_CODES, cardShort } from './cards.js';
import { seatName } from './log.js';

export const GAMES = { crazy_eights: 'Crazy Eights' };

const STATUS_LABELS = { waiting: 'Waiting', playing: 'Playing', finished: 'Finished' };
const STATUS_ICONS = { waiting: '◔', playing: '▶', finished: '✔' };

// Pip positions (x %, y %) inside a card's centre area, as printed on real cards.
const L = 22;
const C = 50;
const R = 78;
const PIPS = {
  A: [[C, 50]],
  2: [[C, 6], [C, 94]],
  3: [[C, 6], [C, 50], [C, 94]],
  4: [[L, 6], [R, 6], [L, 94], [R, 94]],
  5: [[L, 6], [R, 6], [C, 50], [L, 94], [R, 94]],
  6: [[L, 6], [R, 6], [L, 50], [R, 50], [L, 94], [R, 94]],
  7: [[L, 6], [R, 6], [C, 28], [L, 50], [R, 50], [L, 94], [R, 94]],
  8: [[L, 6], [R, 6], [C, 28], [L, 50], [R, 50], [C, 72], [L, 94], [R, 94]],
  9: [[L, 6], [R, 6], [L, 35], [R, 35], [C, 50], [L, 65], [R, 65], [L, 94], [R, 94]],
  T: [[L, 6], [R, 6], [C, 21], [L, 35], [R, 35], [L, 65], [R, 65], [C, 79], [L, 94], [R, 94]],
};

/** The face of a card: corner indices, pips or a framed court letter. Hidden from screen readers. */
export function cardFace(code) {
  const card = parseCard(code);
  if (!card) return [];
  const corner = (pos) =>
    h('span', { class: `corner ${pos}`, 'aria-hidden': 'true' },
      h('span', { class: 'corner-rank' }, card.label),
      h('span', { class: 'corner-suit' }, card.symbol));
  let centre;
  if (card.isFace) {
    centre = h('span', { class: 'court', 'aria-hidden': 'true' },
      h('span', { class: 'court-rank' }, card.label),
      h('span', { class: 'court-suit' }, card.symbol));
  } else {
    centre = h('span', { class: ['pips', card.rank === 'A' && 'ace'], 'aria-hidden': 'true' },
      PIPS[card.rank].map(([x, y]) =>
        h('span', {
          class: ['pip', y > 50 && 'flip'],
          style: { left: `${x}%`, top: `${y}%` },
        }, card.symbol)));
  }
  return [corner('tl'), centre, corner('br')];
}

/** A card that is only shown (pile, game-over hands). */
export function cardView(code, extra = {}) {
  const card = parseCard(code);
  return h('span', {
    class: ['card', card && card.colour, extra.class],
    role: 'img',
    'aria-label': cardName(code),
    'data-card': code,
    'data-testid': extra.testid,
    style: extra.style,
  }, cardFace(code));
}

/** The back of a card, for the deck and the other players' counts. */
export function cardBack(extra = {}) {
  return h('span', { class: ['card', 'back', extra.class], 'aria-hidden': 'true', style: extra.style });
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

/** The always-visible connection indicator: state in words and icon, plus the transport. */
export function renderStatus(status) {
  const state = status.state;
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

/** The lobby's room list, from the last `room_list` message. */
export function renderRoomList(rooms) {
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
      },
      h('div', { class: 'room-main' },
        h('span', { class: 'room-name', 'data-testid': 'room-name' }, room.name),
        h('span', { class: 'room-game' }, GAMES[room.game] || room.game)),
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

// ---------------------------------------------------------------------------------------------
// Table

function seatedCount(table) {
  return (table.seats || []).filter(Boolean).length;
}

function topCard(table) {
  const pile = table.pile || [];
  return pile.length ? pile[pile.length - 1] : null;
}

/** Where seat `seat` sits around the oval: the viewer at the bottom, the others clockwise. */
function seatPosition(seat, count, base) {
  const rel = (seat - base + count) % count;
  const angle = Math.PI / 2 + (rel * 2 * Math.PI) / count;
  return { x: 50 + 43 * Math.cos(angle), y: 50 + 40 * Math.sin(angle) };
}

function renderSeat(entry, index, table) {
  const count = table.seats.length;
  const base = table.you != null ? table.you : 0;
  const pos = seatPosition(index, count, base);
  const style = { left: `${pos.x.toFixed(1)}%`, top: `${pos.y.toFixed(1)}%` };
  if (!entry) {
    return h('li', {
      class: 'seat is-empty', style, 'data-testid': `seat-${index}`, 'data-seat': index,
    },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, '+'),
    h('span', { class: 'seat-info' }, h('span', { class: 'seat-name' }, 'Empty seat')));
  }
  const isTurn = table.status === 'playing' && table.turn === index;
  const isYou = table.you === index;
  const name = entry.user && entry.user.name ? entry.user.name : `Seat ${index + 1}`;
  const marks = [];
  if (isTurn) marks.push(h('span', { class: 'mark mark-turn', 'data-testid': 'turn-mark' }, '▶ Turn'));
  if (entry.bot) marks.push(h('span', { class: 'mark mark-bot', 'data-testid': 'bot-mark' }, '⚙ Bot'));
  if (!entry.connected && !entry.bot) {
    marks.push(h('span', { class: 'mark mark-offline', 'data-testid': 'offline-mark' }, '⚠ Offline'));
  }
  if (table.owner === index) marks.push(h('span', { class: 'mark mark-owner' }, '★ Owner'));
  if (table.status === 'finished' && table.winner === index) {
    marks.push(h('span', { class: 'mark mark-winner' }, '♛ Winner'));
  }
  const cards = entry.cards ?? 0;
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
    h('span', { class: 'seat-count', 'data-testid': 'seat-count', 'data-count': cards },
      cardBack({ class: 'mini' }), ` ${cards} ${cards === 1 ? 'card' : 'cards'}`),
    marks.length ? h('span', { class: 'seat-marks' }, marks) : null));
}

function turnStatus(table, playable) {
  const name = (seat) => seatName(seat, table, null);
  if (table.status === 'waiting') {
    const seated = seatedCount(table);
    return `Waiting for players: ${seated} of ${table.seats.length} seats taken.`
      + (table.you === table.owner ? ' Add bots or start when ready.' : ' The owner starts the game.');
  }
  if (table.status === 'finished') {
    if (table.winner == null) return 'Game over.';
    return table.winner === table.you ? 'Game over: you win!' : `Game over: ${name(table.winner)} wins.`;
  }
  if (table.you != null && table.turn === table.you) {
    const top = parseCard(topCard(table));
    let what = suitLabel(table.suit);
    if (top && top.rank !== '8') what += ` or ${top.rank === 'A' ? 'an' : 'a'} ${top.label}`;
    if (playable.size === 0) return `Your turn: nothing matches ${what}. Take a card from the deck.`;
    return `Your turn: put ${what} (eights are wild), or take from the deck.`;
  }
  return `${name(table.turn)}'s turn.`;
}

const SUIT_ORDER = { S: 0, H: 1, C: 2, D: 3 };
const RANK_ORDER = '23456789TJQKA';

/** Your hand sorted by suit (alternating colours) then rank, as people hold cards. */
export function sortHand(hand) {
  return [...(hand || [])].sort((a, b) => (SUIT_ORDER[a[1]] - SUIT_ORDER[b[1]])
    || (RANK_ORDER.indexOf(a[0]) - RANK_ORDER.indexOf(b[0])));
}

function renderHand(table, playable) {
  if (table.you == null) {
    return h('div', { class: 'hand-area spectating', 'data-testid': 'spectating' },
      h('p', null, '◉ You are watching this table. Players’ cards stay hidden.'));
  }
  const hand = sortHand(table.hand);
  const myTurn = table.status === 'playing' && table.turn === table.you;
  return h('div', { class: 'hand-area' },
    h('h2', { class: 'visually-hidden' }, 'Your hand'),
    h('div', {
      class: 'hand',
      style: { '--n': String(Math.max(1, hand.length)) },
      'data-testid': 'hand',
      role: 'group',
      'aria-label': `Your hand, ${hand.length} ${hand.length === 1 ? 'card' : 'cards'}`,
    },
    hand.map((code) => {
      const ok = playable.has(code);
      return h('button', {
        type: 'button',
        class: ['card', parseCard(code)?.colour, ok ? 'playable' : myTurn && 'dimmed', !myTurn && 'waiting'],
        'data-testid': `card-${code}`,
        'data-card': code,
        'data-action': 'put',
        'data-playable': ok ? 'true' : 'false',
        'aria-disabled': ok ? null : 'true',
        'aria-label': cardName(code),
        title: ok ? `Put ${cardName(code)}` : myTurn ? `${cardName(code)} does not match` : cardName(code),
      }, cardFace(code));
    })));
}

function renderCentre(table) {
  const myTurn = table.status === 'playing' && table.you != null && table.turn === table.you;
  const canTake = myTurn && table.deck > 0;
  const deckLayers = Math.min(4, Math.ceil((table.deck || 0) / 10));
  const pile = table.pile || [];
  const top = topCard(table);
  const topParsed = parseCard(top);
  const follow = table.suit;
  const followDiffers = follow && topParsed && topParsed.suit !== follow;
  return h('div', { class: 'centre' },
    h('button', {
      type: 'button',
      class: ['deck', canTake && 'can-take', table.deck === 0 && 'is-empty'],
      'data-testid': 'deck',
      'data-action': 'take',
      'data-count': table.deck ?? 0,
      'aria-disabled': canTake ? null : 'true',
      'aria-label': `Deck, ${table.deck ?? 0} cards${canTake ? '. Take a card' : ''}`,
      title: canTake ? 'Take a card' : 'Deck',
    },
    table.deck > 0
      ? Array.from({ length: Math.max(1, deckLayers) }, (_, i) =>
        cardBack({ style: { transform: `translate(${-i * 2}px, ${-i * 2}px)` } }))
      : h('span', { class: 'card empty-slot', 'aria-hidden': 'true' }),
    h('span', { class: 'deck-count', 'data-testid': 'deck-count', 'aria-hidden': 'true' }, `${table.deck ?? 0}`),
    canTake ? h('span', { class: 'deck-hint', 'aria-hidden': 'true' }, 'Take') : null),
    h('div', {
      class: 'pile',
      'data-testid': 'pile',
      'data-top': top || '',
      role: 'img',
      'aria-label': top ? `Pile, top card ${cardName(top)}` : 'Pile, empty',
    },
    pile.length
      ? pile.slice(-3).map((code, i, shown) => {
        const depth = shown.length - 1 - i;
        const tilt = ((code.charCodeAt(0) * 7 + code.charCodeAt(1) * 3) % 13) - 6;
        return cardView(code, {
          class: depth === 0 ? 'pile-top' : 'pile-under',
          testid: depth === 0 ? 'pile-top' : null,
          style: { transform: `translate(${-depth * 10}px, ${-depth * 4}px) rotate(${tilt}deg)` },
        });
      })
      : h('span', { class: 'card empty-slot', 'aria-hidden': 'true' })),
    table.status === 'playing' && follow
      ? h('div', {
        class: ['follow', SUITS[follow] && SUITS[follow].colour, followDiffers && 'is-named'],
        'data-testid': 'suit-to-follow',
        'data-suit': follow,
      },
      h('span', { class: 'follow-label' }, followDiffers ? 'Suit named' : 'Follow'),
      h('span', { class: 'follow-suit' }, suitLabel(follow)))
      : null);
}

function renderActions(table, room) {
  const isOwner = table.you != null && table.you === table.owner;
  const seated = seatedCount(table);
  const free = table.seats.length - seated;
  const buttons = [];
  if (isOwner && table.status !== 'playing' && (table.status === 'waiting' || free > 0)) {
    buttons.push(h('button', {
      type: 'button', class: 'btn', 'data-action': 'add_bot', 'data-testid': 'add-bot', disabled: free === 0,
    }, '⚙ Add bot'));
  }
  if (isOwner && table.status === 'waiting') {
    buttons.push(h('button', {
      type: 'button', class: 'btn btn-primary', 'data-action': 'start', 'data-testid': 'start', disabled: seated < 2,
      title: seated < 2 ? 'At least two players are needed' : null,
    }, '▶ Start game'));
  }
  if (isOwner && table.status === 'finished') {
    buttons.push(h('button', {
      type: 'button', class: 'btn btn-primary', 'data-action': 'start', 'data-testid': 'new-game',
    }, '↻ New game'));
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

function renderGameOver(table) {
  const seats = table.seats || [];
  const scores = table.scores || [];
  const hands = table.hands || [];
  const youWon = table.winner != null && table.winner === table.you;
  const title = table.winner == null ? 'Game over'
    : youWon ? 'You win! ♛' : `${seatName(table.winner, table, null)} wins`;
  const isOwner = table.you != null && table.you === table.owner;
  return h('section', {
    class: 'game-over', 'data-testid': 'game-over', 'aria-labelledby': 'game-over-title', role: 'region',
  },
  h('h2', { id: 'game-over-title', 'data-testid': 'winner' }, title),
  h('table', { class: 'scores' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Player'),
      h('th', { scope: 'col' }, 'Points'),
      h('th', { scope: 'col' }, 'Cards left'))),
    h('tbody', null, seats.map((entry, i) => (entry
      ? h('tr', { class: [i === table.winner && 'is-winner'], 'data-testid': `score-${i}` },
        h('th', { scope: 'row' }, i === table.winner ? '♛ ' : '', seatName(i, table, null)),
        h('td', { class: 'points' }, String(scores[i] ?? 0)),
        h('td', { class: 'left' },
          (hands[i] || []).length
            ? h('span', { class: 'mini-hand', 'aria-label': (hands[i] || []).map(cardName).join(', ') },
              (hands[i] || []).map((c) => h('span', { class: ['mini-card', parseCard(c)?.colour], 'aria-hidden': 'true' }, cardShort(c))))
            : '—'))
      : null)))),
  h('p', { class: 'game-over-next' },
    isOwner ? 'Start a new game with the same seats, or leave.' : 'The owner can start a new game.'));
}

function renderSuitPicker(code) {
  return h('div', {
    class: 'picker-backdrop',
  },
  h('div', {
    class: 'suit-picker', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'picker-title',
    'data-testid': 'suit-picker', 'data-card': code,
  },
  h('h2', { id: 'picker-title' }, `Put ${cardShort(code)}: choose the suit to follow`),
  h('div', { class: 'suit-buttons' },
    SUIT_CODES.map((suit) => h('button', {
      type: 'button',
      class: ['btn', 'suit-choice', SUITS[suit].colour],
      'data-action': 'choose-suit',
      'data-card': code,
      'data-suit': suit,
      'data-testid': `suit-${suit}`,
      'aria-label': `Choose ${SUITS[suit].name}`,
    }, h('span', { class: 'suit-symbol', 'aria-hidden': 'true' }, SUITS[suit].symbol), ` ${SUITS[suit].name}`))),
  h('button', { type: 'button', class: 'btn btn-quiet', 'data-action': 'cancel-suit', 'data-testid': 'suit-cancel' }, 'Cancel')));
}

function renderLog(log) {
  const lines = (log || []).slice(-12);
  return h('section', { class: 'log', 'aria-labelledby': 'log-title' },
    h('h2', { id: 'log-title' }, 'Recent events'),
    h('ol', { 'data-testid': 'log', 'aria-live': 'polite' },
      lines.map((line) => h('li', { 'data-testid': 'log-line' }, line.text))));
}

/**
 * The whole table view.
 * @param {object} view {state, log, picker, roomName}: `state` is the last `state` message.
 */
export function renderTable({ state, log, picker, roomName }) {
  const table = state.table;
  const playable = playableCards(table);
  const myTurn = table.status === 'playing' && table.you != null && table.turn === table.you;
  return h('div', {
    class: ['table-view', myTurn && 'my-turn', `status-${table.status}`],
    'data-testid': 'table',
    'data-room': state.room,
    'data-seq': state.seq,
    'data-status': table.status,
    'data-turn': table.turn ?? '',
    'data-you': table.you ?? '',
  },
  h('div', { class: 'table-head' },
    h('h1', { class: 'room-title', 'data-testid': 'room-title' }, roomName || 'Room'),
    h('span', { class: 'room-game' }, GAMES[table.game] || table.game),
    h('span', { class: ['badge', `badge-${table.status}`], 'data-testid': 'table-status' },
      h('span', { 'aria-hidden': 'true' }, `${STATUS_ICONS[table.status] || ''} `),
      STATUS_LABELS[table.status] || table.status),
    h('span', { class: 'spectator-count', 'data-testid': 'spectator-count' },
      `◉ ${table.spectators || 0} watching`)),
  h('div', { class: 'table-main' },
    h('div', { class: 'felt-wrap' },
      h('div', { class: 'felt', role: 'region', 'aria-label': 'Card table' },
        h('ol', { class: 'seats', 'aria-label': 'Seats' }, table.seats.map((entry, i) => renderSeat(entry, i, table))),
        table.status === 'waiting'
          ? h('div', { class: 'centre waiting-note' }, h('p', null, '◔ Waiting for players'))
          : renderCentre(table),
        table.status === 'finished' ? renderGameOver(table) : null)),
    h('div', { class: 'side' },
      h('p', { class: ['turn-status', myTurn && 'is-mine'], 'data-testid': 'turn-status', role: 'status' },
        turnStatus(table, playable)),
      renderActions(table, state.room),
      renderLog(log))),
  renderHand(table, playable),
  picker ? renderSuitPicker(picker) : null);
}
