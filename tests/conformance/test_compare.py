"""The conformance corpus's comparison rules, as ``compare.py`` implements them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import compare
import pytest
from compare import ImportCall

# --- times ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("2017-07-20T17:50:00+02:00", "2017-07-20T15:50:00+00:00"),
        ("2017-07-20T17:50:00+02:00", "2017-07-20T15:50:00Z"),
        ("2016-11-17T17:57:40+05:00", "2016-11-17T12:57:40.250000+00:00"),
        ("2026-06-12T20:00+02:00", "2026-06-12T18:00:59+00:00"),
    ],
)
def test_a_time_with_an_offset_matches_the_same_instant_in_any_offset(
    expected: str, actual: str
) -> None:
    assert compare.time_matches(expected, actual)


def test_a_time_with_an_offset_rejects_another_instant_and_a_zoneless_output() -> None:
    assert not compare.time_matches("2017-07-20T17:50:00+02:00", "2017-07-20T17:50:00+00:00")
    assert not compare.time_matches("2017-07-20T17:50:00+02:00", "2017-07-20T17:50:00")


def test_a_zoneless_time_compares_the_wall_clock_in_the_outputs_own_offset() -> None:
    assert compare.time_matches("2019-01-30T20:49", "2019-01-30T20:49:00+00:00")
    assert compare.time_matches("2019-01-30T20:49", "2019-01-30T20:49:37+05:00")
    assert not compare.time_matches("2019-01-30T20:49", "2019-01-30T19:49:00-01:00")


def test_seconds_are_compared_only_when_written() -> None:
    assert compare.time_matches("2016-12-13T19:57", "2016-12-13T19:57:06+00:00")
    assert compare.time_matches("2016-12-13T19:57:06", "2016-12-13T19:57:06+00:00")
    assert not compare.time_matches("2016-12-13T19:57:05", "2016-12-13T19:57:06+00:00")


def test_a_date_is_the_outputs_date_in_its_own_offset() -> None:
    assert compare.time_matches("2003-12-25", "2003-12-25T00:00:00+01:00")
    assert compare.time_matches("2003-12-25", "2003-12-25")
    assert not compare.time_matches("2003-12-25", "2003-12-24T23:00:00+00:00")


def test_month_and_day_ignore_the_year() -> None:
    assert compare.time_matches("--04-09", "2025-04-09T07:00:00+02:00")
    assert not compare.time_matches("--04-09", "2024-04-08T07:00:00+02:00")


def test_time_alternatives_and_missing_outputs() -> None:
    assert compare.times_match(["--04-09", "--04-08"], "2024-04-08T07:00:00+02:00")
    assert not compare.times_match("2019-05-21", None)
    assert not compare.times_match("2019-05-21", "not a time")


def test_a_malformed_expected_time_is_a_runner_error() -> None:
    with pytest.raises(ValueError, match="not a corpus time"):
        compare.time_matches("21 May 2019", "2019-05-21T00:00:00+00:00")


# --- counts and strings --------------------------------------------------------------------------


def test_counts_are_exact_or_inclusive_ranges_with_optional_bounds() -> None:
    assert compare.count_matches(1, 1)
    assert not compare.count_matches(1, 2)
    assert compare.count_matches({"min": 42, "max": 50}, 50)
    assert not compare.count_matches({"min": 42, "max": 50}, 41)
    assert compare.count_matches({"min": 1}, 1000)
    assert compare.count_matches({"max": 1}, 0)
    assert compare.describe_count({"min": 6, "max": 9}) == "6..9"


def test_strings_ignore_case_and_surrounding_whitespace() -> None:
    assert compare.text_equals("Email", "  EMAIL\n")
    assert compare.text_equals("Straße", "STRASSE")  # casefold, not lower
    assert not compare.text_equals("email", None)


def test_a_list_of_strings_means_any_of_them() -> None:
    assert compare.text_equals(["4U8102", "EW8102"], "ew8102")
    assert compare.text_equals(["3A", "003A"], "003A")
    assert compare.text_contains(["Air Nostrum", "Iberia"], "OPERADOR AIR NOSTRUM")
    assert not compare.text_contains(["Frutos", "smgsiso"], "someone else")


def test_contains_reads_lists_joined_with_spaces_and_object_values() -> None:
    assert compare.text_contains("John Smith", ["John Smith", "Jane Roe"])
    assert compare.text_contains("doe john", ["DOE", "JOHN"])
    assert compare.text_equals("FRA", {"code": "FRA", "name": "Frankfurt"})


# --- import calls --------------------------------------------------------------------------------


def call(returncode: int, stderr: str = "", **summary: int) -> ImportCall:
    """An import call as the runner records it."""
    full = {"new": 0, "duplicate": 0, "updated": 0, "quarantined": 0, "errors": 0, **summary}
    return ImportCall("kluis import x", returncode, full if returncode == 0 else None, stderr)


def test_outcomes_follow_exit_status_summary_and_stderr() -> None:
    assert compare.call_outcomes(call(0, new=1)) == {"imported"}
    assert compare.call_outcomes(call(0, quarantined=1)) == {"imported", "quarantined"}
    assert compare.call_outcomes(call(0, new=1, quarantined=1)) == {"imported"}
    assert compare.call_outcomes(call(2, "kluis: unsupported format\n")) == {"rejected"}
    assert compare.call_outcomes(call(2, "usage: ...\nkluis: error\n")) == set()
    assert compare.call_outcomes(call(1, "kluis: boom\n")) == set()


def test_an_outcome_list_accepts_any_alternative() -> None:
    wanted = ["rejected", "quarantined"]
    assert compare.outcome_mismatches(wanted, [call(2, "kluis: not a mail\n")], 0) == []
    assert compare.outcome_mismatches(wanted, [call(0, quarantined=1)], 0) == []
    assert compare.outcome_mismatches(wanted, [call(0, new=3)], 3)


def test_a_rejected_or_quarantined_outcome_stores_no_interaction() -> None:
    problems = compare.outcome_mismatches("rejected", [call(2, "kluis: bad\n")], 1)
    assert problems == ["outcome rejected but 1 interactions stored"]


def test_quarantined_sums_the_summaries_and_a_rejected_call_counts_zero() -> None:
    calls = [call(0, quarantined=1), call(2, "kluis: bad\n"), call(0, quarantined=1)]
    assert compare.quarantined_mismatches(2, calls) == []
    assert compare.quarantined_mismatches({"max": 1}, calls)


def test_a_summary_must_carry_every_contract_key() -> None:
    broken = ImportCall("kluis import x", 0, {"new": 1}, "")
    assert compare.summary_mismatches(broken) == [
        "kluis import x: summary lacks duplicate, updated, quarantined, errors"
    ]
    assert compare.summary_mismatches(ImportCall("kluis import x", 0, None, ""))


def test_a_reimport_must_add_nothing_and_keep_the_output() -> None:
    assert compare.reimport_mismatches([call(0, duplicate=1)]) == []
    assert compare.reimport_mismatches([call(0, new=1)]) == [
        "re-import kluis import x: new 1, expected 0"
    ]
    rows = [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]
    assert compare.unchanged_mismatches("companies", rows, list(reversed(rows))) == []
    assert compare.unchanged_mismatches("companies", rows, [*rows, {"id": 3, "name": "A"}])


# --- companies -----------------------------------------------------------------------------------

COMPANIES = [
    {
        "id": 1,
        "name": "Continuity Insights",
        "kind": "company",
        "domains": ["continuityinsights.com"],
        "interactions": 1,
        "first_at": "2018-08-29T20:26:47+00:00",
        "last_at": "2018-08-29T20:26:47+00:00",
    },
    {
        "id": 2,
        "name": "张先生",
        "kind": "person",
        "domains": [],
        "interactions": 2,
        "first_at": "2018-05-13T12:32:22+08:00",
        "last_at": "2019-01-01T00:00:00+00:00",
    },
]


def test_companies_include_by_name_or_domain_and_by_name_and_kind() -> None:
    expect = {
        "companies_include": [
            "continuityinsights.com",
            "CONTINUITY",
            {"name_contains": ["张先生", "baoguan"], "kind": "person"},
        ]
    }
    assert compare.companies_mismatches(expect, COMPANIES) == []
    wrong_kind = {"companies_include": [{"name_contains": "continuity", "kind": "person"}]}
    assert compare.companies_mismatches(wrong_kind, COMPANIES)


def test_companies_exclude_looks_at_names_and_domains() -> None:
    assert (
        compare.companies_mismatches({"companies_exclude": ["mcsv", "mailchimp"]}, COMPANIES) == []
    )
    assert compare.companies_mismatches({"companies_exclude": ["insights.com"]}, COMPANIES)


def test_interactions_and_first_last_span_all_companies() -> None:
    expect = {
        "interactions": 3,
        "first_at": "2018-05-13T04:32:22+00:00",
        "last_at": ["2019-01-01", "2020-01-01"],
    }
    assert compare.companies_mismatches(expect, COMPANIES) == []
    assert compare.companies_mismatches({"interactions": {"min": 4}}, COMPANIES)
    assert compare.companies_mismatches({"first_at": "2018-08-29T20:26:47+00:00"}, COMPANIES)


# --- timeline items ------------------------------------------------------------------------------

ROWS = [
    {
        "id": 10,
        "occurred_at": "2016-12-13T19:57:06+00:00",
        "channel": "chat",
        "direction": "out",
        "sender": "Aaaaa Aaaaaaaaaaa",
        "title": "девиз Вольво",
        "snippet": "",
        "thread": "t",
    },
    {
        "id": 11,
        "occurred_at": "2018-01-18T20:04:30+00:00",
        "channel": "chat",
        "direction": "in",
        "sender": "Nnnnnnn Nnnnnnnnnn",
        "title": "Reply to this!",
        "snippet": "",
        "thread": "t",
    },
]
DETAILS: dict[str, Mapping[str, Any]] = {
    "10": {"body": "девиз Вольво\nhttps://pikabu.ru/x гыгы", "attachments": []},
    "11": {"body": "Reply to this!", "attachments": [{"filename": "a.jpg"}]},
}


class Shown:
    """A ``kluis show`` stand-in that counts what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, item_id: str) -> Mapping[str, Any] | None:
        self.asked.append(item_id)
        return DETAILS.get(item_id)


