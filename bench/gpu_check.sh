#!/usr/bin/env bash
# GPU readiness in under 8 minutes on one GPU: the CUDA tests, then the CUDA benchmark.
#   bash bench/gpu_check.sh            # from the repository root; PYTHON=... to choose the interpreter
# Budget: tests ~2 min (tiny backbones), benchmark ~4 min (ViT-L-14-336 at 518, random weights,
# 3 methods, 16 images each, FLOPs counted once, largest batch found by doubling). Each step has its own
# timeout so that the whole stays under 8 minutes even when one step hangs.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1
export ZSAD_CACHE_DIR="${ZSAD_CACHE_DIR:-$(mktemp -d)}"
status=0

"$PY" - <<'PYEOF' || { echo "no CUDA device: nothing to check"; exit 2; }
import torch, sys
sys.exit(0 if torch.cuda.is_available() else 1)
PYEOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true

echo "== GPU tests"
timeout 120 "$PY" -m pytest -q -p no:cacheprovider tests/detection/test_gpu.py -rs || status=1
timeout 45 "$PY" -m pytest -q -p no:cacheprovider tests/detection/test_engine.py -k "equal or precision" || status=1

echo "== CUDA benchmark"
timeout 280 "$PY" bench/inference.py --device cuda --cuda-report --model-name ViT-L-14-336 --pretrained random \
    --image-size 518 --images 16 --methods baseline crane aaclip || status=1
exit $status
