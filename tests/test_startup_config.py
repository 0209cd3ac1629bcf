"""The settings of the HTTP server's defences (issue 12, items 7 and 11)."""

from __future__ import annotations

import pytest

from game_server.config import Config, ConfigError


def test_the_defaults_are_safe_for_a_server_facing_the_internet():
    config = Config.from_env({})
    assert config.trust_proxy is False
    assert config.metrics_address == ("127.0.0.1", 9090)
    assert config.http_timeout == 10.0
    assert config.connections_per_address == 64


def test_the_settings_are_read():
    config = Config.from_env({"GAME_TRUST_PROXY": "on", "GAME_METRICS_ADDRESS": "0.0.0.0:9100",
                              "GAME_HTTP_TIMEOUT": "2.5", "GAME_CONNECTIONS_PER_ADDRESS": "0"})
    assert config.trust_proxy is True
    assert config.metrics_address == ("0.0.0.0", 9100)
    assert config.http_timeout == 2.5
    assert config.connections_per_address == 0
    assert Config.from_env({"GAME_METRICS_ADDRESS": "[::1]:9091"}).metrics_address == ("::1", 9091)
    assert Config.from_env({"GAME_METRICS_ADDRESS": ":9091"}).metrics_address == ("", 9091)


@pytest.mark.parametrize("env, message", [
    ({"GAME_TRUST_PROXY": "maybe"}, "GAME_TRUST_PROXY must be on or off"),
    ({"GAME_METRICS_ADDRESS": "9090"}, "GAME_METRICS_ADDRESS must be host:port"),
    ({"GAME_METRICS_ADDRESS": "localhost:http"}, "GAME_METRICS_ADDRESS must be host:port"),
    ({"GAME_METRICS_ADDRESS": "localhost:70000"}, "GAME_METRICS_ADDRESS must be host:port"),
    ({"GAME_HTTP_TIMEOUT": "0"}, "GAME_HTTP_TIMEOUT must be more than 0"),
    ({"GAME_CONNECTIONS_PER_ADDRESS": "-1"}, "GAME_CONNECTIONS_PER_ADDRESS must not be"),
])
def test_bad_values_are_refused_with_the_setting_named(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)
