"""The payments app's domain services, one module per concern.

- orders: creating orders, starting them at the provider, and the patron giving one up;
- transition: the status table and `payment_order_transition`, the one mover of orders;
- money: each report of money recorded once and booked once (`money_book`);
- sync: the provider's news (webhooks, the return page, reconcile);
- staff: what staff may do with an order, and doing it.
"""

from payments.services.money import money_receive_for_patron
from payments.services.orders import (
    UnknownFee,
    order_abandon,
    order_come_back_cancelled,
    order_create,
    order_start,
)
from payments.services.outcomes import Outcome, TransitionResult
from payments.services.refunds import (
    refund_ask_again,
    refund_availability,
    refund_record,
    refund_send,
    refundable_cents,
    refundable_credit_cents,
)
from payments.services.staff import (
    ActionRefused,
    Availability,
    book_late_availability,
    cancel_availability,
    close_money_availability,
    completable_from,
    complete_availability,
    flag_resolutions,
    held_money,
    order_book_late_payment,
    order_cancel,
    order_close_money,
    order_complete,
    order_resolve_flag,
    refuse_unless,
    requery_availability,
    resolve_flag_availability,
    unmatched_report_resolve,
)
from payments.services.sync import (
    UnknownProvider,
    order_expire_if_stale,
    order_refresh,
    provider_update_apply,
    webhook_receive,
)
from payments.services.transition import ALLOWED_MOVES, payment_order_transition

__all__ = [
    "ALLOWED_MOVES",
    "ActionRefused",
    "Availability",
    "Outcome",
    "TransitionResult",
    "UnknownFee",
    "UnknownProvider",
    "book_late_availability",
    "cancel_availability",
    "close_money_availability",
    "completable_from",
    "complete_availability",
    "flag_resolutions",
    "held_money",
    "money_receive_for_patron",
    "order_abandon",
    "order_book_late_payment",
    "order_cancel",
    "order_close_money",
    "order_come_back_cancelled",
    "order_complete",
    "order_create",
    "order_expire_if_stale",
    "order_refresh",
    "order_resolve_flag",
    "order_start",
    "payment_order_transition",
    "provider_update_apply",
    "refund_ask_again",
    "refund_availability",
    "refund_record",
    "refund_send",
    "refundable_cents",
    "refundable_credit_cents",
    "refuse_unless",
    "requery_availability",
    "resolve_flag_availability",
    "unmatched_report_resolve",
    "webhook_receive",
]
