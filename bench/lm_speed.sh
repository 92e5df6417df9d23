#!/usr/bin/env bash
# Training speed of the character language model, recur against PyTorch (scripts/torch_lm.py)
# on the same data, architecture, batch, optimizer and thread count, run one after the other.
# Prints each framework's training tokens/s (first 3 steps excluded by both) and the ratio.
#   bench/lm_speed.sh [tang|moby-dick] [STEPS] [THREADS]
# Needs: scripts/setup --torch, scripts/get-data <data>, build/release/recur.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-tang}
steps=${2:-30}
threads=${3:-1}
recur=./build/release/recur
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
arch=(--embed 128 --hidden 512 --layers 2 --dropout 0.2 --bptt 64 --batch 32 --lr 2e-3
      --optimizer adam --clip 1.0 --steps "$steps" --threads "$threads")
"$recur" data lm --data "$data" --out "$work/ids" > /dev/null
"$recur" train lm --data "$data" --out "$work/m.safetensors" "${arch[@]}" --no-eval \
  --log "$work/recur.jsonl" --log-every 1000 2> /dev/null > /dev/null
recur_tps=$(tail -1 "$work/recur.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')
torch_tps=$(/usr/bin/python3 scripts/torch_lm.py --data "$work/ids" "${arch[@]}" --no-eval \
  --log-every 1000 2> /dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')
/usr/bin/python3 - "$data" "$steps" "$threads" "$recur_tps" "$torch_tps" <<'PY'
import sys
data, steps, threads, r, t = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
print(f"{data}: 2-layer LSTM 512, batch 32 x bptt 64, {steps} steps, {threads} thread(s)")
print(f"recur   {r:9.0f} tokens/s")
print(f"pytorch {t:9.0f} tokens/s")
print(f"ratio recur / pytorch: {r / t:.2f}")
PY
