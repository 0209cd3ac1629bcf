/**
 * Keyboard and screen-reader helpers for the table, used by app.js after each redraw.
 *
 * - The hand is one tab stop (a roving tabindex): Tab reaches one card (the one last focused
 *   while it is still held, else the first playable card, else the first), and the arrow keys,
 *   Home and End move along the hand, as in a WAI-ARIA toolbar.
 * - A modal dialog (`[role="dialog"][aria-modal="true"]`) keeps Tab and Shift+Tab inside it;
 *   when it closes, the focus returns to where it was before it opened (or to the hand).
 * - Announcements go to live regions that exist from the page's start (index.html) and only
 *   change their text: regions that are rebuilt with every update are missed by screen readers.
 */

const HAND = '[data-testid="hand"]';
const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), '
  + 'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Make each hand under `root` a single tab stop. `preferred` is the `data-testid` of the card
 * that should hold it (the last one focused), when it is still there.
 */
export function rovingHand(root, preferred) {
  for (const hand of root.querySelectorAll(HAND)) {
    const cards = [...hand.querySelectorAll('button')];
    if (!cards.length) continue;
    const stop = cards.find((card) => preferred && card.dataset.testid === preferred)
      || cards.find((card) => card.dataset.playable === 'true')
      || cards[0];
    for (const card of cards) card.tabIndex = card === stop ? 0 : -1;
  }
}

/**
 * Arrow keys (and Home, End) inside a hand: move the focus and the tab stop to the next card,
 * wrapping around. Returns true when the key was handled.
 */
export function moveInHand(event) {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return false;
  const hand = target.closest(HAND);
  if (!hand) return false;
  const cards = [...hand.querySelectorAll('button')];
  const index = cards.indexOf(target);
  if (index < 0) return false;
  let next;
  switch (event.key) {
    case 'ArrowRight':
    case 'ArrowDown':
      next = cards[(index + 1) % cards.length];
      break;
    case 'ArrowLeft':
    case 'ArrowUp':
      next = cards[(index - 1 + cards.length) % cards.length];
      break;
    case 'Home':
      [next] = cards;
      break;
    case 'End':
      next = cards[cards.length - 1];
      break;
    default:
      return false;
  }
  for (const card of cards) card.tabIndex = card === next ? 0 : -1;
  next.focus();
  return true;
}

/** Keep Tab inside an open modal dialog. Returns true when the key was handled. */
export function trapFocus(event, root = document) {
  if (event.key !== 'Tab') return false;
  const dialog = root.querySelector('[role="dialog"][aria-modal="true"]');
  if (!dialog) return false;
  const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
  if (!items.length) return false;
  const first = items[0];
  const last = items[items.length - 1];
  const inside = dialog.contains(document.activeElement);
  if (event.shiftKey && (!inside || document.activeElement === first)) {
    last.focus();
    return true;
  }
  if (!event.shiftKey && (!inside || document.activeElement === last)) {
    first.focus();
    return true;
  }
  return false;
}

/** Put `text` into the live region `id` when it differs from what it says now. */
export function announce(id, text) {
  const region = document.getElementById(id);
  if (!region) return;
  const value = text || '';
  if (region.textContent !== value) region.textContent = value;
}
