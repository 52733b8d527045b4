"""The fees app's models, by topic: the journal with its fee types, settlements and
allocations (`journal`), the outbox to the library system (`outbox`), overdue loans
(`loans`), the fees' owners (`owners`). Importing them here registers them with the app."""

from fees.models.journal import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    MONEY_KINDS,
    PAYABLE_KINDS,
    TARGETED_CREDIT_KINDS,
    Allocation,
    EntryKind,
    FeeKind,
    FeeType,
    JournalEntry,
    Settlement,
    fee_type_name,
    service_fee_kind,
)
from fees.models.loans import Loan
from fees.models.outbox import Delivery, PaymentShare
from fees.models.owners import Owner, owned_by

__all__ = [
    "CREDIT_KINDS",
    "DEBIT_KINDS",
    "MONEY_KINDS",
    "PAYABLE_KINDS",
    "TARGETED_CREDIT_KINDS",
    "Allocation",
    "Delivery",
    "EntryKind",
    "FeeKind",
    "FeeType",
    "JournalEntry",
    "Loan",
    "Owner",
    "PaymentShare",
    "Settlement",
    "fee_type_name",
    "owned_by",
    "service_fee_kind",
]
