"""A real authoritative DNS server on loopback (dnslib, over UDP), whose records tests set, so
that domain proof and the egress guard are tested through real lookups. One serves the whole
run; tests keep apart by using host names of their own (`unique_host`)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

from dnslib import AAAA, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


class Zone(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    def set(self, name: str, record_type: str, *values: str) -> None:
        with self._lock:
            self._records[(name.lower().rstrip("."), record_type)] = list(values)

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        record_type = QTYPE[request.q.qtype]
        with self._lock:
            values = self._records.get((name, record_type), [])
            known = any(known_name == name for known_name, _ in self._records)
        rdata: Any = {"A": A, "AAAA": AAAA, "TXT": TXT}.get(record_type)
        for value in values:
            reply.add_answer(RR(name, request.q.qtype, rdata=rdata(value), ttl=0))
        if not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class DnsServer:
    def __init__(self) -> None:
        self.zone = Zone()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._server = DNSServer(self.zone, port=0, address="127.0.0.1", logger=quiet)
        self._server.start_thread()
        self.nameserver = f"127.0.0.1:{self._server.server.server_address[1]}"


_running: DnsServer | None = None
_starting = threading.Lock()


def dns_server() -> DnsServer:
    global _running
    with _starting:
        if _running is None:
            _running = DnsServer()
    return _running


def unique_host(label: str = "shop") -> str:
    return f"{label}-{secrets.token_hex(4)}.test"
