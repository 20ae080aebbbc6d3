#!/usr/bin/env bash
# IDRiD lesion and optic disc segmentation (an experiment, not a CI test): prepare the
# annotated photos of the segmentation subset (20 of its 54 photos have aligned MA/HE/EX/SE/OD
# masks, see its SOURCE.txt), train one multi-label U-Net on the 17 of them in the manifest's
# train split and report PR-AUC per lesion (IDRiD's metric) on the 3 annotated photos of the
# val split (none falls in test). The val numbers printed during training are for watching
# only; the report is of the last finished epoch (latest), so the held-out photos choose
# nothing (best, chosen on them, is printed after it for reference).
#
# The recipe (docs/segmentation.md): photos at 1024 px (an MA is a 3-8 px blob there, 1-3 px
# at 512), masks max-resampled so MAs survive the shrink, 256 px patches half of them centred
# on a pixel of a target drawn uniformly among the lesions the photo has, Dice + BCE with
# positive pixels weighted, several optimiser steps per decoded batch (decoding and
# augmenting a 1024 px photo costs far more than a GPU step on its patches).
#
# Training runs until EPOCHS or BUDGET seconds, whichever comes first: a checkpoint is
# written at the end of every epoch, so a run stopped by the budget is evaluated from its
# last finished epoch. Re-running resumes (delete WORK/model to start over).
#
# Settings via the environment:
#   SRC      the IDRiD segmentation subset as published (default ../shared/data/IDRiD/segmentation_subset)
#   DATA     a prepared set; made from SRC (annotated photos only, images stored as JPEG) when it
#            has no manifest.jsonl. Default WORK/prepared.
#   WORK     run folder (default /tmp/drgan-idrid)
#   SIZE (1024) QUALITY (JPEG quality of the prepared photos, 95)
#   DEVICE (cpu | cuda | cuda:N) EPOCHS (1000) BUDGET (seconds of training, 300)
#   PATCH (256) BATCH (images per batch, 6) PPI (patches per image per step, 6)
#   SPB (optimiser steps per batch, 16) POS_FRAC (0.5) POS_WEIGHT (5) LR (0.001)
#   WIDTH (32) DEPTH (4) VAL_EVERY (5) THREADS (libtorch threads, default: libtorch's choice)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${SRC:-$ROOT/../shared/data/IDRiD/segmentation_subset}
WORK=${WORK:-/tmp/drgan-idrid}
DATA=${DATA:-$WORK/prepared}
SIZE=${SIZE:-1024}
QUALITY=${QUALITY:-95}
DEVICE=${DEVICE:-cpu}
EPOCHS=${EPOCHS:-1000}
BUDGET=${BUDGET:-300}
PATCH=${PATCH:-256}
BATCH=${BATCH:-6}
PPI=${PPI:-6}
SPB=${SPB:-16}
POS_FRAC=${POS_FRAC:-0.5}
POS_WEIGHT=${POS_WEIGHT:-5}
LR=${LR:-0.001}
WIDTH=${WIDTH:-32}
DEPTH=${DEPTH:-4}
VAL_EVERY=${VAL_EVERY:-5}
THREADS=${THREADS:-}
drgan() { node "$ROOT/bin/drgan.js" "$@"; }

if [ ! -f "$DATA/manifest.jsonl" ]; then
  [ -d "$SRC/images" ] || { echo "IDRiD segmentation subset not found at $SRC (set SRC=..., or DATA= a prepared set)" >&2; exit 2; }
  # Only photos with masks: the others teach nothing here and would triple the set's size.
  links="$WORK/annotated-src"
  rm -rf "$links"
  mkdir -p "$links/images"
  ln -s "$(cd "$SRC/masks" && pwd)" "$links/masks"
  for f in "$SRC"/images/IDRiD_*.jpg; do
    id=$(basename "$f" .jpg)
    if compgen -G "$SRC/masks/*/${id}_*.png" > /dev/null; then ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$links/images/"; fi
  done
  # max-resampling keeps 1-3 px microaneurysms when shrinking ~3400 px photos to $SIZE.
  drgan prepare --format idrid --in "$links" --out "$DATA" --size "$SIZE" --mask-resample max
  # The prepared photos are PNG (~1.5 MB each at 1024 px); JPEG at $QUALITY makes the set
  # small enough to copy to a GPU machine (the sources are JPEGs already). Masks and FOV stay PNG.
  (cd "$ROOT" && node --input-type=module -e '
    import sharp from "sharp";
    import { readFileSync, writeFileSync, rmSync } from "node:fs";
    import { join } from "node:path";
    const [dir, quality] = [process.argv[1], Number(process.argv[2])];
    const path = join(dir, "manifest.jsonl");
    const entries = readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    for (const e of entries) {
      if (!e.image.endsWith(".png")) continue;
      const jpg = e.image.replace(/\.png$/, ".jpg");
      await sharp(join(dir, e.image)).jpeg({ quality, chromaSubsampling: "4:4:4" }).toFile(join(dir, jpg));
      rmSync(join(dir, e.image));
      e.image = jpg;
    }
    writeFileSync(path, entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
  ' "$DATA" "$QUALITY")
  du -sh "$DATA"
fi

resume=()
[ -f "$WORK/model/latest.safetensors" ] && resume=(--resume)
threads=()
[ -n "$THREADS" ] && threads=(--threads "$THREADS")
start=$(date +%s)
status=0
timeout --signal=TERM "$BUDGET" node "$ROOT/bin/drgan.js" train seg --data "$DATA" --targets optic_disc,MA,HE,EX,SE \
  --train-split train --val-split val --out "$WORK/model" --epochs "$EPOCHS" \
  --patch "$PATCH" --batch "$BATCH" --patches-per-image "$PPI" --steps-per-batch "$SPB" \
  --positive-fraction "$POS_FRAC" --pos-weight "$POS_WEIGHT" --lr "$LR" \
  --width "$WIDTH" --depth "$DEPTH" --val-every "$VAL_EVERY" --device "$DEVICE" "${threads[@]}" "${resume[@]}" || status=$?
if [ "$status" -eq 124 ]; then echo "training stopped by the ${BUDGET} s budget; evaluating the last finished epoch"
elif [ "$status" -ne 0 ]; then exit "$status"; fi
echo "training: $(( $(date +%s) - start )) s"
[ -f "$WORK/model/latest.safetensors" ] || { echo "no epoch finished within the budget" >&2; exit 1; }
echo "== latest (reported) =="
drgan eval seg --model "$WORK/model/latest.safetensors" --data "$DATA" --split val,test --device "$DEVICE"
echo "== best (chosen on these val photos; reference only) =="
drgan eval seg --model "$WORK/model/best.safetensors" --data "$DATA" --split val,test --device "$DEVICE"
