"""Request bodies and looks at the journal that the API's tests share."""

from fees.models import JournalEntry


def fee_body(**overrides):
    body = {
        "fee_id": "ALEPH-Z31-0001",
        "user_number": "U-77",
        "fee_type": "overdue",
        "amount_cents": 250,
        "currency": "EUR",
        "description": "Overdue fine",
        "item": "Faust I",
    }
    return body | overrides


def payment_body(**overrides):
    return {"transaction_id": "CAMPUS-42", "amount_cents": 500, "currency": "EUR",
            "method": "campus card"} | overrides  # fmt: skip


def loans_body(**loan):
    return {"loans": [{"item": "Momo", "due_date": "2026-11-01", "daily_fine_cents": 50,
                       "fine_cap_cents": 1000, "currency": "EUR"} | loan]}  # fmt: skip


def sync_item(fee_id, amount_cents):
    return {"fee_id": fee_id, "amount_cents": amount_cents, "currency": "EUR",
            "description": "Overdue fine"}  # fmt: skip


def posted_fee(call, key, fee_id="K-1", amount_cents=1000):
    return call("post", "/fees", fee_body(fee_id=fee_id, amount_cents=amount_cents), key)


def journal():
    return list(JournalEntry.objects.order_by("pk").values_list("pk", "kind", "amount_cents"))
