"""Configuration refuses what would be unsafe to run with."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from parlour.crypto.master_key import MasterKeyError, generate_master_key, load_master_key
from parlour.settings import (
    CryptoSettings,
    Environment,
    IdentitySettings,
    MonitoringSettings,
    ServerSettings,
    Settings,
)

PRODUCTION_SERVER = ServerSettings(public_url="https://chat.example.com")


@pytest.mark.parametrize(
    "placeholder",
    [
        "changeme",
        "please-change-this-secret",
        base64.b64encode(b"example" * 5).decode(),
        base64.b64encode(b"\x00" * 32).decode(),
        base64.b64encode(b"short").decode(),
        "not base64 at all!",
    ],
)
def test_a_placeholder_or_weak_master_key_is_refused(placeholder: str) -> None:
    """T-52, T-16: copied, short or non-random keys never start the service."""
    with pytest.raises(ValidationError):
        Settings(crypto=CryptoSettings(master_key=placeholder))


def test_a_generated_key_that_happens_to_spell_a_short_run_of_xs_is_accepted() -> None:
    """A random key spells "xxxx" (in any case) about once in 25,000 keys."""
    generated = generate_master_key()
    key = generated[:4] + "XxXx" + generated[8:]
    assert len(base64.b64decode(key)) == 32
    Settings(crypto=CryptoSettings(master_key=key))


def test_production_refuses_to_start_without_a_master_key() -> None:
    """T-52: no silent generation of keys in production."""
    with pytest.raises(ValidationError, match="master_key"):
        Settings(environment=Environment.PRODUCTION, server=PRODUCTION_SERVER)


def test_production_refuses_a_plain_http_public_url() -> None:
    """T-28: the public endpoint is https in production."""
    with pytest.raises(ValidationError, match="https"):
        Settings(
            environment=Environment.PRODUCTION,
            crypto=CryptoSettings(master_key=generate_master_key()),
        )


def _production(**groups: object) -> Settings:
    return Settings(
        environment=Environment.PRODUCTION,
        server=PRODUCTION_SERVER,
        crypto=CryptoSettings(master_key=generate_master_key()),
        identity=IdentitySettings(smtp_host="smtp.example.com"),
        **groups,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("group", "url"),
    [
        ("database", "postgresql+asyncpg://parlour@db.internal/parlour"),
        ("database", "postgresql+asyncpg://parlour@db.internal/parlour?ssl=require"),
        ("database", "postgresql+asyncpg://parlour@/parlour?host=db.internal"),
        ("redis", "redis://cache.internal:6379/0"),
        ("redis", "rediss://cache.internal:6379/0?ssl_cert_reqs=none"),
    ],
)
def test_production_refuses_a_database_or_redis_reached_without_verified_tls(
    group: str, url: str
) -> None:
    """T-96: a hop off this machine is TLS with the server's certificate checked, or nothing
    starts; `ssl=require` encrypts but would talk to anyone who answers."""
    with pytest.raises(ValidationError, match=f"TLS to {group}.url"):
        _production(**{group: {"url": url}})


@pytest.mark.parametrize(
    ("group", "url"),
    [
        ("database", "postgresql+asyncpg://parlour@db.internal/parlour?ssl=verify-full"),
        ("database", "postgresql+asyncpg://parlour@127.0.0.1/parlour"),
        ("database", "postgresql+asyncpg://parlour@/parlour?host=/run/postgresql"),
        ("redis", "rediss://cache.internal:6379/0"),
        ("redis", "redis://localhost:6379/0"),
        ("redis", "unix:///run/redis/redis.sock"),
    ],
)
def test_production_takes_verified_tls_or_a_hop_that_stays_on_the_machine(
    group: str, url: str
) -> None:
    """T-96"""
    assert _production(**{group: {"url": url}}).environment is Environment.PRODUCTION


def test_the_database_password_is_read_from_its_file_and_joined_to_the_url(
    tmp_path: Path,
) -> None:
    """A container secret (deploy/compose.yaml): the password is in neither the URL nor the
    environment, and a password with URL-special characters survives."""
    password = "p@ss/w:rd%with?odd#chars"
    (tmp_path / "password").write_text(password + "\n")
    settings = Settings(
        database={
            "url": "postgresql+asyncpg://parlour@/parlour?host=/run/postgresql",
            "password_file": tmp_path / "password",
        }
    )
    url = make_url(settings.database_url)
    assert url.password == password
    assert url.username == "parlour"
    assert url.query["host"] == "/run/postgresql"
    assert password not in repr(settings)


def test_without_a_password_file_the_database_url_is_used_as_given() -> None:
    url = "postgresql+asyncpg://parlour@db.example/parlour"
    assert Settings(database={"url": url}).database_url == url


def test_production_refuses_to_start_without_a_mail_relay() -> None:
    """Sign-up and recovery mail must reach people; an outbox folder is for development."""
    with pytest.raises(ValidationError, match="smtp_host"):
        Settings(
            environment=Environment.PRODUCTION,
            server=PRODUCTION_SERVER,
            crypto=CryptoSettings(master_key=generate_master_key()),
        )


def test_settings_come_from_prefixed_environment_variables_with_nesting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARLOUR_DATABASE__URL", "postgresql+asyncpg://db/parlour")
    monkeypatch.setenv("PARLOUR_GATEWAY__AUTH_TIMEOUT_SECONDS", "2.5")
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://db/parlour"
    assert settings.gateway.auth_timeout_seconds == 2.5


@pytest.mark.parametrize("token", ["", " ", "short-token", "x" * 31])
def test_an_empty_or_short_metrics_token_is_refused_at_load(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """T-104: `PARLOUR_MONITORING__METRICS_TOKEN=` must not make /metrics answer a bearer of
    nothing; a token, when set, has 32 characters or more."""
    monkeypatch.setenv("PARLOUR_MONITORING__METRICS_TOKEN", token)
    with pytest.raises(ValidationError, match="metrics_token needs at least 32 characters"):
        Settings()


def test_a_metrics_token_of_32_characters_or_more_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "t" * 32
    monkeypatch.setenv("PARLOUR_MONITORING__METRICS_TOKEN", token)
    held = Settings().monitoring.metrics_token
    assert held is not None
    assert held.get_secret_value() == token


@pytest.mark.parametrize(
    "listen",
    [
        "9464",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "host:port",
        "::1:9464",
        "[::1:9464",
        "127.0.0.1:+80",
        "a b:9464",
    ],
)
def test_a_metrics_listen_that_is_not_host_and_port_is_refused_at_load(
    monkeypatch: pytest.MonkeyPatch, listen: str
) -> None:
    """A bad listener address is a settings error naming the setting, not a crash when
    `parlour serve` starts the listener."""
    monkeypatch.setenv("PARLOUR_MONITORING__METRICS_LISTEN", listen)
    with pytest.raises(ValidationError, match="metrics_listen"):
        Settings()


@pytest.mark.parametrize("listen", ["127.0.0.1:9464", "[::1]:9464", ":1", "metrics.internal:65535"])
def test_a_metrics_listen_of_host_and_port_is_taken(listen: str) -> None:
    assert MonitoringSettings(metrics_listen=listen).metrics_listen == listen


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    key = generate_master_key()
    assert key not in repr(Settings(crypto=CryptoSettings(master_key=key)))


def test_development_creates_a_master_key_file_readable_only_by_its_owner(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_master_key(settings)
    mode = stat.S_IMODE(settings.master_key_path.stat().st_mode)
    assert mode == 0o600
    assert len(first) == 32
    assert load_master_key(settings) == first


def test_production_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text(generate_master_key())
    path.chmod(0o644)
    settings = Settings(
        environment=Environment.PRODUCTION,
        server=PRODUCTION_SERVER,
        crypto=CryptoSettings(master_key_file=path),
        identity=IdentitySettings(smtp_host="smtp.example.com"),
    )
    with pytest.raises(MasterKeyError, match="group or others"):
        load_master_key(settings)
