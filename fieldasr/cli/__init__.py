"""The `fieldasr` command: a thin layer over library functions.

Subcommands are imported only when used, so `fieldasr --help` is instant even though training pulls in torch.
Each entry maps a command name to "module:click_command".
"""
from __future__ import annotations

import importlib
import sys

import click

from fieldasr.errors import FieldasrError

COMMANDS: dict[str, str] = {
    "prepare": "fieldasr.cli.data:prepare",
    "validate": "fieldasr.cli.data:validate",
    "transcribe": "fieldasr.cli.transcribe:transcribe",
    "tiers": "fieldasr.cli.tiers:tiers",
    "decode": "fieldasr.cli.transcribe:decode",
    "lm": "fieldasr.cli.decode:lm",
    "tune": "fieldasr.cli.decode:tune",
    "evaluate": "fieldasr.cli.evaluate:evaluate",
    "g2p": "fieldasr.cli.g2p:g2p",
    "g2p-import-table": "fieldasr.cli.g2p:g2p_import_table",
    "inventory": "fieldasr.cli.g2p:inventory",
    "vad-chunk": "fieldasr.cli.ssl:vad_chunk",
    "pretrain": "fieldasr.cli.ssl:pretrain",
    "train": "fieldasr.cli.train:train",
    "export": "fieldasr.cli.train:export",
    "transfer": "fieldasr.cli.transfer:transfer",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fieldasr")
def cli() -> None:
    """fieldasr: speech recognition for endangered and under-resourced languages.

    Typical path: prepare manifests from ELAN/Praat/TSV files, add phones with g2p,
    train with a recipe, export a bundle, transcribe recordings back into ELAN or Praat,
    and evaluate. Run `fieldasr COMMAND --help` for each step.
    """


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted; finished work is kept.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except FieldasrError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted; finished work is kept.", err=True)
        sys.exit(130)
