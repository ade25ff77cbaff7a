"""Every user mistake we know of: exit code 2, a message naming the file and the fix, nothing written or changed.

Each case builds its inputs in a fresh folder (the working directory of the command), returns the command
line and the pieces its error message must contain, and the test then checks the exit code, the message,
that no traceback leaked out, and that no file under the folder was created, changed or removed (checksums
and permission bits before and after).

To add a case: write a function `def name(ws: Workspace) -> Call` and put `BadInput("name", name)` in CASES.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import speak

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Call:
    argv: Sequence[str]  # after "fieldasr"
    mentions: Sequence[str]  # each must appear in the error output (file names, "truncated", the fix, ...)


@dataclass
class Workspace:
    """The case's folder plus cheap ways to put real inputs into it (audio made once per test session)."""

    root: Path
    cache: Path

    def path(self, relative: str) -> Path:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, relative: str, text: str, encoding: str = "utf-8") -> Path:
        target = self.path(relative)
        target.write_text(text, encoding=encoding)
        return target

    def wav(self, relative: str, text: str = "the river runs", rate: int = 16000) -> Path:
        """Speech by espeak-ng (cached per text and rate), copied to `relative`."""
        cached = self.cache / f"speech-{hashlib.sha1(f'{text}-{rate}'.encode()).hexdigest()[:12]}.wav"
        if not cached.is_file():
            speak(text, cached, rate=rate)
        return Path(shutil.copy(cached, self.path(relative)))

    def fixture(self, name: str, relative: str | None = None) -> Path:
        """A file from tests/fixtures, copied into the case's folder."""
        return Path(shutil.copy(FIXTURES / name, self.path(relative or name)))


@dataclass(frozen=True)
class BadInput:
    name: str
    build: Callable[[Workspace], Call]

    def __str__(self) -> str:
        return self.name


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under `root`: content checksum (files) and permission bits."""
    state = {}
    for path in sorted(root.rglob("*")):
        mode = stat.S_IMODE(path.lstat().st_mode)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        state[str(path.relative_to(root))] = (digest, mode)
    return state


def run_fieldasr(argv: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from fieldasr.cli import main

    monkeypatch.setattr(sys, "argv", ["fieldasr", *map(str, argv)])
    try:
        main()
    except SystemExit as exit_:
        return 0 if exit_.code is None else int(exit_.code)
    return 0


# --- the cases -------------------------------------------------------------------------------------

def evaluate_no_matching_ids(ws: Workspace) -> Call:
    from fieldasr.data import Corpus, Recording, Segment

    audio = ws.wav("audio/a.wav")
    recording = Recording.from_audio("a", audio)
    reference = Corpus({"a": recording}, (Segment("a-1", "a", 0.0, 0.5, "the river"),))
    hypothesis = Corpus({"a": recording}, (Segment("b-1", "a", 0.0, 0.5, "the river"),))
    reference.save(ws.root / "ref")
    hypothesis.save(ws.root / "hyp")
    return Call(["evaluate", "--ref", "ref", "--hyp", "hyp", "--unit", "word", "--out", "report"], ["hyp", "ref", "id"])


# export / bundles / g2p

def _cached(ws: Workspace, name: str, build: Callable[[Path], object]) -> Path:
    """Build `name` once per test session in the shared cache (tiny bundles and experiments take seconds)."""
    cached = ws.cache / name
    if not cached.exists():
        build(cached)
    return cached


def _tiny_experiment(folder: Path) -> None:
    from test_export_cli import write_experiment

    write_experiment(folder)


def _tiny_bundle(folder: Path) -> None:
    from fieldasr.bundle import export_experiment

    export_experiment(_tiny_experiment_source(folder.parent), folder)


def _tiny_experiment_source(cache: Path) -> Path:
    experiment = cache / "bad-input-experiment"
    if not experiment.exists():
        _tiny_experiment(experiment)
    return experiment


def bundle_copy(ws: Workspace, relative: str = "bundle") -> Path:
    return Path(shutil.copytree(_cached(ws, "bad-input-bundle", _tiny_bundle), ws.path(relative)))


def experiment_copy(ws: Workspace, relative: str = "exp") -> Path:
    _tiny_experiment_source(ws.cache)
    return Path(shutil.copytree(ws.cache / "bad-input-experiment", ws.path(relative)))


def transcribe_call(ws: Workspace, bundle: str, mentions: Sequence[str]) -> Call:
    ws.wav("session.wav")
    return Call(["transcribe", bundle, "session.wav", "--out-dir", "transcripts"], mentions)


def transcribe_bundle_without_weights(ws: Workspace) -> Call:
    (bundle_copy(ws) / "model.safetensors").unlink()
    return transcribe_call(ws, "bundle", ["model.safetensors is missing", "--overwrite"])


def transcribe_bundle_with_truncated_weights(ws: Workspace) -> Call:
    weights = bundle_copy(ws) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return transcribe_call(ws, "bundle", ["model.safetensors is truncated: 1,000 of", "fieldasr export EXPERIMENT BUNDLE --overwrite"])


def transcribe_bundle_json_not_json(ws: Workspace) -> Call:
    (bundle_copy(ws) / "bundle.json").write_text('{"format": 2, "architecture": ', encoding="utf-8")
    return transcribe_call(ws, "bundle", ["bundle.json", "not valid JSON", "--overwrite"])


def transcribe_folder_that_is_not_a_bundle(ws: Workspace) -> Call:
    ws.write("recordings/notes.txt", "not a model")
    return transcribe_call(ws, "recordings", ["recordings", "not a model bundle", "fieldasr export"])


def export_garbage_lexicon_strict(ws: Workspace) -> Call:
    experiment_copy(ws)
    ws.path("garbage.txt").write_bytes(b"kia\tk i a\n\xff\xfe binary\nora\n\tk a\nxyz\tq q q\n")
    return Call(["export", "exp", "bundle", "--lexicon", "garbage.txt", "--strict"],
                ["garbage.txt", "4 bad lines", "line 2", "not UTF-8", "without --strict"])


def export_lexicon_with_word_boundaries_strict(ws: Workspace) -> Call:
    experiment_copy(ws)
    ws.write("phrases.txt", "kia\tk i a\nkia ora\tk i a | o ɾ a\n")
    return Call(["export", "exp", "bundle", "--lexicon", "phrases.txt", "--strict"],
                ["phrases.txt", "line 2", "word boundary | inside the pronunciation"])


def export_experiment_without_checkpoints(ws: Workspace) -> Call:
    shutil.rmtree(experiment_copy(ws) / "checkpoints")
    return Call(["export", "exp", "bundle"], ["exp", "no checkpoints", "Train first"])


def export_onto_existing_bundle(ws: Workspace) -> Call:
    experiment_copy(ws)
    bundle_copy(ws)
    return Call(["export", "exp", "bundle"], ["bundle", "already exists", "--overwrite"])


def export_spec_with_unknown_key(ws: Workspace) -> Call:
    import json

    model_json = experiment_copy(ws) / "model.json"
    model_json.write_text(json.dumps({**json.loads(model_json.read_text()), "g2p_spec": "spec/mi.yaml"}), encoding="utf-8")
    ws.write("spec/mi.rules", "a -> a\n")
    ws.write("spec/mi.yaml", "language: mi\nbackend: rules\nrule: mi.rules\n")
    return Call(["export", "exp", "bundle"], ["mi.yaml", "unknown key(s) ['rule']"])


def g2p_table_with_unknown_symbols_strict(ws: Workspace) -> Call:
    ws.write("letter_to_sound.txt", "# Abui\nng ŋ\nn n\nc ñ\na a\n")
    return Call(["g2p", "--spec", "letter_to_sound.txt", "--strict", "canang"],
                ["letter_to_sound.txt", "'ñ' (line 4): neither IPA nor X-SAMPA"])


def g2p_import_table_unknown_symbols_strict(ws: Workspace) -> Call:
    ws.write("letter_to_sound.txt", "ng ŋ\nc ñ\ne E\n")
    return Call(["g2p-import-table", "letter_to_sound.txt", "--language", "abz", "--out", "g2p/abz.yaml", "--xsampa", "--strict"],
                ["letter_to_sound.txt", "'ñ' (line 2): neither IPA nor X-SAMPA"])
# prepare / validate / audio

ROOT = Path(__file__).resolve().parent.parent
ELAN_LINK = 'MEDIA_URL="file:///home/fieldworker/corpus/session.wav" MIME_TYPE="audio/x-wav" RELATIVE_MEDIA_URL="./session.wav"'
LATIN1_TEXTGRID = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1
tiers? <exists>
size = 1
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1
        intervals: size = 1
        intervals [1]:
            xmin = 0
            xmax = 1
            text = "café crème"
"""


