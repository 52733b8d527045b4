"""`manage.py import_fees` (fees.importing): a library system's export booked in batches,
idempotent, with bad rows reported by line and nothing of them written."""

import csv
import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Patron
from fees import selectors
from fees.importing import COLUMNS, import_fees, run
from fees.models import EntryKind, JournalEntry
from tests.factories import OwnerFactory, PatronFactory

pytestmark = pytest.mark.django_db


def row(number, fee, amount="5.00", **fields):
    values = {
        "user_number": f"U{number}", "card_number": f"C{number}", "first_name": "Erika",
        "last_name": "Muster", "email": f"p{number}@example.org", "patron_id": f"P{number}",
        "fee_id": f"F{fee}", "type": "overdue", "owner": "", "amount": amount,
        "currency": "EUR", "date": "2026-11-30", "description": "Overdue fine",
    }  # fmt: skip
    values.update(fields)
    return values


def write_csv(path, rows):
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def fees():
    return JournalEntry.objects.filter(kind=EntryKind.FEE)


def test_patrons_are_created_and_their_fees_booked(tmp_path):
    OwnerFactory(code="FPL")
    path = write_csv(tmp_path / "fees.csv", [
        row(1, 1), row(1, 2, "2.50", owner="FPL", type="NEWTYPE"), row(2, 3),
    ])  # fmt: skip

    summary = import_fees(path)

    first = Patron.objects.get(user_number="U1")
    assert (summary.patrons_created, summary.fees_booked, summary.bad) == (2, 3, [])
    assert (first.card_number, first.external_id, first.email) == ("C1", "P1", "p1@example.org")
    assert selectors.balance_cents(patron=first) == 750
    branch_fee = fees().get(external_id="F2")
    assert (branch_fee.owner.code, branch_fee.fee_type, branch_fee.external_type) == (
        "FPL", "other", "NEWTYPE",
    )  # fmt: skip
    assert not first.user.has_usable_password()


def test_json_lines_are_read_as_well(tmp_path):
    path = tmp_path / "fees.jsonl"
    path.write_text("\n".join(json.dumps(row(1, n)) for n in (1, 2)) + "\n")

    assert import_fees(path).fees_booked == 2


def test_a_second_run_books_nothing_more(tmp_path):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2)])
    import_fees(path)

    summary = import_fees(path)

    assert (summary.fees_booked, summary.fees_unchanged, summary.patrons_created) == (0, 2, 0)
    assert fees().count() == 2


def test_an_amount_changed_since_is_corrected(tmp_path):
    import_fees(write_csv(tmp_path / "a.csv", [row(1, 1, "5.00")]))

    summary = import_fees(write_csv(tmp_path / "b.csv", [row(1, 1, "8.00")]))

    assert summary.fees_corrected == 1
    assert selectors.balance_cents(patron=Patron.objects.get(user_number="U1")) == 800


def test_a_run_killed_part_way_ends_as_one_whole_run_when_run_again(tmp_path, monkeypatch):
    rows = [row(n, n) for n in range(1, 7)]
    path = write_csv(tmp_path / "fees.csv", rows)
    real = run.write_batch
    calls = []

    def killed_at_the_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "write_batch", killed_at_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        import_fees(path, batch_size=2)
    monkeypatch.setattr(run, "write_batch", real)

    import_fees(path, batch_size=2)

    assert fees().count() == 6
    assert Patron.objects.count() == 6
    assert sorted(fees().values_list("external_id", flat=True)) == [f"F{n}" for n in range(1, 7)]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"amount": "abc"}, "is not an amount"),
        ({"amount": "1.005"}, "positive amount in cents"),
        ({"amount": "-2.00"}, "positive amount in cents"),
        ({"currency": "USD"}, "currency USD is not the library's"),
        ({"owner": "NOWHERE"}, "unknown owner NOWHERE"),
        ({"last_name": ""}, "missing last_name"),
        ({"date": "30.11.2026"}, "is not YYYY-MM-DD"),
        ({"fee_id": "F1"}, "appears twice"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_of_it_is_written(tmp_path, bad, problem):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2, **bad)])

    summary = import_fees(path)

    ((line, message),) = summary.bad
    assert line == 3 and problem in message
    assert list(fees().values_list("external_id", flat=True)) == ["F1"]
    assert not Patron.objects.filter(user_number="U2").exists()


def test_a_card_number_of_another_patron_here_refuses_the_rows(tmp_path):
    PatronFactory(card_number="C2")

    summary = import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2)]))

    assert [line for line, _problem in summary.bad] == [3]
    assert not fees().filter(external_id="F2").exists()


def test_the_command_prints_the_bad_rows_and_a_summary(tmp_path):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2, amount="x")])
    out, err = StringIO(), StringIO()

    call_command("import_fees", str(path), stdout=out, stderr=err)

    assert "line 3: amount 'x' is not an amount" in err.getvalue()
    assert "2 rows: 1 fees booked" in out.getvalue()


def test_text_with_tabs_newlines_and_backslashes_arrives_unchanged(tmp_path):
    awkward = "Lost: \\\\server\\share\tTab\nnew line"
    import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1, description=awkward)]))

    assert fees().get().description == awkward


def test_a_fee_id_of_another_patron_here_is_a_bad_row(tmp_path):
    import_fees(write_csv(tmp_path / "a.csv", [row(1, 1)]))

    summary = import_fees(write_csv(tmp_path / "b.csv", [row(2, 1)]))

    assert summary.bad == [(2, "fee id F1 belongs to another patron here")]
    assert fees().get().patron.user_number == "U1"
