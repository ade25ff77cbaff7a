"""atomic_directory: plain-mkdir permissions, the old folder kept whole when writing fails, no leftovers."""
from __future__ import annotations

import os
import stat

import pytest

from fieldasr.files import OutputExistsError, atomic_directory


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_folder_and_files_get_the_permissions_mkdir_and_open_would_give(tmp_path, umask, mask):
    umask(mask)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "file.txt").write_text("x")
    with atomic_directory(tmp_path / "bundle") as staging:
        (staging / "file.txt").write_text("x")
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "bundle") == mode(tmp_path / "plain") == 0o777 & ~mask
    assert mode(tmp_path / "bundle" / "file.txt") == mode(tmp_path / "plain" / "file.txt") == 0o666 & ~mask


def test_failure_mid_write_keeps_the_old_folder_and_leaves_nothing_behind(tmp_path):
    with atomic_directory(tmp_path / "bundle") as staging:
        (staging / "model.bin").write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_directory(tmp_path / "bundle", overwrite=True) as staging:
            (staging / "model.bin").write_text("half")
            raise RuntimeError("disk full")
    assert (tmp_path / "bundle" / "model.bin").read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle"]


def test_overwrite_replaces_the_whole_folder_and_refuses_without_it(tmp_path):
    target = tmp_path / "bundle"
    with atomic_directory(target) as staging:
        (staging / "stale.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="already exists"):
        with atomic_directory(target):
            pytest.fail("the body must not run")
    with atomic_directory(target, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(path.name for path in target.iterdir()) == ["new.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle"]