def windows_eaf(ws: Workspace, relative: str, media_url: str = "file:///C:/Users/x/Desktop/rec%2001.wav") -> Path:
    """The ELAN 6 fixture as if made on a Windows computer (ELAN 2.x style: MEDIA_URL only)."""
    text = (FIXTURES / "elan6_session.eaf").read_text(encoding="utf-8")
    return ws.write(relative, text.replace(ELAN_LINK, f'MEDIA_URL="{media_url}" MIME_TYPE="audio/x-wav"'))


def prepared_csv_corpus(ws: Workspace) -> Path:
    from fieldasr.data.prepare import prepare_corpus

    ws.wav("audio/a.wav")
    ws.wav("audio/b.wav", "the river bends")
    ws.write("audio/list.csv", "path,text\na.wav,the river runs\nb.wav,the river bends\n")
    return prepare_corpus(ws.root / "audio" / "list.csv", "csv", "river", out_dir=ws.root / "manifests", progress=False).output


def prepare_audio_missing_everywhere(ws: Workspace) -> Call:
    windows_eaf(ws, "sessions/session.eaf")
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--linguistic-type", "utterance", "--strict"],
                ["session.eaf", "audio not found", "rec 01.wav", "--media-dir", "--text-only"])


def prepare_media_dir_not_a_folder(ws: Workspace) -> Call:
    windows_eaf(ws, "sessions/session.eaf")
    ws.write("recordings.txt", "the recordings are on the other disk")
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--linguistic-type", "utterance", "--media-dir", "recordings.txt"],
                ["recordings.txt", "must be a folder"])


def prepare_two_same_name_files_under_media_dir(ws: Workspace) -> Call:
    windows_eaf(ws, "sessions/session.eaf")
    ws.wav("media/2019/rec 01.wav")
    ws.wav("media/2020/rec 01.wav")
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--linguistic-type", "utterance", "--media-dir", "media"],
                ["session.eaf", "media/2019/rec 01.wav", "media/2020/rec 01.wav", "Rename or move one"])


def prepare_truncated_wav(ws: Workspace) -> Call:
    windows_eaf(ws, "sessions/session.eaf")
    wav = ws.wav("sessions/rec 01.wav", "irankarapte kamuy aynu hunna ene sinean")
    wav.write_bytes(wav.read_bytes()[: wav.stat().st_size // 2])
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--linguistic-type", "utterance", "--strict"],
                ["rec 01.wav", "truncated", "Copy it again"])


def prepare_empty_wav(ws: Workspace) -> Call:
    ws.write("audio/list.csv", "path,text\nsilence.wav,the river runs\n")
    ws.path("audio/silence.wav").write_bytes(b"")
    return Call(["prepare", "audio/list.csv", "--format", "csv", "--corpus", "c"], ["silence.wav", "empty (0 bytes)", "nothing was written"])


def prepare_text_file_named_wav(ws: Workspace) -> Call:
    ws.write("audio/list.csv", "path,text\nnotes.wav,the river runs\n")
    ws.write("audio/notes.wav", "Recorded 3 May with the elders; audio on the other card.\n")
    return Call(["prepare", "audio/list.csv", "--format", "csv", "--corpus", "c", "--strict"], ["notes.wav", "not audio (renamed?)"])


def prepare_latin1_textgrid(ws: Workspace) -> Call:
    ws.write("grids/latin1.TextGrid", LATIN1_TEXTGRID, encoding="latin-1")
    ws.wav("grids/latin1.wav")
    return Call(["prepare", "grids", "--format", "textgrid", "--corpus", "c", "--tier", "words", "--strict"],
                ["latin1.TextGrid", "not UTF-8 or UTF-16", "Praat"])


def prepare_folder_of_non_xml_eaf(ws: Workspace) -> Call:
    ws.write("sessions/notes.eaf", "Session 4, speakers A and B, recorded on the veranda.\n")
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--tier", "tx@A"],
                ["notes.eaf", "not an ELAN file", "no usable segment", "nothing was written"])


def prepare_truncated_eaf(ws: Workspace) -> Call:
    data = (FIXTURES / "elan6_session.eaf").read_bytes()
    ws.path("sessions/session.eaf").write_bytes(data[:2000])
    ws.wav("sessions/session.wav")
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--tier", "tx@A", "--strict"],
                ["session.eaf", "truncated", "backup"])


def prepare_text_only_with_media_dir(ws: Workspace) -> Call:
    windows_eaf(ws, "sessions/session.eaf")
    ws.path("media/x").mkdir()
    return Call(["prepare", "sessions", "--format", "eaf", "--corpus", "c", "--tier", "tx@A", "--text-only", "--media-dir", "media"],
                ["media", "--media-dir and --text-only exclude each other"])


def validate_missing_audio(ws: Workspace) -> Call:
    prepared_csv_corpus(ws)
    (ws.root / "audio" / "b.wav").unlink()
    return Call(["validate", "manifests/river"], ["b.wav", "1 missing", "audio file not found", "--quick"])


