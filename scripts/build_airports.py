#!/usr/bin/env python3
"""Build rules/reference/airports.csv from the `airportsdata` package (MIT licence).

Usage:  pip install airportsdata==<version> && python3 scripts/build_airports.py

The package version is written to rules/reference/airports.version so that an auditor
can tell which edition of the reference data a run used. Rows are sorted by IATA code so
that a rebuild with the same package version gives a byte-identical file.
"""
import csv
import importlib.metadata
import pathlib

import airportsdata

OUT = pathlib.Path(__file__).resolve().parent.parent / "rules" / "reference"


def main() -> None:
    airports = airportsdata.load("IATA")
    version = importlib.metadata.version("airportsdata")
    with open(OUT / "airports.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["iata", "icao", "name", "city", "country", "tz", "lat", "lon"])
        for code in sorted(airports):
            a = airports[code]
            if len(code) != 3 or not a["tz"]:
                continue
            w.writerow([code, a["icao"], a["name"], a["city"], a["country"], a["tz"], a["lat"], a["lon"]])
    (OUT / "airports.version").write_text(f"airportsdata {version}\n", encoding="utf-8")
    print(f"wrote {len(airports)} airports from airportsdata {version}")


if __name__ == "__main__":
    main()
