#!/usr/bin/env bash
# DR-GAN end to end on one GPU within a time budget (an experiment, not a CI test): phantom sets
# (train, and a separate test set) -> grader on the GPU (its features give the grading space) ->
# lesion model -> DR-GAN at R = SIZE (paper widths unless NGF/NDF say otherwise; the CPU
# options halfScaleFusion / resize upsampling / patch target on) sized by a short throughput
# probe to fill GAN_MINUTES -> PER_GRADE synthetic images per grade with sampled lesions ->
# controllability (a second, longer-trained grader classifies them: accuracy against the target
# grade) and SWD (held-out real test images vs synthetic).
# Needs a CUDA build of the addon (DRGAN_TORCH_DIR=... node native/build.mjs). Settings via the
# environment: WORK, DEVICE, SIZE, N, NTEST, JOBS, GAN_MINUTES, STAGE2_COST, NGF, NDF, BATCH, LR, PER_GRADE,
# GRADER_EPOCHS, EVAL_GRADER_EPOCHS, CLASS_POOLING, CLASS_INPUT (the D class-head options the demo uses; docs/gan.md),
# LAMBDA_REC, REC_LESION_WEIGHT (the demo's lesion-weighted L1 to the photo; LAMBDA_REC=0 turns it off),
# CACHE_MB (decoded-sample cache of each trainer), GAN_END (a wall-clock deadline, seconds since the epoch, for
# DR-GAN's training: the GAN then gets min(GAN_MINUTES, what is left) after the probe, so a slow earlier phase
# shortens the GAN instead of the whole run missing its slot).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/drgan-gpu-phantom}
DEVICE=${DEVICE:-cuda}
SIZE=${SIZE:-256}
N=${N:-2000}
NTEST=${NTEST:-1000}
JOBS=${JOBS:-$(nproc)}
GAN_MINUTES=${GAN_MINUTES:-4}
GAN_END=${GAN_END:-}
CACHE_MB=${CACHE_MB:-1024}
# Time per image of stage 2 (G_m + G_l at R) over stage 1 (G_m at R/2): about 3 on the CPU (docs/gan.md); on a
# GPU at small R both stages are bound by kernel launches and the ratio is nearer 1.
STAGE2_COST=${STAGE2_COST:-3}
NGF=${NGF:-64}
NDF=${NDF:-64}
BATCH=${BATCH:-8}
LR=${LR:-0.0002}
PER_GRADE=${PER_GRADE:-100}
GRADER_SIZE=${GRADER_SIZE:-128}
GRADER_EPOCHS=${GRADER_EPOCHS:-8}
EVAL_GRADER_EPOCHS=${EVAL_GRADER_EPOCHS:-20}
CLASS_POOLING=${CLASS_POOLING:-preNorm}
CLASS_INPUT=${CLASS_INPUT:-imageOnly}
LAMBDA_REC=${LAMBDA_REC:-10}
REC_LESION_WEIGHT=${REC_LESION_WEIGHT:-20}
# Flattened grade frequencies (as the demo): EyePACS's 2 % of grades 3 and 4 would leave a GAN few examples.
GRADES=${GRADES:-30,15,25,15,15}
export DRGAN_NUM_THREADS=${THREADS:-4}
drgan() { node "$ROOT/bin/drgan.js" "$@"; }
stamp() { echo "[$(date +%T)] $*"; }
mkdir -p "$WORK"

stamp "phantom sets: $N train + $NTEST test at $SIZE px, $JOBS processes"
drgan phantom --out "$WORK/real" --n "$N" --size "$SIZE" --seed 7 --grades "$GRADES" --jobs "$JOBS" --quiet
drgan phantom --out "$WORK/test" --n "$NTEST" --size "$SIZE" --seed 8 --grades "$GRADES" --jobs "$JOBS" --quiet

stamp "grader for the grading space ($GRADER_EPOCHS epochs at $GRADER_SIZE px) and, in the background, the evaluation grader ($EVAL_GRADER_EPOCHS epochs at $SIZE px)"
drgan train grader --data "$WORK/real" --out "$WORK/space-grader" --backbone resnet18 --size "$GRADER_SIZE" \
  --epochs "$GRADER_EPOCHS" --batch 64 --lr 1e-3 --no-augment --device "$DEVICE" --cache-mb "$CACHE_MB" > "$WORK/space-grader.log" 2>&1
drgan train grader --data "$WORK/real" --out "$WORK/eval-grader" --backbone resnet18 --size "$SIZE" \
  --epochs "$EVAL_GRADER_EPOCHS" --batch 64 --lr 1e-3 --no-augment --device "$DEVICE" --cache-mb "$CACHE_MB" > "$WORK/eval-grader.log" 2>&1 &
EVAL_GRADER_PID=$!
drgan latent --grader "$WORK/space-grader/best.safetensors" --data "$WORK/real" --out "$WORK/space.safetensors" \
  --plot "$WORK/space-pca.png" --method pca --device "$DEVICE" > "$WORK/latent.log" 2>&1
drgan fit-lesions --data "$WORK/real" --out "$WORK/lesions.json" > "$WORK/fit-lesions.log" 2>&1

