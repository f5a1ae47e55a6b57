#!/usr/bin/env bash
# Builds paxrisk with profile-guided optimisation (PGO) for a deployment: a release build whose
# branches and inlining follow a profile of paxrisk's own nightly run. See docs/performance.md
# ("Change 65") for what it gains on the benchmark.
#
#   scripts/build-pgo.sh            # then: target/pgo/release/paxrisk run ...
#
# Steps: an instrumented release build, `paxrisk bench` with it on 50,000 generated PNRs (seed 1,
# not the benchmark's seed 7) in memory and with --landing, the profiles merged, then the
# optimised release build. Two cold builds of the whole dependency tree: about 55 minutes on a
# 2-core machine, and about 8 GB of disk under target/pgo-work (the instrumented build alone is
# 3.8 GB). Needs llvm-profdata of the toolchain's LLVM (`rustup component add llvm-tools`).
# Outputs are the same rows as a plain release build's: PGO changes how the code runs, not what
# it computes.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="$(rustc -vV | sed -n 's/^host: //p')"
PROFDATA="$(rustc --print sysroot)/lib/rustlib/$HOST/bin/llvm-profdata"
if [ ! -x "$PROFDATA" ]; then
  echo "build-pgo: $PROFDATA is missing; install it with: rustup component add llvm-tools" >&2
  exit 1
fi

WORK="$PWD/target/pgo-work"
rm -rf "$WORK/profiles" "$WORK/bench"
mkdir -p "$WORK"

RUSTFLAGS="-Cprofile-generate=$WORK/profiles" cargo build --release --target-dir "$WORK/instrumented"
TRAIN="$WORK/instrumented/release/paxrisk"
"$TRAIN" bench --pnrs 50000 --seed 1 --data "$WORK/data" --out "$WORK/bench"
"$TRAIN" bench --pnrs 50000 --seed 1 --data "$WORK/data" --out "$WORK/bench" --landing

"$PROFDATA" merge -o "$WORK/paxrisk.profdata" "$WORK/profiles"
# PAXRISK_BUILD_PGO makes `paxrisk bench` name the build "release, PGO" in its reports.
PAXRISK_BUILD_PGO=1 RUSTFLAGS="-Cprofile-use=$WORK/paxrisk.profdata" \
  cargo build --release --target-dir "$WORK/optimised"

mkdir -p target/pgo/release
cp "$WORK/optimised/release/paxrisk" target/pgo/release/paxrisk
echo "build-pgo: target/pgo/release/paxrisk"
