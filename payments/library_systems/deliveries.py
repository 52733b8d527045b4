"""Sending money movements to the library system, and what staff do when it refuses one.

A worker claims the next due delivery in a short transaction (SELECT ... FOR UPDATE SKIP
LOCKED, so workers on several machines never claim the same one), counting the attempt and
leasing it for DELIVERY_LEASE_SECONDS; sends it with no transaction open, since an open
one would hold back the feed of movements (feed.FEED_HORIZON) for as long as
the library system takes to answer; and records the answer in a second short transaction,
only if the lease is still its own. A worker that dies mid-send leaves the delivery to
be sent again once the lease runs out (at least once: the receiver knows it by its
idempotency key).
"""

import datetime
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from fees.models import Delivery
from payments.library_systems import is_configured, of_system
from payments.library_systems.base import PermanentError, Target, TransientError
from payments.library_systems.config import SystemConfig
from payments.library_systems.feed import movements_for
from payments.library_systems.reading import MalformedAnswer, settled_meanwhile
from payments.models import EventKind, EventSource, PaymentOrder

logger = logging.getLogger(__name__)

Status = Delivery.Status
PAYMENT_NOT_THERE = Q(entry__target__delivery__status__in=Delivery.NOT_THERE)
LONGEST_WAIT = datetime.timedelta(hours=6)


def retry_wait(attempts: int) -> datetime.timedelta:
    """Doubling from DELIVERY_FIRST_RETRY_SECONDS (30 s) up to 6 hours, with a little
    jitter so retries spread."""
    first = datetime.timedelta(seconds=settings.DELIVERY_FIRST_RETRY_SECONDS)
    wait = min(first * 2 ** max(0, attempts - 1), LONGEST_WAIT)
    return wait * random.uniform(1.0, 1.1)


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str = ""
    answer: str = ""
    # Of a payment: the cents of its fees the library system had been paid meanwhile,
    # delivered as the patron's credit instead.
    settled_there_cents: int = 0


def delivery_claim(
    *, target: Target, system: SystemConfig | None = None, now=None
) -> Delivery | None:
    """The next due delivery for the library system `system` (the portal's without) that
    no worker holds, now leased to this one and its attempt counted. A reversal is due
    only once its payment is in the library system (or resolved); one whose payment is
    being sent waits too."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=Delivery.DUE, next_attempt_at__lte=now)
            .filter(of_system(system or SystemConfig.portal()))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .exclude(PAYMENT_NOT_THERE)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.claimed_until = delivery.last_attempt_at + datetime.timedelta(
            seconds=settings.DELIVERY_LEASE_SECONDS
        )
        delivery.target = target.name
        delivery.save(update_fields=["attempts", "last_attempt_at", "claimed_until", "target"])
    return delivery


def delivery_attempt(*, target: Target, delivery: Delivery) -> Outcome:
    """Send the delivery once. Whatever goes wrong is this delivery's outcome, so that one
    the worker cannot send never keeps it from sending the others."""
    settled_there = 0
    try:
        (movement,) = movements_for([delivery])
        if delivery.attempts == 1 and movement.kind == "payment" and _reads(target, movement):
            # Only before the first attempt: a retry may follow one that arrived, and its
            # own payment would look like one made at the library's desk.
            movement, settled_there = settled_meanwhile(target, movement)
        answer = target.deliver(movement)
    except MalformedAnswer as error:
        return Outcome(Status.RETRYING, error=str(error))
    except TransientError as error:
        return Outcome(Status.RETRYING, error=str(error))
    except PermanentError as error:
        return Outcome(Status.FAILED, error=str(error))
    except Exception as error:
        # A fault of ours (or of an adapter), not the library system's answer: retried with
        # the growing wait, as a fix may be deployed meanwhile; the log has the traceback.
        logger.exception("Delivery %s could not be sent", delivery.key)
        return Outcome(
            Status.RETRYING,
            error=_("Sending failed with an error in the portal: %(error)s")
            % {"error": f"{error.__class__.__name__}: {error}"},
        )
    return Outcome(Status.DELIVERED, answer=answer[:255], settled_there_cents=settled_there)


def _reads(target: Target, movement) -> bool:
    return hasattr(target, "read_account") and bool(movement.patron_external_id)


def delivery_record(*, delivery: Delivery, outcome: Outcome) -> Delivery:
    """Write down how the attempt went and end the lease, unless the delivery is no longer
    this attempt's: the lease ran out and another worker took it over, or staff resolved
    it by hand after that. Then the newer word stands."""
    now = timezone.now()
    changes = {"status": outcome.status, "claimed_until": None, "last_error": outcome.error}
    if outcome.status == Status.DELIVERED:
        changes.update(delivered_at=now, answer=outcome.answer)
    elif outcome.status == Status.RETRYING:
        changes["next_attempt_at"] = now + retry_wait(delivery.attempts)
    ours = Delivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, status__in=Delivery.DUE
    )
    if not ours.update(**changes):
        logger.warning(
            "Delivery %s: attempt %s outlasted its lease; its outcome (%s) is dropped",
            delivery.key, delivery.attempts, outcome.status,
        )  # fmt: skip
        delivery.refresh_from_db()
        return delivery
    for field, value in changes.items():
        setattr(delivery, field, value)
    if outcome.settled_there_cents:
        _flag_paid_there_too(delivery, outcome.settled_there_cents)
    return delivery


def _flag_paid_there_too(delivery: Delivery, cents: int) -> None:
    """The payment's order goes to the desk: its fees were paid here and there."""
    from payments.services.transition import record_event  # the services use this module

    with transaction.atomic():
        order = (
            PaymentOrder.objects.select_for_update().filter(payment_entry=delivery.entry_id).first()
        )
        if order is None:
            logger.warning("Delivery %s: %s cents were paid in the library system too",
                           delivery.key, cents)  # fmt: skip
            return
        record_event(
            order, status=order.status, source=EventSource.SYSTEM, kind=EventKind.PAID_THERE_TOO,
            facts={"amount_cents": cents, "currency": order.currency},
        )  # fmt: skip
        order.save()