def validate_truncated_audio(ws: Workspace) -> Call:
    prepared_csv_corpus(ws)
    wav = ws.root / "audio" / "a.wav"
    wav.write_bytes(wav.read_bytes()[: wav.stat().st_size * 2 // 3])
    return Call(["validate", "manifests/river"], ["a.wav", "1 truncated", "WAV header promises"])


def train_phones_on_a_corpus_without_phones(ws: Workspace) -> Call:
    from fieldasr.data import Corpus, Recording, Segment

    recording = Recording.from_audio("a", ws.wav("audio/a.wav"))
    Corpus({"a": recording}, (Segment("a-1", "a", 0.0, 0.8, "the river runs"),)).save(ws.root / "manifests" / "river")
    recipe = ROOT / "recipes" / "ctc" / "hparams" / "demo_en.yaml"
    return Call(["train", str(recipe), "--set", "data.train=manifests/river", "--set", "experiment_dir=exp/river"],
                ["manifests/river", "1 of 1 segments have no phones", "fieldasr g2p", "label_unit=characters"])


def train_on_text_only_corpus(ws: Workspace) -> Call:
    from fieldasr.data.prepare import prepare_corpus
    from fieldasr.data.source import TierSelection

    windows_eaf(ws, "sessions/session.eaf")
    prepare_corpus(ws.root / "sessions", "eaf", "text", out_dir=ws.root / "manifests", selection=TierSelection(names=("tx@A",)),
                   text_only=True, progress=False)
    recipe = ROOT / "recipes" / "ctc" / "hparams" / "demo_en.yaml"
    return Call(["train", str(recipe), "--set", "data.train=manifests/text", "--set", "experiment_dir=exp/text"],
                ["manifests/text", "prepared with --text-only", "without --text-only"])


# transcribe / ELAN writing

_TINY_BUNDLE: list[Path] = []  # built once per test session


def tiny_bundle(ws: Workspace) -> Path:
    """A real (random, tiny) model bundle, as in test_transcribe_bundle.py; outside the case's folder."""
    if not _TINY_BUNDLE:
        import torch

        from fieldasr.bundle import export_bundle
        from fieldasr.models import TINY_CONFORMER, ConformerCTC
        from fieldasr.text import Vocabulary

        torch.manual_seed(0)
        letters = Vocabulary(tuple("<blank> <unk> | a e i o u k m n r s t".split()))
        folder = ws.cache / "bad-input-bundle"
        shutil.rmtree(folder, ignore_errors=True)
        _TINY_BUNDLE.append(export_bundle(folder, ConformerCTC(TINY_CONFORMER, len(letters)).eval(), letters, label_unit="characters"))
    return _TINY_BUNDLE[0]


def into(ws: Workspace, *extra: str) -> list[str]:
    """`transcribe BUNDLE rec.wav --into rec.eaf ...` with rec.wav in place."""
    ws.wav("rec.wav")
    return ["transcribe", str(tiny_bundle(ws)), "rec.wav", "--into", "rec.eaf", *extra]


def into_missing_eaf(ws: Workspace) -> Call:
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: not found", "leave out --into"])


def into_read_only_eaf(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf").chmod(0o444)
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: the file is read-only", "chmod u+w"])


def into_non_xml_eaf(ws: Workspace) -> Call:
    ws.write("rec.eaf", "Speaker A: irankarapte\nSpeaker B: hunna\n")
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: not an ELAN file: not well-formed XML", "backup"])


def into_truncated_eaf(ws: Workspace) -> Call:
    ws.path("rec.eaf").write_bytes((FIXTURES / "elan6_session.eaf").read_bytes()[:3000])
    return Call(into(ws, "--tier", "asr"), ["rec.eaf: truncated", "backup"])


def into_hand_tier(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(into(ws, "--tier", "tx@B"), ["rec.eaf: tier 'tx@B' (1 annotation, not written by fieldasr)",
                                             "--tier tx@B-asr", "--replace-tier tx@B"])


def into_with_another_format(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(into(ws, "--tier", "asr", "--format", "textgrid"), ["rec.eaf: --into writes tiers into that .eaf",
                                                                    "--format textgrid would be ignored"])


def into_hand_tier_corrected_since(ws: Workspace) -> Call:
    from fieldasr.data.elan_write import write_tier_into_eaf

    eaf = ws.fixture("elan6_session.eaf", "rec.eaf")
    write_tier_into_eaf(eaf, "asr", [(0.2, 1.5, "iranka rapte")], backup=False)
    eaf.write_text(eaf.read_text(encoding="utf-8").replace(">iranka rapte<", ">irankarapte<"), encoding="utf-8")
    return Call(into(ws, "--tier", "asr", "--no-word-times"), ["rec.eaf: tier 'asr' (1 annotation, edited since fieldasr wrote it)",
                                                               "--replace-tier asr"])


def into_replace_tier_in_hierarchy(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(into(ws, "--tier", "tx@A", "--replace-tier", "tx@A"),
                ["rec.eaf: tier 'tx@A' is part of a tier hierarchy", "ft@A", "--tier tx@A-asr"])


def into_with_a_folder_of_recordings(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    ws.wav("recordings/a.wav"), ws.wav("recordings/b.wav", "we sing")
    return Call(["transcribe", str(tiny_bundle(ws)), "recordings", "--into", "rec.eaf"],
                ["rec.eaf: --into takes one recording, got 2", "--out-dir"])


def into_a_textgrid(ws: Workspace) -> Call:
    ws.wav("rec.wav")
    ws.write("rec.TextGrid", 'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\ntiers? <absent>\n')
    return Call(["transcribe", str(tiny_bundle(ws)), "rec.wav", "--into", "rec.TextGrid"],
                ["rec.TextGrid: --into adds tiers to an existing ELAN .eaf", "--format textgrid --out-dir"])


def overwrite_an_output_the_fieldworker_edited(ws: Workspace) -> Call:
    from fieldasr.data.elan_write import write_new_eaf

    audio = ws.wav("rec.wav")
    eaf = write_new_eaf(ws.path("out/rec.eaf"), audio, {"fieldasr": [(0.1, 0.9, "ta")]})
    eaf.write_text(eaf.read_text(encoding="utf-8").replace(">ta<", ">the river<"), encoding="utf-8")
    return Call(["transcribe", str(tiny_bundle(ws)), "rec.wav", "--out-dir", "out", "--overwrite"],
                ["rec.eaf: --overwrite would replace this whole file", "'fieldasr' (edited since fieldasr wrote it)", "--into"])


def tiers_of_a_missing_file(ws: Workspace) -> Call:
    return Call(["tiers", "session.eaf"], ["session.eaf: ELAN file not found", "Check the path"])


def tiers_of_a_non_xml_file(ws: Workspace) -> Call:
    ws.write("session.eaf", "\x00\x01 not ELAN at all")
    return Call(["tiers", "session.eaf"], ["session.eaf: not an ELAN file: not well-formed XML", "backup"])


def tiers_of_another_format(ws: Workspace) -> Call:
    ws.write("session.srt", "1\n00:00:00,200 --> 00:00:01,500\nirankarapte\n")
    return Call(["tiers", "session.srt"], ["session.srt: not an ELAN (.eaf) or Praat (.TextGrid) file"])


# train / recipes / configuration

RECIPE = """experiment_dir: exp/run
data:
  train: corpus
  speed_factors: []
model:
  architecture: conformer_ctc
  size: tiny
trainer:
  lr: 0.001
  max_steps: 2
"""


def recipe(ws: Workspace, text: str = RECIPE, manifests: bool = True) -> str:
    """A CTC recipe in the case's folder; `corpus/` holds (empty) manifests, which are only opened after the checks."""
    if manifests:
        ws.write("corpus/recordings.jsonl", "")
        ws.write("corpus/segments.jsonl", "")
    ws.write("recipe.yaml", text)
    return "recipe.yaml"


def train_typo_in_data_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("  speed_factors", "  sped_factors"))], ["recipe.yaml", "data.sped_factors", "speed_factors"])


def train_typo_in_model_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("  architecture", "  architecure"))], ["recipe.yaml", "model.architecure", "architecture"])


def train_typo_in_top_level_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("trainer:", "trainr:"))], ["recipe.yaml", "trainr", "trainer"])


def train_set_unknown_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "model.szie=3"], ["recipe.yaml", "--set model.szie=3", "model.szie", "'size'"])


def train_set_wrong_type(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.lr=fast"], ["recipe.yaml", "trainer.lr", "'fast' is not a number"])


def train_set_without_equals(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.lr"], ["recipe.yaml", "trainer.lr", "key.subkey=value"])


def train_wrong_type_in_yaml(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("max_steps: 2", "max_steps: ten"))], ["recipe.yaml", "trainer.max_steps", "'ten'", "whole number"])


