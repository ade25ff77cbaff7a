"""fieldasr/ is the library only: it never imports the examples, never knows the machine, and finds the
G2P specs and recipes it ships through importlib.resources (fieldasr.resources)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fieldasr.resources import PackageDataError, available_recipes, find_recipe, recipe_folder, spec_folder

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "fieldasr"


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_library_never_imports_the_examples():
    offenders = [f"{path.relative_to(ROOT)}: import {name}" for path in sorted(LIBRARY.rglob("*.py"))
                 for name in imported_modules(path) if name.split(".")[0] == "fieldasr_examples"]
    assert offenders == []


def test_the_library_knows_no_machine_paths():
    machine = re.compile(r"usr/share|npm install")
    offenders = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}" for path in sorted(LIBRARY.rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if machine.search(line)]
    assert offenders == []


def test_specs_and_recipes_are_the_repository_folders_in_a_source_checkout():
    assert (spec_folder() / "sw.yaml").is_file() and (spec_folder() / "mi.rules").is_file()
    assert spec_folder().samefile(ROOT / "g2p") and recipe_folder().samefile(ROOT / "recipes")


def test_recipes_are_found_by_name_or_path(tmp_path):
    assert "ctc/demo_en" in available_recipes() and "demo/transfer" in available_recipes()
    assert find_recipe("ctc/demo_en").samefile(ROOT / "recipes/ctc/hparams/demo_en.yaml")
    own = tmp_path / "mine.yaml"
    own.write_text("base: base.yaml\n")
    assert find_recipe(own) == own
    with pytest.raises(PackageDataError, match="ctc/demo_en"):
        find_recipe("ctc/no_such_file")
