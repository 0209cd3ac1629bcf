"""The client's pure modules (cards, log, connection helpers, render), run in the browser."""

from __future__ import annotations


def run(page, script: str):
    return page.evaluate(f"async () => {{ {script} }}")


def test_cards_names_and_playability(open_page):
    page = open_page()
    result = run(page, """
      const c = await import('/js/cards.js');
      return {
        names: ['QH', 'TS', 'AD', '8C', '2S'].map(c.cardName),
        short: ['QH', 'TD', '8S'].map(c.cardShort),
        points: ['8D', 'KS', 'TH', 'AC', '7C'].map(c.cardPoints),
        bad: [c.parseCard('XX'), c.parseCard('Q'), c.parseCard(5)],
        playable: [
          c.isPlayable('QS', '3S', 'S'),   // suit
          c.isPlayable('3H', '3S', 'S'),   // rank
          c.isPlayable('QH', '3S', 'S'),   // neither
          c.isPlayable('8D', '3S', 'S'),   // eights are wild
          c.isPlayable('5C', '8H', 'C'),   // the suit named after an eight
          c.isPlayable('5H', '8H', 'C'),   // the eight's own suit no longer counts
        ],
        mine: [...c.playableCards({status: 'playing', you: 1, turn: 1, hand: ['2C', '9C', '8H', 'KD'],
                                   pile: ['4S', '9S'], suit: 'S'})],
        notMyTurn: c.playableCards({status: 'playing', you: 1, turn: 0, hand: ['8H'], pile: ['4S'], suit: 'S'}).size,
      };
    """)
    assert result["names"] == ["Queen of hearts", "Ten of spades", "Ace of diamonds",
                               "Eight of clubs", "Two of spades"]
    assert result["short"] == ["Q♥", "10♦", "8♠"]
    assert result["points"] == [50, 10, 10, 1, 7]
    assert result["bad"] == [None, None, None]
    assert result["playable"] == [True, True, False, True, True, False]
    assert sorted(result["mine"]) == ["8H", "9C"]
    assert result["notMyTurn"] == 0


def test_log_lines(open_page):
    page = open_page()
    lines = run(page, """
      const {describeEvent} = await import('/js/log.js');
      const seat = (i, name, bot = false) => ({seat: i, user: {id: bot ? null : i + 1, name}, bot, cards: 3, connected: true});
      const table = {status: 'playing', you: 0, seats: [seat(0, 'Ann'), seat(1, 'Bob'), seat(2, 'Bot 1', true)]};
      const finished = {...table, status: 'finished', winner: 1};
      return [
        describeEvent({type: 'put', seat: 1, card: 'QH'}, table, table),
        describeEvent({type: 'take', seat: 0}, {...table, you: 1}, table),
        describeEvent({type: 'take', seat: 0, card: '7S'}, table, table),
        describeEvent({type: 'put', seat: 2, card: '8C', suit: 'H', passes: [0]}, table, table),
        describeEvent({type: 'take', seat: 1, reshuffled: true}, table, table),
        describeEvent({type: 'put', seat: 1, card: '2D'}, finished, table),
        describeEvent({type: 'leave', seat: 1}, {...table, seats: [table.seats[0], null, table.seats[2]]}, table),
        describeEvent({type: 'replace', seat: 1, reason: 'timeout'}, table, table),
        describeEvent({type: 'start', dealer: 2}, table, null),
        describeEvent({type: 'add_bot', seat: 2}, {...table, status: 'waiting', owner: 1}, null),
      ];
    """)
    assert lines == [
        ["Bob put Q♥"],
        ["Ann took a card"],
        ["You took 7♠"],
        ["Bot 1 put 8♣ and chose ♥ hearts", "You cannot play: turn passes"],
        ["The pile was shuffled into a new deck", "Bob took a card"],
        ["Bob put 2♦", "Bob wins the game"],
        ["Bob left the room"],
        ["A bot plays for Bob (connection lost)"],
        ["New game: Bot 1 deals"],
        ["Bob added Bot 1"],
    ]


def test_connection_helpers(open_page):
    page = open_page()
    result = run(page, """
      const c = await import('/js/connection.js');
      const low = () => 0, high = () => 0.999999;
      return {
        query: [c.transportsFromQuery('?transports=xhr-polling,websocket'),
                c.transportsFromQuery('?transports=bogus'), c.transportsFromQuery('')],
        low: [0, 1, 2, 3, 10, 30].map((a) => c.backoffDelay(a, {random: low})),
        high: [0, 1, 2, 3, 10, 30].map((a) => c.backoffDelay(a, {random: high})),
      };
    """)
    assert result["query"] == [["xhr-polling", "websocket"], None, None]
    assert result["low"] == [250, 500, 1000, 2000, 7500, 7500]
    assert result["high"] == [500, 1000, 2000, 4000, 15000, 15000]


def test_render_is_a_pure_function_of_the_state(open_page):
    page = open_page()
    result = run(page, """
      const r = await import('/js/render.js');
      const seat = (i, name, cards) => ({seat: i, user: {id: i + 1, name}, bot: false, cards, connected: i !== 1});
      const state = {msg: 'state', room: 'room01', seq: 9, table: {
        game: 'crazy_eights', status: 'playing', owner: 0, seats: [seat(0, 'Ann', 2), seat(1, 'Bob', 3)],
        spectators: 0, you: null, pile: ['4S', '9S'], deck: 30, turn: 1, suit: 'S'}};
      const a = r.renderTable({state, log: [], picker: null, roomName: 'R'}).outerHTML;
      const b = r.renderTable({state: JSON.parse(JSON.stringify(state)), log: [], picker: null, roomName: 'R'}).outerHTML;
      const el = r.renderTable({state, log: [], picker: null, roomName: 'R'});
      return {
        same: a === b,
        handButtons: el.querySelectorAll('[data-testid="hand"] button').length,
        spectating: !!el.querySelector('[data-testid="spectating"]'),
        offline: el.querySelector('[data-testid="seat-1"] [data-testid="offline-mark"]')?.textContent,
        turn: el.querySelector('[data-testid="seat-1"]').getAttribute('aria-current'),
        pileLabel: el.querySelector('[data-testid="pile"]').getAttribute('aria-label'),
      };
    """)
    assert result == {"same": True, "handButtons": 0, "spectating": True, "offline": "⚠ Offline",
                      "turn": "true", "pileLabel": "Pile, top card Nine of spades"}
