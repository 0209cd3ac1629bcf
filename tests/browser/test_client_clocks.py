"""The web client's turn clock and seats, run in the browser on crafted states (render.js):
the seat whose clock runs shows a countdown from the server's time, counted down by
`tickClocks`; an away seat is marked; a room started with fewer players than seats draws no
empty seat once the game runs, and draws them while it waits."""

from __future__ import annotations


def run(page, script: str):
    return page.evaluate(f"async () => {{ {script} }}")


def test_the_clock_counts_down_and_empty_seats_are_not_drawn_in_a_game(open_page):
    page = open_page()
    result = run(page, """
      const r = await import('/js/render.js');
      const {loadRenderer} = await import('/js/renderers.js');
      const renderer = await loadRenderer('crazy_eights');
      const seat = (i, name, bot = false) => ({seat: i, user: {id: bot ? null : i + 1, name}, bot, connected: true});
      const table = {game: 'crazy_eights', status: 'playing', owner: 0, you: 0, spectators: 0,
        seats: [seat(0, 'Ann'), null, seat(2, 'Ada (bot)', true), null],
        players: [0, 2], to_act: [0],
        game_state: {hand: ['2C'], cards: [1, 3], pile: ['4S'], deck: 30, turn: 0, suit: 'S'},
        clock: {move: 30, bank: 60, now: 1000, running: [{seat: 0, deadline: 1030, bank: 41}], away: [2]}};
      const view = (t) => r.renderTable({state: {msg: 'state', room: 'r1', seq: 5, table: t},
                                         log: [], ui: {}, roomName: 'R', renderer, info: null});
      const el = view(table);
      document.body.append(el);
      const clock = () => el.querySelector('[data-testid="seat-0"] [data-testid="clock"]').textContent;
      const first = clock();
      r.tickClocks(1012.2, el);
      const later = clock();
      r.tickClocks(1050, el);
      const inBank = clock();
      const waiting = view({...table, status: 'waiting', players: [], to_act: [], game_state: null,
                            clock: {...table.clock, running: [], away: []}});
      el.remove();
      return {
        first, later, inBank,
        seats: [...el.querySelectorAll('.seats > li')].map((li) => li.dataset.testid),
        away: !!el.querySelector('[data-testid="seat-2"] [data-testid="away-mark"]'),
        botName: el.querySelector('[data-testid="seat-2"] [data-testid="seat-name"]').textContent,
        waitingSeats: [...waiting.querySelectorAll('.seats > li')].map((li) => li.dataset.testid),
        log: (await import('/js/log.js')).describeEvent({type: 'timeout', seat: 2, away: true}, table, table),
      };
    """)
    assert result["first"] == "⏱ 30 s + 41"
    assert result["later"] == "⏱ 18 s + 41"
    assert result["inBank"] == "⏱ bank 21 s"
    assert result["seats"] == ["seat-0", "seat-2"]
    assert result["away"] is True and result["botName"] == "Ada (bot)"
    assert result["waitingSeats"] == ["seat-0", "seat-1", "seat-2", "seat-3"]
    assert result["log"] == ["Ada (bot) ran out of time twice: a bot plays on until they act again"]
