#!/usr/bin/env bash
# The policy comparison behind docs/policy.md's table: one task, policies trained on
#   (a) the 1 source demo, (b) 10 source demos (scripted, seeds 0-9),
#   (c) N D-MG episodes and (d) N MimicGen episodes generated from the one built-in demo
#       (variant dmg: in half the episodes the picked object slides during its grasp),
# each with every training seed, evaluated on E episodes of `static` and of `dmg`.
# Usage: scripts/policy-table.sh TASK [N=200] [E=50] [SEEDS="0 1"] [-- extra dmgen train args]
# Prints one JSON line per (arm, seed, variant) and a markdown table (pooled over seeds,
# Wilson 95% intervals). DMGEN_BIN picks the binary (default: cargo run --release).
set -euo pipefail
task=${1:?task}; n=${2:-200}; e=${3:-50}; seeds=${4:-"0 1"}
shift $(( $# < 4 ? $# : 4 )) || true
[ "${1:-}" = "--" ] && shift
train_args=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${DMGEN_BIN:-}" ]; then run=("$DMGEN_BIN"); else
  cargo build --release --bin dmgen --manifest-path "$root/Cargo.toml" >&2
  run=("$root/target/release/dmgen"); fi
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"${run[@]}" demo --task "$task" --count 1 --out "$dir/demo1.hdf5" >/dev/null
"${run[@]}" demo --task "$task" --count 10 --out "$dir/demo10.hdf5" >/dev/null
"${run[@]}" generate --task "$task" --variant dmg --method dmg --episodes "$n" --max-attempts $((10 * n)) --quiet --out "$dir/dmg.hdf5" >/dev/null
"${run[@]}" generate --task "$task" --variant dmg --method mimicgen --episodes "$n" --max-attempts $((10 * n)) --quiet --out "$dir/mimicgen.hdf5" >/dev/null
out="$dir/results.jsonl"
for arm in demo1 demo10 dmg mimicgen; do
  for s in $seeds; do
    "${run[@]}" train --data "$dir/$arm.hdf5" --seed "$s" --quiet --out "$dir/p.safetensors" "${train_args[@]}" >/dev/null
    for v in static dmg; do
      line=$("${run[@]}" eval --policy "$dir/p.safetensors" --task "$task" --variant "$v" --episodes "$e" --quiet | tail -1)
      echo "{\"arm\":\"$arm\",\"train_seed\":$s,\"result\":$line}" | tee -a "$out"
    done
  done
done
python3 - "$out" "$task" "$n" <<'PY'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
task, n = sys.argv[2], sys.argv[3]
def wilson(k, m, z=1.959963984540054):
    if m == 0: return (0, 1)
    p = k / m; d = 1 + z*z/m; c = (p + z*z/(2*m)) / d
    h = z * math.sqrt(p*(1-p)/m + z*z/(4*m*m)) / d
    return max(0, c-h), min(1, c+h)
names = {"demo1": "1 source demo", "demo10": "10 source demos", "dmg": f"{n} D-MG episodes", "mimicgen": f"{n} MimicGen episodes"}
print(f"\n| {task}: training data | static | dmg | per seed (static / dmg) |\n| --- | --- | --- | --- |")
for arm in ["demo1", "demo10", "dmg", "mimicgen"]:
    cells, per = [], {}
    for v in ["static", "dmg"]:
        r = [x for x in rows if x["arm"] == arm and x["result"]["variant"] == v]
        k = sum(x["result"]["successes"] for x in r); m = sum(x["result"]["episodes"] for x in r)
        lo, hi = wilson(k, m)
        cells.append(f"{100*k/m:.0f}% [{100*lo:.0f}, {100*hi:.0f}] ({k}/{m})")
        for x in r: per.setdefault(x["train_seed"], []).append(f"{x['result']['successes']}")
    seeds = ", ".join(" / ".join(v) for _, v in sorted(per.items()))
    print(f"| {names[arm]} | {cells[0]} | {cells[1]} | {seeds} |")
PY
