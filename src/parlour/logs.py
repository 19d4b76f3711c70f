"""What the process writes to its log (docs/monitoring.md, T-105).

Every record, Parlour's own and its libraries' (uvicorn, alembic, SQLAlchemy), goes from the
standard library's loggers through one chain of structlog processors, and comes out as one JSON
object per line or, for a terminal, one text line:

- **Context.** The request id and the tenant id are bound in context variables where they become
  known (`request_scope`, `bind`); every record emitted meanwhile carries them, and a record's
  `extra=` fields become keys of their own.
- **Secrets never reach the log.** Callers pass identifiers and metadata only; as the last line
  of defence, values under keys that name a secret or a message's content are replaced, and so is
  anything shaped like a key, a token or a card number (`parlour.sensitive`'s detectors), and the
  values of rows PostgreSQL's errors quote (the engine hides statements' parameters itself). Query
  values of the paths in uvicorn's access lines are dropped: the dashboard's mailed links carry
  one-time tokens there. Of each request Parlour sends (webhooks, MCP servers, models), only the
  URL's scheme and host are logged: a tenant's webhook URL may hold its key in the path.
- **Traces.** A record logged inside a span names its trace and span (`trace_id`, `span_id`).
- **No value can forge a line** (T-90). JSON escapes control characters; the text format escapes
  them too, and indents a traceback's lines under its record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from parlour import sensitive

LogFormat = Literal["auto", "json", "text"]

# Where `security_event` puts its fields on a standard record (see `parlour.observability`).
FIELDS = "parlour_fields"
# The keys every record starts with, in this order; the rest follow as they were added.
_LEADING = ("timestamp", "level", "logger", "event", "request_id", "tenant_id")
_CONTEXT = ("request_id", "tenant_id")

# Keys whose values are secrets or a person's words; ids, counts and times of them are not.
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)|secret|token|api_?key|authori[sz]ation|cookie|totp|seed|otp\b"
    r"|recovery|credential|private|signature|(^|_)(body|text|content|message|question|answer)$",
    re.IGNORECASE,
)
_NOT_A_SECRET = re.compile(r"_(id|ids|count|at|seconds|type|kind|version|prefix)$")
_SHAPES = ("secret", "card")
REDACTED = "[redacted]"
# uvicorn's access line: client, method, path with its query, HTTP version, status.
_ACCESS_ARGS = 5


def request_scope(request_id: str) -> contextlib.AbstractContextManager[None]:
    """Bind a request's id for the records emitted within, and forget it and any tenant bound
    meanwhile afterwards."""
    return _scope(request_id)


@contextlib.contextmanager
def _scope(request_id: str) -> Iterator[None]:
    tokens = structlog.contextvars.bind_contextvars(request_id=request_id, tenant_id=None)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def bind(*, tenant_id: str) -> None:
    """The tenant the current request or socket acts for, from here on (until its scope ends)."""
    structlog.contextvars.bind_contextvars(tenant_id=tenant_id)


def configure(
    level: int, log_format: LogFormat = "auto", *, stream: TextIO | None = None
) -> logging.Handler:
    """Send every record at `level` and up to `stream` (stderr) in `log_format`: the one logging
    set-up of the `parlour` command, its servers included. Returns the handler it installed."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(chosen_format(log_format, stream)))
    handler.set_name(_HANDLER_NAME)
    # Also here, for the records of any HTTP client logger the list below does not name.
    handler.addFilter(_ContentsDropped())
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers hand their records to this handler too (web/server.py does not let
    # uvicorn install handlers of its own).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*_CHAIN, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return handler


_HANDLER_NAME = "parlour"


def chosen_format(log_format: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    if log_format != "auto":
        return log_format
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def formatter(log_format: Literal["json", "text"]) -> logging.Formatter:
    """The formatter that renders every record, in `log_format`."""
    # JSON in ASCII only: control, bidirectional and line-separator characters come out escaped.
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=True, default=str)
        if log_format == "json"
        else _text
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact,
            _ordered,
            renderer,
        ],
    )


