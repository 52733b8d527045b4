"""The one mover of orders (`payments.services.transition`): every move the status table
allows is made and recorded, every other one is refused and writes nothing."""

import pytest

from payments import services
from payments.models import EventSource, OrderStatus, PaymentEvent
from payments.services.transition import ALLOWED_MOVES
from tests.factories import DeskStaffFactory
from tests.staffdesk.conftest import make_order

pytestmark = pytest.mark.django_db

S = OrderStatus
# Moves that report no money: the table alone decides them (money goes through its own path).
PLAIN = [S.CREATED_AT_PROVIDER, S.FAILED, S.CANCELLED_BY_BIB, S.CHARGEBACK]


def move(order, status, **extra):
    return services.payment_order_transition(
        order=order, status=status, source=EventSource.PROVIDER, **extra
    )


def order_in(status):
    """An order brought to `status` the way it gets there."""
    order = make_order(start=False)
    steps = {
        S.CREATED: [],
        S.CREATED_AT_PROVIDER: [S.CREATED_AT_PROVIDER],
        S.PAID: [S.PAID],
        S.UNDERPAID: [(S.UNDERPAID, {"amount_cents": 100})],
        S.FAILED: [S.FAILED],
        S.CHARGEBACK: [S.PAID, S.CHARGEBACK],
    }
    if status == S.CANCELLED_BY_BIB:
        services.order_cancel(order=order, staff_user=DeskStaffFactory(), reason="phoned")
    for step in steps.get(status, []):
        step, extra = step if isinstance(step, tuple) else (step, {})
        move(order, step, **extra)
    order.refresh_from_db()
    assert order.status == status
    return order


@pytest.mark.parametrize("target", PLAIN)
@pytest.mark.parametrize("start", list(ALLOWED_MOVES))
def test_a_move_is_made_exactly_when_the_status_table_allows_it(start, target):
    order = order_in(start)
    events = PaymentEvent.objects.filter(order=order).count()

    result = move(order, target)

    order.refresh_from_db()
    if target in ALLOWED_MOVES[start]:
        assert result.changed and order.status == target
        assert PaymentEvent.objects.filter(order=order).count() == events + 1
        assert order.events.order_by("at", "id").last().status == target
    else:
        assert not result.changed and order.status == start
        assert PaymentEvent.objects.filter(order=order).count() == events


def test_the_same_provider_event_twice_moves_once():
    order = order_in(S.CREATED)

    first = move(order, S.CREATED_AT_PROVIDER, provider_event_id="evt_1")
    again = move(order, S.FAILED, provider_event_id="evt_1")

    order.refresh_from_db()
    assert first.changed and not again.changed
    assert order.status == S.CREATED_AT_PROVIDER
