#!/usr/bin/env bash
# Builds the addon against a CUDA libtorch and runs what needs a GPU: the engine tests (ops
# against stored PyTorch values, autograd, nn, io) on that libtorch, the device tests (tensors,
# --device, DR-GAN training on cuda:0 vs the CPU, GPU checkpoints and resume) and, with
# BENCH=1, the DR-GAN step side by side with PyTorch on the same GPU. Not part of `npm test`:
# CI has no GPU.
#   DRGAN_TORCH_DIR=/path/to/libtorch bash scripts/cuda-check.sh
# Without DRGAN_TORCH_DIR the libtorch inside Python's torch package is used (python3 -c 'import torch').
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${DRGAN_PYTHON:-python3}
if [ -z "${DRGAN_TORCH_DIR:-}" ]; then
  DRGAN_TORCH_DIR=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))') || { echo "cuda-check: set DRGAN_TORCH_DIR (no torch in $PY)"; exit 2; }
  # The pip wheels say which std::string ABI they were built with.
  export DRGAN_TORCH_CXX11_ABI=${DRGAN_TORCH_CXX11_ABI:-$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')}
fi
export DRGAN_TORCH_DIR
echo "cuda-check: libtorch in $DRGAN_TORCH_DIR (C++11 ABI ${DRGAN_TORCH_CXX11_ABI:-1})"
node native/build.mjs || exit 1
[ -d node_modules/typescript ] && npx tsc -p tsconfig.json
node -e 'import("./dist/src/torch/index.js").then((t) => { const n = t.cuda.deviceCount(); console.log(`cuda-check: ${n} CUDA device(s) visible`); if (!n) process.exit(3); })' || exit 3
status=0
node --expose-gc --test --test-reporter=spec dist/test/torch/tensor-device.test.js dist/test/cli/device-flag.test.js dist/test/train/gan-device.test.js dist/test/train/segmentation-device.test.js || status=1
if [ "${ENGINE_TESTS:-1}" = 1 ]; then
  node --expose-gc --test --test-reporter=dot $(find dist/test/torch -name '*.test.js' | sort) || status=1
fi
if [ "${BENCH:-0}" = 1 ]; then
  DRGAN_PYTHON="$PY" node --single-threaded-gc dist/bench/gan-python.js --device cuda ${BENCH_ARGS:---preset paper --resolution 256 --batch 8 --stages 1,2 --threads 4 --rounds 3 --steps 5} || status=1
fi
exit $status
