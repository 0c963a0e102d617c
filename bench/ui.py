"""Web interface benchmark: server time per page on a store with 1,000,000 findings and 10,000 customer evidence
items, on SQLite (default) or PostgreSQL (`--database-url`). Prints per page the median and p95 and whether the
p95 is within 200 ms (issue 16's target); asserts nothing.

    .venv/bin/python bench/ui.py [--findings 1000000] [--runs 30] [--items 10000] [--rounds 10]
                                 [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep]

The store is built with the existing generators: bench/api.py's findings (`finding_runs`, over `--runs` sealed
runs a day apart, the latest finished a day ago so its evidence is fresh; `--runs 30` fills the dashboard's
trend), bench/customer_evidence.py's items (`seed_items`, through the service: submitted by one officer and
approved by another, one in a hundred left awaiting review, naming controls of every framework) and a few
hundred risk exceptions requested and approved through the same service. A SQLite store is cached in bench/out/
by its parameters; a PostgreSQL store lives in schema `bench_ui`, kept and reused with `--keep`.

The server is `auditpack serve --plain-http` in its own process on 127.0.0.1 (as deployed, with the status cache
at its default), signed in once through the sign-in form. Each page is timed by the client, request sent to last
byte, on the same machine. A round requests every page once, in order:

- dashboard `/ui/`, and its trend fragment per framework (`/ui/frameworks/F/trend`, as htmx loads it);
- controls list per framework, unfiltered and filtered (status, search);
- control page per framework: the control with the most failing findings, and the one with the most items;
- findings: the first page, unfiltered and `status=fail`, and the following pages through the cursor (pages 2
  to `--pages`, as "load the next 100" fetches them);
- a resource's history over the last 30 runs (`/ui/resources?id=ARN`).

Reported apart: the first view of each page after the server started (caches cold); then `--rounds` rounds of
every page but the trend, against the 200 ms target; the trend's first view, one round of the other pages while
its past runs are evaluated in the background, and how long after the start that finished; `--rounds` rounds of
the trend; one round after `--idle` seconds (the status board's held statuses past their refresh age). Besides
the wall time the client saw, each page's CPU time in the server process is reported (all its threads, from
/proc: on a shared machine wall time includes waiting for a core; with PostgreSQL the database's own work is not
in it). Background work running meanwhile counts in the CPU of the requests it overlaps.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import DEFAULT_DB, load_findings, percentile, rss_mb, schema_url  # noqa: E402
from bench.customer_evidence import REVIEWER, SUBMITTER, seed_items  # noqa: E402
from bench.load import seed_sqlite, start_server, stop_server  # noqa: E402
from evidence.db import make_engine  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402

OUT = ROOT / "bench" / "out"
SCHEMA = "bench_ui"
TARGET_MS = 200.0
FRAMEWORKS = ("hipaa", "pci-dss", "soc2")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT_PAGE = re.compile(r'hx-get="(/ui/findings\?[^"]*cursor=[^"]+)"')
RESOURCE = re.compile(r'href="/ui/resources\?id=([^"]+)"')
HTMX = {"HX-Request": "true"}


# -- the store --------------------------------------------------------------------------------------------------


def seed(url: str, args: argparse.Namespace) -> None:
    """Items, exceptions and an officer token on top of the findings (already loaded)."""
    from auditpack.settings import load_settings
    from auditpack.wiring import customer_policy
    from evidence.customer import service
    from evidence.db import make_engine

    engine = make_engine(url)
    if service.list_items(engine, limit=1).rows:
        engine.dispose()
        return
    started = time.perf_counter()
    policy = customer_policy(load_settings(database_url=url, data_dir=args.data_dir))
    seed_items(
        engine,
        policy,
        items=args.items,
        documents=min(20, args.items),
        total_gb=0.02,
        framework="hipaa",
        mixed=True,
        pending_every=100,
    )
    seed_exceptions(engine, policy, args.exceptions)
    engine.dispose()
    print(f"  seeded {args.items:,} items and {args.exceptions} exceptions in {time.perf_counter() - started:.0f} s")


def seed_exceptions(engine: Any, policy: Any, count: int) -> None:
    """`count` exceptions for the checks that fail, one in four narrowed to an account; three in four approved,
    expiring 5 to 120 days from now (so some lapse within the dashboard's 30 days)."""
    from bench.api import ACCOUNTS
    from evidence.checks.registry import check_metadata
    from evidence.customer import service

    rng = random.Random(5)
    checks = sorted(check_metadata())
    now = datetime.now(UTC)
    for index in range(count):
        requested = service.request_exception(
            engine,
            policy=policy,
            actor=SUBMITTER,
            justification=f"Bench exception {index}: replacement scheduled with the next platform migration.",
            compensating="Access limited to the platform team; weekly review of the findings.",
            expires_at=now + timedelta(days=rng.randint(5, 120)),
            check_id=rng.choice(checks),
            account_id=rng.choice(ACCOUNTS) if index % 4 == 0 else None,
            now=now - timedelta(days=2, seconds=count - index),
        )
        if index % 4 != 3:
            service.approve_exception(engine, exception_id=requested.id, actor=REVIEWER, now=now - timedelta(days=1))


def prepare(args: argparse.Namespace) -> str:
    """The store's URL, seeded (or reused)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=args.runs)  # the latest run: a day old
    if args.database_url is None:
        path = OUT / f"ui-{args.findings}-{args.runs}-{args.items}.db"
        url = f"sqlite:///{path}"
        if path.exists():
            print(f"  reusing {path}")
            upgrade_schema(make_engine(url))  # a store from an earlier version: migrated before the clock starts
            return url
        partial = path.with_suffix(".partial")
        seed_sqlite(partial, args.findings, args.runs, start=start)
        seed(f"sqlite:///{partial}", args)
        partial.rename(path)
        return url
    admin = create_engine(args.database_url)
    with admin.begin() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": SCHEMA}
        ).first()
        if exists and not args.keep:
            connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    admin.dispose()
    url = schema_url(args.database_url, SCHEMA)
    if exists and args.keep:
        print(f"  reusing schema {SCHEMA}")
        upgrade_schema(make_engine(url))
    else:
        load_findings(args.database_url, SCHEMA, args.findings, args.runs, start=start)
    seed(url, args)
    return url


def officer_token(url: str) -> str:
    from api.models import Role
    from api.services import tokens
    from evidence.db import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine)() as session:
        issued = tokens.create_token(
            session, role=Role.OFFICER, created_by="bench", now=datetime.now(UTC), lifetime=timedelta(days=1)
        )
    engine.dispose()
    return issued.secret


# -- the pages ------------------------------------------------------------------------------------------------


def sign_in(client: httpx.Client, secret: str) -> None:
    form = client.get("/ui/sign-in")
    form.raise_for_status()
    match = CSRF.search(form.text)
    assert match, "no CSRF field on the sign-in form"
    done = client.post("/ui/sign-in", data={"token": secret, "csrf_token": match.group(1)})
    if done.status_code != 303:
        raise SystemExit(f"sign-in refused: {done.status_code} {done.text[:300]}")


def chosen_controls(client: httpx.Client, secret: str) -> dict[str, dict[str, str]]:
    """Per framework, the control with the most failing findings and the one with the most customer items (from
    the JSON API, which evaluates the same status; this also warms nothing the pages use)."""
    found: dict[str, dict[str, str]] = {}
    for framework in FRAMEWORKS:
        answer = client.get(f"/v1/frameworks/{framework}/status", headers={"Authorization": f"Bearer {secret}"})
        answer.raise_for_status()
        controls = answer.json()["controls"]
        failing = max(controls, key=lambda c: sum(check["failed"] for check in c.get("checks", [])))
        items = max(
            controls,
            key=lambda c: (
                len((c.get("customer_evidence") or {}).get("items", []))
                + len((c.get("customer_evidence") or {}).get("submitted", []))
            ),
        )
        found[framework] = {"failing": failing["control_id"], "items": items["control_id"]}
    return found


def pages(controls: dict[str, dict[str, str]]) -> list[tuple[str, str, dict[str, str]]]:
    """(group, path, headers) in the order a round requests them; findings pages come from `walk`."""
    listed: list[tuple[str, str, dict[str, str]]] = [("dashboard", "/ui/", {})]
    for framework in FRAMEWORKS:
        listed.append(("dashboard trend (htmx)", f"/ui/frameworks/{framework}/trend", HTMX))
    for framework in FRAMEWORKS:
        base = f"/ui/frameworks/{framework}/controls"
        listed.append(("controls list", base, {}))
        listed.append(("controls list, filtered", f"{base}?status=not_met", {}))
        listed.append(("controls list, filtered", f"{base}?q=access+control", HTMX))
    for framework, chosen in controls.items():
        base = f"/ui/frameworks/{framework}/controls"
        listed.append(("control page", f"{base}/{chosen['failing']}", {}))
        listed.append(("control page", f"{base}/{chosen['items']}", {}))
    return listed


SERVER: dict[str, int] = {}  # the server's pid, once started


def cpu_ms() -> float:
    """CPU time the server process has used, all its threads (/proc schedstat: nanoseconds)."""
    pid = SERVER["pid"]
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            continue
    return total / 1e6


Sample = tuple[float, float]  # (wall ms, server CPU ms) of one request


def timed(client: httpx.Client, path: str, headers: dict[str, str]) -> tuple[Sample, httpx.Response]:
    cpu = cpu_ms()
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    return (elapsed, cpu_ms() - cpu), response


def walk(client: httpx.Client, first: str, depth: int, record: Callable[[str, Sample], None]) -> None:
    """The findings browser: the first page, then the following ones through the cursor, as htmx fetches them."""
    elapsed, response = timed(client, first, {})
    record("findings, first page", elapsed)
    for _ in range(depth - 1):
        match = NEXT_PAGE.search(response.text)
        if match is None:
            return
        elapsed, response = timed(client, match.group(1).replace("&amp;", "&"), HTMX)
        record("findings, a later page (cursor)", elapsed)


def one_round(
    client: httpx.Client, listed: list[tuple[str, str, dict[str, str]]], depth: int
) -> dict[str, list[Sample]]:
    times: dict[str, list[Sample]] = {}

    def record(group: str, sample: Sample) -> None:
        times.setdefault(group, []).append(sample)

    for group, path, headers in listed:
        record(group, timed(client, path, headers)[0])
    if depth:
        walk(client, "/ui/findings", depth, record)
        walk(client, "/ui/findings?status=fail", depth, record)
    return times


def report(title: str, times: dict[str, list[Sample]], *, target: bool) -> list[str]:
    """Per page: wall time (what the client waited) and the server process's CPU time for it. On a loaded machine
    the wall time includes waiting for a core; the CPU time is what the page costs (PostgreSQL's own work apart)."""
    lines = [title]
    for group, samples in times.items():
        wall, cpu = [s[0] for s in samples], [s[1] for s in samples]
        p95 = percentile(wall, 0.95)
        verdict = ("pass" if p95 <= TARGET_MS else "FAIL") if target else ""
        lines.append(
            f"  {group:<32} {len(wall):>4} req  wall median {statistics.median(wall):>8.1f} p95 {p95:>8.1f} "
            f"max {max(wall):>8.1f} ms  cpu median {statistics.median(cpu):>7.1f} p95 {percentile(cpu, 0.95):>7.1f}"
            f" ms  {verdict}"
        )
    return lines


def trend_pending(client: httpx.Client) -> int:
    """How many frameworks' trend fragments still say a run is being evaluated (in the background)."""
    return sum(
        "being evaluated" in client.get(f"/ui/frameworks/{framework}/trend", headers=HTMX).text
        for framework in FRAMEWORKS
    )


def merge(into: dict[str, list[Sample]], times: dict[str, list[Sample]]) -> None:
    for group, values in times.items():
        into.setdefault(group, []).extend(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="sealed runs the findings are spread over")
    parser.add_argument("--items", type=int, default=10_000, help="customer evidence items")
    parser.add_argument("--exceptions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds")
    parser.add_argument("--pages", type=int, default=10, help="findings pages walked per round and filter")
    parser.add_argument("--idle", type=float, default=310, help="seconds idle before the last round (0: none)")
    parser.add_argument("--trend-timeout", type=float, default=3600, help="seconds to wait for the trend")
    parser.add_argument("--database-url", help=f"PostgreSQL, e.g. {DEFAULT_DB} (default: SQLite in bench/out/)")
    parser.add_argument("--keep", action="store_true", help="PostgreSQL: keep (and reuse) the seeded schema")
    parser.add_argument("--seed-only", action="store_true", help="build the store and stop")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    backend = "SQLite" if args.database_url is None else "PostgreSQL"
    args.data_dir = OUT / f"ui-data-{backend.lower()}"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"load average at start (2 cores, shared machine): {'{:.1f} {:.1f} {:.1f}'.format(*os.getloadavg())}")
    print(f"{backend}: {args.findings:,} findings in {args.runs} runs, {args.items:,} items")
    started = time.perf_counter()
    url = prepare(args)
    print(f"  store ready in {time.perf_counter() - started:.0f} s")
    if args.seed_only:
        return
    secret = officer_token(url)

    from tests.api.live import free_port

    port = free_port()
    server = start_server(url, args.data_dir, port, OUT / f"ui-server-{backend.lower()}.log", options=("--plain-http",))
    up = time.perf_counter()
    SERVER["pid"] = server.pid
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=7200, follow_redirects=False) as client:
            sign_in(client, secret)
            # The first view of each page after start, caches cold: the dashboard evaluates the current statuses.
            # The trend comes last: its first evaluation is the heaviest work a start leaves to do.
            first_view: dict[str, list[Sample]] = {"dashboard": [timed(client, "/ui/", {})[0]]}
            listed = pages(chosen_controls(client, secret))
            failing = timed(client, "/ui/findings?status=fail", {})[1].text
            resource = RESOURCE.search(failing)
            assert resource, "no resource link on the findings page"
            listed.append(("resource history", f"/ui/resources?id={resource.group(1)}", {}))
            trend = [entry for entry in listed if entry[0] == "dashboard trend (htmx)"]
            others = [entry for entry in listed if entry not in trend]
            for group, values in one_round(client, others[1:], args.pages).items():
                first_view.setdefault(group, []).append(values[0])
            print("\n".join(report("first view after start (caches cold)", first_view, target=False)), flush=True)

            times: dict[str, list[Sample]] = {}
            for index in range(args.rounds):
                merge(times, one_round(client, others, args.pages))
                print(f"  round {index + 1} of {args.rounds} done", file=sys.stderr)

            # The trend: its first view, the pages while its past runs are evaluated, its completion.
            trend_first = one_round(client, trend, 0)
            print("\n".join(report("trend, first view", trend_first, target=False)), flush=True)
            during = one_round(client, others, args.pages) if trend_pending(client) else {}
            if during:
                print("\n".join(report("one round while the trend is evaluated", during, target=False)), flush=True)
            deadline = time.perf_counter() + args.trend_timeout
            while trend_pending(client) and time.perf_counter() < deadline:
                time.sleep(5)
            state = f"still incomplete after {args.trend_timeout:.0f} s" if trend_pending(client) else "complete"
            elapsed = time.perf_counter() - up
            print(f"trend of {args.runs} runs x {len(FRAMEWORKS)} frameworks {state} {elapsed:.0f} s after start")
            for _ in range(args.rounds):
                merge(times, one_round(client, trend, 0))
            title = f"{backend}, {args.rounds} rounds (p95 target <= {TARGET_MS:.0f} ms per page):"
            print("\n".join(report(title, times, target=True)), flush=True)

            if args.idle:  # past the status board's refresh age: what a page costs while it re-evaluates
                time.sleep(args.idle)
                idle = one_round(client, listed, args.pages)
                print("\n".join(report(f"one round after {args.idle:.0f} s idle", idle, target=False)))
            print(f"server RSS {rss_mb(server.pid):.0f} MB")
    finally:
        stop_server(server)
        if args.database_url is not None and not args.keep:
            admin = create_engine(args.database_url)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
            admin.dispose()
    print(f"load average at end: {'{:.1f} {:.1f} {:.1f}'.format(*os.getloadavg())}")


if __name__ == "__main__":
    main()
