#!/usr/bin/env bash
# Training speed of the Fashion-MNIST row-by-row classifier (RESULTS.md's 90.46 % model:
# 2-layer bidirectional LSTM 128, mean pooling, head 128, dropout 0.2, Adam, batch 64), recur
# against PyTorch (scripts/torch_classify.py), one after the other on the same thread count.
# Prints each one's training tokens (image rows) per second over steps 4..STEPS and the ratio.
#   bench/classify_speed.sh [STEPS] [THREADS]
# Needs: scripts/setup --torch, scripts/get-data fashion-mnist, build/release/recur.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-100}
threads=${2:-1}
recur=./build/release/recur
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$recur" train classify --data fashion-mnist --out "$work/m.safetensors" --cell lstm --hidden 128 \
  --layers 2 --bidirectional --pooling mean --head 128 --dropout 0.2 --epochs 1 --batch 64 \
  --lr 2e-3 --threads "$threads" --log "$work/recur.jsonl" --log-every 100000 \
  --max-minutes "$(/usr/bin/python3 -c "print(max(0.25, $steps * 0.004))")" > /dev/null 2>&1
recur_tps=$(/usr/bin/python3 - "$work/recur.jsonl" "$steps" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"step"' in l and '"train_loss"' in l]
n = min(int(sys.argv[2]), rows[-1]["step"])
t = {r["step"]: r["time_s"] for r in rows}
print((n - 3) * 64 * 28 / (t[n] - t[3]))
PY
)
torch_tps=$(/usr/bin/python3 scripts/torch_classify.py --data data/fashion-mnist --cell lstm \
  --hidden 128 --layers 2 --bidirectional --head 128 --dropout 0.2 --batch 64 --lr 2e-3 \
  --steps "$steps" --threads "$threads" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')
/usr/bin/python3 - "$steps" "$threads" "$recur_tps" "$torch_tps" <<'PY'
import sys
steps, threads, r, t = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
print(f"fashion-mnist: 2-layer bi-LSTM 128 over 28 rows, batch 64, steps 4..{steps}, {threads} thread(s)")
print(f"recur   {r:9.0f} tokens/s")
print(f"pytorch {t:9.0f} tokens/s")
print(f"ratio recur / pytorch: {r / t:.2f}")
PY
