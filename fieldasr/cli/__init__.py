"""The `fieldasr` command: a thin layer over library functions.

Subcommands are imported only when run (or asked for their own --help), and the group's list of commands
comes from the table below, so `fieldasr --help` imports no command module and never torch. Each entry
maps a command name to its "module:click_command" and its one-line summary, which must equal the first
paragraph of the command's own docstring (a test checks this): keep the two together when editing either.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

import click

from fieldasr.errors import FieldasrError


@dataclass(frozen=True)
class CommandEntry:
    target: str  # "module:attribute" of the click command
    summary: str  # the first paragraph of the command's docstring, shown by `fieldasr --help`


COMMANDS: dict[str, CommandEntry] = {
    "prepare": CommandEntry("fieldasr.cli.data:prepare",
                            "Turn fieldwork files in SOURCE into manifests; print what was made and everything skipped, with reasons."),
    "validate": CommandEntry("fieldasr.cli.data:validate",
                             "Check the manifests in MANIFEST_DIR: ids, times, links to recordings, durations (and text), and that "
                             "every audio file is there and readable (not missing, empty or truncated)."),
    "export-corpus": CommandEntry("fieldasr.cli.data:export_corpus_command",
                                  "Write the corpus in MANIFEST_DIR in another tool's format (Kaldi, Lhotse, Hugging Face, sclite, "
                                  "Transcriber)."),
    "transcribe": CommandEntry("fieldasr.cli.transcribe:transcribe", "Transcribe recordings (files or folders) with a model BUNDLE."),
    "elan-recognizer": CommandEntry("fieldasr.cli.elan_recognizer:elan_recognizer",
                                    "Write a recognizer folder for ELAN (CMDI, run.sh, run.bat, help.html and the bundle) that "
                                    "transcribes with BUNDLE."),
    "tiers": CommandEntry("fieldasr.cli.tiers:tiers", "List the tiers of an ELAN .eaf or Praat .TextGrid file."),
    "decode": CommandEntry("fieldasr.cli.transcribe:decode", "Decode every segment of a MANIFEST folder with BUNDLE, for `fieldasr evaluate`."),
    "lm": CommandEntry("fieldasr.cli.decode:lm", "Build a word n-gram language model (Kneser-Ney, ARPA) from TEXT, one sentence per line."),
    "tune": CommandEntry("fieldasr.cli.decode:tune",
                         "Grid-search the LM weight and word score of the beam decoder on a development set, by WER."),
    "evaluate": CommandEntry("fieldasr.cli.evaluate:evaluate",
                             "Score hypotheses against a reference as sclite does; write the report and print its summary."),
    "g2p": CommandEntry("fieldasr.cli.g2p:g2p", "Turn text into IPA phones with a language's G2P spec."),
    "g2p-import-table": CommandEntry("fieldasr.cli.g2p:g2p_import_table",
                                     "Convert an Elpis letter-to-sound TABLE (`GRAPHEMES SOUND` per line, `#` comments) into a rules spec."),
    "inventory": CommandEntry("fieldasr.cli.g2p:inventory",
                              "Print the phone inventory of segment manifests: counts per language and the shared inventory."),
    "vad-chunk": CommandEntry("fieldasr.cli.ssl:vad_chunk",
                              "Find speech in SOURCES (audio files, folders, or recordings manifests) and write it as chunks."),
    "pretrain": CommandEntry("fieldasr.cli.ssl:pretrain",
                             "Self-supervised wav2vec 2.0 pretraining of SOURCE on the audio of MANIFEST_DIR."),
    "train": CommandEntry("fieldasr.cli.train:train",
                          "Train a CTC model with a recipe's HPARAMS YAML (e.g. recipes/ctc/hparams/demo_en.yaml), or a recipe "
                           "shipped with fieldasr by name (RECIPE/FILE, e.g. ctc/demo_en for recipes/ctc/hparams/demo_en.yaml)."),
    "export": CommandEntry("fieldasr.cli.train:export",
                           "Write a self-contained model bundle (weights, config, tokens, G2P spec with its rule and lexicon "
                           "files, decoding lexicon, LM, subword model) to OUTPUT, with each file's size and checksum."),
    "import-hf": CommandEntry("fieldasr.cli.import_hf:import_hf",
                              "Turn a local Hugging Face CTC checkpoint (config.json, weights, vocab.json) into a bundle for "
                              "zero-shot transcription."),
    "adapt": CommandEntry("fieldasr.cli.adapt:adapt",
                          "Fine-tune BUNDLE on the annotations you corrected in TIER of the ELAN FILES; write a new bundle to --out."),
    "transfer": CommandEntry("fieldasr.cli.transfer:transfer", "Text-side transfer: a target-language LM from a related high-resource model."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module_name, attribute = entry.target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table's summaries: listing commands must not import them (torch is slow to load)."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        # A bare Command shortens the summary exactly as click would shorten the command's own docstring.
        rows = [(name, click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fieldasr")
def cli() -> None:
    """fieldasr: speech recognition for endangered and under-resourced languages.

    Typical path: prepare manifests from ELAN/Praat/TSV files, add phones with g2p,
    train with a recipe, export a bundle, transcribe recordings back into ELAN or Praat,
    and evaluate. Run `fieldasr COMMAND --help` for each step.
    """


def run(group: click.Group) -> None:
    """Run a click group as fieldasr runs its commands: a user's mistake (FieldasrError) is exit code 2 and one
    line naming the file and the fix, never a traceback; Ctrl-C says that finished work is kept (exit 130)."""
    try:
        group(standalone_mode=False)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except FieldasrError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Interrupted; finished work is kept.", err=True)
        sys.exit(130)


def main() -> None:
    run(cli)
