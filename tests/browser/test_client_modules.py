"""The client's pure modules (cards, log, connection helpers, the frame and the game renderers),
run in the browser."""

from __future__ import annotations


def run(page, script: str):
    return page.evaluate(f"async () => {{ {script} }}")


# A table view as the server sends it (protocol 2), for the module tests: three seats, the
# viewer in seat 0, Crazy Eights under way.
SEATS_JS = """
  const seat = (i, name, bot = false) => ({seat: i, user: {id: bot ? null : i + 1, name}, bot, connected: true});
  const table = {game: 'crazy_eights', status: 'playing', owner: 0, you: 0, spectators: 0,
                 seats: [seat(0, 'Ann'), seat(1, 'Bob'), seat(2, 'Bot 2', true)],
                 players: [0, 1, 2], to_act: [1],
                 game_state: {hand: ['2C'], cards: [1, 3, 3], pile: ['4S'], deck: 30, turn: 1, suit: 'S'}};
"""


def test_cards_names(open_page):
    page = open_page()
    result = run(page, """
      const c = await import('/js/cards.js');
      return {
        names: ['QH', 'TS', 'AD', '8C', '2S'].map(c.cardName),
        short: ['QH', 'TD', '8S'].map(c.cardShort),
        bad: [c.parseCard('XX'), c.parseCard('Q'), c.parseCard(5)],
        sorted: c.sortHand(['2C', 'AS', 'TH', '3S', 'KD']),
        face: c.cardView('QH').getAttribute('aria-label'),
      };
    """)
    assert result["names"] == ["Queen of hearts", "Ten of spades", "Ace of diamonds",
                               "Eight of clubs", "Two of spades"]
    assert result["short"] == ["Q♥", "10♦", "8♠"]
    assert result["bad"] == [None, None, None]
    assert result["sorted"] == ["3S", "AS", "TH", "2C", "KD"]
    assert result["face"] == "Queen of hearts"


def test_crazy_eights_points_and_playability(open_page):
    page = open_page()
    result = run(page, """
      const ce = await import('/js/games/crazy_eights.js');
      return {
        points: ['8D', 'KS', 'TH', 'AC', '7C'].map(ce.cardPoints),
        playable: [
          ce.isPlayable('QS', '3S', 'S'),   // suit
          ce.isPlayable('3H', '3S', 'S'),   // rank
          ce.isPlayable('QH', '3S', 'S'),   // neither
          ce.isPlayable('8D', '3S', 'S'),   // eights are wild
          ce.isPlayable('5C', '8H', 'C'),   // the suit named after an eight
          ce.isPlayable('5H', '8H', 'C'),   // the eight's own suit no longer counts
        ],
        mine: [...ce.playableCards({hand: ['2C', '9C', '8H', 'KD'], cards: [4, 5], pile: ['4S', '9S'],
                                    deck: 30, turn: 1, suit: 'S'}, 1)],
        notMyTurn: ce.playableCards({hand: ['8H'], cards: [1, 5], pile: ['4S'], deck: 3, turn: 0, suit: 'S'}, 1).size,
        spectator: ce.playableCards({cards: [1, 5], pile: ['4S'], deck: 3, turn: 0, suit: 'S'}, null).size,
      };
    """)
    assert result["points"] == [50, 10, 10, 1, 7]
    assert result["playable"] == [True, True, False, True, True, False]
    assert sorted(result["mine"]) == ["8H", "9C"]
    assert result["notMyTurn"] == 0
    assert result["spectator"] == 0


