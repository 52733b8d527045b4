"""Which credit pays which debit: the allocation rules, on plain values.

Kept apart from the database so the rules read as the SPEC states them and cost
little Python per entry: entries are tuples, open amounts one dict for the batch.
"""

from fees.models import CREDIT_KINDS, TARGETED_CREDIT_KINDS

# (id, kind, target_id) of one open entry, in booking order.
Entry = tuple[int, str, int | None]
# (credit_id, debit_id, cents)
Pair = tuple[int, int, int]


def offset(
    entries: list[Entry],
    open_cents: dict[int, int],
    paid_for: dict[int, list[int]],
    reserved: set[int],
    shares: dict[int, list[tuple[int | None, int]]] | None = None,
    roots: dict[int, int] | None = None,
) -> list[Pair]:
    """Allocate one patron's open credits to their open debits, in the SPEC's order:
    first the fees a credit was made for, then the oldest debit first.

    A payment with `shares` (what it pays per fee, as the library system was told when
    it was booked) pays exactly those first, before any other credit, so that the
    portal and the library system agree on what it paid; its part that was credit then
    goes with the other credits. A reserved debit is left to the payment that reserved it (a
    waiver still lands on its own fee); credit with only reserved debits left stays on the
    account for a later settlement. A waiver or reduction whose debit is paid goes to
    the rest of its fee (`roots`: the fee each debit belongs to) before any other debit.
    `open_cents` is brought down by what is allocated.
    """
    shares = shares or {}
    roots = roots or {}
    own_debits = set()
    debit_order = []  # every open debit, oldest first
    debits = []  # the oldest-first pass, reserved ones left out
    targeted = []
    others = []
    for entry in entries:
        entry_id, kind, _target = entry
        if kind in CREDIT_KINDS:
            # Waivers and reductions first: each is meant for one fee and must land there.
            (targeted if kind in TARGETED_CREDIT_KINDS else others).append(entry)
        else:
            own_debits.add(entry_id)
            debit_order.append(entry_id)
            if entry_id not in reserved:
                debits.append(entry_id)

    pairs = []
    for credit_id, _kind, _target in others:
        fee_shares = [(fee_id, cents) for fee_id, cents in shares.get(credit_id, ()) if fee_id]
        for fee_id, cents in fee_shares:
            if fee_id in own_debits:
                cents = min(cents, open_cents[fee_id], open_cents[credit_id])
                if cents:
                    open_cents[fee_id] -= cents
                    open_cents[credit_id] -= cents
                    pairs.append((credit_id, fee_id, cents))
    first_open = 0  # debits before it are paid in full: the oldest-first pass starts here
    last = len(debits)
    for credit_id, kind, target_id in targeted + others:
        left = open_cents[credit_id]
        if not left:
            continue
        if kind in TARGETED_CREDIT_KINDS:
            root = roots.get(target_id, target_id)
            preferred = [target_id, *(i for i in debit_order if roots.get(i, i) == root)]
        elif credit_id in shares:
            preferred = ()  # its shares are paid: what is left of it is credit
        else:
            preferred = [i for i in paid_for.get(credit_id, ()) if i not in reserved]
        left = _pay(credit_id, left, (i for i in preferred if i in own_debits), open_cents, pairs)
        # A preferred debit met again in the oldest-first pass has nothing left (or the
        # credit has run out), so no pair is allocated twice.
        if left:
            while first_open < last and not open_cents[debits[first_open]]:
                first_open += 1
            rest = (debits[index] for index in range(first_open, last))  # no copy
            left = _pay(credit_id, left, rest, open_cents, pairs)
        open_cents[credit_id] = left
    return pairs


def _pay(credit_id, left, debit_ids, open_cents, pairs) -> int:
    """Give the credit's `left` cents to these debits in turn; what is left of it."""
    for debit_id in debit_ids:
        owed = open_cents[debit_id]
        if not owed:
            continue
        cents = left if left < owed else owed
        open_cents[debit_id] = owed - cents
        pairs.append((credit_id, debit_id, cents))
        left -= cents
        if not left:
            break
    return left
