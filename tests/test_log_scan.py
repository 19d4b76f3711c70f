"""The run's log scan (conftest.logs_never_hold_secrets) really finds a leak when there is one."""

from __future__ import annotations

import logging
import secrets

from tests.support import canaries


def test_a_secret_that_reaches_a_log_line_is_reported() -> None:
    """T-89: the scanner itself is checked, so a clean run means something."""
    # A shape no detector knows: the logs' own redaction (parlour.logs) would hide a key's.
    secret = "planted-for-the-scanner-check-only-" + secrets.token_hex(8)
    handler = canaries.CapturingHandler()
    logger = logging.getLogger("tests.scanner")
    logger.addHandler(handler)
    try:
        canaries.register(secret)
        logger.warning("authorization header was %s", secret)
        assert any(secret[:10] in leak for leak in canaries.leaks())
    finally:
        logger.removeHandler(handler)
        # Take the planted leak back out so the run's own check judges only real logs.
        canaries.CANARIES.discard(secret)
        canaries.LOG_LINES[:] = [line for line in canaries.LOG_LINES if secret not in line]
