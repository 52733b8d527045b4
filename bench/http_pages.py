#!/usr/bin/env python
"""The busy pages measured over HTTP, beside a bare Django app on the same PostgreSQL.

Run from the repository root:

    .venv/bin/python bench/http_pages.py                  # or: make bench-http
    .venv/bin/python bench/http_pages.py --patrons 1000 --entries 20000 --orders 20000 \\
        --desk-patrons 2000 --seconds 5             # smoke run
    .venv/bin/python bench/http_pages.py --no-load        # the databases loaded last time

It loads two databases with the other benchmarks' loaders (DROPPED and recreated:
epayment_bench_http_account with bench/account.py's patrons and journal, settled;
epayment_bench_http_desk with bench/desk.py's patrons and orders), serves the portal
with gunicorn as the README's production section does (2 sync workers, DEBUG off,
persistent database connections, behind a TLS proxy) and, on another port, a bare
Django app (bench/bare: the same tables through the ORM and a template, no middleware).
wrk drives each page over loopback for a bounded time with 8 connections on 2 threads
(bench/http_pages.lua); every answer's status is counted, and only 200s count as served.

Pages: the patron's account page (real sessions, random patrons) against the bare
50-row list; desk searches by reference, card number and user number (a real desk
session) against the bare one-row page; Stripe webhooks (each a signed
checkout.session.completed booking a payment, each sent once) against the bare one-row
page's throughput. It prints the ratios beside the targets. Figures: bench/README.md.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import say

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SERVER = "postgres://postgres@127.0.0.1:5432"
PORTAL_PORT, BARE_PORT = 8101, 8102
THREADS, CONNECTIONS, WORKERS = 2, 8, 2
WEBHOOK_SECRET = "whsec_bench_http"

PORTAL_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-http-not-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1",
    "BEHIND_TLS_PROXY": "true",
    "CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}


def run(args, env, **kwargs):
    return subprocess.run(args, env=env, check=True, cwd=ROOT, **kwargs)


def database_env(name: str) -> dict:
    if "bench" not in name:
        sys.exit(f"Refusing {name!r}: the benchmark database name must contain 'bench'.")
    return {**os.environ, **PORTAL_ENV, "DATABASE_URL": f"{SERVER}/{name}"}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("Installing wrk ...")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        return shutil.which("wrk")
    sys.exit("The HTTP benchmark needs wrk: sudo apt-get install wrk")


class Servers:
    """The portal and the bare app under gunicorn, on one database, for one phase."""

    def __init__(self, env):
        run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], env)
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        common = ["--workers", str(WORKERS), "--worker-class", "sync", "--log-level", "warning"]
        self.processes = [
            subprocess.Popen(
                [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{PORTAL_PORT}",
                 *common], cwd=ROOT, env=env,
            ),
            subprocess.Popen(
                [gunicorn, "bare.wsgi:application", "--chdir", str(BENCH), "--bind",
                 f"127.0.0.1:{BARE_PORT}", *common], cwd=BENCH, env=env,
            ),
        ]  # fmt: skip
        for port in (PORTAL_PORT, BARE_PORT):
            _wait_for(port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def _wait_for(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"No server on port {port} after {timeout} s")


def wrk(port, requests_file, seconds, once=False) -> dict:
    args = [ensure_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(BENCH / "http_pages.lua"), f"http://127.0.0.1:{port}", "--",
            str(requests_file), str(THREADS)]  # fmt: skip
    if once:
        args.append("once")
    output = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    summary = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(summary.removeprefix("RESULT "))
    result["ok"] = result["statuses"].get("200", 0)
    result["ok_per_second"] = result["ok"] / result["seconds"]
    return result


def measure(label, port, requests_file, seconds, once=False) -> dict:
    wrk(port, requests_file, 2)  # warm both workers, their connections and caches
    result = wrk(port, requests_file, seconds, once=once)
    say(f"  {label:<34} {_figures(result)}")
    return result


def _figures(result) -> str:
    others = {status: n for status, n in result["statuses"].items() if status != "200"}
    text = (
        f"{result['ok_per_second']:7.1f} ok/s  p50 {result['p50_ms']:6.1f} ms  "
        f"p95 {result['p95_ms']:6.1f} ms  ({result['ok']} x 200 of {result['requests']}"
    )
    if others:
        text += f", other statuses {json.dumps(others)}"
    if result["socket_errors"]:
        text += f", {result['socket_errors']} socket errors"
    return text + ")"


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} on {os.cpu_count()} cores"


def account_phase(args, work: Path) -> dict:
    env = database_env(args.account_database)
    if not args.no_load:
        say("Loading the account database (bench/account.py's loader):")
        run([PYTHON, "bench/account.py", "--patrons", str(args.patrons), "--entries",
             str(args.entries), "--load-only"], env)  # fmt: skip
    prepare = [PYTHON, str(BENCH / "http_prepare.py")]
    run([*prepare, "account", str(args.sessions), str(work)], env)
    run([*prepare, "webhooks", str(args.webhooks), str(work)], env)
    say(f"\nAccount page and webhooks ({load_average()}):")
    with Servers(env):
        results = {
            "account": measure("portal: patron account page", PORTAL_PORT,
                               work / "account.tsv", args.seconds),
            "bare_list": measure("bare: 50-row list", BARE_PORT, work / "bare_list.tsv",
                                 args.seconds),
            "bare_row": measure("bare: one indexed row", BARE_PORT, work / "bare_row.tsv",
                                args.seconds),
            "login": measure("portal: login page, no query", PORTAL_PORT, work / "login.tsv",
                             args.seconds),
            "webhooks": wrk(PORTAL_PORT, work / "webhooks.tsv", args.seconds, once=True),
        }  # fmt: skip
    hooks = results["webhooks"]
    say(f"  {'portal: Stripe webhook, books payment':<34} {_figures(hooks)}")
    answer = run([*prepare, "paid", str(work)], env, capture_output=True, text=True)
    paid = json.loads(answer.stdout)
    # A thread that stops when its deliveries run out drops answers still on their way,
    # so more orders can be paid than 200s counted; never fewer.
    if paid["paid"] < hooks["ok"]:
        sys.exit(f"{hooks['ok']} webhooks answered 200 but only {paid['paid']} orders are paid")
    return results


def desk_phase(args, work: Path) -> dict:
    env = database_env(args.desk_database)
    if not args.no_load:
        say("Loading the desk database (bench/desk.py's loader):")
        run([PYTHON, "bench/desk.py", "--patrons", str(args.desk_patrons), "--orders",
             str(args.orders), "--load-only"], env)  # fmt: skip
    run([PYTHON, str(BENCH / "http_prepare.py"), "desk", str(args.sessions), str(work)], env)
    say(f"\nDesk searches ({load_average()}):")
    with Servers(env):
        return {
            name: measure(label, port, work / f"{name}.tsv", args.seconds)
            for name, label, port in [
                ("desk_reference", "portal: desk search, reference", PORTAL_PORT),
                ("desk_card", "portal: desk search, card number", PORTAL_PORT),
                ("desk_user", "portal: desk search, user number", PORTAL_PORT),
                ("bare_row", "bare: one indexed row", BARE_PORT),
            ]
        }


def print_table(account, desk):
    say("\n| page | portal | bare Django page | ratio | target |")
    say("|---|---|---|---|---|")
    a, bl = account["account"], account["bare_list"]
    say(f"| patron account | {a['ok_per_second']:.0f} req/s, p50 {a['p50_ms']:.0f} ms | "
        f"50-row list: {bl['ok_per_second']:.0f} req/s | "
        f"{a['ok_per_second'] / bl['ok_per_second']:.2f} | ≥ 0.5 |")  # fmt: skip
    row = desk["bare_row"]
    for name, label in [("desk_reference", "desk search by reference"),
                        ("desk_card", "desk search by card number"),
                        ("desk_user", "desk search by user number")]:  # fmt: skip
        d = desk[name]
        say(
            f"| {label} | p95 {d['p95_ms']:.0f} ms | one row: p95 {row['p95_ms']:.0f} ms | "
            f"{d['p95_ms'] / row['p95_ms']:.1f} | ≤ 2 |"
        )
    login = account["login"]
    say(f"| (portal login page: no query, the fixed cost of a page) | "
        f"{login['ok_per_second']:.0f} req/s, p95 {login['p95_ms']:.0f} ms | "
        f"one row: {account['bare_row']['ok_per_second']:.0f} req/s | "
        f"{login['ok_per_second'] / account['bare_row']['ok_per_second']:.2f} | |")  # fmt: skip
    w, br = account["webhooks"], account["bare_row"]
    say(f"| Stripe webhook, each booking a payment | {w['ok_per_second']:.0f} deliveries/s | "
        f"one row: {br['ok_per_second']:.0f} req/s | "
        f"{w['ok_per_second'] / br['ok_per_second']:.2f} | ≥ 0.3 |")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patrons", type=int, default=10_000, help="account database")
    parser.add_argument("--entries", type=int, default=200_000, help="account database")
    parser.add_argument("--desk-patrons", type=int, default=100_000, help="desk database")
    parser.add_argument("--orders", type=int, default=1_000_000, help="desk database")
    parser.add_argument("--sessions", type=int, default=200, help="patrons logged in")
    parser.add_argument("--webhooks", type=int, default=3000, help="orders to confirm")
    parser.add_argument("--seconds", type=int, default=20, help="per measurement")
    parser.add_argument("--no-load", action="store_true", help="reuse the loaded databases")
    parser.add_argument("--account-database", default="epayment_bench_http_account")
    parser.add_argument("--desk-database", default="epayment_bench_http_desk")
    args = parser.parse_args()
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as directory:
        work = Path(directory)
        account = account_phase(args, work)
        desk = desk_phase(args, work)
    print_table(account, desk)


if __name__ == "__main__":
    main()
