/**
 * The Hearts renderer: a match of deals for four players.
 *
 * - Passing: click 3 cards of your hand to choose them (click again to put one back), then the
 *   "Pass 3 cards left/right/across" button; the table shows who has chosen ("waiting for N
 *   players"), then the 3 cards you received, highlighted, until the first trick is over.
 * - Playing: the current trick laid out towards the seats of those who played it, whose turn
 *   it is, the last trick (small), whether hearts are broken, the points taken this deal and
 *   the match totals per player, the deal's number and where its cards were passed. Cards you
 *   may not play now are dimmed (follow suit; 2♣ leads the first trick; no points on the first
 *   trick; hearts cannot be led until broken), but the server decides: a refused click comes
 *   back as an error toast.
 * - The end: the match totals and the winner (the lowest total).
 *
 * It reads the game's view, `table.game_state` (schema/games/hearts/view.json, written by
 * `Hearts.view_for` in game_server/rules/hearts.py), players in game order. See README.md for
 * the renderer interface.
 */

import { h } from '../dom.js';
import { cardChip, cardChips, cardFace, cardLabel, cardName, cardShort, cardView, parseCard, sortHand } from '../cards.js';

/** Cards each player passes. */
export const PASS_SIZE = 3;
const HAND_SIZE = 13;
const QUEEN_OF_SPADES = 'QS';
const TWO_OF_CLUBS = '2C';
const PLAYERS = 4;

/** How many places to the left the passed cards travel, by the view's `pass`. */
const PASS_OFFSETS = { left: 1, right: 3, across: 2, none: 0 };
const PASS_WORDS = { left: 'to the left', right: 'to the right', across: 'across', none: 'no passing' };
const PASS_ARROWS = { left: '←', right: '→', across: '↑', none: '·' };

/** What taking `code` costs: 1 for a heart, 13 for Q♠, else 0. */
export function cardPoints(code) {
  if (code === QUEEN_OF_SPADES) return 13;
  return code && code[1] === 'H' ? 1 : 0;
}

/** The player who gets the cards `giver` passes in a deal whose passes go `direction`. */
export function receiverOf(giver, direction) {
  return (giver + (PASS_OFFSETS[direction] ?? 0)) % PLAYERS;
}

/** The player whose cards `receiver` gets. */
export function giverOf(receiver, direction) {
  return (receiver - (PASS_OFFSETS[direction] ?? 0) + PLAYERS) % PLAYERS;
}

/**
 * Why `card` may not be played from `hand` to a trick whose cards so far are `trick`, or null
 * if it may: the rules of game_server/rules/hearts.py (`_broken_rule`), as far as a view shows
 * them. `firstTrick`: nobody has taken a trick this deal yet.
 */
export function whyNot(card, hand, trick, firstTrick, heartsBroken) {
  const suit = card[1];
  if (trick.length === 0) {
    // The holder of 2♣ leads it to the first trick.
    if (firstTrick && card !== TWO_OF_CLUBS) return 'The first trick starts with 2♣.';
    // Hearts cannot be led until broken, unless the hand holds only hearts.
    if (suit === 'H' && !heartsBroken && hand.some((c) => c[1] !== 'H')) {
      return 'Hearts are not broken yet: lead another suit.';
    }
    return null;
  }
  const led = trick[0][1];
  // Follow suit if you can.
  if (suit !== led && hand.some((c) => c[1] === led)) return `Follow ${parseCard(trick[0]).suitName}.`;
  // No points on the first trick, unless the hand holds nothing else.
  if (firstTrick && cardPoints(card) && hand.some((c) => !cardPoints(c))) {
    return 'No hearts or Q♠ on the first trick.';
  }
  return null;
}

/**
 * The cards the viewer (game player `me`) may play now, from the view alone; empty unless it
 * is their turn in the play.
 */
