"""The allocation rules on plain values (`fees.settlement.offset`), against the rule as
the SPEC states it, on random ledgers of one patron."""

import hypothesis.strategies as st
from hypothesis import given, settings

from fees.models import CREDIT_KINDS, TARGETED_CREDIT_KINDS, EntryKind
from fees.settlement.offset import offset

DEBIT = [EntryKind.FEE.value, EntryKind.REFUND.value, EntryKind.REVERSAL.value]
CREDIT = [EntryKind.PAYMENT.value, EntryKind.CREDIT_NOTE.value, EntryKind.WAIVER.value]


def plain_rule(entries, open_cents, paid_for, held):
    """Each credit, waivers and reductions first, pays the fees it names, then every debit
    not held, oldest first; written out without the shortcuts of the real loop."""
    open_cents = dict(open_cents)
    debits = [entry_id for entry_id, kind, _ in entries if kind not in CREDIT_KINDS]
    credits = sorted(
        (entry for entry in entries if entry[1] in CREDIT_KINDS),
        key=lambda entry: entry[1] not in TARGETED_CREDIT_KINDS,
    )
    pairs = []
    for credit_id, kind, target_id in credits:
        if kind in TARGETED_CREDIT_KINDS:
            named = [target_id]
        else:
            named = [i for i in paid_for.get(credit_id, []) if i not in held]
        order = [i for i in named if i in debits] + [i for i in debits if i not in held]
        for debit_id in order:
            cents = min(open_cents[credit_id], open_cents[debit_id])
            if cents:
                open_cents[credit_id] -= cents
                open_cents[debit_id] -= cents
                pairs.append((credit_id, debit_id, cents))
    return pairs, open_cents


@st.composite
def ledgers(draw):
    kinds = draw(st.lists(st.sampled_from(DEBIT + CREDIT), min_size=1, max_size=14))
    ids = list(range(1, len(kinds) + 1))
    debit_ids = [i for i, kind in zip(ids, kinds, strict=True) if kind in DEBIT]
    entries, open_cents, paid_for = [], {}, {}
    for entry_id, kind in zip(ids, kinds, strict=True):
        # Some entries were settled before and are partly offset already.
        open_cents[entry_id] = draw(st.integers(min_value=0, max_value=2000))
        target = None
        if kind == EntryKind.WAIVER.value:
            target = draw(st.sampled_from(debit_ids)) if debit_ids else None
        if kind == EntryKind.PAYMENT.value and debit_ids:
            paid_for[entry_id] = draw(st.lists(st.sampled_from(debit_ids), unique=True))
        entries.append((entry_id, kind, target))
    held = set(draw(st.lists(st.sampled_from(debit_ids), unique=True))) if debit_ids else set()
    return entries, open_cents, paid_for, held


@settings(max_examples=300, deadline=None)
@given(ledgers())
def test_offset_allocates_as_the_plain_rule_on_random_ledgers(ledger):
    entries, open_cents, paid_for, held = ledger
    expected_pairs, expected_open = plain_rule(entries, open_cents, paid_for, held)

    left = dict(open_cents)
    pairs = offset(entries, left, paid_for, held)

    assert pairs == expected_pairs
    assert left == expected_open


def test_offset_leaves_credit_on_the_account_when_only_held_debits_are_open():
    entries = [(1, EntryKind.FEE.value, None), (2, EntryKind.PAYMENT.value, None)]
    left = {1: 500, 2: 300}

    pairs = offset(entries, left, paid_for={}, held={1})

    assert pairs == []
    assert left == {1: 500, 2: 300}
