"""Sending money movements to the library system, and what staff do when it refuses one.

Each delivery is claimed with SELECT ... FOR UPDATE SKIP LOCKED and sent while its row
is locked, so workers on several machines never send the same one at the same moment;
a worker that dies releases the lock and the delivery is sent again later (at least
once: the receiver knows it by its idempotency key).
"""

import datetime
import random
from collections import Counter
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fees.models import Delivery
from payments.library_systems.base import PermanentError, Target, TransientError
from payments.selectors import movements_for

Status = Delivery.Status
DUE = (Status.PENDING, Status.RETRYING)
# A reversal waits while its payment is not in the library system: sent first, it would
# make the library system charge the fees again for money it never heard of.
PAYMENT_NOT_THERE = Q(entry__target__delivery__status__in=[*DUE, Status.FAILED])
FIRST_RETRY = datetime.timedelta(seconds=30)
LONGEST_WAIT = datetime.timedelta(hours=6)


def retry_wait(attempts: int) -> datetime.timedelta:
    """Doubling from 30 seconds up to 6 hours, with a little jitter so retries spread."""
    wait = min(FIRST_RETRY * 2 ** max(0, attempts - 1), LONGEST_WAIT)
    return wait * random.uniform(1.0, 1.1)


def delivery_send_next(*, target: Target, now=None) -> Delivery | None:
    """Claim the next due delivery no other worker holds, send it, record the answer.
    A reversal is due only once its payment is in the library system (or resolved)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=DUE, next_attempt_at__lte=now)
            .exclude(PAYMENT_NOT_THERE)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.target = target.name
        try:
            (movement,) = movements_for([delivery])
            delivery.answer = target.deliver(movement)[:255]
        except TransientError as error:
            delivery.status = Status.RETRYING
            delivery.last_error = str(error)
            delivery.next_attempt_at = timezone.now() + retry_wait(delivery.attempts)
        except PermanentError as error:
            delivery.status = Status.FAILED
            delivery.last_error = str(error)
        else:
            delivery.status = Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        delivery.save()
        return delivery


def deliveries_send_due(
    *, target: Target, limit: int | None = None, progress: Callable | None = None
) -> Counter:
    """Send what is due now, one delivery after another; the count of each outcome."""
    outcomes = Counter()
    while limit is None or sum(outcomes.values()) < limit:
        delivery = delivery_send_next(target=target)
        if delivery is None:
            break
        outcomes[delivery.status] += 1
        if progress:
            progress(outcomes)
    return outcomes


def delivery_retry_now(*, delivery: Delivery) -> Delivery:
    """Staff: send a refused or waiting delivery again at the next run of the worker."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status not in (Status.FAILED, Status.RETRYING, Status.PENDING):
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
        if delivery.status in (Status.DELIVERED, Status.RESOLVED, *Delivery.NOT_SENT):
            raise ValueError(_("This delivery is in the library system already."))
        delivery.status = Status.RESOLVED
        delivery.answer = note[:255]
        delivery.save(update_fields=["status", "answer"])
        return delivery
