"""The words of a message as the blind index keeps them: normalised, then keyed.

A word is normalised the same way when a message is indexed and when a search names it: NFKC
(the ligature "ﬁ" is "fi", a full-width letter its plain one), accents stripped (NFD,
combining marks dropped: "café" is "cafe"), case folded ("Straße" is "strasse"). Words are
runs of letters and digits, 2 to 64 characters; a handful of the commonest English function
words are left out, in messages and in searches alike, since they would find nearly
everything.

A term's tag is HMAC-SHA256 under the organisation's own index key (`TenantCipher.index_key`,
derived from its first data key with `crypto.derive`), cut to 8 bytes: without the key a tag
says nothing of its word, and the same word has unrelated tags in two organisations (T-98).
A tag collision (2^-64 a pair) can only add a result, which the snippet's decrypted text then
shows not to match; it never hides one.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Iterable

TAG_BYTES = 8
MIN_CHARS = 2
MAX_CHARS = 64
MAX_QUERY_TERMS = 8
_WORD = re.compile(r"[^\W_]+")
# Left out of the index and of searches: they match most messages, so they narrow nothing and
# would only make the index larger.
_STOP_WORDS = """
a an and are as at be but by for from have i if in into is it its me my of on or our so
than that the their them then there these they this to was we were what when which who
will with you your
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def normalise(text: str) -> str:
    composed = unicodedata.normalize("NFKC", text)
    decomposed = unicodedata.normalize("NFD", composed)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", plain.casefold())


def words(text: str) -> list[str]:
    """The distinct indexable words of `text`, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(normalise(text)):
        if MIN_CHARS <= len(word) <= MAX_CHARS and word not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)


def tag(key: bytes, word: str) -> bytes:
    return hmac.digest(key, word.encode(), "sha256")[:TAG_BYTES]


def tags(key: bytes, terms: Iterable[str]) -> list[bytes]:
    return [tag(key, word) for word in terms]
