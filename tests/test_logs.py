"""What the process writes to its log (parlour.logs): one structured record per line, with the
request's and the tenant's ids, nothing secret, and nothing that forges a line."""

from __future__ import annotations

import io
import json
import logging
import secrets
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parlour import logs
from parlour.observability import security_event
from tests.conftest import Stack, migrated_services
from tests.support import canaries, seed
from tests.support.accounts import Browser, mailed_token, with_current_code
from tests.support.chat import authenticate, close_code, open_socket, receive_until, say
from tests.support.logs import records, written
from tests.support.webhook_receiver import webhook_receiver

ORIGIN = "http://localhost:5173"  # a loopback origin: allowed at once, before verification
CARD = "4111 1111 1111 1111"
HOSTILE = 'evil\r\n{"level": "critical", "event": "forged"}\x1b[2J'


async def test_t105_a_run_of_real_traffic_leaves_none_of_its_secrets_in_the_log(
    stack: Stack,
) -> None:
    """T-105: logging set up as `parlour serve` sets it up (JSON, here at DEBUG), a person signs
    up with a password, confirms the mailed link, enrols TOTP, creates an API key; the key mints
    end-user tokens; a customer chats with a card number and a phrase of their own; a forged
    token, a foreign API key and an unexpected error are refused. None of the secrets or words
    is in the log, each line is one JSON record with the request's id (and the tenant's where
    one was known), and control characters a client chose come out escaped (T-90)."""
    password = canaries.register(f"planted-password-{secrets.token_hex(8)}")
    phrase = canaries.register(f"the purple walrus sings {secrets.token_hex(4)}")
    foreign_key = canaries.register(f"parlour_sk_{secrets.token_hex(8)}_{secrets.token_hex(24)}")
    planted = [password, phrase, foreign_key, CARD, CARD.replace(" ", "")]
    email = f"owner-{secrets.token_hex(4)}@example.com"

    with written(logging.DEBUG, "json") as log:
        async with httpx.AsyncClient(base_url=stack.url, timeout=10) as client:
            browser = Browser(client)
            body = {"email": email, "password": password, "organisation": "Walrus Bank"}
            assert (await browser.send("POST", "/v1/accounts", body)).status_code == 202
            link = mailed_token(stack.services.settings.data_dir / "outbox", email)
            planted.append(link)
            # The mailed link as a browser opens it: its token travels in the query string.
            assert (await client.get(f"/dashboard/verify-email?token={link}")).status_code == 200
            answer = await browser.send("POST", "/v1/accounts/verify-email", {"token": link})
            assert answer.status_code == 204
            body = {"email": email, "password": password}
            assert (await browser.send("POST", "/v1/session", body)).status_code == 200
            seed = (await browser.send("POST", "/v1/session/enrolment")).json()["seed"]
            planted.append(seed)
            answer = await with_current_code(
                seed,
                lambda code: browser.send("POST", "/v1/session/enrolment/confirm", {"code": code}),
                accepted=lambda answer: answer.status_code == 200,
            )
            assert answer.status_code == 200, answer.text
            planted += [browser.cookie or "", browser.csrf or ""]
            (organisation,) = (await browser.send("GET", "/v1/organisations")).json()
            tenant_id = organisation["tenant_id"]
            base = f"/v1/organisations/{tenant_id}"
            answer = await browser.send("POST", f"{base}/origins", {"origin": ORIGIN})
            assert answer.status_code == 201, answer.text
            keys = {"label": "shop backend", "scopes": ["end_user_tokens:mint"]}
            answer = await browser.send("POST", f"{base}/api-keys", keys)
            assert answer.status_code == 201, answer.text
            api_key = canaries.register(answer.json()["secret"])
            planted.append(api_key)

            async def mint(user_id: str) -> httpx.Response:
                return await client.post(
                    "/v1/end-user-tokens",
                    json={"user_id": user_id, "origin": ORIGIN},
                    headers={"Authorization": f"Bearer {api_key}"},
                )

            minted = (await mint("customer-7")).json()
            token, widget_id = canaries.register(minted["token"]), minted["widget_id"]
            other = (await mint("customer-8")).json()["token"]
            forged = canaries.register(other[:-6] + ("AAAAAA" if other[-1] != "A" else "BBBBBB"))
            planted += [token, other, forged]
            refused = await client.post(
                "/v1/end-user-tokens",
                json={"user_id": "u", "origin": ORIGIN},
                headers={"Authorization": f"Bearer {foreign_key}"},
            )
            assert refused.status_code == 401

            async def explode() -> None:
                raise RuntimeError("the unexpected happened")

            stack.app.add_api_route("/v1/explode", explode, methods=["POST"])
            failed = await client.post(f"/v1/explode?card={quote(CARD)}", json={"text": phrase})
            assert failed.status_code == 500

        async with open_socket(stack.ws_url, widget_id, ORIGIN) as ws:
            await authenticate(ws, token)
            await say(ws, f"My card is {CARD} and {phrase}")
            await receive_until(ws, lambda f: f.get("author") == "assistant")
        async with open_socket(stack.ws_url, widget_id, ORIGIN) as ws:
            await ws.send(json.dumps({"type": "auth", "token": forged}))
            assert await close_code(ws) == 4401
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            async with open_socket(stack.ws_url, quote(HOSTILE, safe=""), ORIGIN):
                pass
        stack.server.stop()  # all it would log of that traffic is logged
    text = log.getvalue()

    lines = text.splitlines()
    leaked = [line[:400] for value in planted if value for line in lines if value in line]
    assert leaked == [], "\n".join(leaked)
    assert "\x1b" not in text
    assert "\r" not in text
    written_records = records(text)
    security = [r for r in written_records if r["logger"] == "parlour.security"]
    accesses = [r for r in written_records if r["logger"] == "uvicorn.access"]
    assert {"api_key.refused", "chat.auth_refused", "chat.handshake_refused"} <= {
        r["event"] for r in security
    }
    assert all(r["request_id"] for r in security + accesses)
    (key_created,) = [r for r in accesses if f"POST {base}/api-keys " in r["event"]]
    assert key_created["tenant_id"] == tenant_id
    (auth_refused,) = [r for r in security if r["event"] == "chat.auth_refused"]
    assert auth_refused["tenant_id"] == tenant_id
    (unexpected,) = [r for r in written_records if r["event"] == "unexpected error"]
    assert unexpected["request_id"] == failed.headers["x-request-id"]
    assert "RuntimeError: the unexpected happened" in unexpected["exception"]
    (hostile,) = [r for r in security if r["event"] == "chat.handshake_refused"]
    assert hostile["widget_id"] == HOSTILE
    assert "\\r\\n" in text
    assert "\\u001b[2J" in text


