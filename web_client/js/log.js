/**
 * The table's event log: turns the `event` of a `state` message into short lines for a person,
 * such as "Bob put Q♥" or "Ann took a card".
 *
 * Pure functions, no DOM. Names come from the table views: the new one, or the one before the
 * event for a seat that was just freed.
 */

import { cardShort, suitLabel } from './cards.js';

/** The name shown for a seat: "You" for the viewer's own seat, else the seated user's name. */
export function seatName(seat, table, previous) {
  if (seat == null) return 'Someone';
  if (table && table.you === seat) return 'You';
  for (const view of [table, previous]) {
    const entry = view && view.seats && view.seats[seat];
    if (entry && entry.user && entry.user.name) return entry.user.name;
  }
  return `Seat ${seat + 1}`;
}

function verb(subject, forYou, forOthers) {
  return subject === 'You' ? forYou : forOthers;
}

/**
 * Lines describing `event`, which produced `table`; `previous` is the view before it (or null).
 * Unknown event types give a neutral line rather than nothing, so the log never hides a change.
 */
export function describeEvent(event, table, previous) {
  if (!event || !event.type) return [];
  const who = seatName(event.seat, table, previous);
  const lines = [];
  switch (event.type) {
    case 'join':
      lines.push(`${who} sat down`);
      break;
    case 'leave':
      lines.push(`${who} left the room`);
      break;
    case 'add_bot': {
      const owner = table && table.owner != null ? seatName(table.owner, table, previous) : null;
      lines.push(owner ? `${owner} added ${who}` : `${who} sat down`);
      break;
    }
    case 'replace':
      lines.push(
        event.reason === 'timeout'
          ? `A bot plays for ${who} (connection lost)`
          : `A bot plays for ${who} (left)`,
      );
      break;
    case 'reclaim':
      lines.push(`${who} ${verb(who, 'are', 'is')} back`);
      break;
    case 'connect':
      lines.push(`${who} reconnected`);
      break;
    case 'disconnect':
      lines.push(`${who} lost the connection`);
      break;
    case 'watch':
      lines.push('A spectator is watching');
      break;
    case 'unwatch':
      lines.push('A spectator left');
      break;
    case 'start': {
      const dealer = event.dealer != null ? seatName(event.dealer, table, previous) : null;
      lines.push(dealer ? `New game: ${dealer} ${verb(dealer, 'deal', 'deals')}` : 'New game');
      break;
    }
    case 'put': {
      let line = `${who} put ${cardShort(event.card)}`;
      if (event.suit) line += ` and chose ${suitLabel(event.suit)}`;
      lines.push(line);
      for (const seat of event.passes || []) {
        lines.push(`${seatName(seat, table, previous)} cannot play: turn passes`);
      }
      break;
    }
    case 'take':
      if (event.reshuffled) lines.push('The pile was shuffled into a new deck');
      lines.push(event.card ? `${who} took ${cardShort(event.card)}` : `${who} took a card`);
      for (const seat of event.passes || []) {
        lines.push(`${seatName(seat, table, previous)} cannot play: turn passes`);
      }
      break;
    default:
      lines.push(`${event.type.replace(/_/g, ' ')}`);
  }
  if (table && table.status === 'finished' && (!previous || previous.status !== 'finished')) {
    lines.push(gameOverLine(table));
  }
  return lines;
}

/** "Ann wins the game" / "You win the game". */
export function gameOverLine(table) {
  if (table.winner == null) return 'Game over';
  const who = seatName(table.winner, table, null);
  return `${who} ${verb(who, 'win', 'wins')} the game`;
}
