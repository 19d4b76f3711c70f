"""Knowledge graphs read into passages: one passage of facts per node, saying what it is, its
properties, and its relations in both directions, each named by label so it reads on its own.
Each fact is a sentence a customer can be given as it is ("The price of Widget is 19 pounds.",
"Widget is in stock."), since the extractive answer repeats a passage's sentences word for word.

Two shapes are accepted: Parlour's JSON (`{"nodes": [{"id", "label", "type"?, "properties"?}],
"edges": [{"source", "relation", "target"}]}`) and RDF, as Turtle or JSON-LD (read by rdflib).
JSON-LD may name remote contexts, which a parser would fetch: those are refused, never fetched
(T-64), so a document must carry its context inline.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, TypeGuard

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.plugins.parsers.notation3 import BadSyntax

from parlour.errors import InvalidInput

_LABELS = (RDFS.label, SKOS.prefLabel, URIRef("https://schema.org/name"),
           URIRef("http://schema.org/name"))  # fmt: skip


class Facts:
    def __init__(self, *, max_nodes: int, max_chars: int) -> None:
        self._max_nodes = max_nodes
        self._max_chars = max_chars
        self.labels: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}

    def node(self, node_id: str, label: str, kind: str | None = None) -> None:
        if len(self.labels) == self._max_nodes:
            raise InvalidInput(f"the graph has more than {self._max_nodes} nodes")
        self.labels[node_id] = _clean(label)
        self._lines[node_id] = [_is_a(self.labels[node_id], _clean(kind))] if kind else []

    def property(self, node_id: str, key: str, value: str) -> None:
        name = _clean(key).replace("_", " ")
        self._lines[node_id].append(_property(self.labels[node_id], name, _clean(value)))

    def relation(self, source: str, relation: str, target: str) -> None:
        fact = f"{self.labels[source]} {_clean(relation)} {self.labels[target]}."
        self._lines[source].append(fact)
        if target != source:
            self._lines[target].append(fact)

    def passages(self) -> list[tuple[str, str, str]]:
        """(title, text, where) for every node with something to say."""
        found = []
        for node_id, lines in self._lines.items():
            body = "\n".join(lines)
            if len(body) > self._max_chars:
                raise InvalidInput(f"node {node_id!r} has more than {self._max_chars} characters")
            if body:
                found.append((self.labels[node_id], body, f"node {node_id}"[:200]))
        return found


def read_json_graph(text: str, facts: Facts) -> None:
    graph = _json(text)
    nodes, edges = graph.get("nodes"), graph.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise InvalidInput('a knowledge graph has a "nodes" list and an "edges" list')
    for number, node in enumerate(nodes, start=1):
        if not isinstance(node, dict) or not short_text(node.get("id")):
            raise InvalidInput(f"node {number} needs an id")
        node_id = node["id"]
        if node_id in facts.labels:
            raise InvalidInput(f"node {number}: the id {node_id!r} is used twice")
        label = node.get("label", node_id)
        if not short_text(label):
            raise InvalidInput(f"node {number}: the label must be text")
        kind = node.get("type")
        facts.node(node_id, label, kind if short_text(kind) else None)
        properties = node.get("properties", {})
        if not isinstance(properties, dict):
            raise InvalidInput(f"node {number}: properties must be an object")
        for key, value in properties.items():
            if not isinstance(value, str | int | float | bool):
                raise InvalidInput(f"node {number}: property {key!r} must be a single value")
            facts.property(node_id, str(key), str(value))
    for number, edge in enumerate(edges, start=1):
        if not isinstance(edge, dict) or not all(
            short_text(edge.get(k)) for k in ("source", "relation", "target")
        ):
            raise InvalidInput(f"edge {number} needs a source, a relation and a target")
        if edge["source"] not in facts.labels or edge["target"] not in facts.labels:
            raise InvalidInput(f"edge {number} names a node the graph does not have")
        facts.relation(edge["source"], edge["relation"], edge["target"])


def read_rdf(text: str, rdf_format: str, facts: Facts) -> None:
    """Turtle ("turtle") or JSON-LD ("json-ld") triples, as facts about their subjects."""
    if rdf_format == "json-ld":
        _refuse_remote_contexts(_json(text))
    graph = Graph()
    try:
        graph.parse(data=text, format=rdf_format)
    except (BadSyntax, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"the graph cannot be read as {rdf_format}: {exc}") from None
    names = {node: _name(graph, node) for node in {*graph.subjects(), *graph.objects()}}
    described = {s for s in graph.subjects() if isinstance(s, URIRef | BNode)}
    for node in sorted(described, key=str):
        kinds = [names[o] for o in graph.objects(node, RDF.type)]
        facts.node(str(node), names[node], kinds[0] if kinds else None)
    for subject, predicate, value in sorted(graph, key=lambda t: tuple(map(str, t))):
        if predicate == RDF.type or predicate in _LABELS:
            continue
        relation = _local_name(predicate).lower()
        if isinstance(value, Literal):
            facts.property(str(subject), relation, str(value))
        elif str(value) in facts.labels:
            facts.relation(str(subject), relation, str(value))
        else:  # an object that is never a subject: named, not described
            facts.property(str(subject), relation, names[value])


def _refuse_remote_contexts(document: Any) -> None:
    if isinstance(document, list):
        for item in document:
            _refuse_remote_contexts(item)
    elif isinstance(document, dict):
        for key, value in document.items():
            if key in ("@context", "@import"):
                contexts = value if isinstance(value, list) else [value]
                if any(isinstance(c, str) for c in contexts) or key == "@import":
                    raise InvalidInput(
                        "the JSON-LD names a remote context, which Parlour does not fetch; "
                        "put the context in the document"
                    )
            _refuse_remote_contexts(value)


def _name(graph: Graph, node: Any) -> str:
    for predicate in _LABELS:
        label = graph.value(node, predicate)
        if isinstance(label, Literal):
            return str(label)
    return str(node) if isinstance(node, Literal) else _local_name(node)


def _local_name(node: Any) -> str:
    text = str(node)
    local = re.split(r"[#/:]", text.rstrip("/#"))[-1] or text
    # camelCase and snake_case read as words: "annualFee" -> "annual Fee"
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).replace("_", " ")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the file is not valid JSON (line {exc.lineno}): {exc.msg}") from None


def short_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value.strip()) <= 200


def _is_a(label: str, kind: str) -> str:
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"{label} is {article} {kind}."


_TRUE, _FALSE = frozenset({"true", "yes"}), frozenset({"false", "no"})
# A property's name ending so is one thing ("status", "address"), not many ("hours").
_SINGULAR_ENDINGS = ("ss", "us", "is")


def _property(label: str, name: str, value: str) -> str:
    """A property as a sentence: "The price of Widget is 19 pounds.", "Widget is in stock.",
    "Widget does not have wifi." """
    if name[:2] != name[:2].upper():  # "Price" reads "price"; "IBAN" stays
        name = name[:1].lower() + name[1:]
    flag = value.casefold()
    if flag in _TRUE | _FALSE:
        verb, _, rest = name.partition(" ")
        yes = flag in _TRUE
        if verb == "has" and rest:
            return f"{label} {'has' if yes else 'does not have'} {rest}."
        if verb == "can" and rest:
            return f"{label} {'can' if yes else 'cannot'} {rest}."
        rest = rest if verb == "is" and rest else name
        return f"{label} {'is' if yes else 'is not'} {rest}."
    last = name.rsplit(" ", 1)[-1].lower()
    plural = last.endswith("s") and not last.endswith(_SINGULAR_ENDINGS)
    return f"The {name} of {label} {'are' if plural else 'is'} {value.rstrip('.')}."


def _clean(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()
