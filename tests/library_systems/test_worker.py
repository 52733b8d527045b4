"""The worker, `manage.py deliver`: a round and its summary line; and the real worker
(`--loop`, a process of its own) against a library system that cuts answers off,
redirects, trickles, resets and fails with 5xx: in the end every movement is booked there
once per idempotency key, each reversal after its payment, and no delivery is left stuck;
what was refused waits for staff, who send it again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fees import services as ledger
from fees.models import Delivery
from payments.library_systems.deliveries import delivery_retry_now
from tests.factories import FeeFactory, OwnerFactory, PatronFactory
from tests.library_systems.delivery_helpers import book_payments, statuses
from tests.library_systems.faulty_server import REDIRECTS, FaultyReceiver
from tests.library_systems.receiver import SECRET, Receiver
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent
Status = Delivery.Status
TIMEOUT_SECONDS = 0.5
# One fault per request, in the order requests arrive; the rest are answered 200.
FAULTS = [
    "cut_off", "ok", "302", "trickle", "reset", "500", "broken_chunks", "ok", "bad_gzip",
    "307", "trickle_headers", "500", "cut_off", "reset", "ok", "500", "broken_chunks",
]  # fmt: skip
GIVE_UP_AFTER_SECONDS = 60


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.mark.django_db  # no process of its own: the test's transaction will do
def test_without_a_configured_library_system_deliveries_are_kept(settings):
    settings.LIBRARY_SYSTEM_TARGET = ""
    book_payments(1)

    with pytest.raises(CommandError, match="1 deliveries are kept"):
        call_command("deliver")

    assert statuses() == [Status.PENDING]


@pytest.mark.django_db
def test_the_command_sends_and_ends_with_a_summary(receiver, settings, capsys):
    settings.LIBRARY_SYSTEM_TARGET = "webhook"
    settings.LIBRARY_SYSTEM_URL = receiver.url
    settings.LIBRARY_SYSTEM_SECRET = SECRET
    book_payments(3)

    call_command("deliver")

    assert "3 delivered, 0 to retry, 0 refused; 0 waiting" in capsys.readouterr().out


@pytest.mark.django_db
def test_an_owners_money_goes_to_the_library_system_it_names(
    receiver, settings, monkeypatch, capsys
):
    settings.LIBRARY_SYSTEM_TARGET = "webhook"
    settings.LIBRARY_SYSTEM_URL = receiver.url
    settings.LIBRARY_SYSTEM_SECRET = SECRET
    branch_system = Receiver()
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_TARGET", "webhook")
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_URL", branch_system.url)
    monkeypatch.setenv("NORTH_LIBRARY_SYSTEM_SECRET", SECRET)
    north = OwnerFactory(code="NORTH", library_system_env="NORTH")
    patron = PatronFactory()
    ledger.payment_book(patron=patron, amount_cents=300, method="cash", owner=north)
    ledger.payment_book(patron=patron, amount_cents=200, method="cash")

    try:
        call_command("deliver")
    finally:
        branch_system.stop()

    assert [m["amount_cents"] for m in receiver.received] == [200]
    assert [m["amount_cents"] for m in branch_system.received] == [300]
    out = capsys.readouterr().out
    assert "Deliveries to webhook: 1 delivered" in out
    assert "Deliveries to webhook (NORTH): 1 delivered" in out


@pytest.mark.django_db
def test_on_a_terminal_the_command_shows_its_progress_then_the_summary(
    receiver, settings, capsys, monkeypatch
):
    settings.LIBRARY_SYSTEM_TARGET = "webhook"
    settings.LIBRARY_SYSTEM_URL = receiver.url
    settings.LIBRARY_SYSTEM_SECRET = SECRET
    book_payments(2)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)

    call_command("deliver", no_color=True)  # a terminal, but no colour codes to compare

    out = capsys.readouterr().out
    assert "\rSending: 1 delivered, 0 to retry, 0 refused" in out
    # The progress line ends before the summary starts.
    assert "0 refused\nDeliveries to webhook: 2 delivered, 0 to retry, 0 refused;" in out


def book_payments_and_chargebacks(patrons=3, payments_each=4):
    """Payments for fees of the library system, and a chargeback of every third one."""
    payments = []
    for number in range(patrons):
        patron = PatronFactory(external_id=f"LS-{number}")
        FeeFactory(patron=patron, amount_cents=500 * payments_each, external_id=f"F-{number}")
        payments += [
            ledger.payment_book(patron=patron, amount_cents=500, method="cash")
            for _ in range(payments_each)
        ]
    for payment in payments[::3]:
        ledger.reversal_book(payment=payment, note="Chargeback")


class Worker:
    """`manage.py deliver --loop` on the test database, sending to `url`."""

    def __init__(self, url: str, log: Path):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEBUG": "false",
            "SECRET_KEY": "deliver-faults-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "LOG_LEVEL": "WARNING",
            "LIBRARY_SYSTEM_TARGET": "webhook",
            "LIBRARY_SYSTEM_URL": url,
            "LIBRARY_SYSTEM_SECRET": SECRET,
            "LIBRARY_SYSTEM_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "DELIVERY_FIRST_RETRY_SECONDS": "0.05",
            "DELIVERY_LEASE_SECONDS": "30",
        }
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "deliver", "--loop", "--every", "0.1"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # as Ctrl-C: it ends after this send
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def until_all_delivered(worker: Worker) -> list[Delivery]:
    """Wait while the worker sends; act as staff on what it refuses (send it again, the
    library system's address being right). The deliveries staff sent again."""
    sent_again = []
    deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS
    while time.monotonic() < deadline:
        assert worker.process.poll() is None, f"the worker ended:\n{worker.tail()}"
        for refused in Delivery.objects.filter(status=Status.FAILED):
            sent_again.append(refused)
            delivery_retry_now(delivery=refused)
        if not Delivery.objects.exclude(status=Status.DELIVERED).exists():
            return sent_again
        time.sleep(0.05)
    pytest.fail(f"deliveries still not delivered: {stuck()}\n{worker.tail()}")


def stuck():
    return list(
        Delivery.objects.exclude(status=Status.DELIVERED).values_list(
            "key", "status", "attempts", "last_error"
        )
    )


def test_the_worker_process_books_every_movement_once_and_in_order_through_faults(
    tmp_path, settings
):
    settings.LIBRARY_SYSTEM_TARGET = "webhook"  # staff send refused deliveries again
    book_payments_and_chargebacks()
    deliveries = {d.key: d for d in Delivery.objects.select_related("entry")}
    started = time.monotonic()

    with FaultyReceiver(FAULTS, trickle_every=0.1, trickle_bytes=20) as receiver:
        worker = Worker(receiver.url, tmp_path / "worker.log")
        try:
            sent_again = until_all_delivered(worker)
        finally:
            stopped = worker.stop()
        seconds = time.monotonic() - started

    assert stopped == 0, worker.tail()
    assert receiver.faults == [], "every fault was met"
    assert sorted(receiver.accepted) == sorted(deliveries)  # each key booked, and once
    assert receiver.strays == []  # no redirect was followed
    position = {key: index for index, key in enumerate(receiver.accepted)}
    for key, delivery in deliveries.items():
        if delivery.entry.kind == "reversal":
            assert position[f"epayment-{delivery.entry.target_id}"] < position[key]
    redirects = sum(receiver.faults_seen[status] for status in REDIRECTS)
    assert len(sent_again) == redirects == 2
    assert all("/moved" in refused.last_error for refused in sent_again)
    done = Delivery.objects.all()
    assert {(d.status, d.claimed_until) for d in done} == {(Status.DELIVERED, None)}
    # Every request the library system saw is an attempt counted on its delivery.
    assert sum(d.attempts for d in done) == sum(receiver.tries.values())
    retries = sum(receiver.tries.values()) - len(deliveries)
    print(
        f"{len(deliveries)} movements, {sum(receiver.tries.values())} requests "
        f"({retries} retries, faults {dict(receiver.faults_seen)}), {seconds:.1f} s"
    )
