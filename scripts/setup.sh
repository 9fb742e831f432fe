#!/usr/bin/env bash
# Set up everything nava-director needs, idempotently: the project's venv (.venv) with the
# right torch build (CPU where no GPU is present, CUDA where one is), the package itself,
# a CJK font for the animatic's cards and burned subtitles, espeak-ng for its voices, and
# Resemblyzer for the take checks.
#   scripts/setup.sh          the project
#   scripts/setup.sh --dev    + test dependencies and vLLM's own venv for the slow tests
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
dev=0; [ "${1:-}" = "--dev" ] && dev=1

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
pip() { .venv/bin/python -m pip "$@"; }

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: GPU found: installing torch 2.13.0 (CUDA build)"
    pip install -q "torch==2.13.0"
  else
    echo "setup: no GPU: installing torch 2.13.0 (CPU build)"
    pip install -q "torch==2.13.0+cpu" 2>/dev/null \
      || pip install -q "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

extras=""; [ $dev = 1 ] && extras="[dev]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing nava-director$extras"
  pip install -q -e ".$extras"
  touch "$stamp"
fi

# Resemblyzer (the voice check's speaker encoder without NAVA weights): --no-deps, since its
# pinned dependencies would replace torch and pull webrtcvad, which needs a compiler; what it
# needs (librosa, webrtcvad-wheels, setuptools<81 for pkg_resources) is in pyproject.toml
if ! .venv/bin/python -c "import resemblyzer" 2>/dev/null; then
  echo "setup: installing resemblyzer (--no-deps)"
  pip install -q --no-deps "resemblyzer==0.1.4"
fi

# espeak-ng: the animatic speaks its lines with it (Debian's espeak-ng)
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing espeak-ng"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng) >/dev/null \
      || echo "setup: could not install espeak-ng; install it (apt-get install espeak-ng) for the animatic's voices"
  else
    echo "setup: espeak-ng not found; install it (e.g. apt-get install espeak-ng) for the animatic's voices"
  fi
fi

# a CJK-capable font (the animatic draws Chinese on its cards); Debian's fonts-noto-cjk
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing fonts-noto-cjk"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk) >/dev/null \
      || echo "setup: could not install fonts-noto-cjk; install a CJK font (fc-list :lang=zh) for the animatic"
  else
    echo "setup: no CJK font found; install one (e.g. apt-get install fonts-noto-cjk) for the animatic"
  fi
fi

# the review page's browser test drives Debian's headless Chromium through its chromedriver
if [ $dev = 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium and chromium-driver (the review page's browser test)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null \
      || echo "setup: could not install chromium; the browser test needs /usr/bin/chromium and /usr/bin/chromedriver"
  else
    echo "setup: install chromium and chromium-driver (e.g. apt-get install chromium chromium-driver) for the browser test"
  fi
fi

if [ $dev = 1 ] && [ -x scripts/setup_vllm.sh ]; then
  scripts/setup_vllm.sh
fi