# The processors every record passes, from the standard library or structlog alike.


def _fields(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A security event's fields as keys of the record (they never replace its own keys)."""
    fields = event.pop(FIELDS, None)
    if isinstance(fields, Mapping):
        for key, value in fields.items():
            event.setdefault(str(key), value)
    # Copies of the message: uvicorn's with terminal colours, and what another handler's
    # formatter left on the record.
    for copy in ("color_message", "message", "asctime"):
        event.pop(copy, None)
    return event


def _trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The trace and span a record was logged in, when traces are on (parlour.tracing)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


_CHAIN: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    _trace_ids,
    structlog.stdlib.ExtraAdder(),
    _fields,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


# httpx and httpcore, and their forks httpx2 and httpcore2 (what the MCP SDK, the webhook
# dispatcher and the egress guard speak through), with any logger under them.
_HTTP_CLIENT = re.compile(r"^httpx\d*(\.|$)")
_HTTP_CORE = re.compile(r"^httpcore\d*(\.|$)")


class _ContentsDropped(logging.Filter):
    """What libraries log of a request's contents, dropped before any handler sees it: the
    values of the query in uvicorn's access line (client, method, path, HTTP version, status);
    all but the scheme and host of the URL in httpx's (and httpx2's) line for each request
    Parlour sends; at DEBUG, the data of the WebSocket frames websockets logs (tokens,
    messages), the headers and arguments httpcore (and httpcore2) logs (cookies, URLs), and
    the statements' parameters aiosqlite logs (stored values). Applying it twice changes
    nothing more."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _HTTP_CORE.match(record.name) and isinstance(record.msg, str):
            record.msg = record.msg.split(" ", 1)[0]  # the step's name, without its values
            record.args = ()
        args = record.args
        if not isinstance(args, tuple):
            return True
        if record.name == "uvicorn.access" and len(args) == _ACCESS_ARGS:
            client, method, path, version, status = args
            record.args = (client, method, without_query_values(path), version, status)
        elif _HTTP_CLIENT.match(record.name) and len(args) > 1:
            # 'HTTP Request: %s %s "%s %d %s"': a tenant's webhook URL may hold a key in its
            # path (Slack's do) or its query, and credentials before its host.
            record.args = (args[0], origin_only(args[1]), *args[2:])
        elif record.name == "aiosqlite" and len(args) == 1 and not isinstance(args[0], str):
            # "executing %s": a call with its statement's parameters, the values being stored.
            call = args[0]
            record.args = (getattr(getattr(call, "func", call), "__name__", "a call"),)
        elif record.msg in ("< %s", "> %s") and len(args) == 1:
            data, opcode = getattr(args[0], "data", None), getattr(args[0], "opcode", None)
            if isinstance(data, bytes | bytearray) and opcode is not None:
                record.args = (f"{getattr(opcode, 'name', opcode)} [{len(data)} bytes]",)
        return True


def origin_only(url: object) -> str:
    """`https://user:pw@hooks.example:8443/T0/B0/XXXX?key=k` → `https://hooks.example:8443`."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "[url]"
    host = parts.netloc.rpartition("@")[2]
    if not parts.scheme or not host:
        return "[url]"
    return f"{parts.scheme}://{host}"


def without_query_values(path: object) -> str:
    """`/verify?token=abc&x=1` → `/verify?token=***&x=***`."""
    text = str(path)
    base, mark, query = text.partition("?")
    if not mark:
        return text
    return base + "?" + "&".join(part.partition("=")[0] + "=***" for part in query.split("&"))


# Filters of a logger see only the records logged on it, so each logger that writes those lines.
# (`configure`'s handler applies it too, to whatever reaches it from any other logger.)
_WRITERS = ("uvicorn.access", "uvicorn.error", "uvicorn.error.websocket", "httpx", "httpx2")
_DEBUG_WRITERS = ("websockets.server", "websockets.client", "aiosqlite")
_HTTP_CORE_WRITERS = ("connection", "http11", "http2", "proxy", "socks")
for _name in (
    *_WRITERS,
    *_DEBUG_WRITERS,
    *(f"{core}.{part}" for core in ("httpcore", "httpcore2") for part in _HTTP_CORE_WRITERS),
):
    logging.getLogger(_name).addFilter(_ContentsDropped())


# Redaction: the last processor before the record is rendered.


def _redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    return {key: _redacted_value(key, value) for key, value in event.items()}


def _redacted_value(key: str, value: Any) -> Any:
    if key not in _LEADING and _names_secret(key) and _may_hold_secret(value):
        return REDACTED
    return _scrubbed(value)


def _names_secret(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None and _NOT_A_SECRET.search(key) is None


def _may_hold_secret(value: Any) -> bool:
    return value is not None and not isinstance(value, bool | int | float)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redacted_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrubbed(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


# What PostgreSQL's errors quote of the rows they refused (a DETAIL line, which asyncpg puts in
# the exception's text): `Key (end_user_id)=(ada) already exists.`, `Failing row contains (…).`
_STORED_VALUES = re.compile(r"\b(Key \([^\n]*?\)=)\([^\n]*|\b(Failing row contains )\([^\n]*")


# A URL anywhere in a text (a library's error names the URL it failed on: "for url '…'"): its
# credentials, path, query and fragment, where a tenant's webhook or MCP server URL keeps a key.
_URL = re.compile(
    r"""\b([a-z][a-z0-9+.-]*://)(?:[^\s/?#@'"<>]*@)?([^\s/?#@'"<>]+)([/?#][^\s'"<>]*)?""",
    re.IGNORECASE,
)


def _url_origin(match: re.Match[str]) -> str:
    scheme, host, rest = match.group(1), match.group(2), match.group(3) or ""
    return scheme + host + (rest if rest in ("", "/") else f"/{REDACTED}")


def redact_text(text: str) -> str:
    """`text` with the stored values a database error quotes, all but the scheme and host of
    any URL, and anything shaped like a key, a token or a card number, replaced."""
    text = _STORED_VALUES.sub(lambda m: f"{m.group(1) or m.group(2)}{REDACTED}", text)
    text = _URL.sub(_url_origin, text)
    return sensitive.mask(text, _SHAPES, prefix="redacted ")


def _ordered(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The leading keys first; the context's keys only when known."""
    ordered = {key: event.pop(key) for key in _LEADING if key in event}
    for key in _CONTEXT:
        if ordered.get(key, "") is None:
            del ordered[key]
    ordered.update(event)
    return ordered


# Rendering.


def _text(_: WrappedLogger, __: str, event: EventDict) -> str:
    """`timestamp LEVEL logger event key=value…`, then an indented traceback, if any."""
    event = dict(event)
    exception = event.pop("exception", None)
    head = [
        str(event.pop("timestamp", "")),
        str(event.pop("level", "")).upper(),
        escape(str(event.pop("logger", ""))),
        escape(str(event.pop("event", ""))),
    ]
    pairs = [f"{escape(key)}={_text_value(value)}" for key, value in event.items()]
    line = " ".join(part for part in [*head, *pairs] if part)
    if exception:
        lines = str(exception).rstrip("\n").split("\n")
        line += "".join("\n    " + escape(part) for part in lines)
    return line


def _text_value(value: Any) -> str:
    shown = escape(value if isinstance(value, str) else json.dumps(value, default=str))
    if shown and not any(ch in shown for ch in ' "='):
        return shown
    return '"' + shown.replace('"', '\\"') + '"'


def escape(text: str) -> str:
    """`text` with control, format and line-separator characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(_escaped(ch) for ch in text)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    if ch == " ":
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch
