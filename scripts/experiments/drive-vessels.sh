#!/usr/bin/env bash
# DRIVE vessel segmentation (an experiment, not a CI test): prepare the 20 training and 20
# test photos, train a U-Net on patches of the training photos (2 of them, by the manifest's
# hash split, held out for choosing the best epoch), and report ROC AUC, accuracy and F1
# inside the FOV on the 20 test photos. Re-running resumes the training.
# Settings via the environment: DATA, WORK, SIZE, EPOCHS, WIDTH, DEPTH, THREADS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data/DRIVE}
WORK=${WORK:-/tmp/drgan-drive}
SIZE=${SIZE:-512}
EPOCHS=${EPOCHS:-40}
WIDTH=${WIDTH:-8}
DEPTH=${DEPTH:-3}
THREADS=${THREADS:-1}
drgan() { node "$ROOT/bin/drgan.js" "$@"; }

[ -d "$DATA/training/images" ] || { echo "DRIVE not found at $DATA (set DATA=...)" >&2; exit 2; }
drgan prepare --format drive --in "$DATA/training" --out "$WORK/train" --size "$SIZE"
drgan prepare --format drive --in "$DATA/test" --out "$WORK/test" --size "$SIZE"
resume=()
[ -f "$WORK/model/latest.safetensors" ] && resume=(--resume)
time drgan train seg --data "$WORK/train" --targets vessel --train-split train,test --val-split val \
  --out "$WORK/model" --epochs "$EPOCHS" --patch 64 --batch 2 --patches-per-image 8 \
  --width "$WIDTH" --depth "$DEPTH" --positive-fraction 0.3 --val-every 10 --lr 0.003 --threads "$THREADS" "${resume[@]}"
drgan eval seg --model "$WORK/model/best.safetensors" --data "$WORK/test"
drgan eval seg --model "$WORK/model/best.safetensors" --data "$WORK/test" --json > "$WORK/test-metrics.json"
echo "metrics also in $WORK/test-metrics.json"
