/**
 * Finished games in the browser, from the history API (docs/api.md): the lobby's leaderboard
 * and "your recent games", the game-over panel's link to the replay, and the replay itself.
 *
 * The replay (`#game=<id>`) is a page of its own over the app (it needs no sign-in: the API
 * reveals a game only once it is over). It steps through the deal move by move (start, back,
 * forward, end, autoplay), every hand face up, the event log beside it. Positions are the
 * server's (`?positions=1`: each move's `position`, for any game); for a record without them,
 * the game's renderer steps the deal by each move's revealed `event` (`replayStep`), checked
 * against the record's `final` (without `replayStep`: the deal, then the final position).
 */

import { h } from './dom.js';
import { cardView } from './cards.js';
import { gameInfo } from './render.js';
import { loadRenderer } from './renderers.js';
import { parseLink } from './links.js';

const AUTOPLAY_MS = 700;
const HISTORY_REFRESH_MS = 15000;

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.error) || `HTTP ${response.status}`);
  return body;
}

function seatLabel(record, seat) {
  const entry = (record.seats || []).find((s) => s.seat === seat);
  return entry && entry.user ? entry.user.name : `Bot ${seat}`;
}

// ---------------------------------------------------------------------------------------------
// The lobby: leaderboard and your recent games

let historyAt = 0;
let historyUser = null;

/** Fill the lobby's history panel (at most every 15 s unless `force`). */
export async function refreshHistory(user, games = [], force = false) {
  const panel = document.getElementById('history');
  if (!panel || !user) return;
  if (!force && historyUser === user.id && Date.now() - historyAt < HISTORY_REFRESH_MS) return;
  historyUser = user.id;
  historyAt = Date.now();
  try {
    const [board, mine] = await Promise.all([
      getJson('api/leaderboard?limit=10'),
      getJson(`api/users/${user.id}/games?limit=10`),
    ]);
    document.getElementById('leaderboard').replaceChildren(renderLeaderboard(board.leaders, user));
    document.getElementById('recent-games').replaceChildren(renderRecentGames(mine.games, games));
  } catch (err) {
    historyAt = 0;
    document.getElementById('recent-games').replaceChildren(
      h('p', { class: 'empty' }, `The game history cannot be read now (${err.message}).`));
  }
}

function renderLeaderboard(leaders, user) {
  if (!leaders || !leaders.length) return h('p', { class: 'empty' }, 'No finished games yet.');
  return h('table', { class: 'scores leaderboard-table', 'data-testid': 'leaderboard-table' },
    h('caption', { class: 'visually-hidden' }, 'Leaderboard: most wins first'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Player'),
      h('th', { scope: 'col' }, 'Wins'), h('th', { scope: 'col' }, 'Games'))),
    h('tbody', null, leaders.map((row, i) => h('tr', {
      class: [row.user.id === user.id && 'is-you'], 'data-testid': `leader-${row.user.id}`,
    },
    h('td', null, String(i + 1)),
    h('th', { scope: 'row' }, row.user.name, row.user.id === user.id ? ' (you)' : ''),
    h('td', { class: 'points', 'data-testid': 'leader-wins' }, String(row.wins)),
    h('td', { class: 'points' }, String(row.games))))));
}

function renderRecentGames(list, games) {
  if (!list || !list.length) return h('p', { class: 'empty' }, 'You have not played yet.');
  return h('ul', { class: 'recent-list', 'data-testid': 'recent-list' }, list.map((game) => {
    const title = gameInfo(games, game.game).title;
    let outcome = 'playing';
    if (game.status === 'abandoned') outcome = 'abandoned';
    else if (game.status === 'finished') outcome = game.won ? `won (${game.score})` : `lost (${game.score})`;
    return h('li', { class: 'recent-game', 'data-testid': `recent-${game.id}` },
      h('span', { class: 'recent-name' }, `${game.name} · ${title}`),
      h('span', { class: 'recent-outcome' }, outcome),
      game.status === 'finished'
        ? h('a', { href: `#game=${game.id}`, class: 'btn btn-small', 'data-testid': 'replay-open' },
          'Replay', h('span', { class: 'visually-hidden' }, ` ${game.name}, game ${game.id}`))
        : null);
  }));
}

