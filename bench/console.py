"""Console: the back office's page latency on a national-scale registry (not in the default run).

The design's bar: indexed searches, keyset-paginated lists, no page that scans a table; a p95
under half a second per page with a million registrations. This scenario

1. makes its own database (migrated like any other), bulk-seeds `--registrations` registrations
   with set-based SQL as the owner role (bench/console_seed.py: a year of births, rejections,
   duplicates, reviews, documents, dead letters and an audit chain) and runs VACUUM ANALYZE;
2. serves the console in this process, `create_console_app(desk)` with the desk of
   `hub.bootstrap.back_office` (the runtime role, default pool) behind httpx's ASGI transport, so
   no network or HTTP server is measured; signs in one supervisor and one operator;
3. times every page and JSON call below `--samples` times per run after 2 warm-ups, searching
   for real seeded values (a different one per request), and reports p50/p95/max per page;
4. logs every SQL statement the console's pool runs (asyncpg's query logger), per page; a page
   over the bar and any statement slower than SLOW_STATEMENT_MS get EXPLAIN (ANALYZE, BUFFERS) of
   their slowest execution with its own parameters (console-plans.md), as custom and generic plan.

Runs (`--runs`) are timing passes over the same seeded database: seeding a million registrations
once is the expensive part.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.console_seed import Seeded, SeedPlan, samples, seed
from bench.context import Context
from bench.env import BenchEnv, _admin_sql, drop_env, env_settings
from bench.stats import percentile

BAR_MS = 500.0  # the design's bar for a page's p95
SLOW_STATEMENT_MS = 100.0  # any statement this slow gets its plan captured
WARM_UP = 2
PAGE_BUDGET_S = 120.0  # stop sampling a page within a run after this long (a pathological page)
PASSWORD = "bench-console-password-1"
USERS = {"supervisor": "bench.supervisor", "operator": "bench.operator"}
POOL_RESET = "SELECT pg_advisory_unlock_all()"  # asyncpg's reset of a connection given back to the pool


@dataclass(frozen=True)
class Page:
    name: str
    label: str
    role: str
    method: str
    path: str
    form: str | None = None  # the form field carrying the searched value (with csrf_token)
    body: str | None = None  # the JSON field carrying it (with the X-CSRF-Token header)
    sample: str | None = None  # akta | nik | message | kk | case: which seeded values to use
    found: Callable[[httpx.Response, str], bool] | None = None  # the answer shows what was searched for


def _html_found(answer: httpx.Response, value: str) -> bool:
    return "ditemukan" in answer.text and "Tidak ada notifikasi" not in answer.text


def _api_found(answer: httpx.Response, value: str) -> bool:
    return answer.json().get("total", 0) >= 1


def _document_found(answer: httpx.Response, value: str) -> bool:
    return 'id="found"' in answer.text


def _documents_listed(answer: httpx.Response, value: str) -> bool:
    return len(answer.json()) >= 1


PAGES = (
    Page("dashboard", "dashboard /", "supervisor", "GET", "/"),
    Page("api_dashboard", "GET /api/v1/dashboard", "supervisor", "GET", "/api/v1/dashboard"),
    Page("review_queue", "review queue /antrean (open)", "supervisor", "GET", "/antrean"),
    Page("review_all", "review queue /antrean?status=all", "supervisor", "GET", "/antrean?status=all"),
    Page("api_reviews", "GET /api/v1/reviews", "supervisor", "GET", "/api/v1/reviews"),
    Page("review_case", "one review case /antrean/{h}/{m}", "supervisor", "GET", "", sample="case"),
    Page(
        "search_akta",
        "search by akta number POST /cari",
        "supervisor",
        "POST",
        "/cari",
        "query",
        None,
        "akta",
        _html_found,
    ),
    Page(
        "search_nik",
        "search by mother's NIK POST /cari",
        "supervisor",
        "POST",
        "/cari",
        "query",
        None,
        "nik",
        _html_found,
    ),
    Page(
        "search_kk", "search by KK number POST /cari", "supervisor", "POST", "/cari", "query", None, "kk", _html_found
    ),
    Page(
        "search_message",
        "search by message id POST /cari",
        "supervisor",
        "POST",
        "/cari",
        "query",
        None,
        "message",
        _html_found,
    ),
    Page(
        "api_search",
        "POST /api/v1/search (akta)",
        "supervisor",
        "POST",
        "/api/v1/search",
        None,
        "query",
        "akta",
        _api_found,
    ),
    Page("dead_letters", "dead letters /surat-mati", "operator", "GET", "/surat-mati"),
    Page("api_dead_letters", "GET /api/v1/dead-letters", "operator", "GET", "/api/v1/dead-letters"),
    Page("api_rejections", "GET /api/v1/rejections", "operator", "GET", "/api/v1/rejections"),
    Page("hospitals", "hospitals /rumah-sakit", "operator", "GET", "/rumah-sakit"),
    Page("api_hospitals", "GET /api/v1/hospitals", "operator", "GET", "/api/v1/hospitals"),
    Page("audit", "audit log /audit", "supervisor", "GET", "/audit"),
    Page("api_audit", "GET /api/v1/audit", "supervisor", "GET", "/api/v1/audit"),
    Page("documents", "documents /dokumen", "supervisor", "GET", "/dokumen"),
    Page(
        "documents_search",
        "document search POST /dokumen/cari (akta)",
        "supervisor",
        "POST",
        "/dokumen/cari",
        "number",
        None,
        "akta",
        _document_found,
    ),
    Page(
        "api_documents_search",
        "POST /api/v1/documents/search (akta)",
        "supervisor",
        "POST",
        "/api/v1/documents/search",
        None,
        "number",
        "akta",
        _documents_listed,
    ),
)
STATS = ("p50", "p95", "max")
METRICS = ("seed_s", "analyze_s", *(f"{p.name}_{s}_ms" for p in PAGES for s in STATS))
ROWS = [
    ("seed_s", "seed s (bulk SQL as the owner, without VACUUM ANALYZE)", "{:.0f}"),
    ("analyze_s", "VACUUM ANALYZE s after seeding", "{:.0f}"),
    *((f"{p.name}_p95_ms", f"p95 ms: {p.label}", "{:.0f}") for p in PAGES),
]


@dataclass
class Statement:
    """One SQL text's executions during a page's timed requests."""

    query: str
    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    max_args: tuple = ()


class QueryLog:
    """Every statement the console's pool runs (asyncpg's query logger, added to each connection)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, tuple, float]] = []

    def __call__(self, record) -> None:
        self.records.append((record.query, tuple(record.args or ()), record.elapsed))

    @contextlib.contextmanager
    def on_new_pools(self):
        """While entered, pools asyncpg creates log their connections' statements here."""
        original = asyncpg.create_pool

        def create_pool(*args, **kwargs):
            init = kwargs.pop("init", None)

            async def logged(conn):
                conn.add_query_logger(self)
                if init is not None:
                    await init(conn)

            return original(*args, init=logged, **kwargs)

        asyncpg.create_pool = create_pool
        try:
            yield
        finally:
            asyncpg.create_pool = original


