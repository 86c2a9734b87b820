"""Every route, every parameter, random hostile values, as each role: never a server error,
never a change to the database.

Routes come from the app's URL map; query and form parameter names are read from the
source (every `args.get("...")`, `form.get("...")` and form field), so a new parameter is
fuzzed without editing this file. Each request draws values from a pool of hostile inputs
(ids past 64 bits, dates at the calendar's ends, control characters, full-width digits,
huge strings, formula and markup text). POSTs carry a valid CSRF token, so they reach the
validators. The API must answer errors as JSON with a stable `code`.

Not changed by the fuzz: the database, apart from the audit log (exports and failed logins
are audited by design) and the session rows' last-seen times. Routes that end the caller's
own session (/logout, ending a session) are fuzzed with ids that cannot be its own.

`FUZZ_SEED` / `FUZZ_ROUNDS` environment variables replay or widen a run; the figures are
printed (run with -s to see them).
"""
from __future__ import annotations

import os
import random
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from supervisor.core.extensions import db

from .conftest import csrf_from, login

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("FUZZ_SEED", "1212"))
ROUNDS = int(os.environ.get("FUZZ_ROUNDS", "8"))  # random requests per route, method and role
ROLES = ("anonymous", "police", "alpha", "official")
UNCHANGED_EXEMPT = {"audit_log", "user_sessions"}

INTS = ["0", "-1", "1", "2", "3", "7", str(2**31), str(2**63 - 1), str(2**63), str(2**64),
        "9" * 40, "1e309", "0x10", "١٢", "１２"]
DATES = ["0001-01-01", "0001-01-01T00:00", "9999-12-31", "9999-12-31T23:59", "10000-01-01",
         "0000-00-00", "2026-02-30", "2026-13-01", "1969-12-31T23:59:59", "2026-03-01 24:00",
         "9999-12-31 23:59:59", "2026-06-01T12:00+99:00"]
TEXT = ["", " ", "\x00", "a\x07b", "name\x1b[31m", "\r\n", "中文", "ＡＢＣ１２３", "🙂" * 3,
        "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "'; drop table devices;--",
        "../../etc/passwd", "%00", "a" * 5000, "true", "null", "[]", "{}", "nan", "inf",
        "192.168.001.010", "::1", "300.1.1.1"]
POOL = INTS + DATES + TEXT


def _parameter_names() -> list[str]:
    names: set[str] = set()
    patterns = [r"""args\.get\(\s*["'](\w+)["']""", r"""form\.get\(\s*["'](\w+)["']""",
                r"""^\s+(\w+) = \w*(?:Field|FileField)\(""", r"""args\[["'](\w+)["']\]"""]
    for path in [*ROOT.glob("supervisor/web/**/*.py"), *ROOT.glob("supervisor/*/queries.py"),
                 ROOT / "supervisor/core/audit_query.py"]:
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            names.update(re.findall(pattern, text, re.M))
    names.discard("csrf_token")
    return sorted(names)


