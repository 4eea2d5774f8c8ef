"""Client settings as editors send them."""

from __future__ import annotations

from flowsight.server.settings import ClientSettings, parse_client_settings


def test_an_empty_lua_table_is_no_settings() -> None:
    # Neovim encodes `init_options = {}` (an empty Lua table) as a JSON array.
    assert parse_client_settings([]) == (ClientSettings(), [])
    assert parse_client_settings({}) == (ClientSettings(), [])


def test_other_non_objects_are_reported() -> None:
    settings, problems = parse_client_settings(["disable"])
    assert settings == ClientSettings()
    assert problems == ["flowsight: settings must be an object, not list; ignored"]
