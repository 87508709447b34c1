#!/usr/bin/env bash
# Build the Python package (python/, PyO3 + maturin) into the repository's ignored .venv/
# with one pip command, then run its tests with pytest.
#
#   scripts/python-test.sh [PYTEST ARGS...]
#
# The venv gets maturin, gymnasium, Ray, numpy, h5py, jsonschema and pytest on first use. The
# extension is built with cargo's dev profile (dependencies optimised), so it reuses
# what `cargo test` compiled (the workspace builds the extension there too, which unifies
# the dependencies' features): seconds instead of a release build of every dependency
# (8.5 minutes here). `pip install ./python` without MATURIN_PEP517_ARGS makes the
# release build users get. Set DMGEN_BIN to the CLI the
# tests compare against (default: target/debug/dmgen).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"

if ! "$py" -c 'import maturin, gymnasium, ray, numpy, h5py, jsonschema, pytest' 2>/dev/null; then
    echo "setting up $venv with maturin, gymnasium, ray, numpy, h5py, jsonschema and pytest" >&2
    [ -x "$py" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "maturin>=1.16,<2" "gymnasium>=1.0" "ray>=2.9" numpy h5py jsonschema pytest
fi

# One pip command installs the package (no build isolation: maturin is in the venv, and
# the build backend runs it from PATH).
export PATH="$venv/bin:$PATH"
MATURIN_PEP517_ARGS="--profile dev" "$venv/bin/pip" install --quiet --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall "$root/python"

export DMGEN_BIN="${DMGEN_BIN:-$root/target/debug/dmgen}"
# From the repository root, so `import dmgen` is the installed package, not python/dmgen.
cd "$root"
exec "$py" -m pytest -q -p no:cacheprovider "$@" python/tests
