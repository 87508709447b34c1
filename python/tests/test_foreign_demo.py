"""Demos recorded in robosuite (MimicGen's layout and names), written here with h5py,
not with the project's own writer: they import with MimicGen's names, robosuite's frame
(or any rigid transform) and generate."""

import pytest
from mimicgen_layout import MIMICGEN_NAMES, write_mimicgen_file

import dmgen


def successes(config, demo, n=10):
    g = dmgen.Generator(config, demo=demo)
    return sum(g.attempt(i)["success"] for i in range(n))


def test_a_mimicgen_square_file_generates_with_no_name_map(tmp_path):
    data = write_mimicgen_file(tmp_path / "square.hdf5", "square", "Square_D0", MIMICGEN_NAMES["square"])
    cfg = {"task": "square", "variant": "static", "seed": 3, "demo_frame": {"kind": "robosuite"}}
    g = dmgen.Generator(cfg, demo=data)
    assert g.attempt(0)["object_names"] == ["nut", "peg"]
    # The built-in demo itself succeeds on 10 of 10 of these attempts.
    assert successes(cfg, data) >= 9


def test_a_turned_stack_file_lands_with_a_rigid_transform(tmp_path):
    data = write_mimicgen_file(tmp_path / "stack.hdf5", "stack", "Stack_D0", MIMICGEN_NAMES["stack"], yaw=0.5)
    frame = {"kind": "rigid", "base": [-0.56, 0.0], "yaw": 0.5, "table_z": 0.8}
    cfg = {"task": "stack", "variant": "static", "seed": 3, "demo_frame": frame}
    # (The Rust test `a_demo_in_mimicgens_names_and_robosuites_frame_...` checks that the
    # transform puts every pose back where the built-in demo has it.)
    assert successes(cfg, data) >= 9
    # A frame that is not a rigid transform is refused with its field named.
    with pytest.raises(dmgen.DmgenError, match="demo_frame"):
        dmgen.Generator({**cfg, "demo_frame": {"kind": "rigid", "base": [0.0, 0.0], "yaw": 50.0, "table_z": 0.8}}, demo=data)


def test_an_unmappable_object_names_both_lists_and_a_map_fixes_it(tmp_path):
    data = write_mimicgen_file(tmp_path / "square.hdf5", "square", "Square_D0", {"nut": "SquareNut", "peg": "square_peg"})
    cfg = {"task": "square", "variant": "static", "demo_frame": {"kind": "robosuite"}}
    with pytest.raises(dmgen.DmgenError, match=r"'SquareNut'.*SquareNut, square_peg.*nut, peg"):
        dmgen.Generator(cfg, demo=data)
    fixed = {**cfg, "object_map": {"SquareNut": "nut"}}
    assert successes(fixed, data, n=4) >= 3
