#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/*.rs) for a while, all at once, each starting from
# its seeds (fuzz/seeds/<target>) and its own corpus (fuzz/corpus/<target>, kept between runs).
# Needs a nightly toolchain and cargo-fuzz (scripts/test.sh installs cargo-fuzz when nightly exists).
#   scripts/fuzz.sh             every target for 40 s (the smoke run of scripts/test.sh)
#   scripts/fuzz.sh 600 npy     one target for 10 minutes
# Prints each target's executions and result; exits non-zero if any target found a crash, leak or
# timeout (the input is in fuzz/artifacts/<target>/: make it a regression test).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-40}"
shift || true
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
# One build of every target (release with debug assertions and AddressSanitizer), then the runs.
cargo +nightly fuzz build -O
mkdir -p logs
pids=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    >"logs/$t.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
  t="${targets[$i]}"
  if wait "${pids[$i]}"; then
    # libFuzzer's last status line: "#N DONE cov: … exec/s: …"
    summary="$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1 || true)"
    printf '  %-12s ok     %s\n' "$t" "$summary"
  else
    failed=1
    printf '  %-12s FAILED (see fuzz/logs/%s.log)\n' "$t" "$t"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "logs/$t.log" | head -5 | sed 's/^/      /'
  fi
done
exit "$failed"
