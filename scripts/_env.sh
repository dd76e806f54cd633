# Shared by scripts/quickstart and scripts/test: make or refresh a virtual environment and
# install voiceguard into it. torch is pinned through constraints.txt in every pip call.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

make_venv() {  # make_venv DIR
    local dir="$1"
    if [ ! -x "$dir/bin/python" ]; then
        "$PYTHON" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install --quiet --upgrade pip
}

pip_install() {  # pip_install DIR ARGS...
    local dir="$1"
    shift
    "$dir/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" "$@"
}
