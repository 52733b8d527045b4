"""Signals the ledger sends to the apps above it, which it must not import."""

from django.dispatch import Signal

from fees.models import JournalEntry

# Sent by the settlement with `patron_ids`. Each receiver returns the ids of the debits it
# holds (fees an online payment in progress is paying): the settlement offsets other
# debits with the day's credits and keeps the credit rather than spend it on a held one.
settlement_held_debits = Signal()


def reserved_debit_ids(patron_ids) -> set[int]:
    """The debits of these patrons that online payments in progress hold, as every receiver
    of `settlement_held_debits` names them."""
    answers = settlement_held_debits.send(JournalEntry, patron_ids=list(patron_ids))
    return set().union(*(ids for _receiver, ids in answers))
