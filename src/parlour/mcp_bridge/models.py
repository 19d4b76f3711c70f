from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class McpServer:
    """An organisation's MCP server as configured; its credential stays sealed."""

    server_id: str
    tenant_id: str
    name: str
    url: str
    tools: tuple[str, ...]  # the allowlist: no other tool of the server is ever offered
    high_impact_tools: tuple[str, ...]  # never run on a model's word
    subject_argument: str | None  # the argument naming the customer; always the verified one
    has_credential: bool
    created_at: datetime
    updated_at: datetime
    # Tool name -> fingerprint of the definition approved (T-81); no pin, or another
    # definition, and the tool is not offered.
    tool_pins: Mapping[str, str] = field(default_factory=dict)
    # PEM of the CA(s) the server's certificate must chain to; None: the system's CAs (T-78).
    server_ca_pem: str | None = None
