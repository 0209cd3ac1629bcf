"""Profiles (finished games, the leaderboard) and invitations to the viewer's table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from game_server.storage import make_engine
from game_server.storage.models import Game, GameSeat, Move, Room
from game_server.storage.users import UserStore

from site_helpers import text

AT = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)


def execute(database_url: str, *statements) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(statement)
    finally:
        engine.dispose()


def room(room_id: str, name: str, *, game: str = "crazy_eights", status: str = "open"):
    return insert(Room).values(id=room_id, name=name, game=game, seats=3, server_id="s1",
                               status=status, created_at=AT)


def game(game_id: int, room_id: str, seats: list[tuple[int | None, int]], *, winner: int,
         status: str = "finished", game_kind: str = "crazy_eights"):
    """A game of `room_id` with (user id or None for a bot, score) per seat."""
    finished = status == "finished"
    return [
        insert(Game).values(id=game_id, room_id=room_id, number=game_id, game=game_kind,
                            server_id="s1", seed=7, dealer=0, status=status, started_at=AT,
                            finished_at=AT + timedelta(minutes=game_id) if finished else None,
                            winner=winner if finished else None, detail={} if finished else None),
        *(insert(GameSeat).values(game_id=game_id, seat=seat, user_id=user, bot=user is None,
                                  score=score if finished else None)
          for seat, (user, score) in enumerate(seats)),
    ]


def sit(room_id: str, seq: int, user_id: int, name: str, kind: str = "sit@1"):
    return insert(Move).values(room_id=room_id, seq=seq, kind=kind, seat=None, user_id=user_id,
                               data={"user": name}, created_at=AT + timedelta(seconds=seq))


def ids(running_site, *names: str) -> list[int]:
    store = UserStore(running_site.site.users.engine)
    return [store.by_name(name).id for name in names]


# --- profiles -------------------------------------------------------------------------------


async def test_a_profile_shows_finished_games_and_the_leaderboard(running_site):
    ada_browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    ada, bob = ids(running_site, "Ada", "Bob")
    execute(running_site.database_url,
            room("r1", "Friday night"), room("r2", "Hearts club", game="hearts"),
            *game(1, "r1", [(ada, 0), (bob, -12), (None, -30)], winner=0),
            *game(2, "r2", [(bob, 3), (ada, 26)], winner=0, game_kind="hearts"),
            *game(3, "r1", [(ada, 0), (bob, 0)], winner=0, status="playing"))

    page = text(await running_site.browser().get(f"/users/{ada}"))

    assert "Ada" in page
    assert "Friday night" in page and "Crazy Eights" in page and "Won" in page
    assert "Hearts club" in page and "Hearts" in page and "Lost" in page
    assert "2026-12-01 20:31" in page  # when game 1 finished, in UTC
    assert page.count("Friday night") == 1  # the game still being played is not listed
    # The leaderboard: one win each; Ada has more points.
    board = page[page.index("Leaderboard"):]
    assert board.index("Ada") < board.index("Bob")
    # One's own profile, at /profile.
    own = text(await ada_browser.get("/profile"))
    assert "This is you." in own and "Friday night" in own


async def test_a_profile_without_games(running_site):
    await running_site.signed_up("Ada")
    (ada,) = ids(running_site, "Ada")
    page = text(await running_site.browser().get(f"/users/{ada}"))
    assert "No finished games yet." in page and "No games have been finished yet." in page


async def test_unknown_users_and_own_profile_signed_out(running_site):
    browser = running_site.browser()
    for path in ("/users/999", "/users/99999999999"):
        response = await browser.get(path)
        assert response.code == 404 and "There is no such user." in text(response)
    response = await browser.get("/profile")
    assert response.code == 302 and response.headers["Location"] == "/signin?next=%2Fprofile"


# --- invitations ----------------------------------------------------------------------------


async def test_invite_sends_the_room_to_the_other_user(running_site):
    ada_browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    ada, bob = ids(running_site, "Ada", "Bob")
    execute(running_site.database_url, room("r1", "Friday night"), sit("r1", 1, ada, "Ada"))

    profile = await ada_browser.get(f"/users/{bob}")
    assert f'action="/users/{bob}/invite"' in profile.body.decode()
    assert "Invite to my table" in text(profile) and "Friday night" in text(profile)

    response = await ada_browser.submit(f"/users/{bob}/invite")

    assert response.code == 303 and response.headers["Location"] == f"/users/{bob}?invited=1"
    assert running_site.publisher.sent == [
        ("invite", {"room": "r1", "game": "crazy_eights", "from": {"id": ada, "name": "Ada"}},
         bob)]
    after = text(await ada_browser.get(response.headers["Location"]))
    assert "Invitation sent." in after and "not kept" in after


async def test_invite_names_the_room_the_viewer_sat_in_last(running_site):
    ada_browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    ada, bob = ids(running_site, "Ada", "Bob")
    execute(running_site.database_url,
            room("old", "Left long ago"), sit("old", 1, ada, "Ada"),
            sit("old", 2, ada, "Ada", kind="leave@1"),
            room("closed", "Closed room", status="closed"), sit("closed", 3, ada, "Ada"),
            room("hearts", "Hearts club", game="hearts"), sit("hearts", 4, ada, "Ada"))
    assert (await ada_browser.submit(f"/users/{bob}/invite")).code == 303
    [(_, data, _)] = running_site.publisher.sent
    assert (data["room"], data["game"]) == ("hearts", "hearts")


async def test_invite_is_refused_without_a_seat_in_an_open_room(running_site):
    ada_browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    ada, bob = ids(running_site, "Ada", "Bob")

    profile = text(await ada_browser.get(f"/users/{bob}"))
    assert "Invite to my table" not in profile
    assert "Take a seat at a table in the game to invite Bob to it." in profile
    response = await ada_browser.submit(f"/users/{bob}/invite")
    assert response.code == 409 and "You are not seated at a table." in text(response)

    # Seats that no longer count: the room closed, or the user left it.
    execute(running_site.database_url,
            room("closed", "Closed room", status="closed"), sit("closed", 1, ada, "Ada"),
            room("left", "Left"), sit("left", 2, ada, "Ada"),
            sit("left", 3, ada, "Ada", kind="leave@1"),
            room("timeout", "Timed out"), sit("timeout", 4, ada, "Ada"),
            sit("timeout", 5, ada, "Ada", kind="expire@1"))
    assert (await ada_browser.submit(f"/users/{bob}/invite")).code == 409
    assert running_site.publisher.sent == []


async def test_invite_needs_a_signed_in_viewer_and_another_user(running_site):
    ada_browser = await running_site.signed_up("Ada")
    ada, = ids(running_site, "Ada")
    execute(running_site.database_url, room("r1", "Friday night"), sit("r1", 1, ada, "Ada"))
    stranger = running_site.browser()
    response = await stranger.submit(f"/users/{ada}/invite")
    assert response.code == 401 and "Sign in to invite" in text(response)
    assert (await ada_browser.submit(f"/users/{ada}/invite")).code == 400
    assert (await ada_browser.submit("/users/999/invite")).code == 404
    assert running_site.publisher.sent == []


async def test_a_failed_publish_is_a_clear_error(running_site, expected_errors):
    ada_browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    ada, bob = ids(running_site, "Ada", "Bob")
    execute(running_site.database_url, room("r1", "Friday night"), sit("r1", 1, ada, "Ada"))
    running_site.publisher.failure = ConnectionError("redis is down")
    response = await ada_browser.submit(f"/users/{bob}/invite")
    assert response.code == 503 and "could not be sent just now" in text(response)
    # Only the access log's line for the 503; the failure itself is a warning.
    assert [record.name for record in expected_errors] == ["tornado.access"]


async def test_invitations_are_limited_per_sender(running_site):
    ada_browser = await running_site.signed_up("Ada")
    await running_site.signed_up("Bob")
    ada, bob = ids(running_site, "Ada", "Bob")
    execute(running_site.database_url, room("r1", "Friday night"), sit("r1", 1, ada, "Ada"))
    limit = running_site.site.invites.limit
    for _ in range(limit):
        assert (await ada_browser.submit(f"/users/{bob}/invite")).code == 303
    refused = await ada_browser.submit(f"/users/{bob}/invite")
    assert refused.code == 429 and "many invitations" in text(refused)
    assert len(running_site.publisher.sent) == limit


async def test_without_a_publisher_there_is_no_invite_form(site_factory):
    running = await site_factory(publisher=None)
    ada_browser = await running.signed_up("Ada")
    await running.signed_up("Bob")
    ada, bob = ids(running, "Ada", "Bob")
    execute(running.database_url, room("r1", "Friday night"), sit("r1", 1, ada, "Ada"))
    assert "Invite to my table" not in text(await ada_browser.get(f"/users/{bob}"))
    response = await ada_browser.submit(f"/users/{bob}/invite")
    assert response.code == 404 and "Invitations are switched off" in text(response)