async def run_console(ctx: Context, args) -> dict:
    """The scenario: one seeded database, `args.runs` timing passes, plans of the slow statements."""
    group: dict = {"runs": [], "registrations": args.registrations, "samples": args.samples}
    name = f"bench_console_{uuid.uuid4().hex[:8]}"
    folder = ctx.out / "console"
    folder.mkdir(parents=True, exist_ok=True)
    settings = env_settings(
        name,
        console_secure_cookie=False,  # httpx keeps Secure cookies for https only
        audit_key_file=folder / "audit-anchor.key",
        audit_anchor_file=folder / "audit-anchors.jsonl",
    )
    env = BenchEnv(name, settings)
    from hub.bootstrap import database, prepare_database, prepare_kafka

    await _admin_sql(f'CREATE DATABASE "{name}"')
    try:
        await prepare_database(settings)
        async with database(settings) as pool:
            # Before seeding, so with no hospital yet: the hub's own topics and its principals' ACLs,
            # not two topics for each of the (up to 3,000) seeded hospitals, all empty (the
            # dashboard's consumer lag then has no topic to look at).
            await prepare_kafka(settings, pool)
        plan = SeedPlan(
            registrations=args.registrations,
            now=datetime.now(UTC),
            topics=settings.topics,
            partitions=settings.notification_partitions,
            open_reviews=50 if args.quick else 300,
            dead_letters=50 if args.quick else 300,
        )
        task = ctx.task(f"console: seeding {args.registrations:,} registrations", None)
        conn = await asyncpg.connect(settings.owner_dsn)
        try:
            seeded = await seed(
                conn, plan, lambda step: ctx.progress.update(task, description=f"console: seeding: {step}")
            )
            values = await samples(conn, args.runs * (args.samples + WARM_UP), seed_value=7)
        finally:
            await conn.close()
            ctx.done(task)
        values["case"] = ["/antrean/" + "/".join(part for part in case) for case in seeded.review_cases] or [
            "/antrean/none/none"
        ]
        group["seed"] = _seed_report(plan, seeded)
        ctx.console.print(
            f"console: seeded {args.registrations:,} registrations in {seeded.seed_s:.0f} s "
            f"(+ {seeded.seconds['analyze']:.0f} s VACUUM ANALYZE), database {seeded.database_mib:,.0f} MiB"
        )
        log = QueryLog()
        await _serve_and_time(ctx, args, settings, values, log, group)
        group["runs"][0].update(seed_s=seeded.seed_s, analyze_s=seeded.seconds["analyze"])
        group["plans"] = await _plans(settings.owner_dsn, group)
        (ctx.out / "console-plans.md").write_text(plans_markdown(group))
    finally:
        if getattr(args, "keep_console_db", False):
            ctx.console.print(f'console: kept database {name} (drop it with DROP DATABASE "{name}")')
        else:
            await drop_env(env)
    return group


