/**
 * The Crazy Eights renderer: the hand (cards that cannot be put now dimmed), the pile, the
 * deck with its count (click to take), the suit picker after an eight, and the end of the game
 * with every hand and the scores.
 *
 * It reads the game's view, `table.game_state` (schema/games/crazy_eights/view.json):
 * `{hand?, cards, pile, deck, turn, suit}` and at the end `{winner, scores, hands, blocked}`,
 * players in game order. The playability check here only dims cards; the server decides, and
 * a move it refuses comes back as an error toast. See README.md for the renderer interface.
 */

import { h } from '../dom.js';
import {
  SUITS, SUIT_CODES, cardBack, cardChips, cardFace, cardLabel, cardName, cardShort, cardView, parseCard,
  sortHand, suitLabel,
} from '../cards.js';

const PENALTY = { 8: 50, T: 10, J: 10, Q: 10, K: 10, A: 1 };

/** Penalty points a card counts when left in a hand (eight 50, K Q J T 10, ace 1, else pips). */
export function cardPoints(code) {
  const card = parseCard(code);
  if (!card) return 0;
  return PENALTY[card.rank] ?? Number(card.rank);
}

/**
 * May `code` be put on a pile whose top card is `top` with `suit` to follow? An eight is wild;
 * otherwise the card must match the suit to follow or the top card's rank.
 */
export function isPlayable(code, top, suit) {
  const card = parseCard(code);
  if (!card) return false;
  if (card.rank === '8') return true;
  const topCard = parseCard(top);
  const follow = suit || (topCard && topCard.suit);
  if (card.suit === follow) return true;
  return Boolean(topCard && topCard.rank === card.rank);
}

function topCard(view) {
  const pile = view.pile || [];
  return pile.length ? pile[pile.length - 1] : null;
}

/**
 * The cards of the viewer's hand that can be put now, judged from the game's view and the
 * viewer's player number `me` (null for a spectator). Empty when it is not their turn.
 */
export function playableCards(view, me) {
  const playable = new Set();
  if (!view || me == null || view.turn !== me || view.winner != null) return playable;
  const top = topCard(view);
  for (const code of view.hand || []) {
    if (isPlayable(code, top, view.suit)) playable.add(code);
  }
  return playable;
}

function statusText(view, ctx, playable) {
  if (ctx.myTurn) {
    const top = parseCard(topCard(view));
    let what = suitLabel(view.suit);
    if (top && top.rank !== '8') what += ` or ${top.rank === 'A' ? 'an' : 'a'} ${top.label}`;
    if (playable.size === 0) return `Your turn: nothing matches ${what}. Take a card from the deck.`;
    return `Your turn: put ${what} (eights are wild), or take from the deck.`;
  }
  return `${ctx.name(view.turn)}'s turn.`;
}

function renderHand(view, ctx, playable) {
  const hand = sortHand(view.hand);
  const myTurn = ctx.myTurn;
  return [
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
        'aria-label': cardLabel(code),
        title: ok ? `Put ${cardName(code)}` : myTurn ? `${cardName(code)} does not match` : cardName(code),
      }, cardFace(code));
    })),
  ];
}

