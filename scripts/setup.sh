#!/usr/bin/env bash
# Sets up whatever is missing on a Debian 12 machine: system packages, npm packages, the
# native libtorch addon and the TypeScript build. Safe to run again: each step is skipped
# when already done. DRGAN_TORCH_DIR=/path/to/libtorch builds against another libtorch
# (for example a CUDA build) instead of Debian's libtorch-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
if [ -z "${DRGAN_TORCH_DIR:-}" ] && [ ! -f /usr/include/torch/csrc/api/include/torch/torch.h ]; then need+=(libtorch-dev); fi
command -v g++ >/dev/null || need+=(g++)
# libtorch's matmul/bmm go through the system BLAS; Debian's default is the slow reference
# BLAS. OpenBLAS registers itself as the libblas.so.3 alternative (bmm measured 2.7x faster).
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
command -v make >/dev/null || need+=(make)
# Python PyTorch (same libtorch) is only for regenerating reference values and benchmarks.
if [ "${DRGAN_SETUP_DEV:-0}" = 1 ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then need+=(python3-torch); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund
fi

npm run --silent build
echo "setup: done"
