"""Kaldi data directories: `wav.scp`, `text`, `segments`, `utt2spk`, `spk2utt` (and `reco2file_and_channel`).

Reading: `wav.scp` (recording id, audio path; a relative path is taken from the current folder, as Kaldi's scripts
take it from the recipe folder they run in) and `text` are required; without `segments` each utterance is a whole
recording (its id is the recording id). `utt2lang` (as Lhotse writes it) gives languages, `spk2gender` and
`utt2gender` a gender kept in custom data; files Kaldi derives from the audio (`utt2dur`, `reco2dur`, `feats.scp`,
...) are not read: `prepare` measures the audio itself. A `wav.scp` entry that is a command (`sox a.wav -t wav - |`) or an archive
offset (`feats.ark:12`) is not run or opened: its utterances are skipped and counted, with the fix (write the audio to a
file). Lines that contradict each other (a `text` utterance missing from `segments`, a `segments` line naming a
recording not in `wav.scp`, `spk2utt` disagreeing with `utt2spk`) stop the import with the file, line and fix.

Kaldi has no "unknown speaker": its convention is to use the utterance id as the speaker, so a speaker equal to its
utterance id reads as no speaker, and a segment without a speaker is written that way. Languages are written to
`utt2lang` (for the segments that have one).
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fieldasr.data.formats.base import ExportResult, absolute_audio_path, parse_seconds, read_lines, require_audio, seconds_text
from fieldasr.data.manifest import Corpus
from fieldasr.data.media import MediaSearch
from fieldasr.data.source import SkippedItem, SourceAnnotation, SourceFile
from fieldasr.errors import AnnotationError
from fieldasr.files import atomic_directory, atomic_write_text

_ARCHIVE_OFFSET = re.compile(r"\.(ark|scp):\d+$")


@dataclass(frozen=True)
class _Utterance:
    id: str
    recording_id: str
    start: float
    end: float | None  # None: to the end of the recording
    where: str


def _pairs(path: Path, fix: str) -> Iterator[tuple[str, str, str]]:
    """(first field, rest of the line, "file line N") of a Kaldi key-value file."""
    for number, line in read_lines(path):
        parts = line.strip().split(maxsplit=1)
        where = f"{path} line {number}"
        if len(parts) < 2 and path.name != "text":
            raise AnnotationError(f"{where}: {line.strip()!r} has one field; expected '<id> {fix}'. Fix or delete the line.")
        yield parts[0], parts[1].strip() if len(parts) > 1 else "", where


def _unique(mapping: dict, key: str, value: object, where: str, what: str) -> None:
    if key in mapping:
        raise AnnotationError(f"{where}: {what} {key!r} appears twice. Ids must be unique; delete one of the lines.")
    mapping[key] = value


def _read_wav_scp(folder: Path) -> dict[str, tuple[Path | str, str]]:
    """Recording id -> (audio path, where) or (the reason it cannot be read, where)."""
    recordings: dict[str, tuple[Path | str, str]] = {}
    for recording_id, value, where in _pairs(folder / "wav.scp", "<audio file>"):
        if value.endswith("|"):
            entry: Path | str = (f"a command ({value!r}), which fieldasr does not run; write its audio to a file "
                                 f"(e.g. run the command with its output into {recording_id}.wav) and list that file in wav.scp")
        elif _ARCHIVE_OFFSET.search(value):
            entry = f"an archive offset ({value!r}); list the audio file itself in wav.scp"
        else:
            entry = Path(value)
        _unique(recordings, recording_id, (entry, where), where, "recording id")
    return recordings


def _read_segments(folder: Path, recordings: dict) -> dict[str, _Utterance]:
    path = folder / "segments"
    if not path.is_file():  # one utterance per recording, named after it
        return {rid: _Utterance(rid, rid, 0.0, None, where) for rid, (_, where) in recordings.items()}
    utterances: dict[str, _Utterance] = {}
    for number, line in read_lines(path):
        where = f"{path} line {number}"
        fields = line.split()
        if len(fields) != 4:
            raise AnnotationError(f"{where}: {line.strip()!r} has {len(fields)} fields; expected "
                                  "'<utterance id> <recording id> <start> <end>'. Fix the line.")
        utterance_id, recording_id, start_text, end_text = fields
        if recording_id not in recordings:
            raise AnnotationError(f"{where}: recording {recording_id!r} is not in {folder / 'wav.scp'}. Add it there "
                                  "or delete this line.")
        start = parse_seconds(start_text, where, "start")
        end = None if end_text == "-1" else parse_seconds(end_text, where, "end")  # -1: to the end, as in extract-segments
        if end is not None and end <= start:
            raise AnnotationError(f"{where}: end {end_text} is not after start {start_text}. Fix the times or delete the line.")
        _unique(utterances, utterance_id, _Utterance(utterance_id, recording_id, start, end, where), where, "utterance id")
    return utterances


def _read_texts(folder: Path, utterances: dict[str, _Utterance]) -> dict[str, str]:
    texts: dict[str, str] = {}
    listed_in = "segments" if (folder / "segments").is_file() else "wav.scp (there is no segments file)"
    for utterance_id, text, where in _pairs(folder / "text", "<transcription>"):
        if utterance_id not in utterances:
            raise AnnotationError(f"{where}: utterance {utterance_id!r} is not in {listed_in}. Add it there or delete this line.")
        _unique(texts, utterance_id, text, where, "utterance id")
    return texts


def _read_speakers(folder: Path, utterances: dict[str, _Utterance]) -> dict[str, str]:
    """Utterance id -> speaker (utt2spk), checked against spk2utt when that is there."""
    path = folder / "utt2spk"
    if not path.is_file():
        return {}
    speakers: dict[str, str] = {}
    for utterance_id, speaker, where in _pairs(path, "<speaker id>"):
        if utterance_id not in utterances:
            raise AnnotationError(f"{where}: utterance {utterance_id!r} is not in segments or wav.scp. Delete the line or add the utterance.")
        if len(speaker.split()) != 1:
            raise AnnotationError(f"{where}: {utterance_id} {speaker} has {1 + len(speaker.split())} fields; expected "
                                  "'<utterance id> <speaker id>'. Fix the line.")
        _unique(speakers, utterance_id, speaker, where, "utterance id")
    missing = sorted(set(utterances) - set(speakers))
    if missing:
        raise AnnotationError(f"{path}: utterance(s) {', '.join(missing[:5])} have no speaker. Kaldi needs one for every "
                              f"utterance: add '<utterance id> <speaker id>' lines (the utterance id itself if unknown).")
    spk2utt = folder / "spk2utt"
    if spk2utt.is_file():
        for speaker, listed, where in _pairs(spk2utt, "<utterance id> ..."):
            for utterance_id in listed.split():
                if speakers.get(utterance_id) != speaker:
                    raise AnnotationError(f"{where}: speaker {speaker!r} lists utterance {utterance_id!r}, but utt2spk says "
                                          f"{speakers.get(utterance_id, 'nothing')!r}. Regenerate spk2utt with "
                                          "`utils/utt2spk_to_spk2utt.pl utt2spk > spk2utt`.")
    return speakers


def _read_mapping(folder: Path, name: str, known: Iterable[str], what: str) -> dict[str, str]:
    """An optional `<id> <value>` file (utt2lang, spk2gender, utt2gender) whose ids must be `known`."""
    path = folder / name
    if not path.is_file():
        return {}
    known, mapping = set(known), {}
    for key, value, where in _pairs(path, f"<{what}>"):
        if key not in known:
            raise AnnotationError(f"{where}: {key!r} is not an utterance or speaker of this data directory. Delete the line or fix the id.")
        _unique(mapping, key, value, where, "id")
    return mapping


def _read_channels(folder: Path, recordings: dict) -> dict[str, dict[str, str]]:
    """reco2file_and_channel: recording id -> {"file", "channel"} (kept in each segment's custom data)."""
    path = folder / "reco2file_and_channel"
    if not path.is_file():
        return {}
    channels = {}
    for recording_id, value, where in _pairs(path, "<file> <channel>"):
        fields = value.split()
        if recording_id not in recordings or len(fields) != 2:
            raise AnnotationError(f"{where}: expected '<recording id in wav.scp> <file> <channel>'. Fix or delete the line.")
        channels[recording_id] = {"file": fields[0], "channel": fields[1]}
    return channels


@dataclass(frozen=True)
class _DataDirectory:
    """A Kaldi data directory's files, read and checked against each other."""

    folder: Path
    recordings: dict[str, tuple[Path | str, str]]
    utterances: dict[str, _Utterance]
    texts: dict[str, str]
    speakers: dict[str, str]
    languages: dict[str, str]
    custom: dict[str, dict[str, str]]  # utterance id -> file/channel (reco2file_and_channel), gender

    @classmethod
    def read(cls, folder: Path) -> "_DataDirectory":
        for required in ("wav.scp", "text"):
            if not (folder / required).is_file():
                raise AnnotationError(f"{folder}: no {required} here. A Kaldi data directory holds wav.scp and text "
                                      "(and segments, utt2spk, spk2utt); give that folder.")
        recordings = _read_wav_scp(folder)
        utterances = _read_segments(folder, recordings)
        speakers = _read_speakers(folder, utterances)
        channels = _read_channels(folder, recordings)
        speaker_genders = _read_mapping(folder, "spk2gender", set(speakers.values()), "gender")
        genders = {utterance: speaker_genders[speaker] for utterance, speaker in speakers.items() if speaker in speaker_genders}
        genders.update(_read_mapping(folder, "utt2gender", utterances, "gender"))
        custom = {u.id: {**channels.get(u.recording_id, {}), **({"gender": genders[u.id]} if u.id in genders else {})}
                  for u in utterances.values()}
        return cls(folder, recordings, utterances, _read_texts(folder, utterances), speakers,
                   _read_mapping(folder, "utt2lang", utterances, "language"), custom)

    def annotation(self, utterance: _Utterance, language: str | None) -> SourceAnnotation:
        speaker = self.speakers.get(utterance.id, utterance.id)
        return SourceAnnotation(utterance.start, utterance.end, self.texts[utterance.id], utterance.id, f"utterance {utterance.id}",
                                None if speaker == utterance.id else speaker, self.languages.get(utterance.id, language),
                                self.custom[utterance.id], segment_id=utterance.id)


def read_kaldi(source: Path, language: str | None = None, media: MediaSearch | None = None) -> Iterator[SourceFile | SkippedItem]:
    """One SourceFile per recording of a Kaldi data directory; skipped utterances and recordings with the reason."""
    data = _DataDirectory.read(Path(source))
    by_recording: dict[str, list[_Utterance]] = defaultdict(list)
    for utterance in data.utterances.values():
        by_recording[utterance.recording_id].append(utterance)
    for recording_id, (entry, where) in data.recordings.items():
        if isinstance(entry, str):
            lost = len(by_recording.get(recording_id, []))
            yield SkippedItem(where, f"recording {recording_id}", f"{entry} ({lost} utterance(s) not used)", "piped-audio")
            continue
        if recording_id not in by_recording:
            yield SkippedItem(where, f"recording {recording_id}", "no utterance in segments is of this recording", "no-transcription")
            continue
        listed = []
        for utterance in sorted(by_recording[recording_id], key=lambda u: (u.start, u.id)):
            if utterance.id in data.texts:
                listed.append(data.annotation(utterance, language))
            else:
                yield SkippedItem(str(data.folder / "text"), f"utterance {utterance.id}", "no line in text (no transcription)", "no-transcription")
        if listed:
            yield SourceFile(source=data.folder / "text", media=entry, annotations=tuple(listed), recording_id=recording_id)


def write_kaldi(corpus: Corpus, out: Path, overwrite: bool = False) -> ExportResult:
    """A Kaldi data directory `out` (sorted as `LC_ALL=C sort` sorts, as Kaldi requires); ids with spaces are skipped."""
    require_audio(corpus, "a Kaldi data directory", out)
    skipped, notes = [], []
    segments = []
    for segment in corpus.segments:
        if len(segment.id.split()) != 1 or len(segment.recording_id.split()) != 1 or len((segment.speaker or "x").split()) != 1:
            skipped.append(SkippedItem("segment", segment.id, "an id or speaker with spaces, which Kaldi cannot read; rename it", "bad-id"))
            continue
        segments.append(segment)
    segments.sort(key=lambda segment: segment.id)
    speaker_of = {segment.id: segment.speaker or segment.id for segment in segments}
    recordings = sorted({segment.recording_id for segment in segments})
    paths = {rid: absolute_audio_path(corpus.recordings[rid]) for rid in recordings}
    spaced = [path for path in paths.values() if len(path.split()) > 1]
    if spaced:
        notes.append(f"{len(spaced)} audio path(s) contain spaces (e.g. {spaced[0]}); Kaldi's own tools refuse those.")
    unprefixed = sum(not utterance.startswith(speaker) for utterance, speaker in speaker_of.items())
    if unprefixed:
        notes.append(f"{unprefixed} utterance id(s) do not start with their speaker id; Kaldi's validate_data_dir.sh "
                     "wants them to (so that utt2spk sorts the same by utterance and by speaker).")
    by_speaker: dict[str, list[str]] = defaultdict(list)
    for utterance, speaker in speaker_of.items():
        by_speaker[speaker].append(utterance)
    files = {
        "wav.scp": [f"{rid} {paths[rid]}" for rid in recordings],
        "segments": [f"{s.id} {s.recording_id} {seconds_text(s.start)} {seconds_text(s.end)}" for s in segments],
        "text": [f"{s.id} {s.text}" if s.text else s.id for s in segments],
        "utt2spk": [f"{utterance} {speaker_of[utterance]}" for utterance in sorted(speaker_of)],
        "spk2utt": [f"{speaker} {' '.join(sorted(by_speaker[speaker]))}" for speaker in sorted(by_speaker)],
    }
    if any(s.language for s in segments):
        files["utt2lang"] = [f"{s.id} {s.language}" for s in segments if s.language]
    with atomic_directory(out, overwrite=overwrite) as staging:
        for name, lines in files.items():
            atomic_write_text(staging / name, "".join(line + "\n" for line in lines))
    return ExportResult(out, tuple(out / name for name in files), len(segments), tuple(skipped), tuple(notes))
