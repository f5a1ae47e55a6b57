#!/usr/bin/env python3
"""Real-client check of a run folder, as an auditor's tools would read it.

Usage:  python3 scripts/check_outputs.py RUN_DIR

Opens scores.parquet and hits.parquet with pyarrow and with duckdb, decodes the list<struct>
`hits` column, and checks the known traveller of tests/data/run/cash_one_way.edi (PEREZ/LUIS, a
cash one-way ticket issued 17 h before departure): score 80, band high, five hits, one of them
TKT-001. Also
checks the key-value metadata and that hits.parquet agrees with the hit counts in scores.parquet.
"""
import json
import pathlib
import sys

import duckdb
import pyarrow.parquet as pq


def main() -> None:
    run = pathlib.Path(sys.argv[1])
    manifest = json.loads((run / "manifest.json").read_text())
    scores = pq.read_table(run / "scores.parquet")
    meta = pq.read_metadata(run / "scores.parquet").metadata
    assert meta[b"paxrisk.run_id"].decode() == run.name == manifest["run_id"], meta
    assert meta[b"paxrisk.rule_pack_hash"].decode() == manifest["rule_pack"]["hash"]
    assert scores.schema.field("score").metadata[b"description"]

    rows = {r["surname"]: r for r in scores.to_pylist()}
    perez = rows["PEREZ"]
    assert perez["score"] == 80.0 and perez["band"] == "high" and perez["hit_count"] == 5, perez
    assert [h["rule_id"] for h in perez["hits"]] == ["CON-002", "ROUTE-001", "ROUTE-005", "TKT-001", "TKT-007"], perez["hits"]
    assert perez["hits"][3] == {"rule_id": "TKT-001", "rule_version": 1, "weight": 30,
                                "reason": "cash one-way ticket issued 17 h before departure"}, perez["hits"]
    assert sum(h["weight"] for h in perez["hits"]) == perez["score"]
    assert rows["GARCIA"]["score"] == 15.0 and len(rows["GARCIA"]["hits"]) == 2

    con = duckdb.connect()
    s, h = str(run / "scores.parquet"), str(run / "hits.parquet")
    got = con.execute(
        f"SELECT surname, h.rule_id, h.weight, h.reason FROM (SELECT surname, unnest(hits) AS h FROM '{s}')"
        " WHERE h.rule_id = 'TKT-001'"
    ).fetchall()
    assert got == [("PEREZ", "TKT-001", 30, "cash one-way ticket issued 17 h before departure")], got
    total_hits = con.execute(f"SELECT sum(hit_count) FROM '{s}'").fetchone()[0]
    hit_rows = con.execute(f"SELECT count(*) FROM '{h}'").fetchone()[0]
    assert total_hits == hit_rows == 7, (total_hits, hit_rows)
    rebuilt = con.execute(
        f"SELECT count(*) FROM (SELECT journey_id, least(sum(weight), 100) AS w FROM '{h}' GROUP BY journey_id) h"
        f" JOIN '{s}' s USING (journey_id) WHERE s.score = h.w"
    ).fetchone()[0]
    assert rebuilt == 2, "every score rebuilds from its hits"
    print(f"check_outputs: {run.name}: scores and hits read cleanly with pyarrow and duckdb")


if __name__ == "__main__":
    main()
