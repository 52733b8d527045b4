"""Fees read live: the account page with a read of the library system on every view,
against the same page without a library system, and `pull_fees` over many patrons; the
library system is the tests' fake Koha (local HTTP, answers checked against Koha's
description), so the figures are the portal's own cost plus a local round trip.

    .venv/bin/python bench/live_fees.py                 # 300 page views, 2,000 patrons pulled
    .venv/bin/python bench/live_fees.py --views 50 --patrons 200   # smoke run

It drops and re-creates its database (the name must contain "bench").
"""

import argparse
import statistics
import sys
import time

from common import ROOT, bench_database_name, recreate_database, say, setup_django, step


def page_times(client, views: int) -> list[float]:
    times = []
    for _ in range(views):
        started = time.perf_counter()
        response = client.get("/account/", secure=True)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"The account page answered {response.status_code}.")
    return times


def figures(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):.1f} ms, 95th percentile {p95:.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=300)
    parser.add_argument("--patrons", type=int, default=2000)
    args = parser.parse_args()
    setup_django("epayment_bench", ALLOWED_HOSTS="testserver,localhost")
    sys.path.insert(0, str(ROOT))
    name = bench_database_name("live fees")
    with step("database"):
        recreate_database()
    from django.conf import settings
    from django.test import Client

    from payments.services.pulling import pull_fees
    from tests.factories import FeeFactory, PatronFactory
    from tests.library_systems.koha_library import KohaLibrary

    say(f"Live-fees benchmark on {name}")
    with KohaLibrary() as koha:
        settings.LIBRARY_SYSTEM_URL = koha.url
        settings.LIBRARY_SYSTEM_USER, settings.LIBRARY_SYSTEM_PASSWORD = "portal", "secret"
        patron = PatronFactory(external_id="42")
        koha.add_patron(42, patron.card_number, patron.last_name, firstname=patron.first_name,
                        email=patron.email)  # fmt: skip
        for cents in (250, 500, 1200):
            koha.add_fee(42, cents, library_id=None)
        client = Client()
        client.force_login(patron.user)

        settings.LIBRARY_SYSTEM_TARGET = ""
        client.get("/account/", secure=True)
        without = page_times(client, args.views)
        settings.LIBRARY_SYSTEM_TARGET = "koha"
        settings.LIBRARY_SYSTEM_FEES_MAX_AGE_SECONDS = 0  # read on every view
        client.get("/account/", secure=True)
        live = page_times(client, args.views)
        say(f"  account page, no library system: {figures(without)}")
        say(f"  account page, read live each view: {figures(live)}")

        with step(f"{args.patrons} linked patrons, each with a fee here and in Koha"):
            for number in range(args.patrons):
                linked = PatronFactory(external_id=str(1000 + number))
                koha.add_patron(1000 + number, linked.card_number, linked.last_name,
                                firstname=linked.first_name, email=linked.email)  # fmt: skip
                koha.add_fee(1000 + number, 300, library_id=None)
                FeeFactory(patron=linked, amount_cents=100)
        settings.LIBRARY_SYSTEM_MAX_REQUESTS_PER_SECOND = 0  # unthrottled: the portal's pace
        summary = pull_fees()
        say(f"  {summary.line}")
        again = pull_fees()
        say(f"  again: {again.line}")


if __name__ == "__main__":
    main()