async def test_an_unexpected_error_is_one_json_line_with_its_request_id_and_extra_fields(
    stack: Stack,
) -> None:
    """The request id of a 500 and a record's `extra=` fields reach its JSON line, beside the
    traceback as one string field."""

    async def explode() -> None:
        logging.getLogger("parlour.tests").warning("about to fail", extra={"server_id": "s-1"})
        raise RuntimeError("no such thing")

    stack.app.add_api_route("/v1/explode", explode)
    with written(logging.INFO, "json") as log:
        async with httpx.AsyncClient(base_url=stack.url) as client:
            answer = await client.get("/v1/explode")
    request_id = answer.headers["x-request-id"]
    ours = [r for r in records(log.getvalue()) if r.get("request_id") == request_id]
    warned = next(r for r in ours if r["event"] == "about to fail")
    failed = next(r for r in ours if r["event"] == "unexpected error")
    assert warned["server_id"] == "s-1"
    assert (failed["level"], failed["logger"]) == ("error", "parlour.web.middleware")
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert failed["exception"].rstrip().endswith("RuntimeError: no such thing")
    assert list(failed)[:5] == ["timestamp", "level", "logger", "event", "request_id"]
    assert failed["timestamp"].endswith("Z")


def test_t90_the_text_format_escapes_control_characters_and_indents_a_traceback() -> None:
    """T-90: a value with line breaks and terminal escapes stays inside its record's line, and
    a traceback's lines are indented under it: no line a client wrote starts a record."""
    security_log = logging.getLogger("parlour.security")
    was = security_log.propagate
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.formatter("text"))
    security_log.addHandler(handler)
    security_log.propagate = False
    try:
        with logs.request_scope("r-1"):
            logs.bind(tenant_id="t-1")
            security_event("login.failed", account_id=HOSTILE, ip="192.0.2.1")
            try:
                raise ValueError(f"bad\r\n{HOSTILE}")
            except ValueError:
                security_log.exception("failed for %s", HOSTILE)
    finally:
        security_log.removeHandler(handler)
        security_log.propagate = was
    text = buffer.getvalue()
    assert "\x1b" not in text
    assert "\r" not in text
    lines = text.splitlines()
    records_start = [line for line in lines if not line.startswith("    ")]
    assert len(records_start) == 2
    assert " WARNING parlour.security login.failed request_id=r-1 tenant_id=t-1 " in lines[0]
    assert 'account_id="evil\\r\\n{\\"level\\": \\"critical\\"' in lines[0]
    assert "    ValueError: bad\\r" in lines
    assert lines[-1] == '    {"level": "critical", "event": "forged"}\\x1b[2J'


