"""Where the catalogue search spends its time: every SQL query of one search (page + facets, as the HTML
page does it, with the cache emptied first), timed, and EXPLAIN (ANALYZE, BUFFERS) of the slowest ones.
Run by bench/run.py against the bench database after the load phases; writes bench/results/explain.txt
and prints RESULT <json>."""

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

CASES = [
    ("búsqueda amplia «certificado»", {"q": "certificado"}),
    ("búsqueda precisa «licencia de conducir»", {"q": "licencia de conducir"}),
    ("búsqueda con error «pasaprote»", {"q": "pasaprote"}),
    ("listado sin texto (página 1)", {"q": ""}),
]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ventanilla.catalog import selectors

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "explain.txt"
    lines: list[str] = []
    summary: list[dict[str, Any]] = []
    for label, params in CASES:
        filters = selectors.SearchFilters(**params)
        selectors.procedure_search(filters)  # warm PostgreSQL's buffers, as a running server would be
        cache.clear()  # the bench's own Redis database: measure counts and facets uncached too
        with CaptureQueriesContext(connection) as ctx:
            started = time.monotonic()
            result = selectors.procedure_search(filters)
            total_ms = (time.monotonic() - started) * 1000
        queries = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))
        summary.append(
            {
                "case": label,
                "matches": result.count,
                "total_ms": round(total_ms, 1),
                "queries": len(queries),
                "slowest_ms": [round(float(q["time"]) * 1000, 1) for q in queries[:4]],
            }
        )
        lines.append(f"=== {label}: {result.count} resultados, {total_ms:.0f} ms en {len(queries)} consultas")
        for q in queries:
            lines.append(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:160]}")
        for q in queries[:2]:
            if float(q["time"]) < 0.005:
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
