#!/usr/bin/env python3
"""Build rules/reference/countries.csv from the `pycountry` package (ISO 3166-1 from Debian iso-codes).

Usage:  pip install pycountry==<version> && python3 scripts/build_countries.py

Columns: alpha2, alpha3, numeric, name. The package version goes to countries.version. Rows are
sorted by alpha-2 code so that a rebuild with the same version is byte-identical.
"""
import csv
import importlib.metadata
import pathlib

import pycountry

OUT = pathlib.Path(__file__).resolve().parent.parent / "rules" / "reference"


def main() -> None:
    version = importlib.metadata.version("pycountry")
    with open(OUT / "countries.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["alpha2", "alpha3", "numeric", "name"])
        for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
            w.writerow([c.alpha_2, c.alpha_3, c.numeric, c.name])
    (OUT / "countries.version").write_text(f"pycountry {version}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
