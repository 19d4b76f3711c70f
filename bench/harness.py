"""What benchmarks share: a throwaway Parlour on the embedded profile, and timing helpers."""

from __future__ import annotations

import base64
import contextlib
import secrets
import statistics
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from tests.support.servers import start_threaded

from parlour.app import create_app
from parlour.services import Services, build_services
from parlour.settings import (
    CryptoSettings,
    DatabaseSettings,
    EgressSettings,
    Environment,
    ServerSettings,
    Settings,
)


def settings_for(
    data_dir: Path, public_url: str = "http://127.0.0.1:8000", *, egress_to_loopback: bool = False
) -> Settings:
    """`egress_to_loopback`: let requests to hosts tenants name reach 127.0.0.1 (a local
    endpoint standing in for an organisation's server)."""
    return Settings(
        environment=Environment.TEST,
        data_dir=data_dir,
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"),
        server=ServerSettings(public_url=public_url),
        crypto=CryptoSettings(master_key=base64.b64encode(secrets.token_bytes(32)).decode()),
        egress=EgressSettings(allowed_networks=["127.0.0.0/8"] if egress_to_loopback else []),
    )


@contextlib.asynccontextmanager
async def embedded_services(*, egress_to_loopback: bool = False) -> AsyncIterator[Services]:
    with tempfile.TemporaryDirectory() as folder:
        services = build_services(settings_for(Path(folder), egress_to_loopback=egress_to_loopback))
        await services.migrate()
        try:
            yield services
        finally:
            await services.aclose()


@dataclass
class RunningServer:
    url: str
    services: Services  # beside the server, on the same database and keys


@contextlib.asynccontextmanager
async def embedded_server() -> AsyncIterator[RunningServer]:
    """A real uvicorn serving Parlour from a thread, on a free loopback port."""
    with tempfile.TemporaryDirectory() as folder:

        def make(url: str) -> tuple[FastAPI, Settings]:
            settings = settings_for(Path(folder), url)
            return create_app(settings), settings

        server = start_threaded(make)  # type: ignore[arg-type]
        server.server.config.access_log = False
        assert server.settings is not None
        services = build_services(server.settings)
        try:
            yield RunningServer(server.url, services)
        finally:
            await services.aclose()
            server.stop()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary_us(samples: list[float]) -> str:
    micro = [s * 1e6 for s in samples]
    return (
        f"p50 {percentile(micro, 50):.1f} µs, p99 {percentile(micro, 99):.1f} µs, "
        f"mean {statistics.fmean(micro):.1f} µs"
    )
