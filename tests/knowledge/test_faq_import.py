"""Importing an FAQ CSV: good rows count, bad rows are reported by line, nothing crashes."""

from __future__ import annotations

import pytest

from parlour.errors import InvalidInput, PayloadTooLarge
from parlour.knowledge.faq import MAX_PHRASINGS, parse_faq_csv
from parlour.knowledge.models import RowError
from parlour.services import Services
from tests.support import seed

LIMITS = {"max_entries": 100, "max_field_chars": 200}


def test_a_bad_row_is_reported_by_line_and_the_good_rows_are_kept() -> None:
    data = (
        b"question,answer\n"
        b"How do I pay?,By card.\n"
        b",An answer without a question\n"
        b"A question without an answer,\n"
        b"Only one column\n"
        b'"Multi-line?","Yes,\nit works."\n'
    )
    rows, errors = parse_faq_csv(data, **LIMITS)
    assert [r.question for r in rows] == ["How do I pay?", "Multi-line?"]
    assert rows[1].answer == "Yes,\nit works."
    assert [(e.line, e.message) for e in errors] == [
        (3, "the question is empty"),
        (4, "the answer is empty"),
        (5, "the row has too few columns"),
    ]


def test_columns_are_found_by_name_in_any_order_with_a_bom() -> None:
    rows, _ = parse_faq_csv("\ufeffAnswer,Question\nBy card.,How do I pay?\n".encode(), **LIMITS)
    assert rows[0].question == "How do I pay?"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"q,a\nx,y\n", "question and answer"),
        (b"question,answer\nx\x00,y\n", "NUL"),
        ("question,answer\nx,y\n".encode("utf-16"), "NUL"),
        (b"question,answer\n\xff\xfe,y\n", "UTF-8"),
    ],
)
def test_files_that_are_not_an_faq_csv_are_refused_clearly(data: bytes, message: str) -> None:
    """T-60: NUL bytes and other encodings are refused, not half-read."""
    with pytest.raises(InvalidInput, match=message):
        parse_faq_csv(data, **LIMITS)


def test_overlong_fields_and_too_many_entries_are_reported() -> None:
    data = (
        b"question,answer\n"
        + b"q1,"
        + b"a" * 300
        + b"\n"
        + b"".join(b"q%d,a\n" % i for i in range(150))
    )
    rows, errors = parse_faq_csv(data, **LIMITS)
    assert len(rows) == 100
    assert errors[0].message == "a field is longer than 200 characters"
    assert errors[-1].message == "more than 100 entries"


async def test_an_import_replaces_the_tenants_faq_and_only_that_tenants(services: Services) -> None:
    a = await seed.organisation(services, name="A")
    b = await seed.organisation(services, name="B")
    report = await services.knowledge.import_faq_csv(
        a.tenant_id, b"question,answer\nNew?,Yes.\n", actor=seed.ACTOR
    )
    assert report.imported == 1
    assert [e.question for e in await services.knowledge.faq_entries(a.tenant_id)] == ["New?"]
    assert len(await services.knowledge.faq_entries(b.tenant_id)) == 3


async def test_an_oversized_file_is_refused_before_parsing(services: Services) -> None:
    org = await seed.organisation(services, faq=None)
    with pytest.raises(PayloadTooLarge):
        await services.knowledge.import_faq_csv(
            org.tenant_id,
            b"question,answer\n" + b"x" * (services.knowledge.max_upload_bytes + 1),
            actor=seed.ACTOR,
        )


def test_a_phrasings_column_gives_an_entry_other_ways_to_ask_its_question() -> None:
    rows, errors = parse_faq_csv(
        b'question,answer,phrasings\n"How do I reset my password?",Use the link.,'
        b'"I forgot my login details | can\'t sign in|how do I reset my password?|"\n'
        b"What are your opening hours?,9 to 5.,\n",
        max_entries=10,
        max_field_chars=200,
    )
    assert errors == []
    # Trimmed; blanks and the question itself (in any case) are not kept.
    assert rows[0].phrasings == ("I forgot my login details", "can't sign in")
    assert rows[1].phrasings == ()


def test_too_many_or_overlong_phrasings_are_reported_by_line() -> None:
    many = "|".join(f"way {i}" for i in range(MAX_PHRASINGS + 1))
    rows, errors = parse_faq_csv(
        f"question,answer,phrasings\nQ1,A1,{many}\nQ2,A2,{'x' * 201}\nQ3,A3,fine\n".encode(),
        max_entries=10,
        max_field_chars=200,
    )
    assert [row.question for row in rows] == ["Q3"]
    assert errors == [
        RowError(2, f"an entry may have at most {MAX_PHRASINGS} phrasings"),
        RowError(3, "a phrasing is longer than 200 characters"),
    ]


async def test_an_entry_is_found_by_its_phrasing_and_keeps_it_through_storage(
    backend: Services,
) -> None:
    org = await seed.organisation(backend)
    await backend.knowledge.import_faq_csv(
        org.tenant_id,
        b"question,answer,phrasings\n"
        b"How do I reset my password?,Use the link on the sign-in page.,"
        b"cash machine swallowed my plastic\n"
        b"What are your opening hours?,9 to 5.,\n",
        actor=seed.ACTOR,
    )
    hits = await backend.knowledge.search(org.tenant_id, "the cash machine swallowed my plastic")
    assert hits[0].entry.question == "How do I reset my password?"
    assert hits[0].entry.phrasings == ("cash machine swallowed my plastic",)
    assert hits[0].confidence > 0.9  # the phrasing's own vector and words
