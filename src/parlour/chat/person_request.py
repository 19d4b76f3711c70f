"""Whether a customer's message asks for a person ("can I talk to a human", "agent please", "je
veux parler à un conseiller"), in the languages customers write to the widget in (`LANGUAGES`).

Small and explainable on purpose: the text is normalised (accents, case, apostrophes and
punctuation folded), cut into clauses (at punctuation and "but"/"mais"), and a clause asks for a
person when, in its words:
- it is nothing but a word for a person and politeness ("agent please", "un humain svp");
- a verb of talking or being put through is followed, within a few words, by a word for a
  person ("let me speak with a manager", "mettez-moi en relation avec un conseiller");
- a verb of wanting is followed, after at most a few articles and adjectives, by a word for a
  person ("I want a real person", "je voudrais un vrai interlocuteur");
- it asks whether a person is there to talk to ("is a human available?", "y a-t-il un
  conseiller disponible ?");
and no negation comes before that ("I don't want to talk to a person", "sans passer par un
conseiller"), nor is the clause one of the phrases where those words mean something else ("human
resources", "travel agent", "in person", "per person") or a question of who is answering ("is
this a real person?", "are you a bot?": the assistant answers those, and its offer of a person
stays as it was). Its precision and recall on paraphrases and negatives are measured by `python
-m bench handoff` (docs/benchmarks.md) and held by tests/chat/test_person_request.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LANGUAGES = ("en", "fr")
# How many words may sit between a verb of talking and the word for a person.
WINDOW = 6


@dataclass(frozen=True, slots=True)
class _Language:
    people: frozenset[str]  # words (or joined phrases) that name a person
    talk: frozenset[str]  # verbs of talking to someone or being put through
    want: frozenset[str]  # verbs of wanting
    between: frozenset[str]  # articles and adjectives that may sit between a want and a person
    polite: frozenset[str]  # what a bare request may carry besides the person
    negations: frozenset[str]
    available: frozenset[str]  # "available", "there"
    call_back: frozenset[str]  # a person asked to get in touch ("someone … contact me")
    elsewhere: tuple[str, ...]  # phrases in which those words mean something else
    identity: tuple[str, ...]  # openings of a question about who is answering
    phrases: dict[str, str]  # multi-word expressions read as one word


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH = _Language(
    people=_words(
        "human humans person agent agents representative representatives rep operator operators"
        " someone somebody staff advisor adviser advisors consultant employee manager supervisor"
        " customer_service customer_support support_team live_agent real_person team_member"
        " live_person live_support being"
    ),
    talk=_words(
        "talk talking speak speaking chat chatting connect connected transfer transferred"
        " escalate escalated reach contact put_me_through put_through forward switch redirect"
        " route hand get_in_touch"
    ),
    want=_words("want need needs get give request prefer have see wanna"),
    between=_words(
        "a an the to me with some real live actual proper one of your you us yours human"
        " please just actually"
    ),
    polite=_words(
        "please pls plz now asap a an the real live actual human hello hi hey ok okay i"
        " need want just thanks thank you me"
    ),
    negations=_words("not no never without nobody rather instead neither nor"),
    available=_words("available there online around free"),
    call_back=_words("contact_me"),
    elsewhere=(
        "human resources",
        "human resource",
        "hr",
        "travel agent",
        "estate agent",
        "real estate",
        "insurance agent",
        "booking agent",
        "shipping agent",
        "in person",
        "per person",
        "person to person",
        "each person",
        "person who",
        "person that",
        "human error",
        "agent fee",
        "agent code",
        "user agent",
        "secret agent",
        "cleaning agent",
        "staff discount",
        "staff member who",
    ),
    identity=(
        "are you",
        "is this",
        "is that",
        "am i talking",
        "am i speaking",
        "am i chatting",
        "was that",
        "who am i",
        "is it a",
        "are these",
        "were you",
    ),
    phrases={
        "customer service": "customer_service",
        "customer support": "customer_support",
        "support team": "support_team",
        "live agent": "live_agent",
        "real person": "real_person",
        "live person": "live_person",
        "live support": "live_support",
        "team member": "team_member",
        "put me through": "put_me_through",
        "put through": "put_through",
        "get in touch": "get_in_touch",
        "in touch": "get_in_touch",
        "contact me": "contact_me",
        "call me": "contact_me",
        "get back to me": "contact_me",
        "human being": "being",
    },
)

FRENCH = _Language(
    people=_words(
        "humain humaine humains personne conseiller conseillere conseillers agent agents"
        " operateur operatrice interlocuteur interlocutrice quelqu_un responsable vendeur"
        " vendeuse service_client employe employee technicien technicienne etre_humain"
        " vraie_personne vrai_personne service_clients support_client gestionnaire collaborateur"
    ),
    talk=_words(
        "parler discuter echanger contacter joindre relation contact transferer transferez"
        " passer passez passe basculer rediriger redirigez orienter orientez mettre mettez"
        " causer appeler"
    ),
    want=_words(
        "veux voudrais voudrait souhaite souhaiterais besoin avoir demande exige prefere"
        " aimerais veut"
    ),
    between=_words(
        "un une le la l les d de du des a au avec vrai vraie veritable reel reelle moi m"
        " votre vos ton un_e en s il vous plait svp directement"
    ),
    polite=_words(
        "svp stp s il vous te plait un une le la vrai vraie bonjour salut merci je veux"
        " voudrais maintenant tout de suite humain"
    ),
    negations=_words("ne n pas jamais sans aucun aucune plutot ni non"),
    available=_words("disponible disponibles dispo est_la"),
    call_back=_words("me_rappeler me_contacter"),
    elsewhere=(
        "ressources humaines",
        "ressource humaine",
        "rh",
        "agent immobilier",
        "agent de voyage",
        "agent d assurance",
        "agent d entretien",
        "en personne",
        "par personne",
        "chaque personne",
        "personne qui",
        "la personne",
        "personne ne",
        "personne n",
        "erreur humaine",
        "droits humains",
        "corps humain",
    ),
    identity=(
        "etes vous",
        "es tu",
        "est ce un",
        "est ce une",
        "est ce que vous etes",
        "est ce que tu es",
        "c est un",
        "c est une",
        "suis je",
        "vous etes un",
        "vous etes une",
        "tu es un",
        "tu es une",
        "je parle a",
        "je parle avec",
        "parle t on",
    ),
    phrases={
        "quelqu un": "quelqu_un",
        "service client": "service_client",
        "service clients": "service_clients",
        "support client": "support_client",
        "etre humain": "etre_humain",
        "vraie personne": "vraie_personne",
        "vrai personne": "vrai_personne",
        "s il vous plait": "svp",
        "s il te plait": "stp",
        "est la": "est_la",
        "me rappeler": "me_rappeler",
        "me rappelle": "me_rappeler",
        "me contacter": "me_contacter",
        "me contacte": "me_contacter",
        "sont la": "est_la",
    },
)

GRAMMARS = {"en": ENGLISH, "fr": FRENCH}

_CLAUSES = re.compile(r"[.;!?,:()\n]+|\b(?:but|mais|however|cependant)\b")
_NOT_WORD = re.compile(r"[^a-z0-9_]+")


def normalise(text: str) -> str:
    """Lower case, accents dropped, English "n't" read as "not", apostrophes and hyphens as
    spaces; clause punctuation is kept for `clauses`."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    plain = plain.replace("\u2019", "'").replace("\u2018", "'")
    plain = re.sub(r"n't\b", " not", plain)
    plain = re.sub(r"\b(can|won|don|didn|doesn|isn|aren|wouldn)'?t\b", r"\1 not", plain)
    plain = re.sub(r"\bcannot\b", "can not", plain)
    return re.sub(r"['\-]", " ", plain)