export function playableCards(view, me) {
  const playable = new Set();
  if (!view || view.phase !== 'play' || me == null || view.turn !== me) return playable;
  const hand = view.hand || [];
  const trick = (view.trick || []).map((play) => play.card);
  // On their turn a player has not played to the trick: 13 cards mean the first trick.
  const firstTrick = hand.length === HAND_SIZE;
  for (const card of hand) {
    if (whyNot(card, hand, trick, firstTrick, view.hearts_broken) == null) playable.add(card);
  }
  return playable;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Who has not chosen their pass yet (game players), from the view's `passed`. */
function stillChoosing(view) {
  return (view.passed || []).map((done, p) => (done ? null : p)).filter((p) => p != null);
}

function passTarget(view, ctx) {
  if (ctx.me == null || view.pass === 'none') return PASS_WORDS[view.pass] || view.pass;
  return `${PASS_WORDS[view.pass]}, to ${ctx.name(receiverOf(ctx.me, view.pass))}`;
}

function statusText(view, ctx, playable) {
  if (view.phase === 'pass') {
    const waiting = stillChoosing(view);
    if (ctx.me != null && !view.passing) {
      const chosen = (ctx.ui.selected || []).length;
      return `Choose 3 cards to pass ${passTarget(view, ctx)} (${chosen} of 3 chosen).`;
    }
    return `Cards are passed ${PASS_WORDS[view.pass]}: waiting for ${plural(waiting.length, 'player', 'players')}.`;
  }
  if (view.phase !== 'play') return 'The match is over.';
  if (ctx.myTurn) {
    const trick = view.trick || [];
    if (trick.length === 0) {
      if ((view.hand || []).includes(TWO_OF_CLUBS) && (view.hand || []).length === HAND_SIZE) {
        return 'Your turn: lead 2♣.';
      }
      return 'Your turn: lead a card.';
    }
    const led = parseCard(trick[0].card);
    const follows = [...playable].some((c) => c[1] === led.suit);
    return follows ? `Your turn: follow ${led.symbol} ${led.suitName}.`
      : `Your turn: no ${led.suitName} left, play any card.`;
  }
  return `${ctx.name(view.turn)}'s turn.`;
}

// ---------------------------------------------------------------------------------------------
// The hand

function renderHand(view, ctx, playable) {
  const hand = sortHand(view.hand);
  const received = new Set(view.received || []);
  const choosing = view.phase === 'pass' && !view.passing && ctx.myTurn;
  const selected = new Set(choosing ? ctx.ui.selected || [] : []);
  const playing = view.phase === 'play';
  const myTurn = playing && ctx.myTurn;
  const bar = [];
  if (choosing) {
    const count = selected.size;
    bar.push(h('button', {
      type: 'button',
      class: 'btn btn-primary pass-button',
      'data-action': 'pass-cards',
      'data-testid': 'pass-cards',
      disabled: count !== PASS_SIZE,
      title: count === PASS_SIZE ? `Pass them ${passTarget(view, ctx)}` : 'Choose 3 cards first',
    }, `Pass 3 cards ${view.pass}`),
    h('span', { class: 'pass-count', 'data-testid': 'pass-count', 'data-count': count },
      `${count} of 3 chosen`));
  }
  if (received.size && playing) {
    bar.push(h('span', { class: 'received-note', 'data-testid': 'received-note' },
      `Received from ${ctx.name(giverOf(ctx.me, view.pass))}: `, cardChips(view.received)));
  }
  return [
    bar.length ? h('div', { class: 'hand-bar' }, bar) : null,
    h('h2', { class: 'visually-hidden' }, 'Your hand'),
    h('div', {
      class: ['hand', choosing && 'choosing'],
      style: { '--n': String(Math.max(1, hand.length)) },
      'data-testid': 'hand',
      role: 'group',
      'aria-label': `Your hand, ${plural(hand.length, 'card', 'cards')}`,
    },
    hand.map((code) => {
      const ok = playable.has(code);
      const isSelected = selected.has(code);
      const isReceived = received.has(code);
      let title = cardName(code);
      if (choosing) title = isSelected ? `${title}: chosen to pass` : `Choose ${title} to pass`;
      else if (myTurn) title = ok ? `Play ${title}` : `${title} cannot be played now`;
      return h('button', {
        type: 'button',
        class: ['card', parseCard(code)?.colour,
          myTurn && (ok ? 'playable' : 'dimmed'), playing && !myTurn && 'waiting',
          isSelected && 'selected', isReceived && 'received'],
        'data-testid': `card-${code}`,
        'data-card': code,
        'data-action': choosing ? 'toggle-pass' : 'play',
        'data-playable': ok ? 'true' : 'false',
        'data-selected': isSelected ? 'true' : null,
        'data-received': isReceived ? 'true' : null,
        'aria-pressed': choosing ? String(isSelected) : null,
        'aria-disabled': choosing || ok ? null : 'true',
        'aria-label': cardLabel(code) + (isReceived ? ', received' : ''),
        title,
      }, cardFace(code), isReceived ? h('span', { class: 'received-tag', 'aria-hidden': 'true' }, 'new') : null);
    })),
  ];
}

// ---------------------------------------------------------------------------------------------
// The felt: the trick, or who has passed

function place(ctx, player, spread = 1) {
  const { dx, dy } = ctx.direction(player);
  return { left: `${(50 + 34 * spread * dx).toFixed(1)}%`, top: `${(50 + 30 * spread * dy).toFixed(1)}%` };
}

function renderTrick(view, ctx) {
  const trick = view.trick || [];
  const said = trick.map((play) => `${ctx.name(play.player)} ${ctx.verb(ctx.name(play.player), 'play', 'plays')} ${cardName(play.card)}`);
  const slots = trick.map((play, i) => h('div', {
    class: ['trick-play', i === 0 && 'is-lead'],
    style: place(ctx, play.player),
    'data-testid': `trick-${ctx.seatOf(play.player)}`,
    'data-player': play.player,
    'data-seat': ctx.seatOf(play.player),
    'data-card': play.card,
  },
  cardView(play.card, { class: 'trick-card' }),
  h('span', { class: 'trick-who', 'aria-hidden': 'true' }, ctx.name(play.player), i === 0 ? h('span', { class: 'led' }, ' · led') : null)));
  if (view.phase === 'play' && view.turn != null) {
    const who = ctx.name(view.turn);
    slots.push(h('div', {
      class: ['trick-play', 'to-play'],
      style: place(ctx, view.turn),
      'data-testid': 'trick-next',
      'data-player': view.turn,
      'aria-hidden': 'true',
    },
    h('span', { class: 'card empty-slot' }),
    h('span', { class: 'trick-who' }, who === 'You' ? 'Your turn' : `${who}…`)));
  }
  return h('div', {
    class: 'trick',
    'data-testid': 'trick',
    'data-count': trick.length,
    role: 'img',
    'aria-label': trick.length ? `Trick: ${said.join(', ')}` : 'Trick: no card played yet',
  }, slots);
}

function renderPassing(view, ctx) {
  const waiting = stillChoosing(view);
  return h('div', { class: 'pass-panel', 'data-testid': 'pass-status', 'data-waiting': waiting.length },
    h('p', { class: 'pass-title' }, `${PASS_ARROWS[view.pass]} Passing 3 cards ${PASS_WORDS[view.pass]}`),
    h('ul', { class: 'passed-list' },
      ctx.players.map((seat, p) => h('li', {
        class: [(view.passed || [])[p] ? 'has-passed' : 'is-choosing'],
        'data-testid': `passed-${seat}`,
        'data-passed': (view.passed || [])[p] ? 'true' : 'false',
      }, (view.passed || [])[p] ? '✓ ' : '… ', ctx.name(p)))),
    view.passing
      ? h('p', { class: 'pass-mine' }, 'You pass ', cardChips(view.passing, { testid: 'passing' }))
      : null,
    h('p', { class: 'pass-waiting', 'data-testid': 'pass-waiting' },
      waiting.length ? `Waiting for ${plural(waiting.length, 'player', 'players')}` : 'Exchanging…'));
}

function renderInfo(view) {
  return h('div', { class: 'hearts-info' },
    h('span', {
      class: 'chip deal-info', 'data-testid': 'deal-info', 'data-deal': view.deal, 'data-pass': view.pass,
    }, `Deal ${view.deal}`, h('span', { class: 'pass-dir' },
      view.pass === 'none' ? ' · no passing' : ` · ${PASS_ARROWS[view.pass]} pass ${view.pass}`)),
    h('span', {
      class: ['chip', 'hearts-broken', view.hearts_broken && 'is-broken'],
      'data-testid': 'hearts-broken',
      'data-broken': view.hearts_broken ? 'true' : 'false',
    }, view.hearts_broken ? '♥ Hearts broken' : '♡ Hearts not broken'));
}

function renderLastTrick(view, ctx) {
  const last = view.last_trick;
  if (!last) return null;
  const winner = ctx.name(last.winner);
  const points = last.plays.reduce((sum, play) => sum + cardPoints(play.card), 0);
  return h('div', {
    class: 'last-trick', 'data-testid': 'last-trick', 'data-winner': ctx.seatOf(last.winner),
  },
  h('span', { class: 'last-label' }, 'Last trick'),
  h('span', {
    class: 'mini-hand',
    role: 'img',
    'aria-label': last.plays.map((play) => `${ctx.name(play.player)}: ${cardName(play.card)}`).join(', '),
  }, last.plays.map((play) => cardChip(play.card, { class: play.player === last.winner && 'is-winner' }))),
  h('span', { class: 'last-winner' }, `→ ${winner}${points ? ` (+${points})` : ''}`));
}

/** On the felt: the deal and hearts chips above it, the trick (or the pass) in the middle, the
 * last trick above its right side (below it on a phone). */
function renderFelt(view, ctx) {
  return [
    renderInfo(view),
    h('div', { class: 'centre hearts-centre' },
      view.phase === 'pass' ? renderPassing(view, ctx) : renderTrick(view, ctx)),
    view.phase === 'play' ? renderLastTrick(view, ctx) : null,
  ];
}

// ---------------------------------------------------------------------------------------------
// Scores

function renderScores(view, ctx) {
  const taken = view.taken || [];
  const totals = view.totals || [];
  return h('section', { class: 'hearts-scores', 'aria-labelledby': 'hearts-scores-title' },
    h('h2', { id: 'hearts-scores-title' }, `Scores · deal ${view.deal}`),
    h('table', { class: 'scores', 'data-testid': 'score-table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Player'),
        h('th', { scope: 'col', class: 'points' }, 'This deal'),
        h('th', { scope: 'col', class: 'points' }, 'Total'))),
      h('tbody', null, ctx.players.map((seat, p) => h('tr', {
        class: [ctx.me === p && 'is-you'], 'data-testid': `points-${seat}`,
      },
      h('th', { scope: 'row' }, ctx.name(p)),
      h('td', { class: 'points', 'data-testid': 'taken' }, String(taken[p] ?? 0)),
      h('td', { class: 'points', 'data-testid': 'total' }, String(totals[p] ?? 0)))))),
    h('p', { class: 'hint' }, 'Hearts 1 point, Q♠ 13; the lowest total wins once someone reaches 100.'));
}

