"""Which tests name which T-ids (in their docstrings), for docs/threat-model.md."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
T_ID = re.compile(r"\bT-(\d{2,3})\b")


def t_ids_named_by_tests() -> dict[str, set[str]]:
    """T-id -> names of the test functions (and fixtures) whose docstring names it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for number in T_ID.findall(ast.get_docstring(node) or ""):
                    found[f"T-{number}"].add(node.name)
    return found
