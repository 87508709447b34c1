#!/usr/bin/env bash
# Check robomimic datasets written by dmgen with h5py (tests/python/check_dataset.py), and
# LeRobot v3 datasets converted from them with pyarrow and pandas (tests/python/check_lerobot.py).
#
#   scripts/check-dataset.sh                 write synthetic samples and generated datasets, check them
#   scripts/check-dataset.sh FILE.hdf5 ...   check the given files
#
# h5py, pyarrow, pandas and Hugging Face datasets (with Pillow, for LeRobot's image features)
# are installed into the repository's ignored .venv/ on first use.
# Set DMGEN_BIN to use an already built dmgen binary instead of `cargo run`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"

if ! "$py" -c 'import h5py, numpy, pyarrow, pandas, datasets, PIL' 2>/dev/null; then
    echo "setting up $venv with h5py, pyarrow, pandas, datasets and pillow" >&2
    [ -x "$py" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check h5py pyarrow pandas datasets pillow
fi

if [ "$#" -eq 0 ]; then
    out_dir="$root/tests/artifacts"
    mkdir -p "$out_dir"
    # Hugging Face datasets' cache (it reads the LeRobot files) stays with the artifacts.
    export HF_DATASETS_CACHE="$out_dir/hf-datasets-cache" HF_DATASETS_DISABLE_PROGRESS_BARS=1
    if [ -n "${DMGEN_BIN:-}" ]; then
        run=("$DMGEN_BIN")
    else
        run=(cargo run --quiet --manifest-path "$root/Cargo.toml" --bin dmgen --)
    fi
    "${run[@]}" export-sample "$out_dir/sample.hdf5" --episodes 12 --steps 40 --threads 2
    "${run[@]}" export-sample "$out_dir/sample_deflate.hdf5" --episodes 3 --steps 25 --deflate 6
    "${run[@]}" generate --task stack --variant dmg --episodes 6 --threads 2 --quiet --out "$out_dir/stack_dmg.hdf5" >/dev/null
    "${run[@]}" generate --task square --method mimicgen --episodes 3 --threads 2 --quiet --out "$out_dir/square_mimicgen.hdf5" >/dev/null
    "${run[@]}" generate --task stack --variant dmg --method mimicgen --episodes 4 --threads 2 --quiet --actions abs \
        --keep-failed "$out_dir/stack_abs_failed.hdf5" --out "$out_dir/stack_abs.hdf5" >/dev/null
    # Camera images (both cameras, depth on one run, next_obs left out on the other).
    "${run[@]}" generate --task lift --episodes 3 --threads 2 --quiet --cameras agentview,robot0_eye_in_hand \
        --camera-depth --out "$out_dir/lift_cameras.hdf5" >/dev/null
    "${run[@]}" generate --task stack --episodes 2 --threads 2 --quiet --cameras robot0_eye_in_hand \
        --camera-size 96x64 --exclude-next-obs --out "$out_dir/stack_wrist.hdf5" >/dev/null
    # LeRobot v3: generated directly, and converted from robomimic files (both conventions).
    rm -rf "$out_dir/stack_dmg_lerobot" "$out_dir/stack_abs_lerobot" "$out_dir/sample_lerobot"
    "${run[@]}" generate --task stack --variant dmg --episodes 6 --threads 2 --quiet --format lerobot \
        --out "$out_dir/stack_dmg_lerobot" >/dev/null
    "${run[@]}" convert "$out_dir/stack_abs.hdf5" --out "$out_dir/stack_abs_lerobot" >/dev/null
    "${run[@]}" convert "$out_dir/sample.hdf5" --out "$out_dir/sample_lerobot" >/dev/null
    # A file with camera images converts with them as LeRobot image features (depth stays in the HDF5).
    rm -rf "$out_dir/lift_cameras_lerobot"
    "${run[@]}" convert "$out_dir/lift_cameras.hdf5" --out "$out_dir/lift_cameras_lerobot" >/dev/null
    "$py" "$root/tests/python/check_lerobot.py" "$out_dir/stack_dmg_lerobot" "$out_dir/stack_dmg.hdf5" \
        "$out_dir/stack_abs_lerobot" "$out_dir/stack_abs.hdf5" "$out_dir/sample_lerobot" "$out_dir/sample.hdf5" \
        "$out_dir/lift_cameras_lerobot" "$out_dir/lift_cameras.hdf5"
    set -- "$out_dir/sample.hdf5" "$out_dir/sample_deflate.hdf5" "$out_dir/stack_dmg.hdf5" "$out_dir/square_mimicgen.hdf5" \
        "$out_dir/stack_abs.hdf5" "$out_dir/stack_abs_failed.hdf5" "$out_dir/lift_cameras.hdf5" "$out_dir/stack_wrist.hdf5"
fi

exec "$py" "$root/tests/python/check_dataset.py" "$@"
