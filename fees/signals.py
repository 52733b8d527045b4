"""Signals the ledger sends to the apps above it, which it must not import."""

from django.dispatch import Signal

# Sent by the settlement with `patron_ids`. Each receiver returns the ids of the debits it
# holds (fees an online payment in progress is paying): the settlement offsets other
# debits with the day's credits and keeps the credit rather than spend it on a held one.
settlement_held_debits = Signal()
