/**
 * Cues at the table: a sound and a visual cue when it becomes your turn, and a short
 * animation of a card moving (from a hand or the deck to the pile, from the deck to a hand).
 *
 * - The sound is made with WebAudio (two short notes, no file), muted until the player turns
 *   it on with the top bar's toggle; the choice is kept in localStorage.
 * - The visual cue is a "Your turn" banner that comes and goes (`[data-testid="turn-cue"]`).
 * - A move's animation is asked of the game's renderer (`motion(move, ctx)` returns
 *   `{card, from, to}`, each end `"hand"`, `"deck"`, `"pile"` or `"seat"`): this module finds
 *   the card's old place before the table is redrawn and slides the new card from it. It does
 *   nothing under `prefers-reduced-motion: reduce`.
 */

const SOUND_KEY = 'cardtable.sound'; // "on" | "off" (the default)
const CUE_MS = 1800;
const MOTION_MS = 320;

let audio = null;

/** True when the player turned the turn sound on. */
export function soundOn() {
  try {
    return localStorage.getItem(SOUND_KEY) === 'on';
  } catch (err) {
    return false;
  }
}

/** Turn the sound on or off (kept for the next visit) and draw the toggle. */
export function setSound(on, button) {
  try {
    localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
  } catch (err) {
    // Private mode: the choice lasts for this page only.
  }
  drawSoundToggle(button);
  if (on) beep(); // the click is the user gesture that lets the page play sound
}

/** The toggle's look: pressed when the sound is on. */
export function drawSoundToggle(button) {
  if (!button) return;
  const on = soundOn();
  button.setAttribute('aria-pressed', on ? 'true' : 'false');
  button.textContent = '♪ Turn sound';
  button.dataset.sound = on ? 'on' : 'off';
}

function beep() {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    if (audio.state === 'suspended') audio.resume();
    const start = audio.currentTime;
    [[660, 0], [880, 0.12]].forEach(([frequency, offset]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.2);
    });
  } catch (err) {
    // No sound: the visual cue still shows.
  }
}

/** True if `table` (a table view) asks the viewer to move. */
function myTurn(table) {
  return Boolean(table && table.status === 'playing' && table.you != null
    && (table.to_act || []).includes(table.you));
}

/**
 * After a new state of the same room: cue the viewer when it has just become their turn.
 * `previous` is the state before (null after a join: no cue for the position one arrives in).
 */
export function cueTurn(previous, state) {
  if (!previous || myTurn(previous.table) || !myTurn(state.table)) return false;
  const cue = document.getElementById('turn-cue');
  if (cue) {
    cue.hidden = false;
    cue.classList.remove('show');
    void cue.offsetWidth; // restart the animation
    cue.classList.add('show');
    clearTimeout(cue.timer);
    cue.timer = setTimeout(() => { cue.hidden = true; cue.classList.remove('show'); }, CUE_MS);
    cue.dataset.count = String(Number(cue.dataset.count || 0) + 1);
  }
  if (soundOn()) beep();
  return true;
}

function reducedMotion() {
  return Boolean(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
}

function place(root, end, card, seat) {
  switch (end) {
    case 'hand': return root.querySelector(`[data-testid="hand"] [data-card="${CSS.escape(card || '')}"]`);
    case 'deck': return root.querySelector('[data-testid="deck"]');
    case 'pile': return root.querySelector('[data-testid="pile-top"]') || root.querySelector('[data-testid="pile"]');
    case 'seat': return seat == null ? null : root.querySelector(`[data-testid="seat-${seat}"]`);
    default: return null;
  }
}

/**
 * Before drawing `state`: where the moved card comes from (a rectangle in the old drawing), or
 * null when there is nothing to animate.
 */
export function planMotion(root, renderer, state, ctx) {
  const event = state.event;
  if (!event || event.type !== 'move' || !renderer || typeof renderer.motion !== 'function') return null;
  const motion = renderer.motion(event.move || {}, { ...ctx, mine: event.seat === state.table.you });
  if (!motion) return null;
  const fromEnd = motion.from === 'hand' && event.seat !== state.table.you ? 'seat' : motion.from;
  const toEnd = motion.to === 'hand' && event.seat !== state.table.you ? 'seat' : motion.to;
  const from = place(root, fromEnd, motion.card, event.seat);
  if (!from) return null;
  return { rect: from.getBoundingClientRect(), to: toEnd, card: motion.card, seat: event.seat, kind: `${fromEnd}>${toEnd}` };
}

/** After drawing: slide the card from where it was to where it is now. */
export function playMotion(root, plan) {
  if (!plan) return;
  if (reducedMotion()) {
    document.body.dataset.motion = `reduced ${plan.kind}`;
    return;
  }
  const target = place(root, plan.to, plan.card, plan.seat);
  if (!target || typeof target.animate !== 'function') return;
  const now = target.getBoundingClientRect();
  const dx = plan.rect.left + plan.rect.width / 2 - (now.left + now.width / 2);
  const dy = plan.rect.top + plan.rect.height / 2 - (now.top + now.height / 2);
  if (Math.abs(dx) < 1 && Math.abs(dy) < 1) return;
  const rest = target.style.transform || '';
  document.body.dataset.motion = plan.kind;
  target.classList.add('moving-card');
  const animation = target.animate([
    { transform: `translate(${dx}px, ${dy}px) ${rest}` },
    { transform: rest || 'none' },
  ], { duration: MOTION_MS, easing: 'cubic-bezier(.2,.7,.3,1)' });
  animation.onfinish = () => target.classList.remove('moving-card');
}