def _seed_report(plan: SeedPlan, seeded: Seeded) -> dict:
    return {
        "registrations": plan.registrations,
        "hospitals": plan.hospital_count,
        "today": plan.today_count,
        "open_reviews": len(seeded.review_cases),
        "seed_s": seeded.seed_s,
        "analyze_s": seeded.seconds.get("analyze"),
        "steps_s": seeded.seconds,
        "rows": seeded.rows,
        "database_mib": seeded.database_mib,
        "now": plan.now.isoformat(),
    }


async def _serve_and_time(ctx: Context, args, settings, values: dict, log: QueryLog, group: dict) -> None:
    from hub.bootstrap import back_office
    from hub.console.app import create_console_app

    async with contextlib.AsyncExitStack() as stack:
        with log.on_new_pools():
            desk = await stack.enter_async_context(back_office(settings))
        for role, username in USERS.items():
            await desk.accounts.add(username, f"Bench {role}", role, PASSWORD, "bench@host", "console bench")
        app = create_console_app(desk)
        clients = {}
        for role, username in USERS.items():
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),  # a failing page: its 500
                    base_url="http://console.bench",
                    timeout=300,
                )
            )
            signed = await client.post("/masuk", data={"username": username, "password": PASSWORD, "next": "/"})
            if signed.status_code != 303:
                raise RuntimeError(f"sign-in of {username} answered {signed.status_code}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/")).text)
            if token is None:
                raise RuntimeError("no CSRF token on the dashboard")
            clients[role] = (client, token.group(1))
        task = ctx.task("console: timing pages", args.runs * len(PAGES))
        try:
            for run in range(1, args.runs + 1):
                group["runs"].append(await _pass(ctx, args, run, clients, values, log, task))
        finally:
            ctx.done(task)


