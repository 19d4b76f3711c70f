"""Tool calls: the model proposes, code decides (T-72, T-73).

A call runs only if the tool is on the tenant's allowlist and its arguments validate against the
tool's JSON schema. Whom a call is about comes from the verified token, never from the model:
a tool's subject argument is overwritten with the verified end user, and a model that named
someone else is logged as a security event. High-impact tools never run on a model's word; the
model is told that a person must confirm. What a tool returns is data for the model, fenced like
knowledge, and cannot widen what the next call may do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from parlour.llm.models import ToolCall, ToolSpec
from parlour.observability import security_event

log = logging.getLogger(__name__)
MAX_RESULT_CHARS = 8_000


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom a turn is for, as the verified token says."""

    tenant_id: str
    user_id: str
    traits: dict[str, str] = field(default_factory=dict)
    visitor: bool = False


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    run: Callable[[Subject, dict[str, Any]], Awaitable[str]]
    # The argument that names the customer the call is about; always the verified end user.
    subject_argument: str | None = None
    high_impact: bool = False  # changes something: a person confirms, the model cannot

    @property
    def spec(self) -> ToolSpec:
        schema = dict(self.input_schema)
        if self.subject_argument is not None:
            # The model is not asked for what it may not decide.
            properties = dict(schema.get("properties", {}))
            properties.pop(self.subject_argument, None)
            schema["properties"] = properties
            schema["required"] = [
                r for r in schema.get("required", ()) if r != self.subject_argument
            ]
        return ToolSpec(self.name, self.description, schema)


class ToolSource(Protocol):
    async def tools(self, tenant_id: str) -> Sequence[Tool]:
        """The tenant's allowlisted tools (the MCP bridge provides them)."""
        ...


class NoTools:
    async def tools(self, tenant_id: str) -> Sequence[Tool]:
        return ()


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    call: ToolCall
    result: str  # what the model is told
    ran: bool
    refusal: str | None = None  # a stable code when the call did not run


async def decide_and_run(call: ToolCall, allowed: Sequence[Tool], subject: Subject) -> ToolOutcome:
    tool = next((t for t in allowed if t.name == call.name), None)
    if tool is None:
        security_event("tool_not_allowed", tenant_id=subject.tenant_id, tool=call.name[:100])
        return _refused(call, "tool_not_allowed", "That tool is not available.")
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        return _refused(call, "invalid_arguments", "The arguments were not valid JSON.")
    if not isinstance(arguments, dict):
        return _refused(call, "invalid_arguments", "The arguments must be a JSON object.")
    if tool.subject_argument is not None:
        named = arguments.get(tool.subject_argument)
        if named is not None and named != subject.user_id:
            security_event("tool_subject_overridden", tenant_id=subject.tenant_id, tool=tool.name)
        arguments[tool.subject_argument] = subject.user_id
    import jsonschema  # here, not at the top: it takes a second to import (the CLI's start)

    try:
        jsonschema.validate(arguments, tool.input_schema)
    except jsonschema.ValidationError as problem:
        return _refused(call, "invalid_arguments", f"Invalid arguments: {problem.message[:200]}")
    if tool.high_impact:
        return _refused(
            call,
            "needs_confirmation",
            "This action needs a person to confirm it; offer to connect the customer with one.",
        )
    if subject.visitor:
        return _refused(call, "not_verified", "Tools are only for verified customers.")
    try:
        result = await tool.run(subject, arguments)
    except Exception:
        log.exception("tool %s failed", tool.name, extra={"tenant_id": subject.tenant_id})
        return _refused(call, "tool_failed", "The tool failed; do not retry it.")
    return ToolOutcome(call, result[:MAX_RESULT_CHARS], ran=True)


def _refused(call: ToolCall, code: str, message: str) -> ToolOutcome:
    return ToolOutcome(call, f"Not run ({code}): {message}", ran=False, refusal=code)
