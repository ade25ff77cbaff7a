"""`fieldasr elan-recognizer`: a model bundle as a recognizer in ELAN's Recognizer tab."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("elan-recognizer")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "output", type=click.Path(path_type=Path), required=True,
              help="The recognizer folder to write; copy it into ELAN's extensions folder (see README) and restart ELAN.")
@click.option("--name", help="The name ELAN shows (default: the bundle folder's name).")
@click.option("--python", type=click.Path(dir_okay=False, path_type=Path),
              help="The Python with fieldasr installed that ELAN should run (default: the one running this command).")
@click.option("--overwrite", is_flag=True, help="Replace an existing recognizer folder.")
def elan_recognizer(bundle: Path, output: Path, name: str | None, python: Path | None, overwrite: bool) -> None:
    """Write a recognizer folder for ELAN (CMDI, run.sh, run.bat, help.html and the bundle) that transcribes with BUNDLE.

    In ELAN's Recognizer tab it takes the recording, an optional segmentation tier (transcribe only inside its
    annotations) and an optional tier of existing transcriptions (those segments are skipped), and writes a
    phone tier and a word tier. The folder records the Python running this command, so run it from the
    environment where fieldasr is installed.

    \b
    Example:
      fieldasr elan-recognizer exp/bundle --out "fieldasr-ainu"
      cp -r fieldasr-ainu ~/ELAN_6-8/app/extensions/      # Linux; see README for macOS and Windows
    """
    from fieldasr.elan_recognizer.folder import write_recognizer_folder

    folder = write_recognizer_folder(bundle, output, name=name, overwrite=overwrite, python=python)
    click.echo(f"recognizer {folder.name!r} (id {folder.identifier}) written to {folder.path}; it runs {folder.python}.\n"
               "Copy the folder into ELAN's extensions folder and restart ELAN; it appears in the Recognizer tab.")