function renderResult(view, ctx) {
  const scores = view.scores || view.totals || [];
  const order = ctx.players.map((seat, p) => p).sort((a, b) => (scores[a] - scores[b]) || (a - b));
  return h('div', { class: 'hearts-result' },
    h('p', { class: 'result-note' }, `The match is over after ${plural(view.deal, 'deal', 'deals')}: the lowest total wins.`),
    h('table', { class: 'scores' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Player'),
        h('th', { scope: 'col', class: 'points' }, 'Total'))),
      h('tbody', null, order.map((p) => h('tr', {
        class: [p === view.winner && 'is-winner'], 'data-testid': `score-${ctx.seatOf(p)}`,
      },
      h('th', { scope: 'row' }, p === view.winner ? '♛ ' : '', ctx.name(p)),
      h('td', { class: 'points' }, String(scores[p] ?? 0)))))));
}

// ---------------------------------------------------------------------------------------------
// The log

function names(ctx, players) {
  return players.map((p) => ctx.name(p)).join(', ');
}

function describePass(move, ctx) {
  const view = ctx.table && ctx.table.game_state;
  const towards = view ? PASS_WORDS[view.pass] : '';
  const lines = [];
  if (move.cards) lines.push(`${ctx.who} ${ctx.verb(ctx.who, 'pass', 'passes')} ${move.cards.map(cardShort).join(' ')} ${towards}`.trim());
  else lines.push(`${ctx.who} chose 3 cards to pass`);
  if (move.exchanged) {
    lines.push('The cards changed hands');
    if (move.received) lines.push(`You received ${move.received.map(cardShort).join(' ')}`);
  }
  return lines;
}