def delivery_release(*, delivery: Delivery) -> None:
    """The worker is being stopped mid-send: the delivery is due again at once, not only
    when the lease ends. The attempt stays counted; it may have arrived."""
    try:
        Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
            claimed_until=None
        )
    except DatabaseError:
        logger.warning("Delivery %s stays leased until its lease ends", delivery.key)


def delivery_send_next(
    *, target: Target, system: SystemConfig | None = None, now=None
) -> Delivery | None:
    """Claim the next due delivery, send it, record the answer; None when none is due."""
    delivery = delivery_claim(target=target, system=system, now=now)
    if delivery is None:
        return None
    try:
        outcome = delivery_attempt(target=target, delivery=delivery)
    except BaseException:
        delivery_release(delivery=delivery)
        raise
    return delivery_record(delivery=delivery, outcome=outcome)


def deliveries_send_due(
    *,
    target: Target,
    system: SystemConfig | None = None,
    limit: int | None = None,
    progress: Callable | None = None,
) -> Counter:
    """Send what is due now, one delivery after another; the count of each outcome."""
    outcomes = Counter()
    while limit is None or sum(outcomes.values()) < limit:
        delivery = delivery_send_next(target=target, system=system)
        if delivery is None:
            break
        outcomes[delivery.status] += 1
        if progress:
            progress(outcomes)
    return outcomes


def delivery_retry_now(*, delivery: Delivery) -> Delivery:
    """Staff: send a refused or waiting delivery again at the next run of the worker."""
    if not is_configured():
        raise ValueError(
            _(
                "No library system is configured, so nothing was sent: the delivery is kept "
                "until one is. Enter it in the library system by hand, or ask the "
                "administrator to set one up."
            )
        )
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status not in Delivery.NOT_THERE:
            raise ValueError(
                _("Only a delivery that is not in the library system can be sent again.")
            )
        delivery.status = Status.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "next_attempt_at"])
        return delivery


def delivery_resolve_by_hand(*, delivery: Delivery, note: str) -> Delivery:
    """Staff entered the movement in the library system themselves: nothing more is sent.

    One the library system reported itself (`Delivery.NOT_SENT`) stays as it is: resolved,
    it would join the feed, and the library system would book it twice."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status in Delivery.SETTLED:
            raise ValueError(_("This delivery is in the library system already."))
        if delivery.is_being_sent:
            # Its answer is not known yet: it may be arriving in the library system now.
            raise ValueError(
                _("This delivery is being sent right now: try again after %(time)s.")
                % {"time": formats.time_format(timezone.localtime(delivery.claimed_until))}
            )
        delivery.status = Status.RESOLVED
        delivery.answer = note[:255]
        delivery.save(update_fields=["status", "answer"])
        return delivery
