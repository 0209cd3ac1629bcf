"""Settings read from the environment (game_server/config.py)."""

from __future__ import annotations

import pytest

from game_server.config import Config, ConfigError


@pytest.mark.parametrize("text, expected", [
    ("", True), ("on", True), ("ON", True), ("1", True), ("yes", True),
    ("off", False), ("0", False), ("false", False), (" no ", False),
])
def test_game_metrics_switches_metrics(text, expected):
    assert Config.from_env({"GAME_METRICS": text}).metrics is expected


def test_game_metrics_refuses_anything_else_and_says_so():
    with pytest.raises(ConfigError, match="GAME_METRICS must be on or off, not 'maybe'"):
        Config.from_env({"GAME_METRICS": "maybe"})


def test_metrics_are_on_unless_switched_off():
    assert Config.from_env({}).metrics is True