// ---------------------------------------------------------------------------------------------
// The game-over panel's link

const finishedGame = new Map(); // room -> game id of its last finished game

/**
 * Add "Replay this game" to the game-over panel under `root`: the newest finished game of this
 * room among the user's games (looked up once per room and result).
 */
export function linkGameOver(root, state, user) {
  const panel = root.querySelector('[data-testid="game-over"]');
  if (!panel || !user || state.table.you == null) return;
  const key = `${state.room}:${JSON.stringify(state.table.result || null)}`;
  const known = finishedGame.get(key);
  if (known === undefined) {
    finishedGame.set(key, null);
    getJson(`api/users/${user.id}/games?limit=10`).then((body) => {
      const game = (body.games || []).find((g) => g.room === state.room && g.status === 'finished');
      finishedGame.set(key, game ? game.id : null);
      const live = document.querySelector('[data-testid="game-over"]');
      if (game && live) addReplayLink(live, game.id);
    }).catch(() => finishedGame.delete(key));
  } else if (known != null) {
    addReplayLink(panel, known);
  }
}

function addReplayLink(panel, id) {
  if (panel.querySelector('[data-testid="replay-link"]')) return;
  panel.appendChild(h('p', { class: 'replay-link' },
    h('a', { href: `#game=${id}`, 'data-testid': 'replay-link' }, '▶ Replay this game')));
}

// ---------------------------------------------------------------------------------------------
// The replay

const replay = { record: null, renderer: null, steps: [], step: 0, timer: null, games: [] };

/** Whether a record's entry is a game move: a player's, or the bot's for a seat whose
 *  turn clock ran out (kind "timeout"). */
const isMove = (entry) => (entry.kind === 'move' || entry.kind === 'timeout') && entry.move;

/** The positions of a record: [{view, entry}] from the deal to the last move. */
function buildSteps(record, renderer) {
  const players = record.players || [];
  const steps = [{ view: record.deal, entry: null }];
  let view = record.deal;
  let stepped = typeof renderer.replayStep === 'function';
  for (const entry of record.moves || []) {
    if (!isMove(entry)) continue;
    if (entry.position) {
      // The server's own position after the move (?positions=1): right for every game.
      view = entry.position;
      steps.push({ view, entry });
      continue;
    }
    if (stepped) {
      try {
        view = renderer.replayStep(view, entry.move || {}, entry.event || {}, players.indexOf(entry.seat));
      } catch (err) {
        stepped = false;
      }
    }
    steps.push({ view: stepped ? view : record.deal, entry });
  }
  const last = steps[steps.length - 1];
  const sorted = (hands) => JSON.stringify((hands || []).map((hand) => [...hand].sort()));
  const same = sorted(last.view.hands) === sorted(record.final.hands);
  // The record's own end is the authority: a renderer that stepped wrongly shows it anyway.
  if (!same) last.view = record.final;
  return { steps, checked: same };
}

function logLine(record, entry, renderer) {
  const players = record.players || [];
  if (isMove(entry)) {
    const who = seatLabel(record, entry.seat);
    const ctx = {
      seat: entry.seat, player: players.indexOf(entry.seat), who,
      name: (p) => seatLabel(record, players[p]), verb: (subject, one, other) => other,
    };
    const told = renderer && renderer.describeMove
      ? renderer.describeMove({ ...(entry.move || {}), ...(entry.event || {}) }, ctx) : null;
    const lines = [].concat(told || []);
    const said = lines.length ? lines.join('; ') : `${who} moves`;
    return entry.kind === 'timeout' ? `Time ran out: ${said}` : said;
  }
  const name = entry.user ? entry.user.name : 'Someone';
  const said = {
    sit: `${name} sat down`, add_bot: `${name} added a bot`, start: `${name} started the game`,
    leave: `${name} left`, disconnect: `${name} lost the connection`, connect: `${name} reconnected`,
    expire: `A bot plays for ${name}`,
  };
  return said[entry.kind] || entry.kind;
}

