"""The one packaging rule pyproject.toml cannot state: which packages the wheel holds.

The G2P specs (`g2p/`) and the recipes (`recipes/`) stay at the top of the repository, where a reader
expects them, and ship inside the wheel as the packages `fieldasr.g2p.specs` and `fieldasr.recipes`
(a package-dir mapping: one copy of each file, found with importlib.resources by `fieldasr.resources`).
A mapped package has to be listed by name, and a hand-kept list of every fieldasr sub-package would
go stale, so the list is discovered here. Everything else is in pyproject.toml.
"""
from setuptools import find_namespace_packages, find_packages, setup

DATA_PACKAGES = {"fieldasr.g2p.specs": "g2p", "fieldasr.recipes": "recipes"}
# Each recipe's folder is a sub-package of fieldasr.recipes (setuptools warns about unlisted ones).
RECIPE_FOLDERS = [f"fieldasr.recipes.{name}" for name in find_namespace_packages(where="recipes", exclude=["*__pycache__*"])]

setup(
    packages=find_packages(include=["fieldasr", "fieldasr.*", "fieldasr_examples", "fieldasr_examples.*"]) + list(DATA_PACKAGES) + RECIPE_FOLDERS,
    package_dir=DATA_PACKAGES,
    package_data={
        "fieldasr.g2p.specs": ["*.yaml", "*.rules", "*.tsv", "*.txt", "*.md"],
        "fieldasr.recipes": ["*.md", "**/*.yaml", "**/*.py"],
    },
)
