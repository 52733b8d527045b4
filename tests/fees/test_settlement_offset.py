"""The allocation rules on plain values (`fees.settlement.offset`), against the rule as
the SPEC states it, on random ledgers of one patron."""

import hypothesis.strategies as st
from hypothesis import given, settings

from fees.models import CREDIT_KINDS, TARGETED_CREDIT_KINDS, EntryKind
from fees.settlement.offset import offset

DEBIT = [EntryKind.FEE.value, EntryKind.REFUND.value, EntryKind.REVERSAL.value]
CREDIT = [
    EntryKind.PAYMENT.value,
    EntryKind.CREDIT_NOTE.value,
    EntryKind.WAIVER.value,
    EntryKind.REDUCTION.value,
]


def plain_rule(entries, open_cents, paid_for, held, shares=None, roots=None):
    """Payments with shares pay exactly those first; then each credit, waivers and
    reductions first, pays the fees it names (a waiver or reduction: its debit, then the
    rest of that debit's fee), then every debit not held, oldest first; written out
    without the shortcuts of the real loop."""
    shares, roots = shares or {}, roots or {}
    open_cents = dict(open_cents)
    debits = [entry_id for entry_id, kind, _ in entries if kind not in CREDIT_KINDS]
    pairs = []
    for credit_id, kind, _target in entries:
        if kind in TARGETED_CREDIT_KINDS:
            continue
        for debit_id, cents in shares.get(credit_id, []):
            if debit_id in debits:
                cents = min(cents, open_cents[debit_id], open_cents[credit_id])
                if cents:
                    open_cents[credit_id] -= cents
                    open_cents[debit_id] -= cents
                    pairs.append((credit_id, debit_id, cents))
    credits = sorted(
        (entry for entry in entries if entry[1] in CREDIT_KINDS),
        key=lambda entry: entry[1] not in TARGETED_CREDIT_KINDS,
    )
    for credit_id, kind, target_id in credits:
        if kind in TARGETED_CREDIT_KINDS:
            fee = roots.get(target_id, target_id)
            named = [target_id] + [i for i in debits if roots.get(i, i) == fee]
        elif credit_id in shares:
            named = []
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
        if kind in TARGETED_CREDIT_KINDS:
            target = draw(st.sampled_from(debit_ids)) if debit_ids else None
        if kind == EntryKind.PAYMENT.value and debit_ids:
            paid_for[entry_id] = draw(st.lists(st.sampled_from(debit_ids), unique=True))
        entries.append((entry_id, kind, target))
    held = set(draw(st.lists(st.sampled_from(debit_ids), unique=True))) if debit_ids else set()
    shares = {}
    for entry_id, kind, _target in entries:
        if kind == EntryKind.PAYMENT.value and debit_ids and draw(st.booleans()):
            shares[entry_id] = draw(
                st.lists(
                    st.tuples(st.sampled_from(debit_ids), st.integers(1, 1000)),
                    unique_by=lambda share: share[0],
                )
            )
    # Some debits belong to the fee of another (an increase, a reversal re-opening it).
    roots = {i: draw(st.sampled_from(debit_ids)) for i in debit_ids if draw(st.booleans())}
    return entries, open_cents, paid_for, held, shares, roots


@settings(max_examples=300, deadline=None)
@given(ledgers())
def test_offset_allocates_as_the_plain_rule_on_random_ledgers(ledger):
    entries, open_cents, paid_for, held, shares, roots = ledger
    expected_pairs, expected_open = plain_rule(entries, open_cents, paid_for, held, shares, roots)

    left = dict(open_cents)
    pairs = offset(entries, left, paid_for, held, shares, roots)

    assert pairs == expected_pairs
    assert left == expected_open


def test_offset_leaves_credit_on_the_account_when_only_reserved_debits_are_open():
    entries = [(1, EntryKind.FEE.value, None), (2, EntryKind.PAYMENT.value, None)]
    left = {1: 500, 2: 300}

    pairs = offset(entries, left, paid_for={}, reserved={1})

    assert pairs == []
    assert left == {1: 500, 2: 300}
