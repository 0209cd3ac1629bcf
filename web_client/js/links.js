/**
 * Links into the client: `#room=<id>` opens a room (after signing in as usual: as a player
 * while it waits for players, else as a spectator), `#game=<id>` the replay of a finished game.
 * The fragment is read once and removed from the address bar; a room to open waits in
 * sessionStorage through the sign-in.
 */

const ROOM_ID = /^[A-Za-z0-9_-]{6,32}$/;
const GAME_ID = /^[0-9]{1,12}$/;
const PENDING_KEY = 'cardtable.openRoom';

/** {room, game} named by a URL fragment ("#room=abc" / "#game=12"), each null when absent. */
export function parseLink(hash) {
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const room = params.get('room');
  const game = params.get('game');
  return {
    room: room && ROOM_ID.test(room) ? room : null,
    game: game && GAME_ID.test(game) ? Number(game) : null,
  };
}

/** Remove `#room=` from the address bar, keeping the room to open for after the sign-in. */
export function takeRoomLink() {
  const { room } = parseLink(window.location.hash);
  if (!room) return null;
  try {
    sessionStorage.setItem(PENDING_KEY, room);
  } catch (err) {
    // Without storage the room still opens if the sign-in needs no reload.
  }
  const rest = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  rest.delete('room'); // a sign-in token beside it is the token code's to take
  const hash = rest.toString();
  window.history.replaceState(null, '', window.location.pathname + window.location.search
    + (hash ? `#${hash}` : ''));
  return room;
}

/** The room a link asked to open (and forget it), or null. */
export function pendingRoom() {
  let room = null;
  try {
    room = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
  } catch (err) {
    room = null;
  }
  return room && ROOM_ID.test(room) ? room : null;
}

/**
 * Open a room from a link: sit down while it waits for players, else watch. `ask` sends a
 * request and resolves with the reply or rejects with the server's error.
 */
export async function openRoom(ask, room) {
  try {
    return await ask({ msg: 'join', room, as: 'player' });
  } catch (err) {
    if (err && (err.code === 'game_started' || err.code === 'room_full')) {
      return ask({ msg: 'join', room, as: 'spectator' });
    }
    throw err;
  }
}

/** Copy `text` to the clipboard; resolves true when it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (err) {
    return false;
  }
}