def train_yaml_syntax_error(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("speed_factors: []", "speed_factors: [0.9, 1.0"))], ["recipe.yaml", "not valid YAML", "line"])


def train_copied_recipe_base_gone(ws: Workspace) -> Call:
    ws.write("mine.yaml", (Path(__file__).parent.parent / "recipes/transfer/hparams/example_language.yaml").read_text())
    return Call(["train", "mine.yaml"], ["mine.yaml", "base: base.yaml", "relative to the YAML file that names it", str(ws.root / "base.yaml")])


def train_data_folder_missing(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, manifests=False)], ["recipe.yaml", "data.train", "corpus", "does not exist"])


def train_data_folder_without_manifests(ws: Workspace) -> Call:
    ws.path("corpus/notes.txt").write_text("not a manifest")
    return Call(["train", recipe(ws, manifests=False)], ["recipe.yaml", "data.train", "recordings.jsonl", "fieldasr prepare"])


def train_unknown_architecture(ws: Workspace) -> Call:
    return Call(["train", recipe(ws, RECIPE.replace("conformer_ctc", "conformer"))], ["recipe.yaml", "model.architecture", "'conformer_ctc'"])


def train_unknown_model_config_key(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "model.config.num_layer=3"], ["recipe.yaml", "model.config.num_layer", "'num_layers'"])


def train_missing_transfer_bundle(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "transfer.init_from=bundles/multilingual"],
                ["recipe.yaml", "transfer.init_from", "bundles/multilingual", "fieldasr export"])


# formats of the ecosystem: prepare --format kaldi / lhotse / hf-audiofolder / stm / trs, and export-corpus

def _kaldi_dir(ws: Workspace, **files: str) -> str:
    """A Kaldi data directory `data/` over one real recording; `files` replace or add its files (name: content)."""
    audio = ws.wav("audio/rec1.wav")
    contents = {"wav.scp": f"rec1 {audio}\n", "segments": "utt1 rec1 0.10 0.80\nutt2 rec1 0.80 1.20\n",
                "text": "utt1 the river\nutt2 runs\n", "utt2spk": "utt1 spk1\nutt2 spk1\n", "spk2utt": "spk1 utt1 utt2\n", **files}
    for name, content in contents.items():
        ws.write(f"data/{name}", content)
    return "data"


def kaldi_text_utterance_not_in_segments(ws: Workspace) -> Call:
    data = _kaldi_dir(ws, text="utt1 the river\nutt9 runs\n")
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k"], ["data/text line 2", "'utt9'", "segments", "Add it there"])


def kaldi_segment_of_unknown_recording(ws: Workspace) -> Call:
    data = _kaldi_dir(ws, segments="utt1 rec1 0.10 0.80\nutt2 rec2 0.80 1.20\n")
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k"], ["data/segments line 2", "'rec2'", "wav.scp"])


def kaldi_segment_end_before_start(ws: Workspace) -> Call:
    data = _kaldi_dir(ws, segments="utt1 rec1 0.10 0.80\nutt2 rec1 1.20 0.80\n")
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k"], ["data/segments line 2", "not after start"])


def kaldi_spk2utt_disagrees(ws: Workspace) -> Call:
    data = _kaldi_dir(ws, spk2utt="spk1 utt1\nspk2 utt2\n")
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k"], ["data/spk2utt line 2", "'spk2'", "utt2spk_to_spk2utt.pl"])


def kaldi_utterance_without_speaker(ws: Workspace) -> Call:
    data = _kaldi_dir(ws, utt2spk="utt1 spk1\n", spk2utt="spk1 utt1\n")
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k"], ["data/utt2spk", "utt2", "no speaker"])


def kaldi_only_piped_audio(ws: Workspace) -> Call:
    data = _kaldi_dir(ws, **{"wav.scp": "rec1 sox rec1.sph -t wav - |\n"})
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k"], ["no usable segment", "data/wav.scp line 1", "does not run"])


def kaldi_folder_without_wav_scp(ws: Workspace) -> Call:
    ws.write("data/text", "utt1 the river\n")
    return Call(["prepare", "data", "--format", "kaldi", "--corpus", "k"], ["data", "no wav.scp"])


def kaldi_with_media_dir(ws: Workspace) -> Call:
    data = _kaldi_dir(ws)
    return Call(["prepare", data, "--format", "kaldi", "--corpus", "k", "--media-dir", "audio"], ["--media-dir", "kaldi"])


def _lhotse_dir(ws: Workspace, supervision: str) -> str:
    audio = ws.wav("audio/rec1.wav")
    ws.write("lhotse/x_recordings_dev.jsonl", json.dumps({"id": "rec1", "sources": [{"type": "file", "channels": [0], "source": str(audio)}],
                                                         "sampling_rate": 16000, "num_samples": 16000, "duration": 1.0}) + "\n")
    ws.write("lhotse/x_supervisions_dev.jsonl", supervision)
    return "lhotse"


def lhotse_supervision_not_json(ws: Workspace) -> Call:
    folder = _lhotse_dir(ws, '{"id": "s1", "recording_id": "rec1", "start": 0, "duration": 0.5, "text": "the river"}\n{"id": "s2",\n')
    return Call(["prepare", folder, "--format", "lhotse", "--corpus", "l"], ["x_supervisions_dev.jsonl line 2", "not valid JSON"])


def lhotse_supervision_without_start(ws: Workspace) -> Call:
    folder = _lhotse_dir(ws, '{"id": "s1", "recording_id": "rec1", "duration": 0.5, "text": "the river"}\n')
    return Call(["prepare", folder, "--format", "lhotse", "--corpus", "l"], ["x_supervisions_dev.jsonl line 1", "'start'"])


def lhotse_supervision_of_unknown_recording(ws: Workspace) -> Call:
    folder = _lhotse_dir(ws, '{"id": "s1", "recording_id": "rec7", "start": 0, "duration": 0.5, "text": "the river"}\n')
    return Call(["prepare", folder, "--format", "lhotse", "--corpus", "l"], ["line 1", "'rec7'", "x_recordings_dev.jsonl"])


def lhotse_supervision_of_no_duration(ws: Workspace) -> Call:
    folder = _lhotse_dir(ws, '{"id": "s1", "recording_id": "rec1", "start": 0.2, "duration": 0, "text": "the river"}\n')
    return Call(["prepare", folder, "--format", "lhotse", "--corpus", "l"], ["x_supervisions_dev.jsonl line 1", "'s1'", "duration 0"])


def lhotse_supervisions_without_recordings(ws: Workspace) -> Call:
    ws.write("lhotse/supervisions.jsonl", '{"id": "s1", "recording_id": "rec1", "start": 0, "duration": 0.5}\n')
    return Call(["prepare", "lhotse", "--format", "lhotse", "--corpus", "l"], ["supervisions.jsonl", "recordings.jsonl", "beside it"])


def audiofolder_without_transcription_column(ws: Workspace) -> Call:
    ws.wav("hf/a.wav")
    ws.write("hf/metadata.csv", "file_name,words\na.wav,the river\n")
    return Call(["prepare", "hf", "--format", "hf-audiofolder", "--corpus", "h"], ["hf/metadata.csv", "transcription", "words"])


