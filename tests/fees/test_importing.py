"""`manage.py import_fees` (fees.importing): a library system's export booked in batches,
each in one transaction, idempotent; patrons not here yet created, unless another
patron or user here has what they would take."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Patron
from fees import selectors
from fees.importing import import_fees, run
from fees.importing.orm import OrmWriter
from fees.importing.postgres import PostgresWriter
from tests.factories import PatronFactory, UserFactory
from tests.fees.exports import booked, fees, row, write_csv

pytestmark = pytest.mark.django_db


def test_patrons_are_created_and_their_fees_booked(tmp_path):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(1, 2, "2.50"), row(2, 3)])

    summary = import_fees(path)

    first = Patron.objects.get(user_number="U1")
    assert (summary.patrons_created, summary.fees_booked, summary.bad) == (2, 3, [])
    assert (first.card_number, first.external_id, first.email) == ("C1", "P1", "p1@example.org")
    assert first.user.username == "patron-U1"
    assert selectors.balance_cents(patron=first) == 750


def test_a_created_patron_cannot_sign_in_with_a_password(tmp_path):
    import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2)]))

    users = [patron.user for patron in Patron.objects.select_related("user")]
    assert [user.has_usable_password() for user in users] == [False, False]
    assert all(user.password.startswith("!") and len(user.password) > 1 for user in users)
    assert users[0].password != users[1].password


def test_a_fee_of_a_patron_here_is_booked_for_that_patron(tmp_path):
    patron = PatronFactory(user_number="U1", card_number="OLD")

    summary = import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1)]))

    assert (summary.patrons_created, summary.fees_booked) == (0, 1)
    assert fees().get().patron == patron


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


def test_a_fee_id_of_another_patron_here_is_a_bad_row(tmp_path):
    import_fees(write_csv(tmp_path / "a.csv", [row(1, 1)]))

    summary = import_fees(write_csv(tmp_path / "b.csv", [row(2, 1)]))

    assert summary.bad == [(2, "fee id F1 belongs to another patron here")]
    assert fees().get().patron.user_number == "U1"


def killed_at(monkeypatch, batch):
    real, calls = run.write_batch, []

    def write_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == batch:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "write_batch", write_batch)
    return real


def test_a_run_killed_part_way_ends_as_one_whole_run_when_run_again(tmp_path, monkeypatch):
    rows = [row(n, n, f"{n}.00") for n in range(1, 7)] + [row(1, 7, "9.99")]
    path = write_csv(tmp_path / "fees.csv", rows)
    real = killed_at(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        import_fees(path, batch_size=2)
    monkeypatch.setattr(run, "write_batch", real)

    summary = import_fees(path, batch_size=2)

    assert (summary.fees_booked, summary.fees_unchanged, summary.bad) == (3, 4, [])
    fee = ("overdue", "overdue", "Overdue fine", "default")
    whole = [(f"F{n}", f"U{n}", f"C{n}", f"P{n}", n * 100, *fee) for n in range(1, 7)]
    assert booked() == [*whole, ("F7", "U1", "C1", "P1", 999, *fee)]
    assert Patron.objects.count() == 6


def test_a_batch_that_fails_part_way_leaves_nothing_of_it(tmp_path, monkeypatch):
    writer = PostgresWriter if connection.vendor == "postgresql" else OrmWriter
    real, calls = writer.write, []

    def written_then_failed(self, staged, summary):
        real(self, staged, summary)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the connection was lost")

    monkeypatch.setattr(writer, "write", written_then_failed)
    path = write_csv(tmp_path / "fees.csv", [row(n, n) for n in range(1, 5)])

    with pytest.raises(RuntimeError):
        import_fees(path, batch_size=2)

    assert sorted(fees().values_list("external_id", flat=True)) == ["F1", "F2"]
    assert sorted(Patron.objects.values_list("user_number", flat=True)) == ["U1", "U2"]


def test_progress_is_told_after_each_batch(tmp_path):
    path = write_csv(tmp_path / "fees.csv", [row(n, n) for n in range(1, 6)])
    seen = []

    import_fees(path, batch_size=2, progress=lambda summary: seen.append(summary.fees_booked))

    assert seen == [2, 4, 5]


def test_a_card_number_of_another_patron_here_refuses_the_rows(tmp_path):
    PatronFactory(card_number="C2")

    summary = import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2), row(2, 3)]))

    refused = "card number of U2 is another patron's here"
    assert summary.bad == [(3, refused), (4, refused)]
    assert list(fees().values_list("external_id", flat=True)) == ["F1"]


def test_a_patron_id_of_another_patron_here_refuses_the_rows(tmp_path):
    PatronFactory(external_id="P2")

    summary = import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2)]))

    assert summary.bad == [(3, "patron id of U2 is another patron's here")]
    assert not Patron.objects.filter(user_number="U2").exists()


def test_two_new_patrons_with_one_card_number_the_first_is_created(tmp_path):
    rows = [row(1, 1), row(2, 2, card_number="C1"), row(3, 3)]

    summary = import_fees(write_csv(tmp_path / "fees.csv", rows))

    assert summary.bad == [(3, "card number of U2 is another patron's here")]
    assert sorted(Patron.objects.values_list("user_number", flat=True)) == ["U1", "U3"]


def test_a_user_with_the_patrons_username_refuses_the_rows(tmp_path):
    UserFactory(username="patron-U2")

    summary = import_fees(write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2)]))

    ((line, problem),) = summary.bad
    assert line == 3 and "user patron-U2 exists here without a patron U2" in problem
    assert list(fees().values_list("external_id", flat=True)) == ["F1"]


def test_the_command_prints_the_bad_rows_and_a_summary(tmp_path):
    path = write_csv(tmp_path / "fees.csv", [row(1, 1), row(2, 2, amount="x")])
    out, err = StringIO(), StringIO()

    call_command("import_fees", str(path), stdout=out, stderr=err)

    assert "line 3: amount 'x' is not an amount" in err.getvalue()
    assert "2 rows: 1 fees booked" in out.getvalue()


def test_a_file_that_cannot_be_read_stops_the_import_with_its_error(tmp_path):
    path = tmp_path / "fees.csv"
    path.write_bytes(b"user_number,card_number\n\xff\xfe,1\n")

    with pytest.raises(UnicodeDecodeError):
        import_fees(path)

    assert not fees().exists()