def test_log_lines(open_page):
    page = open_page()
    lines = run(page, SEATS_JS + """
      const {describeEvent} = await import('/js/log.js');
      const ce = (await import('/js/games/crazy_eights.js')).default;
      const move = (seat, m) => ({type: 'move', seat, move: m});
      const finished = {...table, status: 'finished', to_act: [], result: {winner: 1, scores: [0, 12, 0], detail: {blocked: false}}};
      return [
        describeEvent(move(1, {type: 'put', card: 'QH'}), table, table, ce),
        describeEvent(move(0, {type: 'take'}), {...table, you: 1}, table, ce),
        describeEvent(move(0, {type: 'take', card: '7S'}), table, table, ce),
        describeEvent(move(2, {type: 'put', card: '8C', suit: 'H', passes: [0]}), table, table, ce),
        describeEvent(move(1, {type: 'take', reshuffled: true}), table, table, ce),
        describeEvent(move(1, {type: 'put', card: '2D'}), finished, table, ce),
        describeEvent(move(1, {type: 'put', card: '2D'}), table, table, null),
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
        ["Bot 2 put 8♣ and chose ♥ hearts", "You cannot play: turn passes"],
        ["The pile was shuffled into a new deck", "Bob took a card"],
        ["Bob put 2♦", "Bob wins the game"],
        ["Bob moves"],  # no renderer (yet): a neutral line
        ["Bob left the room"],
        ["A bot plays for Bob (connection lost)"],
        ["New game: Bot 2 deals"],
        ["Bob added Bot 2"],
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
      const {loadRenderer} = await import('/js/renderers.js');
      const renderer = await loadRenderer('crazy_eights');
      const seat = (i, name) => ({seat: i, user: {id: i + 1, name}, bot: false, connected: i !== 1});
      const state = {msg: 'state', room: 'room01', seq: 9, table: {
        game: 'crazy_eights', status: 'playing', owner: 0, seats: [seat(0, 'Ann'), seat(1, 'Bob')],
        spectators: 0, you: null, players: [0, 1], to_act: [1],
        game_state: {cards: [2, 3], pile: ['4S', '9S'], deck: 30, turn: 1, suit: 'S'}}};
      const view = (s) => r.renderTable({state: s, log: [], ui: {}, roomName: 'R', renderer, info: null});
      const a = view(state).outerHTML;
      const b = view(JSON.parse(JSON.stringify(state))).outerHTML;
      const el = view(state);
      return {
        same: a === b,
        handButtons: el.querySelectorAll('[data-testid="hand"] button').length,
        spectating: !!el.querySelector('[data-testid="spectating"]'),
        offline: el.querySelector('[data-testid="seat-1"] [data-testid="offline-mark"]')?.textContent,
        turn: el.querySelector('[data-testid="seat-1"]').getAttribute('aria-current'),
        counts: [...el.querySelectorAll('[data-testid="seat-count"]')].map((c) => c.textContent.trim()),
        pileLabel: el.querySelector('[data-testid="pile"]').getAttribute('aria-label'),
        toAct: el.dataset.toAct,
      };
    """)
    assert result == {"same": True, "handButtons": 0, "spectating": True, "offline": "⚠ Offline",
                      "turn": "true", "counts": ["2 cards", "3 cards"],
                      "pileLabel": "Pile, top card Nine of spades", "toAct": "1"}


def test_an_unknown_game_gets_a_stand_in(open_page):
    page = open_page()
    result = run(page, """
      const r = await import('/js/render.js');
      const {loadRenderer} = await import('/js/renderers.js');
      const renderer = await loadRenderer('no_such_game');
      const state = {msg: 'state', room: 'room01', seq: 3, table: {
        game: 'no_such_game', status: 'playing', owner: 0, spectators: 0, you: 0,
        seats: [{seat: 0, user: {id: 1, name: 'Ann'}, bot: false, connected: true}],
        players: [0], to_act: [0], game_state: {anything: 1}}};
      const el = r.renderTable({state, log: [], ui: {}, roomName: 'R', renderer, info: null});
      return {
        note: el.querySelector('[data-testid="no-renderer"]')?.textContent,
        leave: !!el.querySelector('[data-testid="leave"]'),
        status: el.querySelector('[data-testid="turn-status"]').textContent,
      };
    """)
    assert result["note"] == "This page cannot show no such game yet."
    assert result["leave"]
    assert "cannot show it yet" in result["status"]