async def _pass(ctx: Context, args, run: int, clients: dict, values: dict, log: QueryLog, task) -> dict:
    figures: dict = {"label": f"console-{run}", "pages": {}}
    first = (run - 1) * (args.samples + WARM_UP)
    for page in PAGES:
        client, token = clients[page.role]
        pool = values.get(page.sample, [""]) if page.sample else [""]
        times, sql_ms, query_counts, statuses, missed = [], [], [], Counter(), 0
        statements: dict[str, Statement] = {}
        started = time.monotonic()
        for n in range(WARM_UP + args.samples):
            value = pool[(first + n) % len(pool)]
            before = len(log.records)
            elapsed, answer = await _request(client, token, page, value)
            await asyncio.sleep(0)  # the query logger's callbacks run soon after each statement
            if n < WARM_UP:
                continue
            times.append(elapsed)
            statuses[answer.status_code] += 1
            if answer.status_code == 200 and page.found is not None and not page.found(answer, value):
                missed += 1
            ran = log.records[before:]
            sql_ms.append(sum(r[2] for r in ran) * 1000)
            query_counts.append(len(ran))
            for query, query_args, seconds in ran:
                key = " ".join(query.split())
                s = statements.setdefault(key, Statement(key))
                s.count += 1
                s.total_s += seconds
                if seconds >= s.max_s:
                    s.max_s, s.max_args = seconds, query_args
            if time.monotonic() - started > PAGE_BUDGET_S:
                break
        del log.records[:]
        ordered = sorted(times)
        stats = {"p50": percentile(ordered, 50), "p95": percentile(ordered, 95), "max": ordered[-1]}
        for stat, value in stats.items():
            figures[f"{page.name}_{stat}_ms"] = value
        figures["pages"][page.name] = {
            "samples_ms": [round(t, 2) for t in times],
            "statuses": dict(statuses),
            "not_found": missed,
            "sql_ms_median": statistics.median(sql_ms),
            "queries_median": statistics.median(query_counts),
            "statements": [
                {
                    "query": s.query,
                    "count": s.count,
                    "total_ms": round(s.total_s * 1000, 2),
                    "max_ms": round(s.max_s * 1000, 2),
                    "max_args": list(s.max_args),  # as sent (results.json writes them with str())
                }
                for s in sorted(statements.values(), key=lambda s: -s.total_s)
            ],
        }
        ctx.progress.advance(task)
    return figures


async def _request(client: httpx.AsyncClient, token: str, page: Page, value: str) -> tuple[float, httpx.Response]:
    path = value if page.sample == "case" else page.path
    kwargs: dict = {}
    if page.form:
        kwargs["data"] = {page.form: value, "csrf_token": token}
    if page.body:
        kwargs["json"] = {page.body: value}
        kwargs["headers"] = {"X-CSRF-Token": token}
    started = time.perf_counter()
    answer = await client.request(page.method, path, **kwargs)
    await answer.aread()
    return (time.perf_counter() - started) * 1000, answer


# --- plans of the slow statements ----------------------------------------------------------------


