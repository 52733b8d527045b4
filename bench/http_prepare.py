#!/usr/bin/env python
"""The Django side of bench/http_pages.py: writes the request files that wrk sends.

    http_prepare.py account   N DIR   # N patron sessions; account page and bare 50-row list
    http_prepare.py desk      N DIR   # a desk session; searches by reference, card, user number
    http_prepare.py webhooks  N DIR   # N orders awaiting Stripe and a signed event for each
    http_prepare.py paid      DIR     # how many of those orders are paid now

Run by bench/http_pages.py with DATABASE_URL set to the database it measures. Sessions are
real: made by Django's login (`force_login`) in the portal's session store.
"""

import json
import random
import sys
from pathlib import Path

from common import order_awaiting_stripe, setup_django, signed_completion

setup_django("epayment_bench_http")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Patron  # noqa: E402
from fees.models import JournalEntry  # noqa: E402
from payments.models import OrderFee, PaymentOrder  # noqa: E402

RNG = random.Random(2026)
WEBHOOK_REFERENCE_PREFIX = "cs_test_http_"


def line(method, path, cookie="", header=("", ""), body=""):
    return "\t".join([method, path, cookie, header[0], header[1], body]) + "\n"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def write(directory: Path, name: str, lines: list[str]) -> None:
    (directory / name).write_text("".join(lines))


def random_patrons(count):
    ids = list(Patron.objects.values_list("pk", flat=True))
    return list(Patron.objects.filter(pk__in=RNG.sample(ids, min(count, len(ids)))))


def account(count, directory):
    patrons = random_patrons(count)
    write(directory, "account.tsv",
          [line("GET", "/account/", session_cookie(p.user)) for p in patrons])  # fmt: skip
    write(directory, "bare_list.tsv", [line("GET", f"/list/{p.pk}/") for p in patrons])
    write(directory, "bare_row.tsv", [line("GET", f"/row/{p.user_number}/") for p in patrons])
    # No data at all: what every portal page costs (middleware, base template, a form).
    write(directory, "login.tsv", [line("GET", "/login/")] * len(patrons))


def desk(count, directory):
    user, _ = User.objects.get_or_create(username="desk-http-bench", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Desk staff"))
    cookie = session_cookie(user)
    ids = list(PaymentOrder.objects.values_list("pk", flat=True)[:200_000])
    orders = PaymentOrder.objects.filter(pk__in=RNG.sample(ids, min(count, len(ids))))
    references = list(orders.values_list("reference", flat=True))
    patrons = random_patrons(count)
    write(directory, "desk_reference.tsv",
          [line("GET", f"/desk/orders/?q={ref}", cookie) for ref in references])  # fmt: skip
    write(directory, "desk_card.tsv",
          [line("GET", f"/desk/orders/?q={p.card_number}", cookie) for p in patrons])  # fmt: skip
    write(directory, "desk_user.tsv",
          [line("GET", f"/desk/orders/?q={p.user_number}", cookie) for p in patrons])  # fmt: skip
    write(directory, "bare_row.tsv", [line("GET", f"/row/{p.user_number}/") for p in patrons])


def webhooks(count, directory):
    """Orders awaiting Stripe's confirmation, and one signed completed-event for each."""
    lines = []
    fees = (
        JournalEntry.objects.filter(kind="fee", cleared_in__isnull=True)
        .exclude(pk__in=OrderFee.objects.values("fee_id"))
        .select_related("patron")
        .order_by("patron_id", "pk")
        .distinct("patron_id")[:count]
    )
    for fee in fees:
        order = order_awaiting_stripe(fee, f"{WEBHOOK_REFERENCE_PREFIX}{fee.pk}")
        body, signature = signed_completion(order)
        lines.append(line("POST", "/webhooks/stripe/", header=("Stripe-Signature", signature),
                          body=body))  # fmt: skip
    write(directory, "webhooks.tsv", lines)


def paid():
    orders = PaymentOrder.objects.filter(
        provider_transaction_id__startswith=WEBHOOK_REFERENCE_PREFIX
    )
    print(json.dumps({"orders": orders.count(), "paid": orders.filter(status="Paid").count()}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "paid":
        paid()
    else:
        {"account": account, "desk": desk, "webhooks": webhooks}[command](
            int(sys.argv[2]), Path(sys.argv[3])
        )
