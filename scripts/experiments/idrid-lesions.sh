#!/usr/bin/env bash
# IDRiD lesion and optic disc segmentation (an experiment, not a CI test): prepare the
# segmentation subset (54 photos; 20 with aligned MA/HE/EX/SE/OD masks, see its SOURCE.txt),
# train one multi-label U-Net on the annotated photos of the manifest's train split (17 of
# the 20 under the hash split) and report PR-AUC per lesion (IDRiD's metric) on the 3
# annotated photos of the val split (no annotated photo falls in test). The val numbers
# printed during training are for watching only; the report uses the last epoch, so the
# held-out photos choose nothing. Photos without masks are skipped by the trainer.
# Re-running resumes.
# Settings via the environment: DATA, WORK, SIZE, EPOCHS, WIDTH, DEPTH, THREADS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data/IDRiD/segmentation_subset}
WORK=${WORK:-/tmp/drgan-idrid}
SIZE=${SIZE:-512}
EPOCHS=${EPOCHS:-46}
WIDTH=${WIDTH:-8}
DEPTH=${DEPTH:-4}
THREADS=${THREADS:-1}
drgan() { node "$ROOT/bin/drgan.js" "$@"; }

[ -d "$DATA/images" ] || { echo "IDRiD segmentation subset not found at $DATA (set DATA=...)" >&2; exit 2; }
# max-resampling keeps 1-3 px microaneurysms when shrinking ~3400 px photos to $SIZE.
drgan prepare --format idrid --in "$DATA" --out "$WORK/prepared" --size "$SIZE" --mask-resample max --on-error skip
resume=()
[ -f "$WORK/model/latest.safetensors" ] && resume=(--resume)
time drgan train seg --data "$WORK/prepared" --targets optic_disc,MA,HE,EX,SE --train-split train --val-split val \
  --out "$WORK/model" --epochs "$EPOCHS" --patch 128 --batch 2 --patches-per-image 4 --positive-fraction 0.7 \
  --width "$WIDTH" --depth "$DEPTH" --val-every 5 --lr 0.002 --threads "$THREADS" "${resume[@]}"
drgan eval seg --model "$WORK/model/latest.safetensors" --data "$WORK/prepared" --split val,test
