"""An organisation's MCP servers: where they are, which of their tools the assistant may offer,
which of those only a person may confirm, and an optional credential, sealed with the tenant's
data key and never shown again. A server's address must resolve to public addresses only (the
egress guard), now and again at every connection; every change is audited without the secret.

The allowed tools' definitions are pinned when they are approved (T-81, `McpBridge.approve`):
a tool whose server later describes it otherwise is withheld until it is approved again. A pin
outlives a save that keeps the tool allowed at the same URL.

A server may be pinned to the CA its certificate must chain to, and every organisation has a
client certificate its servers can require (T-78, tls.py).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterable, Mapping
from enum import Enum
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from parlour.audit.events import (
    Actor,
    McpClientCertificatePrepared,
    McpClientCertificateSwitched,
    McpServerRemoved,
    McpServerSaved,
    McpToolsApproved,
    McpToolWithheld,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.egress import EgressGuard, checked_url
from parlour.errors import InvalidInput, NotFound
from parlour.identifiers import check_identifier
from parlour.keys.tokens import call_token_issuer
from parlour.mcp_bridge.models import McpServer
from parlour.mcp_bridge.repository import ClientCertificateRepository, McpServerRepository
from parlour.mcp_bridge.tls import (
    ClientCertificate,
    certificate_fingerprint,
    checked_ca_pem,
    new_client_certificate,
)
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

_TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_TOOLS = 100
MAX_CREDENTIAL_CHARS = 4096
MAX_SERVERS = 10


class KeepCredential(Enum):
    """The credential argument left out: the stored one stays."""

    KEEP = "keep"


class McpConfiguration:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        egress: EgressGuard,
        *,
        public_url: str,
        allow_insecure_urls: bool,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._egress = egress
        self._public_url = public_url
        self._allow_insecure = allow_insecure_urls
        self._clock = clock

    async def servers(self, tenant_id: str) -> list[McpServer]:
        async with self._db.read(tenant_id) as conn:
            return await McpServerRepository(conn).of_tenant(tenant_id)

    async def server(self, tenant_id: str, server_id: str) -> McpServer:
        async with self._db.read(tenant_id) as conn:
            server = await McpServerRepository(conn).get(tenant_id, server_id)
        if server is None:
            raise NotFound("no such MCP server")
        return server

    async def save(
        self,
        tenant_id: str,
        *,
        name: str,
        url: str,
        tools: Iterable[str],
        high_impact_tools: Iterable[str] = (),
        subject_argument: str | None = None,
        credential: str | KeepCredential | None = KeepCredential.KEEP,
        server_ca_pem: str | None = None,
        server_id: str | None = None,
        actor: Actor,
    ) -> McpServer:
        """Add a server (no `server_id`) or change one. A credential of None removes it; a
        pinned CA of None leaves the server to the system's CAs."""
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("give the server a name of 1 to 100 characters")
        check_identifier(name, "an MCP server's name")
        url = self._checked_url(url)
        if server_ca_pem is not None and server_ca_pem.strip():
            if urlsplit(url).scheme != "https":
                raise InvalidInput("a pinned CA needs an https:// URL")
            server_ca_pem = checked_ca_pem(server_ca_pem)
        else:
            server_ca_pem = None
        await self._egress.vetted_address(urlsplit(url).hostname or "")
        allowed = _tool_names(tools, "tools")
        high_impact = _tool_names(high_impact_tools, "high_impact_tools")
        if not set(high_impact) <= set(allowed):
            raise InvalidInput("high-impact tools must be among the allowed tools")
        if subject_argument is not None and not _TOOL_NAME.fullmatch(subject_argument):
            raise InvalidInput("the subject argument is a parameter name, like customer_id")
        if isinstance(credential, str) and not 0 < len(credential) <= MAX_CREDENTIAL_CHARS:
            raise InvalidInput(f"a credential has 1 to {MAX_CREDENTIAL_CHARS} characters")
        now = self._clock()
        async with self._db.transaction(tenant_id) as conn:
            repo = McpServerRepository(conn)
            existing = await repo.get(tenant_id, server_id) if server_id else None
            if server_id is not None and existing is None:
                raise NotFound("no such MCP server")
            if existing is None and len(await repo.of_tenant(tenant_id)) >= MAX_SERVERS:
                raise InvalidInput(f"an organisation has at most {MAX_SERVERS} MCP servers")
            new_id = server_id or str(uuid.uuid4())
            keep = isinstance(credential, KeepCredential)
            sealed = None
            if isinstance(credential, str):
                cipher = await self._vault.cipher(tenant_id)
                sealed = cipher.seal_text(credential, _credential_place(new_id))
            server = McpServer(
                server_id=new_id,
                tenant_id=tenant_id,
                name=name,
                url=url,
                tools=allowed,
                high_impact_tools=high_impact,
                subject_argument=subject_argument,
                has_credential=(
                    existing is not None and existing.has_credential if keep else sealed is not None
                ),
                created_at=existing.created_at if existing else now,
                updated_at=now,
                tool_pins=(
                    {n: p for n, p in existing.tool_pins.items() if n in allowed}
                    if existing is not None and existing.url == url
                    else {}
                ),
                server_ca_pem=server_ca_pem,
            )
            if existing is None:
                await repo.insert(server, sealed)
            else:
                await repo.update(server, sealed, keep_credential=keep)
            event = McpServerSaved(
                server_id=new_id,
                name=name,
                url=url,
                tools=list(allowed),
                high_impact_tools=list(high_impact),
                credential_changed=not keep,
            )
            await self._audit.record(conn, tenant_id, event, actor)
        return server

    async def pin(
        self, tenant_id: str, server_id: str, definitions: Mapping[str, str], *, actor: Actor
    ) -> McpServer:
        """Approve these definitions (tool name -> fingerprint) of the server's allowed tools;
        the pins of allowed tools not among them are dropped."""
        async with self._db.transaction(tenant_id) as conn:
            repo = McpServerRepository(conn)
            existing = await repo.get(tenant_id, server_id)
            if existing is None:
                raise NotFound("no such MCP server")
            pins = {n: f for n, f in definitions.items() if n in existing.tools}
            server = dataclasses.replace(existing, tool_pins=pins, updated_at=self._clock())
            await repo.update(server, None, keep_credential=True)
            await self._audit.record(conn, tenant_id, McpToolsApproved(server_id, pins), actor)
        return server

    async def withheld(self, server: McpServer, tool: str, offered: str) -> None:
        """Record, for the organisation's audit log, that an allowed tool was not offered because
        its server describes it otherwise than approved."""
        event = McpToolWithheld(server.server_id, tool, server.tool_pins.get(tool), offered)
        async with self._db.transaction(server.tenant_id) as conn:
            await self._audit.record(conn, server.tenant_id, event, Actor.system("mcp-bridge"))

    async def remove(self, tenant_id: str, server_id: str, *, actor: Actor) -> None:
        async with self._db.transaction(tenant_id) as conn:
            if not await McpServerRepository(conn).delete(tenant_id, server_id):
                raise NotFound("no such MCP server")
            await self._audit.record(conn, tenant_id, McpServerRemoved(server_id), actor)

    async def credential(self, tenant_id: str, server_id: str) -> str | None:
        """The stored credential in clear, for the bridge's requests only."""
        async with self._db.read(tenant_id) as conn:
            sealed = await McpServerRepository(conn).credential(tenant_id, server_id)
        if sealed is None:
            return None

        async def unseal(cipher: TenantCipher) -> str:
            return cipher.open_text(sealed, _credential_place(server_id))

        return await self._vault.using(tenant_id, unseal)

    async def client_certificate(self, tenant_id: str) -> ClientCertificate:
        """The organisation's client certificate and its key, for the bridge's TLS only."""
        certificate_pem, key_sealed = await self._stored_certificate(tenant_id)

        async def unseal(cipher: TenantCipher) -> bytes:
            return cipher.open(key_sealed, _client_key_place(tenant_id))

        return ClientCertificate(certificate_pem, await self._vault.using(tenant_id, unseal))

    async def client_certificate_pem(self, tenant_id: str) -> str:
        """The organisation's client certificate alone (public), to show; its key stays sealed."""
        certificate_pem, _ = await self._stored_certificate(tenant_id)
        return certificate_pem

    async def next_client_certificate_pem(self, tenant_id: str) -> str | None:
        """The certificate prepared to replace the current one, if any (public)."""
        async with self._db.read(tenant_id) as conn:
            prepared = await ClientCertificateRepository(conn).next(tenant_id)
        return prepared[0] if prepared else None

    async def prepare_next_client_certificate(self, tenant_id: str, *, actor: Actor) -> str:
        """Make (once) the certificate that replaces the current one at the switch, and publish
        it now, so that servers admitting certificates one by one can admit it first."""
        await self._stored_certificate(tenant_id)
        prepared = await self.next_client_certificate_pem(tenant_id)
        if prepared is not None:
            return prepared
        made = new_client_certificate(call_token_issuer(self._public_url, tenant_id), self._clock())
        cipher = await self._vault.cipher(tenant_id)
        sealed = cipher.seal(made.key_pem, _next_key_place(tenant_id))
        async with self._db.transaction(tenant_id) as conn:
            await ClientCertificateRepository(conn).set_next(
                tenant_id, made.certificate_pem, sealed
            )
            event = McpClientCertificatePrepared(certificate_fingerprint(made.certificate_pem))
            await self._audit.record(conn, tenant_id, event, actor)
        return made.certificate_pem

    async def switch_client_certificate(self, tenant_id: str, *, actor: Actor) -> str:
        """Every call from now on shows the prepared certificate; the one it replaces is gone."""
        async with self._db.transaction(tenant_id) as conn:
            repo = ClientCertificateRepository(conn)
            prepared = await repo.next(tenant_id)
            if prepared is None:
                raise InvalidInput("prepare the next client certificate first")
            certificate_pem, next_sealed = prepared
            cipher = await self._vault.cipher(tenant_id)
            key_pem = cipher.open(next_sealed, _next_key_place(tenant_id))
            sealed = cipher.seal(key_pem, _client_key_place(tenant_id))
            await repo.switch(tenant_id, certificate_pem, sealed, self._clock())
            event = McpClientCertificateSwitched(certificate_fingerprint(certificate_pem))
            await self._audit.record(conn, tenant_id, event, actor)
        return certificate_pem

    async def _stored_certificate(self, tenant_id: str) -> tuple[str, bytes]:
        """The certificate and its sealed key, made on first need."""
        async with self._db.read(tenant_id) as conn:
            stored = await ClientCertificateRepository(conn).get(tenant_id)
        if stored is not None:
            return stored
        made = new_client_certificate(call_token_issuer(self._public_url, tenant_id), self._clock())
        cipher = await self._vault.cipher(tenant_id)
        sealed = cipher.seal(made.key_pem, _client_key_place(tenant_id))
        try:
            async with self._db.transaction(tenant_id) as conn:
                await ClientCertificateRepository(conn).insert(
                    tenant_id, made.certificate_pem, sealed, self._clock()
                )
            return made.certificate_pem, sealed
        except IntegrityError:
            # Made at the same moment by another request: that one stands.
            async with self._db.read(tenant_id) as conn:
                stored = await ClientCertificateRepository(conn).get(tenant_id)
            assert stored is not None
            return stored

    def _checked_url(self, url: str) -> str:
        return checked_url(
            url,
            what="an MCP server URL",
            example="https://mcp.example.com/mcp",
            allow_http=self._allow_insecure,
        )


def _tool_names(names: Iterable[str], field: str) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if len(cleaned) > MAX_TOOLS:
        raise InvalidInput(f"at most {MAX_TOOLS} {field}")
    for name in cleaned:
        if not _TOOL_NAME.fullmatch(name):
            raise InvalidInput(f"{name!r} is not a tool name (letters, digits, _ . -)")
    return cleaned


def _credential_place(server_id: str) -> Place:
    return Place("mcp_servers", server_id, "credential")


def _client_key_place(tenant_id: str) -> Place:
    return Place("mcp_client_certificates", tenant_id, "private_key")


def _next_key_place(tenant_id: str) -> Place:
    return Place("mcp_client_certificates", tenant_id, "next_private_key")
