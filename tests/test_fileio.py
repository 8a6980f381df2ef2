"""The one atomic writer: the caller's umask decides the mode, failures leave nothing behind."""
import os

import pytest

from kansr._fileio import atomic_write, atomic_write_json, atomic_write_text


def test_mode_follows_the_umask_and_the_old_file_survives_a_failed_write(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "first\n")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # not mkstemp's private 0o600

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary left over


def test_json_is_strict_and_missing_folders_are_named(tmp_path):
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "r.json", {"r2": float("nan")})
    assert not list(tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_text(tmp_path / "no" / "such" / "dir.txt", "x")
    assert atomic_write_text(tmp_path / "made" / "f.txt", "x", parents=True).read_text() == "x"
