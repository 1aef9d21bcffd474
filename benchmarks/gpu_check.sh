#!/usr/bin/env bash
# The GPU check: one command, under 10 minutes on one H100 or H200.
#
#   bash benchmarks/gpu_check.sh [CIFAR10_NPZ]
#
# Runs, on the first CUDA device, in the Python environment of $PYTHON
# (default python3) where sk_dim and its test dependencies are installed:
#   1. the CUDA-only tests (pytest -m cuda);
#   2. the throughput benchmark: images/s of fit and transform against a bare
#      PyTorch loop, and the TFLOP/s the training steps achieve against the
#      GPU's peak;
#   3. the engine's diagnostics (benchmarks/gpu_diagnostics.py): host
#      synchronisations, kernels and copies per step, peak memory per critic
#      and batch size, resident against pinned data, compile's graph breaks,
#      a GPU pickle trained on in a process without CUDA, bfloat16 against
#      float32;
#   4. the CIFAR-10 epoch time and a time-budgeted CIFAR-10 linear probe
#      (benchmarks/linear_probe.py --minutes $MINUTES, default 3).
# CIFAR10_NPZ is an .npz of CIFAR-10's training images (see
# benchmarks/_cifar.py); without it, step 4 reads CIFAR-10 from the data home
# of sk_dim.datasets, and is skipped when it is not there (GPU machines are
# often offline: place cifar-10-python.tar.gz there first).
# Results go to benchmarks/results/ (or $RESULTS) as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
MINUTES=${MINUTES:-3}
data=${1:-}
export PYTHONUNBUFFERED=1

"$PYTHON" - <<'PY'
import torch
assert torch.cuda.is_available(), "gpu_check.sh needs a CUDA device; none is visible"
props = torch.cuda.get_device_properties(0)
print(f"device: {props.name}, {props.total_memory / 2**30:.0f} GiB, "
      f"torch {torch.__version__}, bf16 {torch.cuda.is_bf16_supported()}")
PY

echo "== 1. CUDA tests"
"$PYTHON" -m pytest -q -p no:cacheprovider -m cuda tests

echo "== 2. throughput (fit and transform against a bare loop)"
"$PYTHON" benchmarks/throughput.py --device cuda --images 65536 --batch-sizes 256 1024

echo "== 3. engine diagnostics"
"$PYTHON" benchmarks/gpu_diagnostics.py --device cuda

echo "== 4. CIFAR-10: epoch time and a ${MINUTES}-minute linear probe"
source=()
if [ -n "$data" ]; then
  source=(--data "$data")
elif ! "$PYTHON" -c "from sk_dim.datasets import fetch_cifar10 as f; f(download_if_missing=False)"; then
  source=(skip)
fi
if [ "${source[*]}" != skip ]; then
  "$PYTHON" benchmarks/linear_probe.py --dataset cifar10 "${source[@]}" \
    --minutes "$MINUTES" --layers global fc conv --skip-baselines --tag gpu
else
  echo "skipped: CIFAR-10 is neither given nor in the data home (see above)"
fi