def _slow_statements(group: dict) -> list[tuple[str, dict]]:
    """(page, statement) worth a plan: each over-the-bar page's two costliest reads (of those taking
    10 ms or more), and any statement slower than SLOW_STATEMENT_MS; once per SQL text, its slowest
    execution."""
    chosen: dict[str, tuple[str, dict]] = {}
    for page in PAGES:
        merged: dict[str, dict] = {}
        for run in group["runs"]:
            for s in run.get("pages", {}).get(page.name, {}).get("statements", []):
                m = merged.setdefault(s["query"], {**s, "total_ms": 0.0, "count": 0, "max_ms": -1.0})
                m["total_ms"] += s["total_ms"]
                m["count"] += s["count"]
                if s["max_ms"] > m["max_ms"]:
                    m["max_ms"], m["max_args"] = s["max_ms"], s["max_args"]
        reads = [
            s
            for s in merged.values()
            if s["query"].lstrip().upper().startswith(("SELECT", "WITH")) and not s["query"].startswith(POOL_RESET)
        ]
        over = (_median(group, f"{page.name}_p95_ms") or 0) > BAR_MS
        costly = [s for s in reads if s["max_ms"] >= 10]  # not the session lookup
        picks = sorted(costly, key=lambda s: -s["total_ms"])[:2] if over else []
        picks += [s for s in reads if s["max_ms"] >= SLOW_STATEMENT_MS]
        for s in picks:
            if s["query"] not in chosen or chosen[s["query"]][1]["max_ms"] < s["max_ms"]:
                chosen[s["query"]] = (page.name, s)
    return sorted(chosen.values(), key=lambda item: -item[1]["max_ms"])


def _median(group: dict, metric: str) -> float | None:
    values = [run[metric] for run in group["runs"] if isinstance(run.get(metric), (int, float))]
    return statistics.median(values) if values else None


async def _plans(owner_dsn: str, group: dict) -> list[dict]:
    conn = await asyncpg.connect(owner_dsn)
    plans = []
    try:
        for page, s in _slow_statements(group):
            found = {
                "page": page,
                "query": s["query"],
                "max_ms": s["max_ms"],
                "count": s["count"],
                "total_ms": s["total_ms"],
                "args": s["max_args"],
            }
            for mode in ("custom", "generic"):
                try:
                    found[mode] = await _explain(conn, s["query"], s["max_args"], generic=mode == "generic")
                except Exception as exc:  # a plan that cannot be taken is reported, not fatal
                    found[mode] = f"(no plan: {type(exc).__name__}: {exc})"
            plans.append(found)
    finally:
        await conn.close()
    return plans


async def _explain(conn: asyncpg.Connection, query: str, query_args: list, *, generic: bool) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) with the statement's own parameters, in a transaction rolled back.
    Custom: planned for these values (a statement's first executions). Generic: PREPAREd and
    EXECUTEd with plan_cache_mode = force_generic_plan, the plan a cached prepared statement (asyncpg
    caches them) may switch to after its fifth execution."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        if not generic:
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + query, *query_args)
        else:
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute("PREPARE bench_plan AS " + query)
            values = ", ".join(_literal(value) for value in query_args)  # EXECUTE takes no bound parameters
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_plan" + (f"({values})" if values else ""))
    finally:
        await transaction.rollback()
        if generic:  # prepared statements outlive transactions
            with contextlib.suppress(asyncpg.PostgresError):
                await conn.execute("DEALLOCATE bench_plan")
    return "\n".join(r[0] for r in rows)


