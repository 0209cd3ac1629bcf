"""The web client's game-over additions (render.js): the Rematch button (disabled once asked),
who asked, the running totals, and each deal's commitment, order and salt for checking the
shuffle (docs/fairness.md). Rendered from a finished view as the server sends it."""

from __future__ import annotations


def test_the_game_over_panel_offers_a_rematch_and_shows_the_shuffle_check(open_page):
    page = open_page()
    result = page.evaluate("""async () => {
      const r = await import('/js/render.js');
      const {loadRenderer} = await import('/js/renderers.js');
      const renderer = await loadRenderer('crazy_eights');
      const seat = (i, name, bot = false) => ({seat: i, user: {id: bot ? null : i + 1, name}, bot, connected: true});
      const order = ['2C', '3C'];
      const table = (you, rematch) => ({game: 'crazy_eights', status: 'finished', owner: 0, you, spectators: 0,
        seats: [seat(0, 'Ann'), seat(1, 'Bob')], players: [0, 1], to_act: [],
        game_state: {cards: [0, 2], pile: ['4S'], deck: 30, turn: 0, suit: 'S', winner: 0,
                     scores: [9, 0], hands: [[], ['2C', '3C']], blocked: false},
        result: {winner: 0, scores: [9, 0], detail: {blocked: false}},
        deck_commit: 'ab'.repeat(32), rematch,
        deck_reveals: [{deal: 1, order, salt: 'cd'.repeat(32), deck_commit: 'ab'.repeat(32)}],
        totals: {games: 2, scores: [15, 4]}});
      const draw = (t) => r.renderTable({state: {msg: 'state', room: 'room01', seq: 9, table: t},
                                         log: [], ui: {}, roomName: 'R', renderer, info: null});
      const bob = draw(table(1, [0]));
      const ann = draw(table(0, [0]));
      const watcher = draw(table(null, [0]));
      const button = (el) => el.querySelector('[data-testid="rematch"]');
      return {
        bobButton: button(bob)?.textContent, bobDisabled: button(bob)?.disabled,
        annButton: button(ann)?.textContent, annDisabled: button(ann)?.disabled,
        watcherButton: !!button(watcher),
        asked: bob.querySelector('[data-testid="rematch-asked"]')?.textContent,
        totals: bob.querySelector('[data-testid="totals"]')?.textContent,
        reveals: bob.querySelector('[data-testid="deck-reveals"]')?.textContent,
      };
    }""")
    assert result["bobButton"] == "⇄ Rematch" and result["bobDisabled"] is False
    assert result["annButton"] == "Rematch asked" and result["annDisabled"] is True
    assert result["watcherButton"] is False
    assert result["asked"] == "Rematch asked by Ann."
    assert result["totals"] == "Totals after 2 games: Ann 15, You 4"  # Bob sees himself
    assert "ab" * 32 in result["reveals"] and "cd" * 32 in result["reveals"]
    assert "2C,3C" in result["reveals"]
