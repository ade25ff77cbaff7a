"""Real English speech from Debian's `pocketsphinx-testdata`: LibriVox read speech and spoken card names.

The package keeps 16 kHz wav files with CMU Sphinx transcripts: a `fileids` list (one path per line,
without `.wav`, relative to the folder) and a transcription file with one line per utterance,

    <s> he was not an ill disposed young man </s> (sense_and_sensibility_01_austen_64kb-0880)

Ids in the transcription without audio, and audio without a transcription, are counted in the result.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data import Corpus, Recording, Segment
from fieldasr_examples.corpora.errors import CorpusSourceError

INSTALL_HINT = "Install the Debian package pocketsphinx-testdata (`bash tools/install_system_packages.sh` or `apt-get install pocketsphinx-testdata`)."


@dataclass(frozen=True)
class SphinxSet:
    name: str  # also the speaker label: each set is one reader
    folder: str
    fileids: str
    transcription: str


SETS = (
    SphinxSet("librivox", "librivox", "fileids", "transcription"),
    SphinxSet("cards", "cards", "cards.fileids", "cards.transcription"),
)

_TRANSCRIPT_LINE = re.compile(r"^(?P<text>.*?)\s*\((?P<id>[^()\s]+)\)\s*$")
_SENTENCE_MARKS = re.compile(r"</?s>")


@dataclass(frozen=True)
class SphinxImport:
    corpus_dir: Path
    segments: dict[str, int]  # per set
    hours: float
    transcripts_without_audio: tuple[str, ...]
    audio_without_transcript: tuple[str, ...]


def parse_sphinx_transcription(text: str, source: str = "transcription") -> dict[str, str]:
    """Utterance id -> words, from CMU Sphinx transcription lines `<s> words </s> (id)`."""
    transcripts = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _TRANSCRIPT_LINE.match(line)
        if match is None:
            raise CorpusSourceError(f"{source} line {number}: expected '<s> words </s> (utterance id)', got {line[:60]!r}.")
        transcripts[match["id"]] = " ".join(_SENTENCE_MARKS.sub(" ", match["text"]).split())
    return transcripts


def import_pocketsphinx(out_dir: str | Path, root: str | Path) -> SphinxImport:
    """Manifests of the transcribed utterances of every set in SETS (language eng), written to `out_dir`."""
    root, out_dir = Path(root), Path(out_dir)
    if not root.is_dir():
        raise CorpusSourceError(f"{root}: pocketsphinx test data not found. {INSTALL_HINT}")
    recordings: dict[str, Recording] = {}
    segments: list[Segment] = []
    counts: dict[str, int] = {}
    without_audio: list[str] = []
    without_transcript: list[str] = []
    for sphinx_set in SETS:
        folder = root / sphinx_set.folder
        fileids_path, transcription_path = folder / sphinx_set.fileids, folder / sphinx_set.transcription
        if not fileids_path.is_file() or not transcription_path.is_file():
            raise CorpusSourceError(f"{folder}: {sphinx_set.fileids} or {sphinx_set.transcription} missing. {INSTALL_HINT}")
        transcripts = parse_sphinx_transcription(transcription_path.read_text(encoding="utf-8"), str(transcription_path))
        fileids = [line.strip() for line in fileids_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        audio_by_id = {Path(fileid).name: folder / f"{fileid}.wav" for fileid in fileids}
        without_audio += [f"{sphinx_set.name}/{key}" for key in transcripts if key not in audio_by_id or not audio_by_id[key].is_file()]
        without_transcript += [f"{sphinx_set.name}/{key}" for key in audio_by_id if key not in transcripts]
        counts[sphinx_set.name] = 0
        for key, text in transcripts.items():
            audio = audio_by_id.get(key)
            if audio is None or not audio.is_file():
                continue
            recording, segment = _manifest_entry(sphinx_set, key, audio, text)
            recordings[recording.id] = recording
            segments.append(segment)
            counts[sphinx_set.name] += 1
    corpus = Corpus(recordings=recordings, segments=tuple(segments))
    corpus.validate(require_text=True)
    corpus.save(out_dir)
    return SphinxImport(
        corpus_dir=out_dir.resolve(),
        segments=counts,
        hours=corpus.hours,
        transcripts_without_audio=tuple(without_audio),
        audio_without_transcript=tuple(without_transcript),
    )


def _manifest_entry(sphinx_set: SphinxSet, key: str, audio: Path, text: str) -> tuple[Recording, Segment]:
    identifier = f"{sphinx_set.name}-{key}"
    recording = Recording.from_audio(identifier, audio)
    segment = Segment.spanning(
        recording,
        text=text,
        speaker=sphinx_set.name,
        language="eng",
        custom={"source": f"pocketsphinx-testdata/{sphinx_set.folder}"},
    )
    return recording, segment