def stm_line_with_too_few_fields(ws: Workspace) -> Call:
    ws.wav("stm/rec1.wav")
    ws.write("stm/ref.stm", "rec1 1 spk1 0.1 0.8 the river\nrec1 1 spk1 0.9\n")
    return Call(["prepare", "stm/ref.stm", "--format", "stm", "--corpus", "s"], ["stm/ref.stm line 2", "file channel speaker start end"])


def stm_time_not_a_number(ws: Workspace) -> Call:
    ws.wav("stm/rec1.wav")
    ws.write("stm/ref.stm", "rec1 1 spk1 0,1 0,8 the river\n")
    return Call(["prepare", "stm/ref.stm", "--format", "stm", "--corpus", "s"], ["stm/ref.stm line 1", "'0,1'", "number of seconds"])


def stm_audio_twice_under_media_dir(ws: Workspace) -> Call:
    ws.wav("media/day1/rec1.wav")
    ws.wav("media/day2/rec1.wav")
    ws.write("stm/ref.stm", "rec1 1 spk1 0.1 0.8 the river\n")
    return Call(["prepare", "stm/ref.stm", "--format", "stm", "--corpus", "s", "--media-dir", "media"],
                ["rec1.wav", "media/day1/rec1.wav", "media/day2/rec1.wav", "Rename or move one"])


def trs_not_xml(ws: Workspace) -> Call:
    ws.wav("trs/rec1.wav")
    ws.write("trs/rec1.trs", '<?xml version="1.0"?>\n<Trans audio_filename="rec1">\n<Episode>\n')
    return Call(["prepare", "trs", "--format", "trs", "--corpus", "t"], ["trs/rec1.trs", "not well-formed XML at line"])


def trs_turn_without_end_time(ws: Workspace) -> Call:
    ws.wav("trs/rec1.wav")
    ws.write("trs/rec1.trs", '<Trans audio_filename="rec1"><Episode><Section type="report" startTime="0" endTime="1">'
             '<Turn startTime="0"><Sync time="0"/>the river</Turn></Section></Episode></Trans>\n')
    return Call(["prepare", "trs", "--format", "trs", "--corpus", "t"], ["trs/rec1.trs", "<Turn>", "endTime"])


def trs_who_not_a_number(ws: Workspace) -> Call:
    ws.wav("trs/rec1.wav")
    ws.write("trs/rec1.trs", '<Trans audio_filename="rec1"><Episode><Section type="report" startTime="0" endTime="1">'
             '<Turn speaker="spk1 spk2" startTime="0" endTime="1"><Sync time="0"/><Who nb="first"/>the river</Turn>'
             '</Section></Episode></Trans>\n')
    return Call(["prepare", "trs", "--format", "trs", "--corpus", "t"], ["trs/rec1.trs", "turn 1", "nb='first'", "Fix it in Transcriber"])


def _small_corpus(ws: Workspace, text_only: bool = False) -> str:
    from fieldasr.data import Corpus, Recording, Segment

    audio = ws.wav("audio/a.wav")
    segments = (Segment("a-1", "a", 0.0, 0.5, "the river"),)
    Corpus({} if text_only else {"a": Recording.from_audio("a", audio)}, segments, text_only=text_only).save(ws.root / "corpus")
    return "corpus"


def export_corpus_onto_existing_output(ws: Workspace) -> Call:
    corpus = _small_corpus(ws)
    ws.write("ref.stm", "my own reference\n")
    return Call(["export-corpus", corpus, "--format", "stm", "--out", "ref.stm"], ["ref.stm", "already exists", "--overwrite"])


def export_corpus_text_only_to_kaldi(ws: Workspace) -> Call:
    corpus = _small_corpus(ws, text_only=True)
    return Call(["export-corpus", corpus, "--format", "kaldi", "--out", "data"], ["data", "text-only", "Prepare the corpus with its audio"])

# bundle language: per-language adapters (issue 13)

def _adapter_bundle(language: str | None) -> Callable[[Path], object]:
    def build(folder: Path) -> None:
        from fieldasr.bundle import export_bundle
        from test_bundle_language import LETTERS, adapter_model

        export_bundle(folder, adapter_model(("ain", "jpn")), LETTERS, label_unit="characters", language=language)

    return build


def transcribe_language_without_adapter(ws: Workspace) -> Call:
    shutil.copytree(_cached(ws, "bad-input-adapter-bundle-ain", _adapter_bundle("ain")), ws.path("bundle"))
    call = transcribe_call(ws, "bundle", ["bundle", "no adapter for language 'deu'", "adapters for ain, jpn", "--language"])
    return Call([*call.argv, "--language", "deu"], call.mentions)


def transcribe_adapter_bundle_without_language(ws: Workspace) -> Call:
    shutil.copytree(_cached(ws, "bad-input-adapter-bundle-none", _adapter_bundle(None)), ws.path("bundle"))
    return transcribe_call(ws, "bundle", ["bundle", "adapters for ain, jpn", "--language ain"])

# --- transcribe --segments-from-tier / elan-recognizer (issue 16) ------------------------------------

def segments(ws: Workspace, *extra: str) -> list[str]:
    """`transcribe BUNDLE rec.wav --segments-from-tier ...` with rec.wav in place."""
    ws.wav("rec.wav")
    return ["transcribe", str(tiny_bundle(ws)), "rec.wav", "--segments-from-tier", *extra]


def segments_without_a_file(ws: Workspace) -> Call:
    return Call(segments(ws, "Phrase"), ["--segments-from-tier Phrase", "--into FILE.eaf", "--segments-file FILE"])