def test_an_item_matches_a_row_through_title_and_shown_body() -> None:
    item = {
        "channel": "chat",
        "direction": "out",
        "sender_contains": "aaaaa aaaaaaaaaaa",
        "occurred_at": "2016-12-13T19:57:06",
        "text_contains": ["девиз Вольво", "pikabu.ru"],
    }
    shown = Shown()
    assert compare.items_mismatches([item], ROWS, shown) == []
    assert shown.asked == ["10"]  # only the row the timeline fields already matched


def test_show_is_not_called_when_the_title_holds_every_text() -> None:
    shown = Shown()
    item = {"occurred_at": "2018-01-18T20:04:30", "text_contains": ["reply to THIS"]}
    assert compare.items_mismatches([item], ROWS, shown) == []
    assert shown.asked == []


def test_item_attachments_are_counted_in_show() -> None:
    shown = Shown()
    assert (
        compare.items_mismatches([{"sender_contains": "Nnnn", "attachments": 1}], ROWS, shown) == []
    )
    problems = compare.items_mismatches(
        [{"sender_contains": "Nnnn", "attachments": 0}], ROWS, shown
    )
    assert problems and "attachments 1 != 0" in problems[0]


def test_an_unmatched_item_reports_the_closest_row() -> None:
    item = {"channel": "chat", "direction": "in", "occurred_at": "2018-01-18T20:04:31"}
    (problem,) = compare.items_mismatches([item], ROWS, Shown())
    assert "closest row 11" in problem
    assert "occurred_at" in problem