function renderCentre(view, ctx) {
  const playing = ctx.status === 'playing';
  const canTake = ctx.myTurn && view.deck > 0;
  const deckLayers = Math.min(4, Math.ceil((view.deck || 0) / 10));
  const pile = view.pile || [];
  const top = topCard(view);
  const topParsed = parseCard(top);
  const follow = view.suit;
  const followDiffers = follow && topParsed && topParsed.suit !== follow;
  return h('div', { class: 'centre ce-centre' },
    h('button', {
      type: 'button',
      class: ['deck', canTake && 'can-take', view.deck === 0 && 'is-empty'],
      'data-testid': 'deck',
      'data-action': 'take',
      'data-count': view.deck ?? 0,
      'aria-disabled': canTake ? null : 'true',
      // The name begins with what the deck shows ("Take"); the count is drawn by CSS.
      'aria-label': canTake ? `Take a card (deck of ${view.deck} cards)` : `Deck of ${view.deck ?? 0} cards`,
      title: canTake ? 'Take a card' : 'Deck',
    },
    view.deck > 0
      ? Array.from({ length: Math.max(1, deckLayers) }, (_, i) =>
        cardBack({ style: { transform: `translate(${-i * 2}px, ${-i * 2}px)` } }))
      : h('span', { class: 'card empty-slot', 'aria-hidden': 'true' }),
    h('span', { class: 'deck-count', 'data-testid': 'deck-count', 'aria-hidden': 'true', 'data-text': `${view.deck ?? 0}` }),
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
    playing && follow
      ? h('div', {
        class: ['follow', SUITS[follow] && SUITS[follow].colour, followDiffers && 'is-named'],
        'data-testid': 'suit-to-follow',
        'data-suit': follow,
      },
      h('span', { class: 'follow-label' }, followDiffers ? 'Suit named' : 'Follow'),
      h('span', { class: 'follow-suit' }, suitLabel(follow)))
      : null);
}

function renderResult(view, ctx) {
  const scores = view.scores || [];
  const hands = view.hands || [];
  return h('div', { class: 'ce-result' },
    view.blocked ? h('p', { class: 'result-note', 'data-testid': 'blocked' },
      'Nobody could move: the hand with the fewest penalty points wins.') : null,
    h('table', { class: 'scores' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Player'),
        h('th', { scope: 'col' }, 'Points'),
        h('th', { scope: 'col' }, 'Cards left'))),
      h('tbody', null, ctx.players.map((seat, p) => h('tr', {
        class: [p === view.winner && 'is-winner'], 'data-testid': `score-${seat}`,
      },
      h('th', { scope: 'row' }, p === view.winner ? '♛ ' : '', ctx.name(p)),
      h('td', { class: 'points' }, String(scores[p] ?? 0)),
      h('td', { class: 'left' }, (hands[p] || []).length ? cardChips(hands[p]) : '—'))))));
}

function renderSuitPicker(code) {
  return h('div', { class: 'picker-backdrop' },
    h('div', {
      class: 'suit-picker', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'picker-title',
      'data-testid': 'suit-picker', 'data-card': code,
    },
    h('h2', { id: 'picker-title' }, `Put ${cardShort(code)}: choose the suit to follow`),
    h('div', { class: 'suit-buttons' },
      SUIT_CODES.map((suit, i) => h('button', {
        type: 'button',
        class: ['btn', 'suit-choice', SUITS[suit].colour],
        'data-action': 'choose-suit',
        'data-card': code,
        'data-suit': suit,
        'data-testid': `suit-${suit}`,
        'data-autofocus': i === 0 ? 'true' : null,
      }, h('span', { class: 'suit-symbol', 'aria-hidden': 'true' }, SUITS[suit].symbol), ` ${SUITS[suit].name}`))),
    h('button', { type: 'button', class: 'btn btn-quiet', 'data-action': 'cancel-suit', 'data-testid': 'suit-cancel' }, 'Cancel')));
}

function passLines(move, ctx) {
  return (move.passes || []).map((p) => `${ctx.name(p)} cannot play: turn passes`);
}

