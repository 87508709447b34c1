import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dmgen_bin() -> str:
    """The CLI to compare against (DMGEN_BIN, else target/debug/dmgen, else on PATH)."""
    for c in (os.environ.get("DMGEN_BIN"), str(ROOT / "target" / "debug" / "dmgen"), shutil.which("dmgen")):
        if c and Path(c).exists():
            return c
    pytest.fail("no dmgen binary: build it (cargo build) or set DMGEN_BIN")


@pytest.fixture(scope="session")
def lift_dataset(tmp_path_factory, dmgen_bin) -> Path:
    """A small static lift dataset written by the CLI."""
    d = tmp_path_factory.mktemp("lift")
    out = d / "lift.hdf5"
    subprocess.run(
        [dmgen_bin, "generate", "--task", "lift", "--episodes", "4", "--threads", "2", "--quiet", "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out
