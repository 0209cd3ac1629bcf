/**
 * Playing cards, shared by every game's renderer: card codes as the protocol writes them ("QH",
 * "TS", "8D"), their names for a person ("Queen of hearts", "Q♥"), and how a card is drawn
 * (face, back, a small chip for tables and the log).
 *
 * No game's rules live here: which card may be played, what a card scores, belong to the
 * game's renderer in `games/<name>.js`. The drawing functions build DOM nodes with `h` and
 * attach no handlers; the rest is pure.
 */

import { h } from './dom.js';

export const SUITS = {
  C: { symbol: '♣', name: 'clubs', colour: 'black' },
  D: { symbol: '♦', name: 'diamonds', colour: 'red' },
  H: { symbol: '♥', name: 'hearts', colour: 'red' },
  S: { symbol: '♠', name: 'spades', colour: 'black' },
};

/** Suit codes in the order pickers show them. */
export const SUIT_CODES = ['H', 'D', 'C', 'S'];

/** Ranks from low to high (ace high), as codes. */
export const RANK_ORDER = '23456789TJQKA';

const RANKS = {
  2: { short: '2', name: 'Two' },
  3: { short: '3', name: 'Three' },
  4: { short: '4', name: 'Four' },
  5: { short: '5', name: 'Five' },
  6: { short: '6', name: 'Six' },
  7: { short: '7', name: 'Seven' },
  8: { short: '8', name: 'Eight' },
  9: { short: '9', name: 'Nine' },
  T: { short: '10', name: 'Ten' },
  J: { short: 'J', name: 'Jack' },
  Q: { short: 'Q', name: 'Queen' },
  K: { short: 'K', name: 'King' },
  A: { short: 'A', name: 'Ace' },
};

/**
 * Parse a card code. Returns null for anything that is not a card.
 * parseCard("QH") -> {code: "QH", rank: "Q", suit: "H", label: "Q", symbol: "♥", ...}
 */
export function parseCard(code) {
  if (typeof code !== 'string' || code.length !== 2) return null;
  const rank = RANKS[code[0]];
  const suit = SUITS[code[1]];
  if (!rank || !suit) return null;
  return {
    code,
    rank: code[0],
    suit: code[1],
    label: rank.short,
    rankName: rank.name,
    symbol: suit.symbol,
    suitName: suit.name,
    colour: suit.colour,
    isFace: 'JQK'.includes(code[0]),
  };
}

/** "Queen of hearts" — the accessible name of a card. */
export function cardName(code) {
  const card = parseCard(code);
  return card ? `${card.rankName} of ${card.suitName}` : String(code);
}

/**
 * "Q♥ Queen of hearts" — the accessible name of a card one can press: it begins with what the
 * card shows (its corner index), so that a speech-input user can say what they see (WCAG 2.5.3).
 */
export function cardLabel(code) {
  const card = parseCard(code);
  return card ? `${card.label}${card.symbol} ${cardName(code)}` : String(code);
}

/** "Q♥" — the short form used in the event log. */
export function cardShort(code) {
  const card = parseCard(code);
  return card ? `${card.label}${card.symbol}` : String(code);
}

/** "♥ hearts" for a suit code. */
export function suitLabel(suit) {
  const s = SUITS[suit];
  return s ? `${s.symbol} ${s.name}` : String(suit);
}

const HOLD_ORDER = { S: 0, H: 1, C: 2, D: 3 };

/** A hand sorted by suit (alternating colours) then rank, as people hold cards. */
export function sortHand(hand) {
  return [...(hand || [])].sort((a, b) => (HOLD_ORDER[a[1]] - HOLD_ORDER[b[1]])
    || (RANK_ORDER.indexOf(a[0]) - RANK_ORDER.indexOf(b[0])));
}

// ---------------------------------------------------------------------------------------------
// Drawing

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

/**
 * The face of a card: corner indices, pips or a framed court letter. Hidden from screen readers.
 * Only the top-left index is text; the other index, the pips and the court letter are drawn by
 * CSS (`data-text`), so that what a card "says" is the index that its name begins with.
 */
export function cardFace(code) {
  const card = parseCard(code);
  if (!card) return [];
  const shown = (cls, text, real) => h('span', { class: cls, 'data-text': real ? null : text }, real ? text : null);
  const corner = (pos) =>
    h('span', { class: `corner ${pos}`, 'aria-hidden': 'true' },
      shown('corner-rank', card.label, pos === 'tl'),
      shown('corner-suit', card.symbol, pos === 'tl'));
  let centre;
  if (card.isFace) {
    centre = h('span', { class: 'court', 'aria-hidden': 'true' },
      shown('court-rank', card.label, false),
      shown('court-suit', card.symbol, false));
  } else {
    centre = h('span', { class: ['pips', card.rank === 'A' && 'ace'], 'aria-hidden': 'true' },
      PIPS[card.rank].map(([x, y]) =>
        h('span', {
          class: ['pip', y > 50 && 'flip'],
          style: { left: `${x}%`, top: `${y}%` },
          'data-text': card.symbol,
        })));
  }
  return [corner('tl'), centre, corner('br')];
}

/** A card that is only shown (a pile, a trick, the hands at the end). */
export function cardView(code, extra = {}) {
  const card = parseCard(code);
  return h('span', {
    class: ['card', card && card.colour, extra.class],
    role: 'img',
    'aria-label': extra.label || cardName(code),
    'data-card': code,
    'data-testid': extra.testid,
    style: extra.style,
  }, cardFace(code));
}

/** The back of a card, for a deck and the other players' counts. */
export function cardBack(extra = {}) {
  return h('span', { class: ['card', 'back', extra.class], 'aria-hidden': 'true', style: extra.style });
}

/** A small card chip ("Q♥" in the suit's colour), for score tables and the last trick. */
export function cardChip(code, extra = {}) {
  const card = parseCard(code);
  return h('span', {
    class: ['mini-card', card && card.colour, extra.class],
    'aria-hidden': extra.label ? null : 'true',
    'aria-label': extra.label || null,
    role: extra.label ? 'img' : null,
    'data-testid': extra.testid,
  }, cardShort(code));
}

/** Small chips for a list of cards, with the whole list as one accessible name. */
export function cardChips(codes, extra = {}) {
  const list = codes || [];
  return h('span', {
    class: ['mini-hand', extra.class],
    role: 'img',
    'aria-label': list.map(cardName).join(', ') || 'no cards',
    'data-testid': extra.testid,
  }, list.map((code) => cardChip(code)));
}