export default {
  name: 'crazy_eights',
  title: 'Crazy Eights',
  stylesheet: new URL('../../css/games/crazy_eights.css', import.meta.url).href,
  rules: [
    'Put a card that matches the suit or the rank of the top card of the pile.',
    'An eight is wild: put it on anything and name the suit to follow.',
    'Nothing fits? Take a card from the deck.',
    'The first to empty the hand wins and scores the cards left in the other hands '
      + '(eights 50, court cards and tens 10, aces 1, others their number).',
  ],

  /** Under a seat's name: how many cards the player holds. */
  seatInfo(player, view) {
    const n = (view.cards || [])[player] ?? 0;
    return { count: n, text: `${n} ${n === 1 ? 'card' : 'cards'}` };
  },

  renderGameState(view, ctx) {
    const playable = playableCards(view, ctx.me);
    const picker = ctx.ui.picker;
    return {
      status: statusText(view, ctx, playable),
      centre: renderCentre(view, ctx),
      hand: ctx.me != null ? renderHand(view, ctx, playable) : null,
      result: view.winner != null ? renderResult(view, ctx) : null,
      dialog: picker ? renderSuitPicker(picker) : null,
    };
  },

  describeMove(move, ctx) {
    if (move.type === 'put') {
      let line = `${ctx.who} put ${cardShort(move.card)}`;
      if (move.suit) line += ` and chose ${suitLabel(move.suit)}`;
      return [line, ...passLines(move, ctx)];
    }
    if (move.type === 'take') {
      const lines = [];
      if (move.reshuffled) lines.push('The pile was shuffled into a new deck');
      lines.push(move.card ? `${ctx.who} took ${cardShort(move.card)}` : `${ctx.who} took a card`);
      return [...lines, ...passLines(move, ctx)];
    }
    return null;
  },

  /**
   * The replay of a finished game (js/replay.js): the revealed position after `move` (with its
   * `event`, nothing hidden) by game player `player`, from the one before. Pure; the pile is
   * kept whole here (the views show its last five cards).
   */
  replayStep(view, move, event, player) {
    const next = {
      ...view,
      hands: (view.hands || []).map((hand) => [...hand]),
      pile: [...(view.pile || [])],
      cards: [...(view.cards || [])],
    };
    const hand = next.hands[player] || [];
    if (move.type === 'put' && move.card) {
      const at = hand.indexOf(move.card);
      if (at >= 0) hand.splice(at, 1);
      next.pile.push(move.card);
      next.suit = move.suit || move.card[1];
    } else if (move.type === 'take') {
      if (event && event.reshuffled) {
        // Every pile card but the top went back into the deck.
        next.deck = (next.deck || 0) + next.pile.length - 1;
        next.pile = next.pile.slice(-1);
      }
      if (event && event.card) hand.push(event.card);
      next.deck = Math.max(0, (next.deck || 0) - 1);
    }
    next.hands[player] = hand;
    next.cards[player] = hand.length;
    return next;
  },

  /** The middle of a replayed position: the deck's count, the pile, the suit to follow. */
  renderReplayCentre(view) {
    const top = topCard(view);
    return h('div', { class: 'replay-centre' },
      h('span', { class: 'replay-deck', 'data-testid': 'replay-deck', 'data-count': view.deck ?? 0 },
        cardBack({ class: 'mini' }), ` Deck: ${view.deck ?? 0}`),
      top ? cardView(top, { testid: 'replay-pile-top', class: 'replay-pile-top' }) : null,
      view.suit ? h('span', { class: 'replay-suit', 'data-testid': 'replay-suit' }, `Follow ${suitLabel(view.suit)}`) : null);
  },

  /** How a move's card travels, for the table's animation (js/cues.js). */
  motion(move) {
    if (move.type === 'put' && move.card) return { card: move.card, from: 'hand', to: 'pile' };
    if (move.type === 'take') return { card: move.card || null, from: 'deck', to: 'hand' };
    return null;
  },

  /** Clicks on the hand, the deck and the suit picker (and Escape, which closes the picker). */
  handleAction(action, dataset, ctx) {
    const view = ctx.table.game_state || {};
    switch (action) {
      case 'put': {
        const card = dataset.card;
        const parsed = parseCard(card);
        if (parsed && parsed.rank === '8' && playableCards(view, ctx.me).has(card)) {
          return { ui: { picker: card } };
        }
        return { move: { type: 'put', card } };
      }
      case 'choose-suit':
        return { ui: { picker: null }, move: { type: 'put', card: dataset.card, suit: dataset.suit } };
      case 'cancel-suit':
      case 'escape':
        if (!ctx.ui.picker) return null;
        return { ui: { picker: null }, focus: `card-${ctx.ui.picker}` };
      case 'take':
        return { move: { type: 'take' } };
      default:
        return null;
    }
  },

  /** A new view closes the suit picker unless its eight can still be put. */
  reconcileUi(ui, view, ctx) {
    if (ui.picker && !(ctx.myTurn && (view.hand || []).includes(ui.picker))) return { ...ui, picker: null };
    return ui;
  },
};