def clauses(text: str) -> list[list[str]]:
    """The normalised text's clauses, each as its words."""
    parts = _CLAUSES.split(normalise(text))
    return [words for part in parts if (words := _NOT_WORD.sub(" ", part).split())]


def asks_for_a_person(text: str, language: str | None = None) -> bool:
    """Whether `text` asks for a person, read in `language` (one of `LANGUAGES`), or in each of
    them when None (the widget does not say which its customer writes in)."""
    languages = (language,) if language else LANGUAGES
    return any(
        _clause_asks(_joined(words, GRAMMARS[lang]), GRAMMARS[lang])
        for lang in languages
        for words in clauses(text)
    )


def _joined(words: list[str], grammar: _Language) -> list[str]:
    """The clause's words with the grammar's multi-word expressions as one word each."""
    line = " " + " ".join(words) + " "
    for phrase, joined in grammar.phrases.items():
        line = line.replace(f" {phrase} ", f" {joined} ")
    return line.split()


def _clause_asks(words: list[str], grammar: _Language) -> bool:
    line = " " + " ".join(words) + " "
    if any(f" {phrase} " in line for phrase in grammar.elsewhere):
        return False
    if any(line.startswith(f" {opening} ") for opening in grammar.identity):
        return False
    people = [i for i, word in enumerate(words) if word in grammar.people]
    if not people:
        return False
    if all(word in grammar.people or word in grammar.polite for word in words) and len(words) <= 6:
        return not _negated(words, len(words), grammar)
    return any(_asked(words, at, grammar) and not _negated(words, at, grammar) for at in people)


def _asked(words: list[str], at: int, grammar: _Language) -> bool:
    """Whether the person named at `at` is asked for: talked to, wanted, or asked about."""
    start = max(0, at - WINDOW)
    if any(word in grammar.talk for word in words[start:at]):
        return True
    if any(word in grammar.call_back for word in words[at + 1 : at + WINDOW]):
        return True
    before = at - 1
    while before >= 0 and words[before] in grammar.between and at - before <= 4:
        before -= 1
    if before >= 0 and words[before] in grammar.want:
        return True
    return any(word in grammar.available for word in words[max(0, at - 3) : at + 4])


def _negated(words: list[str], at: int, grammar: _Language) -> bool:
    return any(word in grammar.negations for word in words[:at])