gan_json() { # $1 stage-1 epochs, $2 stage-2 epochs
  local pooling=""
  [ -n "$CLASS_POOLING" ] && pooling=", \"classPooling\": \"$CLASS_POOLING\""
  [ -n "$CLASS_INPUT" ] && pooling="$pooling, \"classInput\": \"$CLASS_INPUT\""
  cat <<JSON
{"preset": "paper", "resolution": $SIZE,
 "generator": {"ngf": $NGF, "gradingVectorDim": 512, "mappingWidth": 256, "halfScaleFusion": true, "upsampling": "resize"},
 "discriminator": {"ndf": $NDF$pooling},
 "loss": {"adversarialTarget": "patch", "lambdaReconstruction": $LAMBDA_REC, "reconstructionLesionWeight": $REC_LESION_WEIGHT},
 "train": {"batchSize": $BATCH, "lr": $LR, "stage1Epochs": $1, "stage2Epochs": $2}}
JSON
}
# Throughput probe: 12 stage-1 steps and 12 stage-2 steps, then epochs that split GAN_MINUTES evenly.
gan_json 1 1 > "$WORK/probe.json"
stamp "GAN throughput probe"
drgan train gan --data "$WORK/real" --out "$WORK/probe1" --config "$WORK/probe.json" --grading-space "$WORK/space.safetensors" \
  --no-perceptual --device "$DEVICE" --max-steps 12 --sample-every 0 --checkpoint-every 0 > "$WORK/probe1.log" 2>&1
if [ -n "$GAN_END" ]; then
  GAN_MINUTES=$(node -e 'console.log(Math.max(0.2, Math.min(Number(process.argv[1]), (Number(process.argv[2]) - Date.now() / 1000) / 60)).toFixed(2))' "$GAN_MINUTES" "$GAN_END")
  MAX_MINUTES=$GAN_MINUTES
else
  MAX_MINUTES=$(node -e "console.log($GAN_MINUTES * 1.25)")
fi
read -r E1 E2 <<<"$(node -e '
const fs = require("fs");
const rate = (f) => { const l = fs.readFileSync(f, "utf8").trim().split("\n").map(JSON.parse).slice(4);
  return l.reduce((a, r) => a + r.imagesPerSec, 0) / l.length; };
const r1 = rate(process.argv[1]);
const perEpoch = Number(process.argv[2]);
const secs = Number(process.argv[3]) * 60;
// Stage 2 works at R, stage 1 at R/2: STAGE2_COST times the time per image.
const e1 = Math.max(1, Math.floor(secs / 2 * r1 / perEpoch)), e2 = Math.max(1, Math.floor(secs / 2 * r1 / Number(process.argv[4]) / perEpoch));
console.log(e1, e2);
' "$WORK/probe1/losses.jsonl" "$(grep -c '"split":"train"' "$WORK/real/manifest.jsonl")" "$GAN_MINUTES" "$STAGE2_COST")"
stamp "GAN: stage 1 $E1 epochs, stage 2 $E2 epochs, at most $MAX_MINUTES minutes"
gan_json "$E1" "$E2" > "$WORK/gan.json"
drgan train gan --data "$WORK/real" --out "$WORK/gan" --config "$WORK/gan.json" --grading-space "$WORK/space.safetensors" \
  --no-perceptual --device "$DEVICE" --sample-every 500 --checkpoint-every 0 --cache-mb "$CACHE_MB" \
  --max-minutes "$MAX_MINUTES" > "$WORK/gan.log" 2>&1

# A self-contained float16 copy of the generator (grading space embedded) to take away and diagnose elsewhere.
drgan export --model "$WORK/gan/latest.safetensors" --out "$WORK/generator-f16.safetensors" --half > "$WORK/export.log" 2>&1
stamp "synthesis: $PER_GRADE per grade"
drgan synth --model "$WORK/gan/latest.safetensors" --out "$WORK/synth" --sample-lesions --lesion-model "$WORK/lesions.json" \
  --masks "dataset:$WORK/real" --n "$PER_GRADE" --seed 1 --quiet --device "$DEVICE" > "$WORK/synth.log" 2>&1
# The test photos re-rendered from their own masks at their own grades: with the masks fixed, what the
# generator alone loses (the lesion sampler plays no part).
drgan synth --model "$WORK/gan/latest.safetensors" --out "$WORK/synth-rerender" --masks "dataset:$WORK/test" --data-grades \
  --n "$((PER_GRADE * 5))" --seed 2 --quiet --device "$DEVICE" > "$WORK/synth-rerender.log" 2>&1
stamp "waiting for the evaluation grader"
wait "$EVAL_GRADER_PID"
drgan eval grader --model "$WORK/eval-grader/best.safetensors" --data "$WORK/test" --split all --json --device "$DEVICE" > "$WORK/eval-grader-test.json"
drgan eval grader --model "$WORK/eval-grader/best.safetensors" --data "$WORK/synth" --split all --json --device "$DEVICE" > "$WORK/controllability.json"
drgan eval grader --model "$WORK/eval-grader/best.safetensors" --data "$WORK/synth-rerender" --split all --json --device "$DEVICE" > "$WORK/controllability-rerender.json"
# The CPU-side metrics run side by side.
drgan eval swd --real "$WORK/test" --fake "$WORK/synth" --json > "$WORK/swd.json" &
drgan eval swd --real "$WORK/test" --fake "$WORK/real" --json > "$WORK/swd-floor.json" &
# Lesion visibility: each set on its own masks (the synthetic set carries the sampled ones).
drgan eval lesions --real "$WORK/test" --fake "$WORK/synth" --limit 500 --json > "$WORK/lesion-contrast.json" &
wait
stamp "done"
for f in eval-grader-test controllability controllability-rerender swd swd-floor lesion-contrast; do echo "$f: $(cat "$WORK/$f.json" 2>/dev/null | head -c 400)"; done
