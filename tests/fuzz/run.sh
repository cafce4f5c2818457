#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (built in the sanitizer tree, `make fuzz` / `make test`).
#
#   tests/fuzz/run.sh [--build-dir DIR] [--seconds N] [NAME...]
#
# For each target (all of targets.cmake when none is named):
#   1. every reproducer in tests/fuzz/regressions/<name>/ is run once: a bug a fuzzer found stays
#      found until it is fixed;
#   2. the target fuzzes for N seconds from a scratch corpus, DIR/fuzz/corpus/<name>, seeded from
#      the committed tests/fuzz/corpus/<name>/ (the scratch copy may grow; the committed one never
#      changes). Crash files go to DIR/fuzz/artifacts/<name>/, the full log to DIR/fuzz/logs/.
# Prints one line per target (libFuzzer's "Done N runs in S second(s)", or the crash file) and
# exits 1 if any target crashed, leaked, timed out or failed to start.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=build-asan
seconds=60
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
build_dir=$(cd "$build_dir" && pwd)
if [ ${#names[@]} -eq 0 ]; then
  # The names listed in targets.cmake, one per line inside set(HANGAR_FUZZ_TARGETS ...).
  mapfile -t names < <(awk '/^set\(HANGAR_FUZZ_TARGETS/{on=1; next} on && /^\)/{on=0}
                            on {print $1}' "$here/targets.cmake")
fi

work=$build_dir/fuzz
mkdir -p "$work/logs"
# The targets keep SQLite databases and blobs in $TMPDIR: on tmpfs when there is one (fsync is
# then free), and removed here whatever happens to the fuzzer.
scratch_parent=/dev/shm
[ -d "$scratch_parent" ] && [ -w "$scratch_parent" ] || scratch_parent=$work
scratch=$(mktemp -d "$scratch_parent/hangar-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=0
for name in "${names[@]}"; do
  bin=$build_dir/tests/fuzz/${name}_fuzz
  log=$work/logs/$name.log
  corpus=$work/corpus/$name
  artifacts=$work/artifacts/$name
  if [ ! -x "$bin" ]; then
    printf '%-16s NOT BUILT (%s)\n' "$name" "$bin"
    failed=1
    continue
  fi
  mkdir -p "$corpus" "$artifacts" "$scratch/$name"
  if [ -d "$here/corpus/$name" ]; then cp -r "$here/corpus/$name/." "$corpus/"; fi

  regressions=()
  if [ -d "$here/regressions/$name" ]; then
    mapfile -t regressions < <(find "$here/regressions/$name" -type f ! -name '*.md' | sort)
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    if ! TMPDIR=$scratch/$name "$bin" -artifact_prefix="$artifacts/" "${regressions[@]}" \
        >"$log.regressions" 2>&1; then
      printf '%-16s REGRESSION: a reproducer in %s still fails (log: %s)\n' \
        "$name" "tests/fuzz/regressions/$name" "$log.regressions"
      grep -E '^(==[0-9]+==ERROR|SUMMARY|Running:|.*runtime error)' "$log.regressions" | tail -n 8 || true
      failed=1
    fi
  fi

  # The service targets' caches grow by design, so libFuzzer's per-input malloc/free balance
  # check would run a full leak scan after nearly every input (half their speed); LeakSanitizer
  # still checks them when the process exits.
  extra=()
  case "$name" in s3_xml|kms_json|iam_query) extra=(-detect_leaks=0) ;; esac
  status=0
  TMPDIR=$scratch/$name "$bin" -max_total_time="$seconds" -timeout=10 "${extra[@]}" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$log" 2>&1 || status=$?
  rm -rf "${scratch:?}/$name"
  done_line=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second\(s\)' "$log" | tail -n 1 || true)
  crash=$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/^Test unit written to //' || true)
  if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
    printf '%-16s %s, corpus %s files\n' "$name" "$done_line" "$(ls "$corpus" | wc -l)"
  else
    failed=1
    runs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 || true)
    printf '%-16s FAILED after %s runs (exit %s); crash file: %s; log: %s\n' \
      "$name" "${runs:-?}" "$status" "${crash:-none}" "$log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|    #[0-9]+ |.*runtime error)' "$log" | head -n 30 || true
  fi
done
exit "$failed"