function describePlay(move, ctx) {
  const lines = [`${ctx.who} played ${cardShort(move.card)}`];
  if (move.trick) {
    const winner = ctx.name(move.trick.winner);
    const points = move.trick.points;
    lines.push(`${winner} ${ctx.verb(winner, 'take', 'takes')} the trick`
      + (points ? ` (${plural(points, 'point', 'points')})` : ''));
  }
  if (move.deal) {
    const deal = move.deal;
    if (deal.moon != null) {
      const moon = ctx.name(deal.moon);
      lines.push(`${moon} shot the moon: 26 points to each other player`);
    }
    lines.push(`Deal ${deal.number} over: `
      + deal.points.map((points, p) => `${ctx.name(p)} ${points}`).join(', '));
  }
  if (move.next_deal) {
    const next = move.next_deal;
    lines.push(`Deal ${next.number}: ${next.pass === 'none' ? 'no passing' : `pass ${PASS_WORDS[next.pass]}`}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The renderer

export default {
  name: 'hearts',
  title: 'Hearts',
  stylesheet: new URL('../../css/games/hearts.css', import.meta.url).href,
  rules: [
    'Four players, 13 cards each. Before each deal’s play, pass 3 cards: left, then right, '
      + 'then across, then no pass, and again.',
    'The holder of 2♣ leads it. Follow suit if you can; the highest card of the suit led takes '
      + 'the trick and leads the next.',
    'No hearts or Q♠ on the first trick. Hearts cannot be led until a heart has been played.',
    'Each heart taken costs 1 point, Q♠ 13. Take all 26 and the others get 26 each. The match '
      + 'ends when someone reaches 100: the lowest total wins.',
  ],

  /** Under a seat's name: cards held; marks for the pass and for points taken this deal. */
  seatInfo(player, view) {
    const n = (view.cards || [])[player] ?? 0;
    const points = (view.taken || [])[player] ?? 0;
    const marks = [];
    let turnMark = null;
    if (view.phase === 'pass') {
      if ((view.passed || [])[player]) {
        marks.push({ text: '✓ Passed', class: 'mark-passed', testid: 'passed-mark' });
      }
      turnMark = '✎ Choosing';
    }
    if (points) marks.push({ text: `♥ ${points} pts`, class: 'mark-points', testid: 'points-mark' });
    return { count: n, text: plural(n, 'card', 'cards'), marks, turnMark };
  },

  renderGameState(view, ctx) {
    const playable = playableCards(view, ctx.me);
    return {
      status: statusText(view, ctx, playable),
      centre: renderFelt(view, ctx),
      hand: ctx.me != null ? renderHand(view, ctx, playable) : null,
      side: renderScores(view, ctx),
      result: view.phase === 'over' ? renderResult(view, ctx) : null,
    };
  },

  describeMove(move, ctx) {
    if (move.type === 'pass') return describePass(move, ctx);
    if (move.type === 'play') return describePlay(move, ctx);
    return null;
  },

  /** Choosing the pass (toggle a card, then pass), playing a card, Escape to clear a choice. */
  handleAction(action, dataset, ctx) {
    const selected = ctx.ui.selected || [];
    switch (action) {
      case 'toggle-pass': {
        const card = dataset.card;
        if (selected.includes(card)) {
          return { ui: { ...ctx.ui, selected: selected.filter((c) => c !== card) }, focus: `card-${card}` };
        }
        // A fourth card is not taken: put one back first (the count says 3 of 3).
        if (selected.length >= PASS_SIZE) return { focus: `card-${card}` };
        return { ui: { ...ctx.ui, selected: [...selected, card] }, focus: `card-${card}` };
      }
      case 'pass-cards':
        if (selected.length !== PASS_SIZE) return null;
        return { move: { type: 'pass', cards: [...selected] } };
      case 'play':
        return { move: { type: 'play', card: dataset.card } };
      case 'escape':
        return selected.length ? { ui: { ...ctx.ui, selected: [] } } : null;
      default:
        return null;
    }
  },

  /** The choice of cards to pass lasts while the viewer is choosing and holds them. */
  reconcileUi(ui, view, ctx) {
    const selected = ui.selected || [];
    if (!selected.length) return ui;
    if (view.phase !== 'pass' || view.passing || !ctx.myTurn) return { ...ui, selected: [] };
    const hand = view.hand || [];
    const kept = selected.filter((c) => hand.includes(c));
    return kept.length === selected.length ? ui : { ...ui, selected: kept };
  },
};
