"""docs/threat-model.md and the tests agree: every T-id is there once, and each row lists exactly
the tests whose docstrings name it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.threats import t_ids_named_by_tests

DOC = Path(__file__).resolve().parents[1] / "docs" / "threat-model.md"
ROW = re.compile(r"^\| (T-\d{2,3}) \| (.*?) \| (.*?) \| (.*?) \| (.*?) \|$")


def rows() -> dict[str, tuple[set[str], str]]:
    parsed: dict[str, tuple[set[str], str]] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            t_id, _threat, _control, tests, status = match.groups()
            assert t_id not in parsed, f"{t_id} is listed twice"
            parsed[t_id] = (set(re.findall(r"`(\w+)`", tests)), status)
    return parsed


# The catalogue's T-ids this page covers: T-01 … T-101, then issue 24's T-102 (attachments),
# issue 21's, issue 24's T-107, issue 25's T-108 and issue 24's widget logo, T-109.
CATALOGUE = [f"T-{n:02d}" for n in range(1, 110)]


def test_every_t_id_of_the_catalogue_is_in_the_threat_model() -> None:
    assert sorted(rows(), key=lambda t_id: int(t_id[2:])) == CATALOGUE


def test_each_row_lists_exactly_the_tests_that_name_its_t_id() -> None:
    named = t_ids_named_by_tests()
    mismatches = {
        t_id: {"listed": sorted(listed), "named": sorted(named.get(t_id, set()))}
        for t_id, (listed, _status) in rows().items()
        if listed != named.get(t_id, set())
    }
    assert mismatches == {}, "run scripts/threat-model-tests to rewrite the tests column"


def test_no_test_names_a_t_id_that_the_threat_model_does_not_list() -> None:
    assert set(t_ids_named_by_tests()) - set(rows()) == set()


def test_covered_rows_have_tests_and_planned_rows_claim_none() -> None:
    for t_id, (tests, status) in rows().items():
        if status.startswith(("covered", "partial")):
            assert tests, f"{t_id} is {status} but no test names it"
        else:
            assert status.startswith(("planned", "not applicable")), f"{t_id}: {status}"
            assert not tests, f"{t_id} is {status} yet tests name it"