def test_values_under_secret_names_and_in_secret_shapes_are_redacted() -> None:
    """T-105: the last line of defence, for a caller that passed what it should not have."""
    key = f"parlour_sk_{secrets.token_hex(8)}_{secrets.token_hex(24)}"
    jwt_like = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjdXN0b21lciJ9.c2lnbmF0dXJlLWJ5dGVz"
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("parlour.tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(
            "sent %s with %s",
            key,
            jwt_like,
            extra={
                "password": "hunter2-hunter2",
                "totp_seed": "JBSWY3DPEHPK3PXP",
                "headers": {"Authorization": "Basic dXNlcjpwYXNz", "accept": "text/html"},
                "body": "please keep this private",
                "note": f"paid with {CARD}",
                "token_id": "tok-1",
                "tokens_used": 42,
            },
        )
    finally:
        logger.removeHandler(handler)
    (record,) = records(buffer.getvalue())
    assert record["event"] == "sent [redacted secret] with [redacted secret]"
    assert record["password"] == record["totp_seed"] == record["body"] == logs.REDACTED
    assert record["headers"] == {"Authorization": logs.REDACTED, "accept": "text/html"}
    assert record["note"] == "paid with [redacted card]"
    assert (record["token_id"], record["tokens_used"]) == ("tok-1", 42)


def test_query_values_of_an_access_line_are_dropped() -> None:
    """The dashboard's mailed links carry one-time tokens in their query (T-105)."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("192.0.2.1:5000", "GET", "/dashboard/reset?token=s3cr3t-value&next=/x", "1.1", 200),
        None,
    )
    logging.getLogger("uvicorn.access").filter(record)
    assert record.getMessage() == (
        '192.0.2.1:5000 - "GET /dashboard/reset?token=***&next=*** HTTP/1.1" 200'
    )


async def test_t105_a_webhook_delivery_logs_its_urls_scheme_and_host_only(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-105: a tenant's webhook URL holds its secret in the path (as Slack's do) and in the
    query; logging set up as `parlour serve` sets it up (here at DEBUG, httpcore2's steps
    included), a real delivery to it logs the request with the URL's scheme and host, and the
    secret is nowhere in the log."""
    in_path = canaries.register(f"pathsecret{secrets.token_hex(12)}")
    in_query = canaries.register(f"querysecret{secrets.token_hex(12)}")
    with webhook_receiver() as receiver, written(logging.DEBUG, "json") as log:
        async with migrated_services(tmp_path, sqlite_url) as services:
            org = await seed.organisation(services, faq=None)
            await services.webhook_endpoints.add(
                org.tenant_id,
                url=f"{receiver.url}/services/T0/B0/{in_path}?key={in_query}",
                events=("message.created",),
                actor=seed.ACTOR,
            )
            conversation = await services.chat.open_conversation(org.tenant_id, "ada")
            await services.chat.post_user_message(
                org.tenant_id, conversation.conversation_id, client_id="1", text="Hello"
            )
            assert await services.webhook_dispatcher.deliver_due() == 1
    text = log.getvalue()

    assert [r.path for r in receiver.received] == [f"/services/T0/B0/{in_path}"]
    leaked = [line[:400] for line in text.splitlines() if in_path in line or in_query in line]
    assert leaked == [], "\n".join(leaked)
    (sent,) = [r for r in records(text) if r["logger"] == "httpx2"]
    assert sent["event"] == f'HTTP Request: POST {receiver.url} "HTTP/1.1 200 OK"'


def test_a_request_line_of_any_http_client_logger_keeps_scheme_and_host_only() -> None:
    """T-105: also from an HTTP client logger `parlour.logs` does not name (a fork to come),
    through the handler `parlour serve` installs; credentials before the host go too."""
    url = "https://user:pw@hooks.example:8443/T0/B0/s3cr3tpath?key=s3cr3tquery"
    with written(logging.INFO, "json") as log:
        logging.getLogger("httpx3").info(
            'HTTP Request: %s %s "%s %d %s"', "POST", url, "HTTP/1.1", 200, "OK"
        )
        logging.getLogger("httpcore3.http11").info("send_request_headers.started request=%s", url)
    (request, step) = records(log.getvalue())
    assert request["event"] == 'HTTP Request: POST https://hooks.example:8443 "HTTP/1.1 200 OK"'
    assert step["event"] == "send_request_headers.started"


def test_a_url_in_an_error_keeps_its_scheme_and_host_only() -> None:
    """T-105: an HTTP library's error names the URL it failed on (httpx2's "for url '…'", as
    an MCP server's refusal raises it); in the traceback, as in any text logged, a URL keeps its
    scheme and host, and loses its credentials, path and query."""
    url = "https://bot:pw@mcp.example.com/T0/B0/s3cr3tpath?key=s3cr3tquery"
    with written(logging.INFO, "json") as log:
        try:
            raise RuntimeError(f"Client error '401 Unauthorized' for url '{url}'")
        except RuntimeError:
            logging.getLogger("parlour.assistant").exception("tool %s failed", "lookup")
    text = log.getvalue()
    (record,) = records(text)
    assert "for url 'https://mcp.example.com/[redacted]'" in record["exception"]
    assert "s3cr3t" not in text
    assert "bot:pw" not in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    assert logs.chosen_format("auto", _Terminal()) == "text"
    assert logs.chosen_format("auto", io.StringIO()) == "json"
    assert logs.chosen_format("json", _Terminal()) == "json"