HEARTS_JS = """
  const hearts = await import('/js/games/hearts.js');
  const renderer = hearts.default;
  const r = await import('/js/render.js');
  const seat = (i, name, bot) => ({seat: i, user: {id: bot ? null : i + 1, name}, bot, connected: true});
  const seats = [seat(0, 'Ann', false), seat(1, 'Bot 1', true), seat(2, 'Bot 2', true), seat(3, 'Bot 3', true)];
  const base = {cards: [13, 13, 13, 13], deal: 1, dealer: 0, pass: 'left', phase: 'play', trick: [],
                leader: 0, last_trick: null, hearts_broken: false, taken: [0, 0, 0, 0],
                totals: [0, 0, 0, 0], turn: 0};
  const state = (gameState, toAct, extra = {}) => ({msg: 'state', room: 'room07', seq: 5, table: {
    game: 'hearts', status: 'playing', owner: 0, seats, spectators: 0, you: 0, players: [0, 1, 2, 3],
    to_act: toAct, game_state: gameState, ...extra}});
  const draw = (s, ui = {}) => r.renderTable({state: s, log: [], ui, roomName: 'R', renderer,
                                               info: {name: 'hearts', title: 'Hearts', min: 4, max: 4, seats: 4}});
  const ctx = (s, ui = {}) => r.tableContext(s, {ui});
"""


def test_hearts_knows_which_cards_may_be_played(open_page):
    page = open_page()
    result = run(page, HEARTS_JS + """
      const legal = (view, me = 0) => [...hearts.playableCards(view, me)].sort();
      const hand13 = ['2C', '5C', '3D', '4H', 'QS', 'AH', '6S', '7S', '8S', '9S', 'TS', 'JS', 'KS'];
      return {
        // The holder of 2♣ leads it to the first trick.
        firstLead: legal({...base, hand: hand13}),
        // First trick, void in clubs: no hearts or Q♠ while another card is held.
        firstTrickVoid: legal({...base, hand: ['3D', '4H', 'QS', 'AH', '6S', '7S', '8S', '9S', 'TS', 'JS', 'KS', 'AD', '2D'],
                               trick: [{player: 3, card: '2C'}], leader: 3}),
        // First trick, nothing but hearts and Q♠: any of them.
        onlyPoints: legal({...base, hand: ['2H', '3H', '4H', '5H', '6H', '7H', '8H', '9H', 'TH', 'JH', 'QH', 'KH', 'QS'],
                           trick: [{player: 3, card: '2C'}], leader: 3}),
        // Follow suit.
        follow: legal({...base, cards: [5, 4, 4, 5], hand: ['2D', '9D', '4H', 'QS', '3C'],
                       trick: [{player: 3, card: 'KD'}], leader: 3}),
        // Hearts cannot be led until broken, unless the hand holds only hearts.
        leadUnbroken: legal({...base, cards: [3, 3, 3, 3], hand: ['2H', '9H', '3C']}),
        leadBroken: legal({...base, cards: [3, 3, 3, 3], hand: ['2H', '9H', '3C'], hearts_broken: true}),
        leadOnlyHearts: legal({...base, cards: [2, 2, 2, 2], hand: ['2H', '9H']}),
        notMyTurn: legal({...base, hand: hand13, turn: 2}),
        passing: legal({...base, phase: 'pass', hand: hand13, turn: null, leader: null, passed: [false, false, false, false]}),
        spectator: legal({...base}, null),
      };
    """)
    assert result == {
        "firstLead": ["2C"],
        "firstTrickVoid": ["2D", "3D", "6S", "7S", "8S", "9S", "AD", "JS", "KS", "TS"],
        "onlyPoints": sorted(["2H", "3H", "4H", "5H", "6H", "7H", "8H", "9H", "TH", "JH", "QH", "KH", "QS"]),
        "follow": ["2D", "9D"],
        "leadUnbroken": ["3C"],
        "leadBroken": ["2H", "3C", "9H"],
        "leadOnlyHearts": ["2H", "9H"],
        "notMyTurn": [],
        "passing": [],
        "spectator": [],
    }


def test_hearts_pass_phase_drawing_and_choice(open_page):
    page = open_page()
    result = run(page, HEARTS_JS + """
      const hand = ['2C', '5C', '3D', '4H', 'QS', 'AH', '6S', '7S', '8S', '9S', 'TS', 'JS', 'KS'];
      const passView = {...base, phase: 'pass', hand, turn: null, leader: null,
                        passed: [false, true, false, true]};
      const choosing = state(passView, [0, 2]);
      // Choosing: click three cards (a fourth is not taken), then pass.
      let ui = {};
      const answers = [];
      for (const card of ['QS', 'AH', 'KS', '2C']) {
        const answer = renderer.handleAction('toggle-pass', {card}, ctx(choosing, ui));
        answers.push(answer.ui ? answer.ui.selected.length : 'kept');
        if (answer.ui) ui = answer.ui;
      }
      const drawn = draw(choosing, ui);
      const button = drawn.querySelector('[data-testid="pass-cards"]');
      const before = draw(choosing, {selected: ['QS', 'AH']}).querySelector('[data-testid="pass-cards"]');
      const move = renderer.handleAction('pass-cards', {}, ctx(choosing, ui));
      // Passed, two players still choosing: the page says so.
      const waiting = state({...passView, cards: [10, 10, 13, 10], hand: hand.slice(3), passing: ['2C', '3D', '5C'],
                             passed: [true, true, false, true]}, [2]);
      const after = draw(waiting);
      const mark = (el, s) => el.querySelector(`[data-testid="seat-${s}"] [data-testid="passed-mark"]`) != null;
      return {
        answers,
        selected: [...drawn.querySelectorAll('[data-selected="true"]')].map((b) => b.dataset.card).sort(),
        button: [button.textContent, button.disabled, before.disabled],
        move: move.move,
        count: drawn.querySelector('[data-testid="pass-count"]').textContent,
        status: drawn.querySelector('[data-testid="turn-status"]').textContent,
        waiting: after.querySelector('[data-testid="pass-waiting"]').textContent,
        afterStatus: after.querySelector('[data-testid="turn-status"]').textContent,
        noButton: after.querySelector('[data-testid="pass-cards"]') == null,
        passing: after.querySelector('[data-testid="passing"]').getAttribute('aria-label'),
        marks: [0, 1, 2, 3].map((s) => mark(after, s)),
        // The choice is dropped once the pass is made.
        reconciled: renderer.reconcileUi(ui, waiting.table.game_state, ctx(waiting, ui)).selected,
      };
    """)
    assert result["answers"] == [1, 2, 3, "kept"]
    assert result["selected"] == ["AH", "KS", "QS"]
    assert result["button"] == ["Pass 3 cards left", False, True]
    assert result["move"] == {"type": "pass", "cards": ["QS", "AH", "KS"]}
    assert result["count"] == "3 of 3 chosen"
    assert result["status"] == "Choose 3 cards to pass to the left, to Bot 1 (3 of 3 chosen)."
    assert result["waiting"] == "Waiting for 1 player"
    assert result["afterStatus"] == "Cards are passed to the left: waiting for 1 player."
    assert result["noButton"]
    assert result["passing"] == "Two of clubs, Three of diamonds, Five of clubs"
    assert result["marks"] == [True, True, False, True]
    assert result["reconciled"] == []


def test_hearts_trick_scores_and_log(open_page):
    page = open_page()
    result = run(page, """
      const {describeEvent} = await import('/js/log.js');
    """ + HEARTS_JS + """
      const view = {...base, cards: [9, 8, 8, 9], hand: ['2D', '9D', '4H', 'QS', '3C', '4C', '5C', '6C', '7C'],
                    received: undefined, trick: [{player: 1, card: 'KD'}, {player: 2, card: 'AD'}], leader: 1, turn: 3,
                    last_trick: {plays: [{player: 0, card: '2S'}, {player: 1, card: 'KS'}, {player: 2, card: 'QH'},
                                         {player: 3, card: '3S'}], winner: 1},
                    hearts_broken: true, taken: [0, 5, 0, 0], totals: [10, 0, 13, 3], deal: 2, pass: 'right'};
      delete view.received;
      const s = state(view, [3]);
      const el = draw(s);
      const trick = [...el.querySelectorAll('[data-testid="trick"] .trick-play[data-card]')]
        .map((t) => [t.dataset.seat, t.dataset.card]);
      const rows = [0, 1, 2, 3].map((seat) => {
        const row = el.querySelector(`[data-testid="points-${seat}"]`);
        return [row.querySelector('th').textContent, row.querySelector('[data-testid="taken"]').textContent,
                row.querySelector('[data-testid="total"]').textContent];
      });
      const move = (seat, m) => ({type: 'move', seat, move: m});
      const log = [
        describeEvent(move(1, {type: 'pass'}), s.table, s.table, renderer),
        describeEvent(move(0, {type: 'pass', cards: ['QS', 'AH', 'KS'], exchanged: true, received: ['2H', '3H', '4H']}),
                      s.table, s.table, renderer),
        describeEvent(move(3, {type: 'play', card: '3D', trick: {winner: 2, points: 0}}), s.table, s.table, renderer),
        describeEvent(move(0, {type: 'play', card: 'QS', trick: {winner: 1, points: 13},
                               deal: {number: 2, points: [0, 26, 0, 0], totals: [10, 26, 13, 3], moon: null},
                               next_deal: {number: 3, pass: 'across'}}), s.table, s.table, renderer),
      ];
      return {
        trick,
        next: el.querySelector('[data-testid="trick-next"]').dataset.player,
        status: el.querySelector('[data-testid="turn-status"]').textContent,
        deal: [el.querySelector('[data-testid="deal-info"]').dataset.deal, el.querySelector('[data-testid="deal-info"]').dataset.pass],
        broken: el.querySelector('[data-testid="hearts-broken"]').textContent,
        last: [el.querySelector('[data-testid="last-trick"]').dataset.winner,
               el.querySelector('[data-testid="last-trick"]').textContent],
        rows,
        dimmed: [...el.querySelectorAll('[data-testid="hand"] .dimmed')].length,
        log,
      };
    """)
    assert result["trick"] == [["1", "KD"], ["2", "AD"]]
    assert result["next"] == "3"
    assert result["status"] == "Bot 3's turn."
    assert result["deal"] == ["2", "right"]
    assert result["broken"] == "♥ Hearts broken"
    assert result["last"] == ["1", "Last trick2♠K♠Q♥3♠→ Bot 1 (+1)"]
    assert result["rows"] == [["You", "0", "10"], ["Bot 1", "5", "0"], ["Bot 2", "0", "13"], ["Bot 3", "0", "3"]]
    assert result["dimmed"] == 0  # not my turn: nothing is dimmed, nothing offered
    assert result["log"] == [
        ["Bot 1 chose 3 cards to pass"],
        ["You pass Q♠ A♥ K♠ to the right", "The cards changed hands", "You received 2♥ 3♥ 4♥"],
        ["Bot 3 played 3♦", "Bot 2 takes the trick"],
        ["You played Q♠", "Bot 1 takes the trick (13 points)", "Deal 2 over: You 0, Bot 1 26, Bot 2 0, Bot 3 0",
         "Deal 3: pass across"],
    ]