def _literal(value) -> str:
    """A parameter as an SQL literal of unknown type (the prepared statement's parameter types apply)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return "'\\x" + bytes(value).hex() + "'"
    if isinstance(value, (list, tuple)):
        items = ",".join(
            "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value
        )
        return "'{" + items.replace("'", "''") + "}'"
    if isinstance(value, datetime):
        return "'" + value.isoformat() + "'"
    return "'" + str(value).replace("'", "''") + "'"


# --- report ------------------------------------------------------------------------------------


def markdown_section(scenario: dict) -> list[str]:
    """The console section of summary.md: seeding, then each page's latency against the bar."""
    seed_info = scenario.get("seed")
    if not seed_info:
        return []
    rows = seed_info["rows"]
    lines = [
        "",
        "## Console: page latency at national scale",
        "",
        f"Seeded {seed_info['registrations']:,} registrations ({seed_info['hospitals']:,} hospitals, "
        f"{seed_info['today']:,} of them today in WIB, {seed_info['open_reviews']} open reviews) in "
        f"{seed_info['seed_s']:.0f} s of bulk SQL, then {seed_info['analyze_s']:.0f} s of VACUUM ANALYZE; "
        f"database {seed_info['database_mib']:,.0f} MiB. Rows: "
        + ", ".join(f"{table} {n:,}" for table, n in rows.items())
        + ".",
        "",
        f"Served in process (create_console_app behind httpx.ASGITransport: no network, no HTTP server); "
        f"{scenario['samples']} timed requests per page and run after {WARM_UP} warm-ups, "
        f"{len(scenario['runs'])} run(s); figures are medians over runs (max: the largest). "
        f"Bar: p95 < {BAR_MS:.0f} ms.",
        "",
        "| page | role | p50 ms | p95 ms | max ms | SQL ms/request | statements/request | p95 < 500 ms |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for page in PAGES:
        p50, p95 = _median(scenario, f"{page.name}_p50_ms"), _median(scenario, f"{page.name}_p95_ms")
        worst = [run.get(f"{page.name}_max_ms") for run in scenario["runs"] if run.get(f"{page.name}_max_ms")]
        details = [run["pages"][page.name] for run in scenario["runs"] if page.name in run.get("pages", {})]
        if p95 is None or not details:
            lines.append(f"| {page.label} | {page.role} | – | – | – | – | – | failed |")
            continue
        sql = statistics.median(d["sql_ms_median"] for d in details)
        count = statistics.median(d["queries_median"] for d in details)
        bad = {k: v for d in details for k, v in d["statuses"].items() if str(k) != "200"}
        missed = sum(d["not_found"] for d in details)
        verdict = "yes" if p95 < BAR_MS else "**NO**"
        notes = (f"; answers {bad}" if bad else "") + (f"; {missed} searches found nothing" if missed else "")
        lines.append(
            f"| {page.label} | {page.role} | {p50:.0f} | {p95:.0f} | {max(worst):.0f} | {sql:.0f} | {count:.0f} "
            f"| {verdict}{notes} |"
        )
    plans = scenario.get("plans") or []
    if plans:
        lines += ["", "Slowest statements (EXPLAIN (ANALYZE, BUFFERS) of each in console-plans.md):", ""]
        for plan in plans:
            first = plan["query"][:160] + ("…" if len(plan["query"]) > 160 else "")
            lines.append(f"- {plan['page']}: slowest {plan['max_ms']:.0f} ms, {plan['count']} executions: `{first}`")
    return lines


def plans_markdown(group: dict) -> str:
    lines = [
        "# Console bench: plans of the slow statements",
        "",
        f"Each page over the bar (p95 ≥ {BAR_MS:.0f} ms) gets its two costliest reads; any statement slower than "
        f"{SLOW_STATEMENT_MS:.0f} ms gets its plan too. EXPLAIN (ANALYZE, BUFFERS) with the parameters of its "
        "slowest execution, after the timed runs (caches warm), as the owner role, in a transaction rolled back; "
        "'generic' is the plan a prepared statement may switch to after five executions (plan_cache_mode auto).",
        "",
    ]
    for plan in group.get("plans") or []:
        lines += [
            f"## {plan['page']}: {plan['max_ms']:.0f} ms at worst, {plan['count']} executions, "
            f"{plan['total_ms']:.0f} ms in all",
            "",
            "```sql",
            plan["query"],
            "```",
            "",
            f"Parameters: `{plan['args']}`",
            "",
            "Custom plan:",
            "",
            "```",
            plan.get("custom", ""),
            "```",
            "",
        ]
        if plan.get("generic") and _shape(plan["generic"]) != _shape(plan.get("custom", "")):
            lines += ["Generic plan (differs):", "", "```", plan["generic"], "```", ""]
    return "\n".join(lines) + "\n"


def _shape(plan: str) -> list[str]:
    """A plan without its figures: to tell whether two plans differ in shape."""
    return [re.sub(r"\(.*?\)|\d+(\.\d+)?", "", line).strip() for line in plan.splitlines() if "->" in line]
