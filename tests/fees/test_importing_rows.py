"""fees.importing.rows: what makes a row of the export bad, on either way of writing.
A bad row is reported with its line, and nothing of it is written."""

import json

import pytest

from accounts.models import Patron
from fees.importing import import_fees
from tests.factories import OwnerFactory
from tests.fees.exports import fees, row, write_csv

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"amount": "abc"}, "is not an amount"),
        ({"amount": "1.005"}, "positive amount in cents"),
        ({"amount": "-2.00"}, "positive amount in cents"),
        ({"amount": "1e30"}, "too large"),
        ({"currency": "USD"}, "currency USD is not the library's"),
        ({"owner": "NOWHERE"}, "unknown owner NOWHERE"),
        ({"last_name": ""}, "missing last_name"),
        ({"card_number": "  "}, "missing card_number"),
        ({"date": "30.11.2026"}, "is not YYYY-MM-DD"),
        ({"fee_id": "F1"}, "appears twice"),
        ({"user_number": "U 2"}, "user number 'U 2' is not one"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_of_it_is_written(tmp_path, bad, problem):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2, **bad)])

    summary = import_fees(path)

    ((line, message),) = summary.bad
    assert line == 3 and problem in message
    assert list(fees().values_list("external_id", flat=True)) == ["F1"]
    assert not Patron.objects.filter(card_number="C2").exists()


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        ("user_number", 32),
        ("card_number", 32),
        ("first_name", 150),
        ("last_name", 150),
        ("email", 254),
        ("patron_id", 64),
        ("fee_id", 64),
        ("type", 64),
    ],
)
def test_a_field_too_long_for_its_column_is_a_bad_row(tmp_path, column, limit):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2, **{column: "X" * (limit + 1)})])

    summary = import_fees(path)

    assert summary.bad == [(3, f"{column} is longer than {limit} characters")]
    assert (fees().count(), Patron.objects.count()) == (1, 1)


def test_a_card_number_is_measured_without_its_spacing(tmp_path):
    spaced = " ".join("AB12") * 8  # 56 characters, 32 without the spaces
    path = write_csv(tmp_path / "fees.csv", [row(1, 1, card_number=spaced)])

    summary = import_fees(path)

    assert summary.bad == []
    assert Patron.objects.get().card_number == "AB12" * 8


def test_a_long_description_is_cut_to_fit(tmp_path):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1, description="x" * 300)])

    import_fees(path)

    assert fees().get().description == "x" * 255


def test_json_lines_are_read_as_well(tmp_path):
    path = tmp_path / "fees.jsonl"
    path.write_text("\n".join(json.dumps(row(1, n)) for n in (1, 2)) + "\n")

    assert import_fees(path).fees_booked == 2


def test_a_json_line_that_is_not_an_object_is_a_bad_row(tmp_path):
    path = tmp_path / "fees.jsonl"
    path.write_text(json.dumps(row(1, 1)) + "\n[1, 2]\n")

    summary = import_fees(path)

    assert (summary.fees_booked, summary.bad) == (1, [(2, "not a JSON object")])


def test_an_owner_and_an_unknown_fee_type_are_kept(tmp_path):
    OwnerFactory(code="FPL")
    path = write_csv(tmp_path / "fees.csv", [row(1, 1, owner="FPL", type="NEWTYPE")])

    import_fees(path)

    fee = fees().get()
    assert (fee.owner.code, fee.fee_type, fee.external_type) == ("FPL", "other", "NEWTYPE")


def test_text_with_tabs_newlines_and_backslashes_arrives_unchanged(tmp_path):
    awkward = "Lost: \\\\server\\share\tTab\nnew line"
    import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1, description=awkward)]))

    assert fees().get().description == awkward


def test_a_row_after_one_spanning_lines_is_reported_at_its_own_line(tmp_path):
    rows = [row(1, 1, description="two\nlines"), row(2, 2, amount="x")]

    summary = import_fees(write_csv(tmp_path / "fees.csv", rows))

    assert [line for line, _problem in summary.bad] == [4]
