"""Text that asks for a secret, or sends data somewhere (T-65, T-67): the one detector behind
screening uploaded knowledge and the output filter's second wall.

Two requests are never an organisation's to make through its assistant:
- a *credential request*: asking the customer to disclose a PIN, passcode, password, one-time
  code, CVV or a full card number, in the chat or anywhere but the organisation's own site;
- an *exfiltration request*: telling them to send data (write, e-mail, upload, submit, log in,
  enter details, make contact) to an address or URL the organisation has not proven its own.

A request is told from a warning by its shape: a verb that asks ("tell us", "reply with", "what
is your", "ask the customer for") shortly before the secret, in the same sentence, with no
negation or third party in its clause ("never share your PIN", "if anyone tells you to send
your code, hang up"). Each request says whom it addresses: the customer, or whoever answers
them (the assistant, staff, agents: "ask the caller for their passcode", "tell users to e-mail
their statements to …"); instructions of the second kind have no place in customer-facing
knowledge whatever they ask for.

English only, and shapes rather than meaning: what this misses, the model-facing defences
(fenced knowledge, the guard) and a person's review still stand behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

CREDENTIAL_REQUEST = "credential_request"
EXFILTRATION_REQUEST = "exfiltration_request"


@dataclass(frozen=True, slots=True)
class Request:
    kind: str  # CREDENTIAL_REQUEST or EXFILTRATION_REQUEST
    to_staff: bool  # addressed to whoever answers customers, not to the customer
    words: str  # the words that ask, for a reviewer or a log
    target: str | None = None  # the address or URL data is sent to, if the text names one


_F = re.IGNORECASE | re.VERBOSE

# What customers must never be asked to disclose.
_CREDENTIAL = re.compile(
    r"""\b(?:
      pins?(?:\s+(?:numbers?|codes?))?
    | pass\s?codes? | pass\s?words? | pass\s?phrases?
    | one[-\s]?time\s+(?:pass(?:word|code)?s?|codes?|pins?|keys?)
    | otps?
    | (?:verification|security|authentication|authenticator|auth|sms|2fa|mfa|two[-\s]factor
        |login|log[-\s]?in|sign[-\s]?in|access|confirmation)\s+(?:codes?|numbers?|pins?)
    | (?:\d|four|five|six|eight)[-\s]digit\s+(?:codes?|pins?|passcodes?)
    | cvv2?s? | cvc2?s? | cvn | csc
    | card\s+(?:verification|security)\s+(?:values?|codes?|numbers?)
    | security\s+(?:digits|numbers?)
    | (?:three|3)[-\s]digit\s+(?:codes?|numbers?)\s+on\s+the\s+back
    | (?:(?:full|complete|whole|entire|long|16[-\s]digit)\s+)?(?:(?:debit|credit|bank|payment)\s+)?
        card\s+(?:numbers?|details)
    | (?:online\s+banking|internet\s+banking|login|log[-\s]?in|sign[-\s]?in|account|banking)\s+
        (?:credentials|details|passwords?)
    | credentials
    | memorable\s+(?:word|information|data|phrase)
    | (?:seed|recovery|secret)\s+(?:phrases?|words?)
    | private\s+keys?
    | security\s+(?:answers?|questions?)
    | codes?\s+(?:(?:that\s+)?(?:we|i)\s+(?:just\s+)?(?:sent|texted|e-?mailed|messaged))
    )\b""",
    _F,
)
# Verbs that ask the customer to hand something over.
_DISCLOSE = re.compile(
    r"""\b(?:
      tell | give | send | re-?send | share | provide | disclose | reveal | submit | forward
    | text | e-?mail | message | dm | quote | state | supply | hand\s+over | post | paste
    | read\s+(?:out|back) | spell\s+out | include
    | (?:reply|respond|answer|come\s+back|get\s+back\s+to\s+(?:me|us))\s+with
    | let\s+(?:me|us)\s+(?:have|know|see)
    | what(?:'s|\s+is|\s+are|\s+was|\s+were)
    | (?:can|could|may|might)\s+(?:i|we)\s+(?:please\s+)?(?:have|get|take|confirm|check|see|know)
    | (?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|give|send|share|provide|confirm
        |read|type|enter|spell|let\s+(?:me|us)\s+(?:have|know))
    | (?:i|we)(?:'ll|'d|\s+will|\s+would|\s+do|\s+just|\s+first|\s+also)?\s+(?:need|require)
    | (?:i|we)(?:'d|\s+would)\s+like
    | (?:i|we)(?:'ll|\s+will|\s+must|\s+need\s+to|\s+have\s+to)?\s+(?:ask|asking)\s+(?:you\s+)?for
    )\b""",
    _F,
)
# Entering or confirming a secret is a disclosure only when it is to be typed into this chat.
_ENTER = re.compile(r"\b(?:enter|type|input|put|confirm|verify|check|paste)\b", re.IGNORECASE)
_IN_CHAT = re.compile(
    r"""\b(?:here|below|in\s+(?:this|the|our)\s+(?:chat|conversation|window|thread|message)
    |in\s+your\s+(?:reply|next\s+message|answer|message|response)
    |(?:to|for|with)\s+(?:me|us))\b""",
    _F,
)
# Verbs an instruction to staff or the assistant uses about the customer's secret.
_STAFF_ASKS = re.compile(
    r"""\b(?:ask|request|collect|obtain|gather|solicit|demand|require|record|note|get|have|make
    |take|check|verify|confirm|capture|retrieve|extract|find\s+out|query)\b""",
    _F,
)
# Whom staff or the assistant speak to.
_ROLE = re.compile(
    r"""\b(?:customers?|users?|clients?|callers?|visitors?|members?|account\s*holders?
    |card\s*holders?|consumers?|patients?|guests?|readers?|audience|viewers?|followers?
    |subscribers?|shoppers?|buyers?|people|everyone|them|him|her|their)(?:'s|s')?\b""",
    _F,
)
# Telling someone else to do something: the shape of an instruction to staff or the assistant.
_INSTRUCT = re.compile(
    r"""\b(?:tell|ask|instruct|direct|redirect|remind|advise|encourage|urge|invite|get|have
    |request|prompt|point|refer|send|guide|push|recommend|persuade|convince|nudge|require
    |inform|notify|suggest\s+to)\s+(?:the\s+|all\s+|every\s+|each\s+|our\s+|your\s+)?"""
    + _ROLE.pattern,
    _F,
)
# Handing data over: what it means to be told to act towards an address or URL.
_SENDS = re.compile(
    r"""\b(?:send|re-?send|e-?mail(?=\s+(?:us|me|it|them|your|the|a|an|this|that|these|those
    |to|at|over|back|[\w.+-]+@))|forward|upload|submit|fax|dm|write|reply|respond|share
    |provide|give|transfer|wire|pay|deposit|enter|type|paste|fill\s+(?:in|out)|update|verify
    |confirm|validate|log\s?in|sign\s?in|register|contact|reach(?:\s+out)?|get\s+in\s+touch)\b""",
    _F,
)
# How far from an address a verb may stand and still be what is done towards it.
_REACH = 60
# A warning names what not to do; a third party's request is what to beware of.
_NEGATION = re.compile(
    r"""\b(?:never|not|no\s*one|no-one|nobody|none|neither|nor|without|avoid|refuse|stop)\b
    |n't\b""",
    _F,
)
_THIRD_PARTY = re.compile(
    r"""\b(?:someone|anyone|somebody|anybody|callers?|fraudsters?|scammers?|criminals?
    |thieves|strangers?|hackers?|impostors?)\b""",
    _F,
)
_NOBODY_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:with|to)\s+(?:no\s*one|nobody|anyone|anybody)\b", re.IGNORECASE
)
# Words that, between the asking verb and the secret, show the secret is not what is asked
# for: "tell us if you forgot your PIN", "let us know when you have changed your password".
_NOT_THE_OBJECT = re.compile(
    r"""\b(?:if|whether|when|whenever|that|because|about|how|why|where|after|before|once|so
    |than|while|until|forgot|forgotten|forget|lost|lose|changed?|reset|chose|choose|choosing
    |set|create[sd]?|block(?:ed)?|unlock(?:ed)?|locked|remember|protect|keep|received?|got
    |expired?|wrong|incorrect|last|problem|issue|trouble)\b""",
    _F,
)
_MAX_GAP_WORDS = 5

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>()\"'\]\[]+", re.IGNORECASE)
_DOMAIN = re.compile(
    r"""(?<![@\w.-])((?:www\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+
    (?:com|net|org|info|biz|io|co|xyz|top|site|online|app|dev|ly|link|click|live|shop|store
    |uk|de|fr|ru|cn|au|ca|eu|nl|es|br|jp|gov|edu|int|tk|ml|ga|cf|gq|ai|tv|cc|ws|gg))\b
    (?:/[^\s<>()\"']*)?""",
    _F,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_CLAUSE_BREAK = re.compile(r"[,;:()]|\s[-\u2013\u2014]\s")


def find(
    text: str, *, allowed_hosts: Iterable[str] = (), from_customer: bool = False
) -> list[Request]:
    """Every request `text` makes, in order. An address or URL on `allowed_hosts` (or under
    one of them) is the organisation's own. `from_customer`: the text is a customer's own
    question ("what is my PIN for?"), so only instructions to staff count."""
    allowed = _hosts(allowed_hosts)
    text = text.replace("\u2019", "'").replace("\u2018", "'")  # typographic apostrophes
    found: list[Request] = []
    for sentence in _sentences(text):
        found += _credential_requests(sentence, allowed)
        found += _exfiltration_requests(sentence, allowed)
    return [r for r in found if r.to_staff or not from_customer]


def unsettled(text: str) -> int:
    """Where the text may still turn into a request as more of it comes: the start of its
    last sentence when that one names a secret, an address or an asking verb; else its end."""
    ends = list(_SENTENCE_END.finditer(text))
    start = ends[-1].end() if ends else 0
    last = text[start:]
    cues = (_CREDENTIAL, _DISCLOSE, _STAFF_ASKS, _ENTER, _SENDS, _INSTRUCT, _URL, _EMAIL, _DOMAIN)
    if any(pattern.search(last) for pattern in cues) or "@" in last:
        return start
    return len(text)


def host_of(target: str) -> str:
    """The host an e-mail address, URL or bare domain points at, lower-case."""
    if "@" in target and "://" not in target:
        return target.rsplit("@", 1)[1].lower().rstrip(".")
    split = urlsplit(target if "://" in target else f"//{target}")
    return (split.hostname or "").lower().rstrip(".")


def is_allowed(host: str, allowed: frozenset[str]) -> bool:
    """Whether `host` is one of the organisation's, or under one: an allowlisted
    https://www.bank.example covers bank.example, help.bank.example and www.bank.example."""
    return any(host == base or host.endswith("." + base) for base in allowed)


def _hosts(allowed_hosts: Iterable[str]) -> frozenset[str]:
    hosts = set()
    for value in allowed_hosts:
        host = host_of(value) if ("/" in value or "@" in value) else value.lower().rstrip(".")
        host = host.split(":", 1)[0]
        if host:
            hosts.add(host.removeprefix("www."))
    return frozenset(hosts)


def _sentences(text: str) -> Iterator[str]:
    for sentence in _SENTENCE_END.split(text):
        if sentence.strip():
            yield sentence


def _clause_before(sentence: str, position: int) -> str:
    """The clause the words at `position` belong to, up to them."""
    before = sentence[:position]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    return before[breaks[-1].end() :] if breaks else before


def _retracted(sentence: str, start: int, end: int) -> bool:
    """A warning rather than a request: negated, or someone else's request, in its clause;
    or given "to no one"."""
    clause = _clause_before(sentence, start)
    return bool(
        _NEGATION.search(clause)
        or _THIRD_PARTY.search(clause)
        or _NOBODY_AFTER.match(sentence[end:])
    )


def _targets(sentence: str) -> list[str]:
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern in (_URL, _EMAIL, _DOMAIN):
        for match in pattern.finditer(sentence):
            if any(s <= match.start() < e for s, e in taken):
                continue
            taken.append(match.span())
            found.append((match.start(), match[0].rstrip(".,;:!?")))
    return [target for _, target in sorted(found)]


def _credential_requests(sentence: str, allowed: frozenset[str]) -> list[Request]:
    requests = []
    foreign = [t for t in _targets(sentence) if not is_allowed(host_of(t), allowed)]
    everything_allowed = bool(_targets(sentence)) and not foreign
    for secret in _CREDENTIAL.finditer(sentence):
        asking = _asking_for(sentence, secret.start())
        if asking is None or _retracted(sentence, asking.start(), secret.end()):
            continue
        between = sentence[asking.end() : secret.start()]
        clause = _clause_before(sentence, asking.start())
        to_staff = bool(_INSTRUCT.search(clause)) or (
            _STAFF_ASKS.fullmatch(asking[0].split()[0]) is not None
            and _ROLE.search(between) is not None
        )
        # Entering a secret on the organisation's own site is how sites work.
        if everything_allowed and not to_staff:
            continue
        words = sentence[asking.start() : secret.end()].strip()
        requests.append(Request(CREDENTIAL_REQUEST, to_staff, words[:120], _first(foreign)))
    return requests


def _asking_for(sentence: str, secret_start: int) -> re.Match[str] | None:
    """The verb that asks for the secret starting at `secret_start`, if one does: the last
    asking verb before it, a few words away, with nothing between that makes the secret the
    object of something else."""
    window_start = max(0, secret_start - 80)
    candidates = [
        match
        for pattern in (_DISCLOSE, _STAFF_ASKS, _ENTER)
        for match in pattern.finditer(sentence, window_start, secret_start)
    ]
    for match in sorted(candidates, key=lambda m: m.start(), reverse=True):
        between = sentence[match.end() : secret_start]
        if len(between.split()) > _MAX_GAP_WORDS or _NOT_THE_OBJECT.search(between):
            continue
        if _STAFF_ASKS.fullmatch(match[0]) and _DISCLOSE.fullmatch(match[0]) is None:
            # "check your PIN", "have your card number ready": not asking anyone for it
            nobody_asked = _ROLE.search(between) is None and not _INSTRUCT.search(
                sentence[: match.start()]
            )
            if nobody_asked and not (_ENTER.fullmatch(match[0]) and _IN_CHAT.search(sentence)):
                continue
        elif _ENTER.fullmatch(match[0]) and not _IN_CHAT.search(sentence):
            continue
        if match[0].lower().startswith("what") and not re.search(
            r"\byour?\b", sentence[match.end() :], re.IGNORECASE
        ):
            continue  # "what is a PIN?" explains; "what is your PIN?" asks the reader
        return match
    return None


def _exfiltration_requests(sentence: str, allowed: frozenset[str]) -> list[Request]:
    requests = []
    for target in _targets(sentence):
        if is_allowed(host_of(target), allowed):
            continue
        position = sentence.find(target)
        instruction = next((m for m in _INSTRUCT.finditer(sentence) if m.start() < position), None)
        if instruction is not None and not _retracted(sentence, instruction.start(), position):
            words = sentence[instruction.start() : position + len(target)].strip()
            requests.append(Request(EXFILTRATION_REQUEST, True, words[:160], target))
            continue
        end = position + len(target)
        sends = next(
            (
                m
                for m in _SENDS.finditer(sentence, max(0, position - _REACH), end + _REACH)
                if not _retracted(sentence, m.start(), m.end())
            ),
            None,
        )
        if sends is not None:
            requests.append(Request(EXFILTRATION_REQUEST, False, sentence.strip()[:160], target))
    return requests


def _first(values: list[str]) -> str | None:
    return values[0] if values else None
