"""`manage.py pull_fees` (payments.services.pulling) against a fake Koha: real threads, so
the database is committed as in production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fees import selectors
from payments.models import PullRun
from payments.services import pulling
from payments.services.pulling import RateLimiter, pull_fees
from tests.factories import FeeFactory, PatronFactory

pytestmark = pytest.mark.django_db(transaction=True)


def linked_patrons(koha, count, cents=500):
    patrons = []
    for number in range(count):
        patron = PatronFactory(external_id=str(100 + number))
        koha.add_patron(100 + number, patron.card_number, patron.last_name,
                        firstname=patron.first_name, email=patron.email)  # fmt: skip
        koha.add_fee(100 + number, cents)
        FeeFactory(patron=patron, amount_cents=100)  # something open here: it is read
        patrons.append(patron)
    return patrons


def test_every_linked_patron_with_open_fees_is_read(koha):
    patrons = linked_patrons(koha, 3)
    PatronFactory(external_id="")  # not linked: never asked for

    summary = pull_fees()

    assert [selectors.balance_cents(patron=p) for p in patrons] == [600, 600, 600]
    assert (summary.run.read, summary.run.changed, summary.run.failed) == (3, 3, 0)
    assert summary.run.finished_at is not None


def test_a_second_run_finds_nothing_changed(koha):
    linked_patrons(koha, 2)
    pull_fees()

    summary = pull_fees()

    assert (summary.run.read, summary.run.changed) == (2, 0)


def test_a_run_stopped_part_way_goes_on_from_its_last_batch(koha, monkeypatch):
    patrons = linked_patrons(koha, 3)
    monkeypatch.setattr(pulling, "BATCH", 1)
    real_fees_read = pulling.fees_read

    def dies_at_the_third(*, patron, target):
        if patron.pk == patrons[2].pk:
            raise RuntimeError("the machine went down")
        return real_fees_read(patron=patron, target=target)

    monkeypatch.setattr(pulling, "fees_read", dies_at_the_third)
    with pytest.raises(RuntimeError):
        pull_fees()
    monkeypatch.setattr(pulling, "fees_read", real_fees_read)
    asked_before = len(koha.server.requests)

    summary = pull_fees()

    assert summary.run.read == 3
    assert len(koha.server.requests) - asked_before == 2  # the third patron's two calls
    assert PullRun.objects.count() == 1


def test_the_command_prints_a_summary_line(koha):
    linked_patrons(koha, 2)
    out = StringIO()

    call_command("pull_fees", stdout=out)

    assert "Read the fees of 2 of 2 patrons from the library system: 2 changed" in out.getvalue()


def test_the_command_reads_one_named_patron(koha):
    first, second = linked_patrons(koha, 2)

    call_command("pull_fees", "--patron", first.user_number, stdout=StringIO())

    assert selectors.balance_cents(patron=first) == 600
    assert selectors.balance_cents(patron=second) == 100


def test_without_a_target_that_reads_the_command_says_so(settings):
    settings.LIBRARY_SYSTEM_TARGET = ""

    with pytest.raises(CommandError, match="cannot read fees"):
        call_command("pull_fees", stdout=StringIO())


@pytest.mark.django_db
def test_the_rate_limiter_spaces_the_starts():
    now, starts = [100.0], []

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter(per_second=50, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
        starts.append(now[0])

    assert starts == pytest.approx([100.0, 100.02, 100.04, 100.06, 100.08])


@pytest.mark.django_db
def test_the_rate_limiter_does_not_wait_when_requests_are_slower_than_the_rate():
    now, slept = [0.0], []
    limiter = RateLimiter(per_second=10, clock=lambda: now[0], sleep=slept.append)

    for _ in range(3):
        limiter.wait()
        now[0] += 0.5  # each request takes longer than 1/10 s

    assert slept == []