# --- bookings ------------------------------------------------------------------------------------

LEG_1 = {"kind": "flight", "number": "4U8102", "origin": "TXL", "start": "2018-02-02T18:35"}
LEG_2 = {"kind": "flight", "number": "4U8103", "origin": "BRU", "start": "2018-02-04T20:40"}


def test_required_bookings_each_need_their_own_row() -> None:
    row = {
        "kind": "flight",
        "number": "4U8102",
        "origin": "TXL",
        "start": "2018-02-02T18:35:00+00:00",
    }
    assert compare.bookings_mismatches([LEG_1], [row]) == []
    assert compare.bookings_mismatches([LEG_1], [row, row])
    assert compare.bookings_mismatches([LEG_1, LEG_1], [row])


def test_an_empty_expected_list_means_no_booking_rows() -> None:
    assert compare.bookings_mismatches([], []) == []
    assert compare.bookings_mismatches([], [{"kind": "restaurant"}])


def test_optional_bookings_may_be_missing_but_extra_rows_must_match_one() -> None:
    optional = [{**LEG_1, "optional": True}, {**LEG_2, "optional": True}]
    leg_2 = {
        "kind": "flight",
        "number": "EW8103",
        "origin": "BRU",
        "start": "2018-02-04T20:40:00+01:00",
    }
    assert compare.bookings_mismatches(optional, []) == []
    assert compare.bookings_mismatches([{**LEG_2, "number": ["4U8103", "EW8103"]}], [leg_2]) == []
    problems = compare.bookings_mismatches(optional, [leg_2])
    assert "unexpected booking row flight/EW8103" in problems


def test_booking_matching_backtracks_past_a_greedy_choice() -> None:
    required = {"kind": "flight"}
    optional = {"kind": "flight", "reference": "ABC", "optional": True}
    row_both = {"kind": "flight", "reference": "ABC"}
    row_required_only = {"kind": "flight", "reference": "XYZ"}
    # Greedy would give row_both the required booking and leave the other row without a match.
    assignment = compare.assign_bookings([required, optional], [row_both, row_required_only])
    assert assignment == [1, 0]


def test_a_required_booking_outranks_leftover_rows() -> None:
    required = {"kind": "flight", "reference": "ABC"}
    optional = {"kind": "flight", "optional": True}
    rows = [{"kind": "flight", "reference": "XYZ"}]
    assert compare.assign_bookings([required, optional], rows) is None
    assert compare.bookings_mismatches([required, optional], rows)[0].startswith("bookings:")


def test_booking_contains_keys_read_travellers_and_company() -> None:
    expected = {
        "travellers_contains": "DOE",
        "company_contains": ["Air Nostrum", "Iberia"],
        "start": "2019-05-21",
        "seat": ["3A", "003A"],
    }
    row = {
        "travellers": ["JOHN/DOE"],
        "company": "Iberia",
        "start": "2019-05-21T18:20:00-04:00",
        "seat": "003a",
    }
    assert compare.booking_mismatches(expected, row) == []
    assert compare.booking_mismatches({"status": "cancelled"}, {"status": "confirmed"})


def test_unknown_expect_keys_are_reported_not_ignored() -> None:
    assert compare.bookings_mismatches([{"kind": "flight", "flightnumber": "X"}], []) == [
        "runner: unknown booking keys ['flightnumber']"
    ]