def segments_tier_not_in_the_eaf(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(segments(ws, "Phrase", "--into", "rec.eaf"), ["rec.eaf: no tier named 'Phrase' or 'Phrase@...'", "'tx@A'", "'tx@B'"])


def segments_tier_without_annotations(ws: Workspace) -> Call:
    ws.fixture("real_eaf/fto.eaf", "fto.eaf")  # a real ELAN file with an empty tier 'default'
    return Call(segments(ws, "default", "--into", "fto.eaf"), ["fto.eaf: tier 'default' has no annotations", "leave out --segments-from-tier"])


def segments_output_onto_the_segmentation_tier(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(segments(ws, "tx", "--into", "rec.eaf", "--tier", "tx"), ["--tier tx would write onto the segmentation tier tx@A",
                                                                           "--tier tx-asr"])


def segments_into_srt(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    return Call(segments(ws, "tx", "--segments-file", "rec.eaf", "--format", "srt", "--out-dir", "out"),
                ["--format srt", "--format eaf, textgrid, json"])


def segments_file_missing(ws: Workspace) -> Call:
    return Call(segments(ws, "Phrase", "--segments-file", "rec.TextGrid", "--format", "textgrid", "--out-dir", "out"),
                ["rec.TextGrid: segmentation file not found", "--segments-file"])


def segments_file_of_another_format(ws: Workspace) -> Call:
    ws.write("rec.txt", "0.5\t1.5\tkamuy\n")
    return Call(segments(ws, "Phrase", "--segments-file", "rec.txt", "--format", "textgrid", "--out-dir", "out"),
                ["rec.txt: segments are read from an ELAN .eaf or a Praat .TextGrid"])


def segments_output_would_replace_the_textgrid(ws: Workspace) -> Call:
    ws.write("rec.TextGrid", 'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\ntiers? <exists>\nsize = 1\n'
             'item []:\n    item [1]:\n        class = "IntervalTier"\n        name = "Phrase"\n        xmin = 0\n        xmax = 1\n'
             '        intervals: size = 1\n        intervals [1]:\n            xmin = 0\n            xmax = 1\n            text = ""\n')
    return Call(segments(ws, "Phrase", "--segments-file", "rec.TextGrid", "--format", "textgrid"),
                ["rec.TextGrid: the new textgrid file would replace the segmentation", "--out-dir FOLDER"])


def segments_with_a_folder_of_recordings(ws: Workspace) -> Call:
    ws.fixture("elan6_session.eaf", "rec.eaf")
    ws.wav("folder/a.wav"), ws.wav("folder/b.wav")
    return Call(["transcribe", str(tiny_bundle(ws)), "folder", "--segments-from-tier", "tx", "--segments-file", "rec.eaf",
                 "--out-dir", "out"], ["--segments-from-tier takes one recording", "a.wav"])


def redo_transcribed_without_segments(ws: Workspace) -> Call:
    ws.wav("rec.wav")
    return Call(["transcribe", str(tiny_bundle(ws)), "rec.wav", "--redo-transcribed"], ["--redo-transcribed go with --segments-from-tier"])


def elan_recognizer_truncated_bundle(ws: Workspace) -> Call:
    weights = bundle_copy(ws) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return Call(["elan-recognizer", "bundle", "--out", "recognizer"], ["model.safetensors is truncated", "--overwrite"])


def elan_recognizer_onto_an_existing_folder(ws: Workspace) -> Call:
    bundle_copy(ws)
    ws.write("recognizer/notes.txt", "mine")
    return Call(["elan-recognizer", "bundle", "--out", "recognizer"], ["recognizer: already exists", "--overwrite"])

# --- import-hf / Hugging Face checkpoints (fieldasr.hf_bundle, fieldasr.models.hf_encoder) ---
def hf_checkpoint(ws: Workspace, family: str, relative: str = "hf", **options) -> str:
    from hf_checkpoints import make_checkpoint

    make_checkpoint(ws.path(relative), family, **options)
    return relative


def import_hf_folder_without_config(ws: Workspace) -> Call:
    ws.write("hf/vocab.json", "{}")
    return Call(["import-hf", "hf", "--out", "bundle"], ["hf", "no config.json", "model.safetensors"])


def import_hf_unsupported_model_type(ws: Workspace) -> Call:
    ws.write("hf/config.json", '{"model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"]}')
    return Call(["import-hf", "hf", "--out", "bundle"], ["hf/config.json", "model_type 'whisper'", "wav2vec2, hubert, wavlm, data2vec-audio, wav2vec2-bert"])


def import_hf_without_vocab(ws: Workspace) -> Call:
    folder = hf_checkpoint(ws, "hubert")
    (ws.root / folder / "vocab.json").unlink()
    return Call(["import-hf", folder, "--out", "bundle"], ["hf", "no vocab.json", "tokenizer"])


def import_hf_pretraining_checkpoint(ws: Workspace) -> Call:
    return Call(["import-hf", hf_checkpoint(ws, "xlsr"), "--out", "bundle"], ["hf", "Wav2Vec2ForPreTraining", "not a CTC model", "model.pretrained"])


def import_hf_unknown_target_language(ws: Workspace) -> Call:
    return Call(["import-hf", hf_checkpoint(ws, "mms"), "--out", "bundle", "--target-lang", "deu"], ["hf", "'deu'", "eng, fra"])


def import_hf_onto_existing_bundle(ws: Workspace) -> Call:
    ws.write("bundle/bundle.json", "{}")
    return Call(["import-hf", hf_checkpoint(ws, "hubert"), "--out", "bundle"], ["bundle", "already exists", "--overwrite"])


def pretrain_hubert_checkpoint(ws: Workspace) -> Call:
    ws.write("corpus/recordings.jsonl", "")
    ws.write("corpus/segments.jsonl", "")
    return Call(["pretrain", hf_checkpoint(ws, "hubert"), "corpus", "--out", "exp/ssl", "--max-steps", "2"],
                ["hf", "continued pretraining is not offered for hubert", "k-means", "model.pretrained"])


def train_pretrained_unsupported_model_type(ws: Workspace) -> Call:
    ws.write("hf/config.json", '{"model_type": "whisper"}')
    text = RECIPE.replace("  architecture: conformer_ctc\n  size: tiny", "  architecture: wav2vec2_ctc\n  pretrained: hf")
    return Call(["train", recipe(ws, text)], ["recipe.yaml", "model.pretrained", "model_type 'whisper'", "wav2vec2"])


def train_pretrained_unknown_override(ws: Workspace) -> Call:
    text = RECIPE.replace("  architecture: conformer_ctc\n  size: tiny", "  architecture: wav2vec2_ctc\n  pretrained: hf\n  config: {hidden_size: 64}")
    return Call(["train", recipe(ws, text)], ["recipe.yaml", "model.config.hidden_size", "mask_time_prob"])


def train_mms_adapter_missing(ws: Workspace) -> Call:
    text = RECIPE.replace("  architecture: conformer_ctc\n  size: tiny",
                          "  architecture: wav2vec2_ctc\n  pretrained: hf\n  mms_adapter: deu\n  train_only_adapters: true")
    hf_checkpoint(ws, "mms")
    return Call(["train", recipe(ws, text)], ["recipe.yaml", "model.mms_adapter", "adapter.deu.safetensors", "eng, fra"])

# devices and fine-tuning controls (train, transcribe, decode)

def transcribe_int8_on_cuda(ws: Workspace) -> Call:
    ws.path("bundle").mkdir()  # refused before the bundle is opened, and before anything touches CUDA
    ws.wav("session.wav")
    return Call(["transcribe", "bundle", "session.wav", "--precision", "int8", "--device", "cuda"],
                ["--precision int8", "CPU only", "cuda", "--device cpu"])


def decode_int8_on_cuda(ws: Workspace) -> Call:
    ws.path("bundle").mkdir()
    ws.path("manifest").mkdir()
    return Call(["decode", "bundle", "manifest", "--out", "hypotheses", "--precision", "int8", "--device", "cuda:1"],
                ["--precision int8", "CPU only", "cuda:1"])


def transcribe_unknown_device(ws: Workspace) -> Call:
    ws.path("bundle").mkdir()
    ws.wav("session.wav")
    return Call(["transcribe", "bundle", "session.wav", "--device", "gpu"], ["'gpu' is not a device name", "cuda[:N]"])


def train_unknown_device(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--device", "gpu"], ["recipe.yaml", "trainer", "'gpu' is not a device name"])


def train_negative_encoder_lr(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.encoder_lr=-0.1"], ["recipe.yaml", "trainer", "encoder_lr", "-0.1"])


def train_find_unused_parameters_not_a_choice(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.find_unused_parameters=sometimes"],
                ["recipe.yaml", "trainer.find_unused_parameters", "'sometimes'", "'auto'", "true or false"])


def train_negative_num_workers(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.num_workers=-2"], ["recipe.yaml", "trainer", "num_workers", "-2"])

# frictions of issue 14 (a model that cannot be beam decoded, g2p)

def export_lexicon_for_labels_without_word_boundaries(ws: Workspace) -> Call:
    tokens = experiment_copy(ws) / "tokens.txt"
    tokens.write_text(tokens.read_text(encoding="utf-8").replace("|\n", "x\n"), encoding="utf-8")
    ws.write("lexicon.txt", "kia\tk i a\n")
    return Call(["export", "exp", "bundle", "--lexicon", "lexicon.txt"], ["tokens.txt", "no word boundary '|'", "--word-boundaries"])

# adapt / confidence (the correction loop)

def fieldasr_transcribed_eaf(ws: Workspace) -> Path:
    """rec.eaf with fieldasr's unedited tier 'asr' (one annotation) over rec.wav."""
    from fieldasr.data.elan_write import write_new_eaf

    return write_new_eaf(ws.path("rec.eaf"), ws.wav("rec.wav"), {"asr": [(0.1, 0.9, "ta")]})


def adapt_tier_missing(ws: Workspace) -> Call:
    fieldasr_transcribed_eaf(ws)
    return Call(["adapt", str(tiny_bundle(ws)), "rec.eaf", "--tier", "Phrase", "--out", "adapted"],
                ["rec.eaf: has no tier 'Phrase'", "'asr'", "--tier"])


def adapt_nothing_corrected(ws: Workspace) -> Call:
    fieldasr_transcribed_eaf(ws)
    return Call(["adapt", str(tiny_bundle(ws)), "rec.eaf", "--tier", "asr", "--out", "adapted"],
                ["no corrected annotations in tier 'asr' of 1 file(s)", "1 fieldasr's output, unchanged", "correct annotations in ELAN"])


def adapt_onto_the_input_bundle(ws: Workspace) -> Call:
    fieldasr_transcribed_eaf(ws)
    bundle_copy(ws)
    return Call(["adapt", "bundle", "rec.eaf", "--tier", "asr", "--out", "bundle"],
                ["bundle: --out names the bundle being adapted", "Choose a new folder"])


def adapt_a_textgrid(ws: Workspace) -> Call:
    ws.wav("rec.wav")
    ws.write("rec.TextGrid", 'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\ntiers? <absent>\n')
    return Call(["adapt", str(tiny_bundle(ws)), "rec.TextGrid", "--tier", "asr", "--out", "adapted"],
                ["rec.TextGrid: adapt reads ELAN .eaf files", "save it as .eaf"])


def confidence_in_subtitles(ws: Workspace) -> Call:
    ws.wav("rec.wav")
    return Call(["transcribe", str(tiny_bundle(ws)), "rec.wav", "--format", "srt", "--confidence", "--out-dir", "out"],
                ["--format srt cannot hold", "--format eaf, textgrid, json"])

# --- small-data recipe settings (dev split, early stopping, checkpoint averaging) ---


def train_valid_fraction_not_a_share(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "data.valid_fraction=10"], ["recipe.yaml", "data.valid_fraction", "from 0", "0.1"])


def train_averaging_more_checkpoints_than_kept(ws: Workspace) -> Call:
    return Call(["train", recipe(ws), "--set", "trainer.average_best_checkpoints=3"],
                ["recipe.yaml", "average_best_checkpoints", "keep_best to at least 3"])


CASES: list[BadInput] = [
    BadInput("evaluate: no hypothesis id matches a reference", evaluate_no_matching_ids),
    # --- transcribe / ELAN writing ---
    BadInput("transcribe --into: the .eaf does not exist", into_missing_eaf),
    BadInput("transcribe --into: the .eaf is read-only", into_read_only_eaf),
    BadInput("transcribe --into: the .eaf is not XML", into_non_xml_eaf),
    BadInput("transcribe --into: the .eaf is truncated", into_truncated_eaf),
    BadInput("transcribe --into: a hand-transcribed tier without --replace-tier", into_hand_tier),
    BadInput("transcribe --into: fieldasr's tier corrected by hand since", into_hand_tier_corrected_since),
    BadInput("transcribe --into: --replace-tier of a tier inside a hierarchy", into_replace_tier_in_hierarchy),
    BadInput("transcribe --into: a folder of recordings", into_with_a_folder_of_recordings),
    BadInput("transcribe --into: a TextGrid", into_a_textgrid),
    BadInput("transcribe --into: together with --format textgrid", into_with_another_format),
    BadInput("transcribe --overwrite: an .eaf output the fieldworker edited", overwrite_an_output_the_fieldworker_edited),
    BadInput("tiers: the file does not exist", tiers_of_a_missing_file),
    BadInput("tiers: the .eaf is not XML", tiers_of_a_non_xml_file),
    BadInput("tiers: neither ELAN nor TextGrid", tiers_of_another_format),

    # --- prepare / validate / audio ---
    BadInput("prepare: audio missing everywhere (--strict)", prepare_audio_missing_everywhere),
    BadInput("prepare: --media-dir is a file", prepare_media_dir_not_a_folder),
    BadInput("prepare: two same-name files under --media-dir", prepare_two_same_name_files_under_media_dir),
    BadInput("prepare: truncated wav (--strict)", prepare_truncated_wav),
    BadInput("prepare: empty wav, the only file", prepare_empty_wav),
    BadInput("prepare: text file named .wav (--strict)", prepare_text_file_named_wav),
    BadInput("prepare: Latin-1 TextGrid (--strict)", prepare_latin1_textgrid),
    BadInput("prepare: folder whose only .eaf is not XML", prepare_folder_of_non_xml_eaf),
    BadInput("prepare: truncated .eaf (--strict)", prepare_truncated_eaf),
    BadInput("prepare: --text-only with --media-dir", prepare_text_only_with_media_dir),
    BadInput("validate: audio file missing", validate_missing_audio),
    BadInput("validate: audio file truncated", validate_truncated_audio),
    BadInput("train: corpus prepared with --text-only", train_on_text_only_corpus),
    BadInput("train: a phone recipe on a corpus without phones", train_phones_on_a_corpus_without_phones),

    # --- train / recipes / configuration ---
    BadInput("train: typo in a data key", train_typo_in_data_key),
    BadInput("train: typo in a model key", train_typo_in_model_key),
    BadInput("train: typo in a top-level key", train_typo_in_top_level_key),
    BadInput("train: --set of an unknown key", train_set_unknown_key),
    BadInput("train: --set with a value of the wrong type", train_set_wrong_type),
    BadInput("train: --set without =", train_set_without_equals),
    BadInput("train: wrong type in the YAML", train_wrong_type_in_yaml),
    BadInput("train: YAML syntax error", train_yaml_syntax_error),
    BadInput("train: copied recipe whose base: no longer resolves", train_copied_recipe_base_gone),
    BadInput("train: data.train folder missing", train_data_folder_missing),
    BadInput("train: data.train folder without manifests", train_data_folder_without_manifests),
    BadInput("train: unknown architecture", train_unknown_architecture),
    BadInput("train: unknown model.config key", train_unknown_model_config_key),
    BadInput("train: transfer.init_from bundle missing", train_missing_transfer_bundle),
    BadInput("train: data.valid_fraction is not a share", train_valid_fraction_not_a_share),
    BadInput("train: averaging more checkpoints than kept", train_averaging_more_checkpoints_than_kept),

    # --- export / bundles / g2p ---
    BadInput("transcribe: bundle without model.safetensors", transcribe_bundle_without_weights),
    BadInput("transcribe: truncated model.safetensors", transcribe_bundle_with_truncated_weights),
    BadInput("transcribe: bundle.json is not JSON", transcribe_bundle_json_not_json),
    BadInput("transcribe: folder that is not a bundle", transcribe_folder_that_is_not_a_bundle),
    BadInput("export: garbage lexicon under --strict", export_garbage_lexicon_strict),
    BadInput("export: word boundary inside lexicon pronunciations under --strict", export_lexicon_with_word_boundaries_strict),
    BadInput("export: experiment folder without checkpoints", export_experiment_without_checkpoints),
    BadInput("export: onto an existing bundle without --overwrite", export_onto_existing_bundle),
    BadInput("export: G2P spec with an unknown key", export_spec_with_unknown_key),
    BadInput("g2p: letter-to-sound table with unknown symbols under --strict", g2p_table_with_unknown_symbols_strict),
    BadInput("g2p-import-table: unknown symbols under --strict", g2p_import_table_unknown_symbols_strict),

    # --- formats of the ecosystem ---
    BadInput("prepare kaldi: a text line's utterance is not in segments", kaldi_text_utterance_not_in_segments),
    BadInput("prepare kaldi: a segment of a recording not in wav.scp", kaldi_segment_of_unknown_recording),
    BadInput("prepare kaldi: a segment ending before it starts", kaldi_segment_end_before_start),
    BadInput("prepare kaldi: spk2utt disagrees with utt2spk", kaldi_spk2utt_disagrees),
    BadInput("prepare kaldi: an utterance without a speaker in utt2spk", kaldi_utterance_without_speaker),
    BadInput("prepare kaldi: every wav.scp entry is a command", kaldi_only_piped_audio),
    BadInput("prepare kaldi: no wav.scp", kaldi_folder_without_wav_scp),
    BadInput("prepare kaldi: with --media-dir", kaldi_with_media_dir),
    BadInput("prepare lhotse: a supervision line is not JSON", lhotse_supervision_not_json),
    BadInput("prepare lhotse: a supervision without start", lhotse_supervision_without_start),
    BadInput("prepare lhotse: a supervision of an unknown recording", lhotse_supervision_of_unknown_recording),
    BadInput("prepare lhotse: supervisions without a recordings manifest", lhotse_supervisions_without_recordings),
    BadInput("prepare lhotse: a supervision of duration 0", lhotse_supervision_of_no_duration),
    BadInput("prepare hf-audiofolder: no transcription column", audiofolder_without_transcription_column),
    BadInput("prepare stm: a line with too few fields", stm_line_with_too_few_fields),
    BadInput("prepare stm: a time that is not a number", stm_time_not_a_number),
    BadInput("prepare stm: the audio's name twice under --media-dir", stm_audio_twice_under_media_dir),
    BadInput("prepare trs: not XML", trs_not_xml),
    BadInput("prepare trs: a turn without endTime", trs_turn_without_end_time),
    BadInput("prepare trs: a Who mark whose nb is not a number", trs_who_not_a_number),
    BadInput("export-corpus: onto an existing output without --overwrite", export_corpus_onto_existing_output),
    BadInput("export-corpus: a text-only corpus to kaldi", export_corpus_text_only_to_kaldi),

    # --- bundle language (issue 13) ---
    BadInput("transcribe: --language the bundle has no adapter for", transcribe_language_without_adapter),
    BadInput("transcribe: adapter bundle that records no language, no --language", transcribe_adapter_bundle_without_language),


    # --- transcribe --segments-from-tier / elan-recognizer (issue 16) ---
    BadInput("transcribe --segments-from-tier: no file holding the tier", segments_without_a_file),
    BadInput("transcribe --segments-from-tier: no such tier in the .eaf", segments_tier_not_in_the_eaf),
    BadInput("transcribe --segments-from-tier: a real ELAN tier without annotations", segments_tier_without_annotations),
    BadInput("transcribe --segments-from-tier: output onto the segmentation tier", segments_output_onto_the_segmentation_tier),
    BadInput("transcribe --segments-from-tier: --format srt", segments_into_srt),
    BadInput("transcribe --segments-file: missing", segments_file_missing),
    BadInput("transcribe --segments-file: neither .eaf nor .TextGrid", segments_file_of_another_format),
    BadInput("transcribe --segments-file: the output would replace it", segments_output_would_replace_the_textgrid),
    BadInput("transcribe --segments-from-tier: a folder of recordings", segments_with_a_folder_of_recordings),
    BadInput("transcribe --redo-transcribed without --segments-from-tier", redo_transcribed_without_segments),
    BadInput("elan-recognizer: truncated bundle weights", elan_recognizer_truncated_bundle),
    BadInput("elan-recognizer: --out folder exists", elan_recognizer_onto_an_existing_folder),

    # --- import-hf / Hugging Face checkpoints ---
    BadInput("import-hf: folder without config.json", import_hf_folder_without_config),
    BadInput("import-hf: unsupported model_type", import_hf_unsupported_model_type),
    BadInput("import-hf: checkpoint without vocab.json", import_hf_without_vocab),
    BadInput("import-hf: a pretraining (non-CTC) checkpoint", import_hf_pretraining_checkpoint),
    BadInput("import-hf: MMS --target-lang without an adapter", import_hf_unknown_target_language),
    BadInput("import-hf: onto an existing bundle without --overwrite", import_hf_onto_existing_bundle),
    BadInput("pretrain: a HuBERT checkpoint (no wav2vec 2.0 quantizer)", pretrain_hubert_checkpoint),
    BadInput("train: model.pretrained of an unsupported model_type", train_pretrained_unsupported_model_type),
    BadInput("train: model.config key a pretrained encoder cannot override", train_pretrained_unknown_override),
    BadInput("train: model.mms_adapter without its adapter file", train_mms_adapter_missing),

    # --- devices and fine-tuning controls ---
    BadInput("transcribe: --precision int8 with --device cuda", transcribe_int8_on_cuda),
    BadInput("decode: --precision int8 with --device cuda:1", decode_int8_on_cuda),
    BadInput("transcribe: --device that is not a device", transcribe_unknown_device),
    BadInput("train: --device that is not a device", train_unknown_device),
    BadInput("train: negative trainer.encoder_lr", train_negative_encoder_lr),
    BadInput("train: trainer.find_unused_parameters neither auto nor true/false", train_find_unused_parameters_not_a_choice),
    BadInput("train: negative trainer.num_workers", train_negative_num_workers),

    # --- frictions of issue 14 ---
    BadInput("export: lexicon for a model whose labels have no word boundary", export_lexicon_for_labels_without_word_boundaries),

    # --- adapt / confidence ---
    BadInput("adapt: the tier is not in the file", adapt_tier_missing),
    BadInput("adapt: only fieldasr's unchanged output, nothing corrected", adapt_nothing_corrected),
    BadInput("adapt: --out is the input bundle", adapt_onto_the_input_bundle),
    BadInput("adapt: a TextGrid (cannot tell corrections from fieldasr's output)", adapt_a_textgrid),
    BadInput("transcribe --confidence: into subtitles", confidence_in_subtitles),

]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_exits_2_names_the_file_and_changes_nothing(case: BadInput, tmp_path, tmp_path_factory, monkeypatch, capsys):
    root = tmp_path / "work"
    root.mkdir()
    workspace = Workspace(root, tmp_path_factory.getbasetemp())
    call = case.build(workspace)
    monkeypatch.chdir(root)
    before = snapshot(root)
    code = run_fieldasr(call.argv, monkeypatch)
    captured = capsys.readouterr()
    message = captured.err + captured.out
    assert code == 2, f"exit code {code}, output:\n{message}"
    assert "Traceback" not in message
    for piece in call.mentions:
        assert piece in message, f"{piece!r} not in:\n{message}"
    assert snapshot(root) == before, "the command created, changed or removed files"