function renderReplay() {
  const { record, renderer, steps, step } = replay;
  const root = document.getElementById('replay');
  const current = steps[step];
  const view = current.view;
  const players = record.players || [];
  const atEnd = step === steps.length - 1;
  const title = gameInfo(replay.games, record.game).title;
  const button = (testid, action, label, text, disabled) => h('button', {
    type: 'button', class: 'btn', 'data-replay': action, 'data-testid': testid, disabled,
    'aria-label': label,
  }, text);
  const moveIndex = new Map();
  steps.forEach((s, i) => { if (s.entry) moveIndex.set(s.entry, i); });
  let lastStepSeen = 0;
  const log = (record.moves || []).map((entry) => {
    if (moveIndex.has(entry)) lastStepSeen = moveIndex.get(entry);
    const index = moveIndex.has(entry) ? moveIndex.get(entry) : lastStepSeen;
    return h('li', {
      class: [index > step && 'is-future', current.entry === entry && 'is-current'],
      'aria-current': current.entry === entry ? 'step' : null,
      'data-testid': 'replay-log-line',
    }, logLine(record, entry, renderer));
  });
  const scores = h('table', { class: 'scores replay-scores', 'data-testid': 'replay-scores' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Player'), h('th', { scope: 'col' }, 'Score'))),
    h('tbody', null, (record.seats || []).map((seat) => h('tr', {
      class: [seat.seat === record.winner && 'is-winner'], 'data-testid': `replay-score-${seat.seat}`,
      'data-score': seat.score,
    },
    h('th', { scope: 'row' }, seat.seat === record.winner ? '♛ ' : '', seatLabel(record, seat.seat)),
    h('td', { class: 'points' }, String(seat.score))))));
  root.replaceChildren(h('div', {
    class: 'replay-page', 'data-testid': 'replay', 'data-game': record.id, 'data-step': step,
    'data-steps': steps.length - 1, 'data-checked': replay.checked ? 'true' : 'false',
  },
  h('div', { class: 'replay-head' },
    h('h1', { id: 'replay-title' }, `Replay: ${record.name}`),
    h('span', { class: 'room-game' }, `${title}, game ${record.number}`),
    h('button', { type: 'button', class: 'btn btn-quiet', 'data-replay': 'close', 'data-testid': 'replay-close' }, 'Close replay')),
  h('div', { class: 'replay-controls', role: 'group', 'aria-label': 'Replay controls' },
    button('replay-start', 'start', 'Start: the deal', '|◀ Start', step === 0),
    button('replay-back', 'back', 'Back one move', '◀ Back', step === 0),
    h('button', {
      type: 'button', class: 'btn btn-primary', 'data-replay': 'play', 'data-testid': 'replay-play',
      'aria-pressed': replay.timer ? 'true' : 'false',
    }, replay.timer ? '❚❚ Pause' : '▶ Autoplay'),
    button('replay-forward', 'forward', 'Forward one move', 'Forward ▶', atEnd),
    button('replay-end', 'end', 'End: the last move', 'End ▶|', atEnd),
    h('span', { class: 'replay-position', 'data-testid': 'replay-position', role: 'status' },
      step === 0 ? `The deal (${steps.length - 1} moves)` : `Move ${step} of ${steps.length - 1}`)),
  h('div', { class: 'replay-body' },
    h('section', { class: 'replay-board', 'aria-label': 'Every hand, face up' },
      renderer && renderer.renderReplayCentre ? renderer.renderReplayCentre(view) : null,
      players.map((seat, p) => h('div', {
        class: ['replay-seat', current.entry && current.entry.seat === seat && 'is-mover'],
        'data-testid': `replay-seat-${seat}`,
      },
      h('h2', null, seatLabel(record, seat), ` · ${((view.hands || [])[p] || []).length} cards`),
      h('div', { class: 'replay-hand', 'data-testid': `replay-hand-${seat}` },
        ((view.hands || [])[p] || []).map((code) => cardView(code, { class: 'replay-card' })))))),
    h('section', { class: 'replay-side' },
      atEnd ? h('div', { class: 'replay-result', 'data-testid': 'replay-result' },
        h('h2', null, `${seatLabel(record, record.winner)} won`), scores) : null,
      h('h2', { class: 'replay-log-title', id: 'replay-log-title' }, 'Events'),
      // Focusable: it scrolls, and a keyboard must be able to scroll it.
      h('ol', {
        class: 'replay-log', 'data-testid': 'replay-log', tabindex: '0', 'aria-labelledby': 'replay-log-title',
      }, log)))));
  const currentLine = root.querySelector('.replay-log .is-current');
  if (currentLine && currentLine.scrollIntoView) currentLine.scrollIntoView({ block: 'nearest' });
}

function stopAutoplay() {
  clearInterval(replay.timer);
  replay.timer = null;
}

function go(step) {
  replay.step = Math.max(0, Math.min(replay.steps.length - 1, step));
  if (replay.step === replay.steps.length - 1) stopAutoplay();
  renderReplay();
}

function onReplayClick(event) {
  const button = event.target.closest('[data-replay]');
  if (!button || button.disabled || !replay.record) return;
  const focusKey = button.dataset.testid;
  switch (button.dataset.replay) {
    case 'start': stopAutoplay(); go(0); break;
    case 'back': stopAutoplay(); go(replay.step - 1); break;
    case 'forward': stopAutoplay(); go(replay.step + 1); break;
    case 'end': go(replay.steps.length - 1); break;
    case 'play':
      if (replay.timer) stopAutoplay();
      else {
        if (replay.step === replay.steps.length - 1) replay.step = 0;
        replay.timer = setInterval(() => go(replay.step + 1), AUTOPLAY_MS);
      }
      renderReplay();
      break;
    case 'close': closeReplay(); return;
    default: return;
  }
  // Keep the focus on the control used; a control that is now disabled hands it to Autoplay.
  const again = document.querySelector(`#replay [data-testid="${focusKey}"]`);
  const target = again && !again.disabled ? again : document.querySelector('#replay [data-testid="replay-play"]');
  if (target) target.focus();
}

/** Open the replay of game `id` over the app. */
export async function openReplay(id, games = []) {
  const root = document.getElementById('replay');
  stopAutoplay();
  replay.games = games;
  root.hidden = false;
  document.body.dataset.replay = 'open';
  // The app stays as it was underneath, out of reach until the replay closes.
  const main = document.getElementById('main');
  if (main) main.inert = true;
  root.replaceChildren(h('p', { class: 'replay-loading' }, 'Loading the game…'));
  try {
    const record = await getJson(`api/games/${id}?positions=1`);
    const renderer = await loadRenderer(record.game);
    const { steps, checked } = buildSteps(record, renderer);
    Object.assign(replay, { record, renderer, steps, checked, step: 0 });
    renderReplay();
    const heading = root.querySelector('#replay-title');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  } catch (err) {
    replay.record = null;
    root.replaceChildren(h('div', { class: 'panel replay-error', 'data-testid': 'replay-error' },
      h('p', null, `This game cannot be replayed: ${err.message}`),
      h('button', { type: 'button', class: 'btn', 'data-replay': 'close' }, 'Close')));
  }
}

/** Close the replay and go back to the app as it was. */
export function closeReplay() {
  stopAutoplay();
  replay.record = null;
  const root = document.getElementById('replay');
  root.hidden = true;
  root.replaceChildren();
  delete document.body.dataset.replay;
  if (parseLink(window.location.hash).game != null) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  const main = document.getElementById('main');
  if (main) {
    main.inert = false;
    main.focus();
  }
}

/** Open the replay named by the address (`#game=<id>`), now and whenever it changes. */
export function watchReplayLinks(games) {
  const root = document.getElementById('replay');
  root.addEventListener('click', (event) => {
    if (event.target.closest('[data-replay="close"]') && !replay.record) {
      closeReplay();
      return;
    }
    onReplayClick(event);
  });
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !root.hidden) {
      event.preventDefault();
      closeReplay();
    }
  });
  const check = () => {
    const { game } = parseLink(window.location.hash);
    if (game != null) openReplay(game, games());
  };
  window.addEventListener('hashchange', check);
  check();
}