def _snapshot() -> dict[str, list[tuple]]:
    db.session.expire_all()
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in UNCHANGED_EXEMPT:
            continue
        rows = db.session.execute(select(table)).all()
        out[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    db.session.rollback()
    return out


def _diff(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def _path_value(rng: random.Random, converter: str) -> str:
    if converter == "IntegerConverter":
        return rng.choice(INTS[:10] + [str(2**63), str(2**64), "9" * 40])
    return rng.choice([v for v in POOL if v and "/" not in v and "\x00" not in v] + ["csv", "xlsx", "en"])


def _build(rule, rng: random.Random) -> str | None:
    path = rule.rule
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        value = _path_value(rng, kind)
        if kind == "IntegerConverter" and not value.lstrip("-").isdigit():
            return None
        if kind == "IntegerConverter" and value.startswith("-"):
            value = value.lstrip("-")
        path = re.sub(r"<(?:[^:>]+:)?" + re.escape(name) + r"(?:\([^)]*\))?>", _quote(value), path)
    return path


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _client(app, role: str):
    client = app.test_client()
    client.get("/lang/en")
    if role != "anonymous":
        assert login(client, role).status_code == 302
    return client


def _token(client) -> str | None:
    page = client.get("/login").get_data(as_text=True)
    if 'name="csrf_token"' not in page:
        page = client.get("/account/password").get_data(as_text=True)
    try:
        return csrf_from(page)
    except AssertionError:
        return None


SKIP = {"static", "health.plotly_js"}
# Commands that any well-formed POST carries out (they take no value to refuse): fuzzed on
# ids that name nothing, so the run does not reset passwords or end its own sessions.
COMMANDS = {"auth.logout", "account.end_session", "admin.user_reset_password",
            "admin.user_active", "admin.window_cancel", "health.probe_now",
            "acceptance.start", "acceptance.discover", "acceptance.punch_tickets",
            "reports.close"}  # closing an ended month takes only its number (1..60)


def test_no_route_answers_5xx_or_changes_the_database(app, world):
    app.config["RATELIMIT_ENABLED"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error is an answer (500), as in production
    from supervisor.core.extensions import limiter

    limiter.enabled = False
    rng = random.Random(SEED)
    names = _parameter_names()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP]
    clients = {role: _client(app, role) for role in ROLES}
    tokens = {role: _token(c) for role, c in clients.items()}
    # The working calendar's first version is made from the holidays library on first use:
    # made here, so a page that reads the calendar is not counted as changing the database.
    from supervisor.core import clock
    from supervisor.tickets.service import current_calendar

    current_calendar(db.session, clock.now())
    db.session.commit()
    before = _snapshot()
    failures: list[str] = []
    per_role: Counter = Counter()
    status: Counter = Counter()
    api_non_json: list[str] = []
    reached: set[str] = set()  # endpoints that answered police with a page, not an error
    for rule in sorted(rules, key=lambda r: r.rule):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for role in ROLES:
                client = clients[role]
                # Every hostile value in every parameter at once (for the roles that reach
                # the most code; the others mostly get 302/403), then random mixes.
                plan = [("all", v) for v in POOL] if role in ("police", "alpha") else []
                plan += [("mix", None)] * ROUNDS
                for mode, value in plan:
                    path = _build(rule, rng)
                    if path is None:
                        continue
                    if rule.endpoint in COMMANDS and role != "anonymous":
                        if rule.endpoint == "auth.logout":
                            continue
                        path = re.sub(r"/\d+/", f"/{2**40 + rng.randrange(1000)}/", path)
                    if mode == "all":
                        params = {n: value for n in names}
                    else:
                        params = {n: rng.choice(POOL)
                                  for n in rng.sample(names, k=rng.randint(1, len(names)))}
                    try:
                        if method == "GET":
                            response = client.get(path, query_string=params)
                        else:
                            data = dict(params)
                            if tokens[role] and rng.random() < 0.85:
                                data["csrf_token"] = tokens[role]
                            response = client.post(path, data=data)
                        response.get_data()  # a download that breaks half-way fails here
                    except Exception as exc:  # noqa: BLE001 - counted as a server error
                        failures.append(f"raised {type(exc).__name__}: {exc} {role} {method} "
                                        f"{path} {params!r}"[:400])
                        per_role[role] += 1
                        continue
                    per_role[role] += 1
                    status[response.status_code // 100] += 1
                    if role == "police" and response.status_code < 300:
                        reached.add(rule.endpoint)
                    if response.status_code >= 500:
                        failures.append(f"{response.status_code} {role} {method} {path} {params!r}"[:400])
                    if path.startswith("/api/") and response.status_code >= 400:
                        body = response.get_json(silent=True)
                        if not (isinstance(body, dict) and body.get("code")):
                            api_non_json.append(f"{response.status_code} {role} {path}")
    after = _snapshot()
    changed = _diff(before, after)
    print(f"\nroute fuzz: seed {SEED}, {len(rules)} routes, {len(names)} parameter names, "
          f"requests per role {dict(per_role)}, status classes {dict(sorted(status.items()))}, "
          f"5xx {len(failures)}, tables changed {changed or 'none'}, "
          f"endpoints answering police 2xx {len(reached)}/{len({r.endpoint for r in rules})} "
          f"(not: {sorted({r.endpoint for r in rules} - reached)})")
    assert not failures, "\n".join(failures[:40])
    assert not api_non_json, api_non_json[:20]
    assert not changed, changed
    # Each role stayed logged in as itself the whole run (nothing ended its own session).
    for role in ROLES[1:]:
        assert clients[role].get("/").status_code == 302
