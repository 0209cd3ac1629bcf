/**
 * The table's event log: turns the `event` of a `state` message into short lines for a person,
 * such as "Bob sat down" or "Ann left the room".
 *
 * The room's own events (join, leave, bots, connections, start) are told here; a game's move
 * (`{type: "move", seat, move}`) is told by the game's renderer (`describeMove`), which alone
 * knows what the move's fields mean. Pure functions, no DOM. Names come from the table views:
 * the new one, or the one before the event for a seat that was just freed.
 */

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

/** `forYou` when the subject is "You" (the viewer), else `forOthers`: "You win" / "Bob wins". */
export function verb(subject, forYou, forOthers) {
  return subject === 'You' ? forYou : forOthers;
}

/**
 * What a renderer's `describeMove` gets besides the move: who moved, and names by game player.
 * `table` is the view the event produced, `previous` the one before it (or null).
 */
export function moveContext(event, table, previous) {
  const players = (table && table.players && table.players.length ? table.players
    : (previous && previous.players)) || [];
  const name = (player) => seatName(players[player], table, previous);
  return {
    seat: event.seat,
    player: players.indexOf(event.seat),
    who: seatName(event.seat, table, previous),
    name,
    verb,
    table,
    previous,
  };
}

/**
 * Lines describing `event`, which produced `table`; `previous` is the view before it (or null).
 * `renderer` is the room's game renderer (or null while none is loaded): it tells the moves.
 * Unknown event types give a neutral line rather than nothing, so the log never hides a change.
 */
export function describeEvent(event, table, previous, renderer = null) {
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
    case 'timeout':
      lines.push(event.away
        ? `${who} ran out of time twice: a bot plays on until ${verb(who, 'you act', 'they act')} again`
        : `${who} ran out of time: a bot moved`);
      break;
    case 'back':
      lines.push(`${who} ${verb(who, 'are', 'is')} back`);
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
    case 'move': {
      let told = null;
      if (renderer && typeof renderer.describeMove === 'function') {
        told = renderer.describeMove(event.move || {}, moveContext(event, table, previous));
      }
      if (told == null || (Array.isArray(told) && told.length === 0)) {
        lines.push(`${who} ${verb(who, 'move', 'moves')}`);
      } else {
        lines.push(...(Array.isArray(told) ? told : [told]));
      }
      break;
    }
    default:
      lines.push(`${event.type.replace(/_/g, ' ')}`);
  }
  if (table && table.status === 'finished' && (!previous || previous.status !== 'finished')) {
    lines.push(gameOverLine(table));
  }
  return lines;
}

/** "Ann wins the game" / "You win the game", from the room's `result`. */
export function gameOverLine(table) {
  const winner = table && table.result ? table.result.winner : null;
  if (winner == null) return 'Game over';
  const who = seatName(winner, table, null);
  return `${who} ${verb(who, 'win', 'wins')} the game`;
}
