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
_SECRETS = re.compile(
    r"(parlour_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}"
    r"|\bsk-[A-Za-z0-9_-]{20,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,})"
)

_CARD_NUMBER = re.compile(r"\b[2-6](?:[ -]?\d){12,18}\b")  # the issuers' leading digits
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_NI_NUMBER = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIQUVO])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")


def personal_data(text: str) -> str | None:
    """What kind of personal data the text holds, if any."""
    for match in _CARD_NUMBER.finditer(text):
        if _luhn_valid(re.sub(r"[ -]", "", match[0])):
            return "a payment card number"
    for match in _IBAN.finditer(text):
        if _iban_valid(match[0].replace(" ", "")):
            return "a bank account number (IBAN)"
    if _SSN.search(text):
        return "a social security number"
    if _NI_NUMBER.search(text):
        return "a national insurance number"
    return None


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0 and len(set(digits)) > 1


def _iban_valid(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


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
    if _SECRETS.search(visible):
        findings.append(Finding("secret", "something shaped like a key or token"))
    if kind := personal_data(visible):
        findings.append(Finding("personal_data", kind))
    return findings
