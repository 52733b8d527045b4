"""The payments app's models, by topic: orders and their events (`orders`), reports of
money (`money`), refunds (`refunds`), fees read live from the library system (`live`),
the simulated provider (`simulated`) and the API's clients (`api`). Importing them here
registers them with the app."""

from payments.models.api import ApiClient, ApiIdempotencyRecord, ApiRequest, ApiScope
from payments.models.live import FeesRead, PullRun
from payments.models.money import MoneyQuerySet, MoneyReport, UnmatchedProviderReport
from payments.models.orders import (
    ATTENTION_STATES,
    FLAG_RESOLUTIONS,
    FLAG_STATUSES,
    OPEN_STATUSES,
    PAID_STATUSES,
    UNKNOWN_METHOD,
    EventKind,
    EventSource,
    FlagResolution,
    Mode,
    OrderFee,
    OrderStatus,
    PaymentEvent,
    PaymentOrder,
)
from payments.models.refunds import (
    CREDIT_NOTE_KEY_PREFIX,
    REFUND_RESERVING_STATUSES,
    Refund,
    RefundEvent,
    RefundStatus,
)
from payments.models.simulated import SimulatedCheckout
from payments.models.webhooks import WebhookTransmission

__all__ = [
    "ATTENTION_STATES",
    "CREDIT_NOTE_KEY_PREFIX",
    "FLAG_RESOLUTIONS",
    "FLAG_STATUSES",
    "OPEN_STATUSES",
    "PAID_STATUSES",
    "REFUND_RESERVING_STATUSES",
    "UNKNOWN_METHOD",
    "ApiClient",
    "ApiIdempotencyRecord",
    "ApiRequest",
    "ApiScope",
    "EventKind",
    "EventSource",
    "FeesRead",
    "FlagResolution",
    "Mode",
    "MoneyQuerySet",
    "MoneyReport",
    "OrderFee",
    "OrderStatus",
    "PaymentEvent",
    "PaymentOrder",
    "PullRun",
    "Refund",
    "RefundEvent",
    "RefundStatus",
    "SimulatedCheckout",
    "UnmatchedProviderReport",
    "WebhookTransmission",
]
