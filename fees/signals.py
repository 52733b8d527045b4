"""Signals the ledger sends to the apps above it, which it must not import."""

from django.dispatch import Signal

from fees.models import JournalEntry

# Sent by the ledger with `patron_ids`. Each receiver returns the ids of the debits it has
# reserved (fees an online payment in progress is paying): the settlement offsets other
# debits with the day's credits and keeps the credit rather than spend it on a reserved
# one, and a counter payment passes over them.
reserved_debits = Signal()


def reserved_debit_ids(patron_ids) -> set[int]:
    """The debits of these patrons that online payments in progress hold, as every receiver
    of `reserved_debits` names them."""
    answers = reserved_debits.send(JournalEntry, patron_ids=list(patron_ids))
    return set().union(*(ids for _receiver, ids in answers))
