"""Where the case pages spend their time with the full data set: every SQL query of the clerk's queue
(each filter combination the bench sends), «Mis trámites» of the citizen with many cases and the cases API
list, timed, with EXPLAIN (ANALYZE, BUFFERS) of the slowest ones. Run by bench/run.py after the load phases;
writes bench/results/explain_cases.txt and prints RESULT <json>."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORK = Path(os.environ.get("BENCH_WORKDIR", ROOT / "bench" / ".work"))
SLOW_MS = 5.0


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.run import api_cases_requests, my_cases_requests, queue_requests
    from ventanilla.cases import selectors

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "explain_cases.txt"
    info = json.loads((WORK / "cases.json").read_text())
    users = get_user_model().objects
    targets: list[tuple[str, Any]] = []
    clerk = Client(HTTP_HOST="127.0.0.1")
    clerk.force_login(users.get(username=info["clerk"]))
    targets += [(f"bandeja {r.path}", lambda c=clerk, p=r.path: c.get(p)) for r in queue_requests(info)]
    citizen = Client(HTTP_HOST="127.0.0.1")
    citizen.force_login(users.get(username=info["heavy_citizen"]))
    targets += [
        (f"mis trámites {r.path}", lambda c=citizen, p=r.path: c.get(p)) for r in my_cases_requests()[1:]
    ]
    from urllib.parse import parse_qs, urlsplit

    from ventanilla.core.models import Institution

    institution_id = Institution.objects.get(code=info["institution"]).pk
    for r in api_cases_requests(info, filtered=False) + api_cases_requests(info, filtered=True):
        query = {k: v[0] for k, v in parse_qs(urlsplit(r.path).query).items()}

        def api(query: dict[str, str] = query) -> None:
            qs = selectors.case_api_list(
                institution_id=institution_id,
                status=query.get("status", ""),
                procedure=query.get("procedure", ""),
                updated_since=query.get("updated_since"),
            )
            qs.count()
            list(qs[:50])

        targets.append((f"API {r.path} (selector: count + página de 50)", api))

    lines: list[str] = []
    summary: list[dict[str, Any]] = []
    for label, call in targets:
        call()  # warm PostgreSQL's buffers and the cache, as a running server would be
        with CaptureQueriesContext(connection) as ctx:
            started = time.monotonic()
            response = call()
            total_ms = (time.monotonic() - started) * 1000
        status = getattr(response, "status_code", "")
        queries = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))
        summary.append(
            {
                "case": label,
                "status": status,
                "total_ms": round(total_ms, 1),
                "queries": len(queries),
                "slowest_ms": [round(float(q["time"]) * 1000, 1) for q in queries[:3]],
            }
        )
        lines.append(f"=== {label}: {status} en {total_ms:.0f} ms, {len(queries)} consultas")
        for q in queries:
            lines.append(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:200]}")
        for q in queries[:2]:
            if float(q["time"]) * 1000 < SLOW_MS:
                continue
            lines.append("")
            lines.append(
                f"--- EXPLAIN (ANALYZE, BUFFERS) de la consulta de {float(q['time']) * 1000:.0f} ms:"
            )
            lines.append(q["sql"])
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                lines.extend("    " + row[0] for row in cursor.fetchall())
        lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("RESULT " + json.dumps(summary, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
