/**
 * The chat panel (docs/protocol.md, "Chat"): the lobby's chat while in the lobby, the room's at
 * a table. It lives outside the views (an `<aside id="chat">` after `<main>`), so redrawing the
 * table never loses what is being typed, and it sits below the table in the page's flow, so it
 * never covers the hand; on a phone it starts folded (a `<details>`), with a count of unread
 * messages.
 *
 * Safety: every text from the server (names, messages) goes in with `textContent`, never as
 * markup; direction controls are removed once more here (the server strips them too) and each
 * name and message is isolated with `dir="auto"`, so no text can turn the line around it.
 *
 * The room's owner sees a Mute button next to the other members' messages (`mute`); a member
 * the owner muted sees why the input is off until the end of the game.
 */

import { h } from './dom.js';

/** The most characters a message may have (the server counts after cleaning). */
export const MAX_CHARS = 200;
/** Messages kept per place (the lobby, each room). */
const KEEP = 100;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A text as it may be shown: no direction controls, no control characters. */
export function cleanText(text) {
  return String(text == null ? '' : text).replace(BIDI, '').replace(CONTROLS, ' ');
}

/** When a message was sent, as the reader's own hh:mm (the server's `at` is UTC). */
function clockTime(at) {
  const when = new Date(at);
  if (Number.isNaN(when.getTime())) return '';
  return when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

const AUDIENCE_NOTE = {
  players: 'to players',
  spectators: 'to spectators',
};

export class ChatPanel {
  /**
   * @param {HTMLElement} root the `<aside id="chat">` to fill
   * @param {{send: function(object): Promise, narrow?: MediaQueryList}} options `send` sends a
   *   request and resolves with its reply (rejects with the server's error)
   */
  constructor(root, { send, narrow = window.matchMedia('(max-width: 700px)') }) {
    this.root = root;
    this.send = send;
    this.place = null; // 'lobby', or a room id
    this.context = { user: null, table: null };
    this.lines = new Map(); // place -> [chat message]
    this.unread = 0;
    this.build(!narrow.matches);
  }

  build(open) {
    this.title = h('span', { class: 'chat-title', id: 'chat-title' }, 'Chat');
    this.badge = h('span', { class: 'chat-unread', 'data-testid': 'chat-unread', hidden: true });
    this.scope = h('p', { class: 'chat-scope', 'data-testid': 'chat-scope' });
    this.log = h('ol', {
      // No role="log" on an <ol> (axe: aria-allowed-role); aria-live alone announces lines.
      class: 'chat-log', 'data-testid': 'chat-log', 'aria-live': 'polite',
      'aria-labelledby': 'chat-title',
    });
    this.input = h('input', {
      id: 'chat-input', class: 'chat-input', 'data-testid': 'chat-input', type: 'text',
      maxlength: MAX_CHARS, autocomplete: 'off', enterkeyhint: 'send', placeholder: 'Say something',
    });
    this.sendButton = h('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'chat-send' }, 'Send');
    this.error = h('p', { class: 'chat-error', 'data-testid': 'chat-error', role: 'alert', hidden: true });
    this.form = h('form', { class: 'chat-form', 'data-testid': 'chat-form', novalidate: true },
      h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Chat message'),
      this.input, this.sendButton);
    this.details = h('details', { class: 'chat-box', 'data-testid': 'chat-box', open },
      h('summary', { class: 'chat-summary', 'data-testid': 'chat-toggle' }, this.title, this.badge),
      this.scope, this.log, this.form, this.error);
    this.root.replaceChildren(this.details);
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.details.addEventListener('toggle', () => {
      if (this.details.open) this.setUnread(0);
    });
    this.log.addEventListener('click', (event) => {
      const button = event.target.closest('[data-chat-mute]');
      if (button) this.mute(Number(button.dataset.chatMute), button);
    });
  }

  /**
   * Follow the app's model: shown in the lobby and at a table, with that place's messages.
   * @param {{view: string, user: object|null, state: object|null}} model
   */
  update(model) {
    const atTable = model.view === 'table' && model.state;
    const shown = model.view === 'lobby' || Boolean(atTable);
    this.root.hidden = !shown;
    document.body.dataset.chat = shown ? 'on' : 'off';
    if (!shown) return;
    const place = atTable ? model.state.room : 'lobby';
    const table = atTable ? model.state.table : null;
    const before = this.context;
    this.context = { user: model.user, table };
    if (place !== this.place) {
      this.place = place;
      this.setUnread(0);
      this.drawLog();
    } else if (before.table !== table && this.canMuteChanged(before.table, table)) {
      this.drawLog(); // the Mute buttons follow ownership and mutes
    }
    this.drawScope();
  }

  /** A `chat` message from the server. */
  receive(message) {
    const place = message.room == null ? 'lobby' : message.room;
    const lines = this.lines.get(place) || [];
    lines.push(message);
    this.lines.set(place, lines.slice(-KEEP));
    if (place !== this.place) return;
    const follow = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 8;
    this.log.appendChild(this.line(message));
    while (this.log.children.length > KEEP) this.log.firstChild.remove();
    if (follow || this.isMine(message)) this.log.scrollTop = this.log.scrollHeight;
    if (!this.details.open && !this.isMine(message)) this.setUnread(this.unread + 1);
  }

  // --- drawing ---------------------------------------------------------------------------

  drawLog() {
    this.log.replaceChildren(...(this.lines.get(this.place) || []).map((m) => this.line(m)));
    this.log.scrollTop = this.log.scrollHeight;
  }

  drawScope() {
    const { table, user } = this.context;
    const muted = Boolean(table && user && (table.muted || []).includes(user.id));
    let scope;
    if (!table) scope = 'Lobby: everyone here who is not at a table.';
    else if (table.status !== 'playing' || table.spectator_chat) scope = 'Room: everyone at this table and watching.';
    else if (table.you == null) scope = 'While the game runs, spectators talk among themselves.';
    else scope = 'While the game runs, players talk among themselves.';
    this.title.textContent = table ? 'Room chat' : 'Lobby chat';
    this.scope.textContent = scope;
    this.input.disabled = muted;
    this.sendButton.disabled = muted;
    this.input.placeholder = muted ? 'The owner muted you until the end of the game' : 'Say something';
  }

  line(message) {
    const to = AUDIENCE_NOTE[message.to];
    const from = message.from || {};
    return h('li', {
      class: ['chat-line', this.isMine(message) && 'chat-mine', to && `chat-to-${message.to}`],
      'data-testid': 'chat-line',
    },
    h('time', { class: 'chat-at', datetime: message.at }, clockTime(message.at)),
    ' ',
    h('span', { class: 'chat-from', 'data-testid': 'chat-from', dir: 'auto' }, cleanText(from.name)),
    to ? h('span', { class: 'chat-audience' }, ` (${to})`) : null,
    ': ',
    h('span', { class: 'chat-text', 'data-testid': 'chat-text', dir: 'auto' }, cleanText(message.text)),
    this.canMute(from.user_id) ? h('button', {
      type: 'button', class: 'chat-mute btn btn-quiet btn-small', 'data-chat-mute': from.user_id,
      'data-testid': 'chat-mute', 'aria-label': `Mute ${cleanText(from.name)}`,
    }, 'Mute') : null);
  }

  isMine(message) {
    const { user } = this.context;
    return Boolean(user && message.from && message.from.user_id === user.id);
  }

  canMute(userId) {
    const { table, user } = this.context;
    return Boolean(table && user && table.you != null && table.you === table.owner
      && userId !== user.id && !(table.muted || []).includes(userId));
  }

  canMuteChanged(before, after) {
    if (!before || !after) return true;
    return before.owner !== after.owner || before.you !== after.you
      || String(before.muted || []) !== String(after.muted || []);
  }

  setUnread(count) {
    this.unread = count;
    this.badge.hidden = count === 0;
    this.badge.textContent = count ? String(count) : '';
    this.badge.setAttribute('aria-label', `${count} unread`);
  }

  // --- sending ---------------------------------------------------------------------------

  async submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    this.showError(null);
    this.sendButton.disabled = true;
    try {
      await this.send({ msg: 'chat', text });
      this.input.value = '';
    } catch (err) {
      this.showError(err && err.text ? err.text : 'The message was not sent.');
    } finally {
      this.drawScope();
      this.input.focus();
    }
  }

  async mute(userId, button) {
    button.disabled = true;
    try {
      await this.send({ msg: 'mute', user_id: userId });
    } catch (err) {
      this.showError(err && err.text ? err.text : 'Could not mute.');
      button.disabled = false;
    }
  }

  showError(text) {
    this.error.hidden = !text;
    this.error.textContent = text || '';
  }
}
