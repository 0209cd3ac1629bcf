/**
 * Card codes as the protocol writes them ("QH", "TS", "8D") and what a person sees of them.
 *
 * Pure functions, no DOM. The playability check here is only used to dim cards that cannot
 * be played now; the server is the authority and answers any move it refuses with an error.
 */

export const SUITS = {
  C: { symbol: '♣', name: 'clubs', colour: 'black' },
  D: { symbol: '♦', name: 'diamonds', colour: 'red' },
  H: { symbol: '♥', name: 'hearts', colour: 'red' },
  S: { symbol: '♠', name: 'spades', colour: 'black' },
};

/** Suit codes in the order the suit picker shows them. */
export const SUIT_CODES = ['H', 'D', 'C', 'S'];

const RANKS = {
  2: { short: '2', name: 'Two', points: 2 },
  3: { short: '3', name: 'Three', points: 3 },
  4: { short: '4', name: 'Four', points: 4 },
  5: { short: '5', name: 'Five', points: 5 },
  6: { short: '6', name: 'Six', points: 6 },
  7: { short: '7', name: 'Seven', points: 7 },
  8: { short: '8', name: 'Eight', points: 50 },
  9: { short: '9', name: 'Nine', points: 9 },
  T: { short: '10', name: 'Ten', points: 10 },
  J: { short: 'J', name: 'Jack', points: 10 },
  Q: { short: 'Q', name: 'Queen', points: 10 },
  K: { short: 'K', name: 'King', points: 10 },
  A: { short: 'A', name: 'Ace', points: 1 },
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

/** Penalty points a card counts when left in a hand (eight 50, K Q J T 10, ace 1). */
export function cardPoints(code) {
  const card = parseCard(code);
  return card ? RANKS[card.rank].points : 0;
}

/**
 * Crazy Eights: may `code` be put on a pile whose top card is `top` with `suit` to follow?
 * An eight is wild; otherwise the card must match the suit to follow or the top card's rank.
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

/**
 * Which cards of the player's own hand can be played right now, judged from a `table` view.
 * Returns a Set of codes; empty when it is not this player's turn or no game is running.
 */
export function playableCards(table) {
  const playable = new Set();
  if (!table || table.status !== 'playing' || table.you == null || table.turn !== table.you) {
    return playable;
  }
  const pile = table.pile || [];
  const top = pile.length ? pile[pile.length - 1] : null;
  for (const code of table.hand || []) {
    if (isPlayable(code, top, table.suit)) playable.add(code);
  }
  return playable;
}
