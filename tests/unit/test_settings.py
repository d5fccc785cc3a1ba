"""Settings: defaults < TOML file (SR_CONFIG) < environment; bad values name the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import SettingsError, load_settings
from routing_core.store import Store


def toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "smart-routing.toml"
    path.write_text(text)
    return str(path)


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    config = toml(tmp_path, 'port = 9000\nhost = "0.0.0.0"\ntimezone = "Europe/Paris"\n')
    settings = load_settings({"SR_CONFIG": config, "SR_PORT": "9100", "SR_DEMO_BOT": "false"})
    assert settings.port == 9100  # environment over file
    assert settings.host == "0.0.0.0"  # file over default
    assert settings.timezone == "Europe/Paris"
    assert settings.demo_bot is False  # environment over default
    assert settings.mongodb_database == "smart_routing"  # default


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.mongodb_uri) == ("127.0.0.1", 8080, None)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"MONGODB_URI": "mongodb://a"}, "mongodb://a"),
        ({"MONGODB_URI": "mongodb://a", "SR_MONGODB_URI": "mongodb://b"}, "mongodb://b"),
    ],
)
def test_mongodb_uri_is_read_bare_or_prefixed(environ: dict[str, str], expected: str) -> None:
    assert load_settings(environ).mongodb_uri == expected


def test_lists_come_comma_separated_from_the_environment() -> None:
    settings = load_settings({"SR_WEB_SERVICE_ALLOW_LIST": "10.0.0.0/8, 127.0.0.1 ,"})
    assert settings.web_service_allow_list == ["10.0.0.0/8", "127.0.0.1"]


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"SR_PORT": "abc"}, "SR_PORT"),
        ({"SR_PORT": "70000"}, "SR_PORT"),
        ({"SR_SERVER": "gunicorn"}, "SR_SERVER"),
        ({"SR_TIMEZONE": "Mars/Olympus"}, "SR_TIMEZONE"),
        ({"SR_PUBLIC_URL": "ftp://example.com"}, "SR_PUBLIC_URL"),
        ({"SR_DEMO_BOT": "maybe"}, "SR_DEMO_BOT"),
        ({"SR_SCHEDULE_POLL_SECONDS": "0"}, "SR_SCHEDULE_POLL_SECONDS"),
    ],
)
def test_a_bad_environment_value_names_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ)
    message = str(refused.value)
    assert named in message
    assert "\n" not in message  # one line for the operator


def test_a_bad_file_value_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = toml(tmp_path, 'port = "eighty"\n')
    with pytest.raises(SettingsError, match=r"port in .*smart-routing\.toml"):
        load_settings({"SR_CONFIG": config})


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = toml(tmp_path, "prot = 9000\n")
    with pytest.raises(SettingsError, match="prot"):
        load_settings({"SR_CONFIG": config})


@pytest.mark.parametrize(
    ("text", "message"), [(None, "does not exist"), ("port = = 1\n", "not valid TOML")]
)
def test_an_unreadable_file_is_refused(tmp_path: Path, text: str | None, message: str) -> None:
    path = toml(tmp_path, text) if text is not None else str(tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match=message):
        load_settings({"SR_CONFIG": path})


@pytest.mark.parametrize(("given", "sent"), [(None, "majority"), ("majority", "majority"),
                                             ("1", 1), ("2", 2)])
def test_writes_wait_for_a_majority_unless_told_otherwise(given: str | None, sent: Any) -> None:
    environ = {"SR_MONGODB_WRITE_CONCERN": given} if given else {}
    settings = load_settings(environ, mongodb_uri="mongodb://127.0.0.1:1/")
    store = Store.connect(settings.mongodb_uri or "", "unused", settings.mongodb_write_concern)
    assert store.client.write_concern.document == {"w": sent}


def test_a_write_concern_is_a_majority_or_a_number() -> None:
    with pytest.raises(SettingsError, match="SR_MONGODB_WRITE_CONCERN"):
        load_settings({"SR_MONGODB_WRITE_CONCERN": "all"})
