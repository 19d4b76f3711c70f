"""Screening knowledge before it goes live (T-65): text an organisation uploads ends up in the
model's context, so a poisoned entry is a prompt injection with the organisation's authority.

Each finding names its reason. Personal data (payment card numbers and IBANs that pass their
check digits, US social security and UK national insurance numbers) has no place in knowledge
every customer can read. Hidden text (zero-width, bidirectional and Unicode tag characters,
HTML comments) and secrets are unambiguous. Instructions aimed at the model are a judgement:
the patterns below look for text that addresses an assistant ("in your response", "ignore the
previous instructions", role markers, requests to produce or run code) rather than a customer.
They catch the common shapes, not every attack; the answer engine fences retrieved text as data
as the second line of defence (issue 6).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from parlour import sensitive


@dataclass(frozen=True, slots=True)
class Finding:
    reason: str  # a stable code: hidden_text, model_instruction, secret, code, personal_data
    detail: str


_HIDDEN = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ROLE_MARKER = re.compile(
    r"(<\|?/?(system|assistant|user|im_start|im_end)\|?>|^\s*(system|assistant)\s*:|\[/?INST\])",
    re.IGNORECASE | re.MULTILINE,
)
_ADDRESSES_THE_MODEL = re.compile(
    r"\b("
    r"ignore (all |any |the )?(previous|prior|above|earlier) (instructions|prompts?|messages?)"
    r"|disregard (all |any |the )?(previous|prior|above|earlier)"
    r"|(your|the) (system )?prompt"
    r"|you are now\b|from now on,? you\b|act as (a|an|the)\b|pretend (to be|you are)"
    r"|as an ai\b|language model"
    r"|(in|of) your (answer|response|reply|output|solution|code|implementation|codebase)s?\b"
    r"|(modify|rearrange|rewrite|format|start|end|begin) your (answer|response|reply|output)"
    r"|(your|the) (answer|response|reply|output)s? (should|must)\b"
    r"|(to|into|from) your (answer|response|reply|output|code|implementation|solution|codebase)\b"
    r"|(respond|reply|answer) (only )?(with|in)\b"
    r"|(do not|don't|never) (tell|reveal|mention|show) (this |it )?(to )?the user"
    r")",
    re.IGNORECASE,
)
_CODE_BLOCK = re.compile(r"```")
# Requests for work an assistant does, at the start of a sentence; an FAQ tells customers what
# to do, it does not ask for essays, poems or translations.
_TASK_REQUEST = re.compile(
    r"(^|[.!?]\s+)(translate the following|translate this|draft an?\b|compose an?\b"
    r"|write an? (poem|story|essay|letter|song|haiku|summary|introduction)"
    r"|provide an? (poem|story|essay|summary|list of)|summari[sz]e the"
    r"|(can|could) you (show|write|give|tell|explain)\b)",
    re.IGNORECASE | re.MULTILINE,
)
_RISKY_CODE = re.compile(
    r"\b(import (os|subprocess|socket|requests|urllib|shutil|smtplib|ctypes|http|usb|bluetooth)"
    r"|subprocess\.|os\.system|eval\(|exec\(|curl |wget |powershell|rm -rf)",
    re.IGNORECASE,
)
_PERSONAL_DATA = {
    "card": "a payment card number",
    "iban": "a bank account number (IBAN)",
    "ssn": "a social security number",
    "ni_number": "a national insurance number",
}


def personal_data(text: str) -> str | None:
    """What kind of personal data the text holds, if any."""
    spans = sensitive.find(text, _PERSONAL_DATA)
    return _PERSONAL_DATA[spans[0].kind] if spans else None


def screen(text: str, *, question: bool = False) -> list[Finding]:
    """Every reason this text should not go live without an administrator's decision. A
    `question` (an FAQ entry's) may ask for things: that is what customers' questions do."""
    findings: list[Finding] = []
    if match := _HIDDEN.search(text):
        findings.append(Finding("hidden_text", f"invisible character U+{ord(match[0]):04X}"))
    if _HTML_COMMENT.search(text):
        findings.append(Finding("hidden_text", "an HTML comment"))
    visible = unicodedata.normalize("NFKC", _HIDDEN.sub("", text))
    if match := _ROLE_MARKER.search(visible):
        findings.append(Finding("model_instruction", f"a role marker: {match[0].strip()[:40]}"))
    if match := _ADDRESSES_THE_MODEL.search(visible):
        findings.append(Finding("model_instruction", f"addresses the model: {match[0][:60]}"))
    if not question and (match := _TASK_REQUEST.search(visible)):
        findings.append(Finding("model_instruction", f"asks for a task: {match[0].strip()[:60]}"))
    if _CODE_BLOCK.search(visible) and _RISKY_CODE.search(visible):
        findings.append(Finding("code", "a code block that runs commands or calls the network"))
    if sensitive.find(visible, ["secret"]):
        findings.append(Finding("secret", "something shaped like a key or token"))
    if kind := personal_data(visible):
        findings.append(Finding("personal_data", kind))
    return findings
