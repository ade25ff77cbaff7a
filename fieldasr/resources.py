"""The data files that ship inside fieldasr: G2P specs and recipes, found with importlib.resources.

In the repository they are the top-level `g2p/` and `recipes/` folders; setup.py maps them onto the
packages `fieldasr.g2p.specs` and `fieldasr.recipes`, so a wheel carries them and an editable install
finds them in place. Nothing here knows where the source checkout is.
"""
from __future__ import annotations

import importlib.resources
from pathlib import Path

from fieldasr.errors import FieldasrError

SPEC_PACKAGE = "fieldasr.g2p.specs"
RECIPE_PACKAGE = "fieldasr.recipes"


class PackageDataError(FieldasrError):
    """fieldasr's own data files (G2P specs, recipes) are not installed, or a recipe name is unknown."""


def package_folder(package: str) -> Path:
    """The folder of a data package, as a plain path (other code copies and reads the files by path)."""
    try:
        folder = importlib.resources.files(package)
    except ModuleNotFoundError as error:
        # An editable install made before g2p/ and recipes/ were mapped into the package does not know them.
        raise PackageDataError(f"{package} is not installed with this fieldasr; reinstall it "
                               "(`pip install -e .` in the checkout, or `make setup`).") from error
    if not isinstance(folder, Path):  # a zipped install: every user of these files needs real paths
        raise PackageDataError(f"{package} is inside an archive ({folder}); install fieldasr unzipped (pip does).")
    return folder


def spec_folder() -> Path:
    """The G2P specs (the repository's g2p/ folder): one YAML file per language."""
    return package_folder(SPEC_PACKAGE)


def recipe_folder() -> Path:
    """The recipes (the repository's recipes/ folder): RECIPE/hparams/*.yaml and RECIPE/train.py."""
    return package_folder(RECIPE_PACKAGE)


def available_recipes() -> list[str]:
    """Recipe names as `find_recipe` takes them: RECIPE/FILE for recipes/RECIPE/hparams/FILE.yaml."""
    return sorted(f"{path.parent.parent.name}/{path.stem}" for path in recipe_folder().glob("*/hparams/*.yaml"))


def find_recipe(path_or_name: str | Path) -> Path:
    """A recipe's hparams YAML: an existing file as it is, else a name such as "ctc/demo_en"."""
    candidate = Path(path_or_name)
    if candidate.is_file():
        return candidate
    recipe, _, file = str(path_or_name).removesuffix(".yaml").partition("/")
    named = recipe_folder() / recipe / "hparams" / f"{file}.yaml"
    if not file or not named.is_file():
        raise PackageDataError(f"{str(path_or_name)!r} is neither a recipe file nor a recipe name. "
                               f"Recipe names: {', '.join(available_recipes())}.")
    return named
