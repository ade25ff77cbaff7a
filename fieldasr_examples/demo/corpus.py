"""Stage 1 of the demo: the corpus. espeak-ng speaks UDHR text in the seen languages and the target language.

Splits (each a manifest folder): seen-language `train` and `dev`; target-language `test` (held out),
`train` (the few minutes of labels), `unlabelled` (audio only, text and phones removed). Target phones carry the word boundary `|`, and one long
held-out recording for transcription. The long recording and the test split share the first texts of
the target language's seeded order (`build_long_recording` plans with the same seed), so no test or long
recording text is ever in the target training data; the long recording's speaker is a voice no split has.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fieldasr.data import Corpus, Segment
from fieldasr.g2p import load_spec
from fieldasr.g2p.lexicon import Lexicon
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr_examples.corpora import build_long_recording, build_synthetic_corpus
from fieldasr_examples.demo.settings import DemoSettings

SPLITS = ("seen/train", "seen/dev", "target/train", "target/unlabelled", "target/test", "long")


@dataclass(frozen=True)
class DemoCorpus:
    root: Path
    seen_train: Path
    seen_dev: Path
    target_train: Path
    target_unlabelled: Path
    target_test: Path
    long_recording: Path  # the wav
    long_reference: Path  # its manifest folder (reference segments)
    minutes: dict[str, float]  # audio minutes per split

    def describe(self) -> str:
        return ", ".join(f"{name} {minutes:.1f} min" for name, minutes in self.minutes.items())


def corpus_paths(root: Path, settings: DemoSettings) -> DemoCorpus:
    long_folder = root / "long"
    return DemoCorpus(
        root=root, seen_train=root / "seen" / "train", seen_dev=root / "seen" / "dev", target_train=root / "target" / "train",
        target_unlabelled=root / "target" / "unlabelled", target_test=root / "target" / "test",
        long_recording=long_folder / f"{settings.target_language}-long.wav", long_reference=long_folder, minutes={},
    )


def is_built(root: Path) -> bool:
    return all((root / split / "segments.jsonl.gz").is_file() for split in SPLITS)


def build_corpus(root: Path, settings: DemoSettings) -> DemoCorpus:
    """Synthesise (or, when every split exists, reuse) the demo corpus under `root`."""
    paths = corpus_paths(root, settings)
    if not is_built(root):
        _synthesise(root, settings, paths)
    minutes = {split: Corpus.load(root / split).hours * 60 for split in SPLITS}
    return DemoCorpus(**{**paths.__dict__, "minutes": minutes})


def _synthesise(root: Path, settings: DemoSettings, paths: DemoCorpus) -> None:
    seen_count = settings.seen_utterances_per_language + settings.seen_dev_utterances_per_language
    build_synthetic_corpus(settings.seen_languages, root / "seen" / "all", utterances_per_language=seen_count,
                           speakers_per_language=settings.speakers_per_language, seed=settings.seed)
    seen = Corpus.load(root / "seen" / "all")
    dev_ids = {segment.id for segment in seen.segments
               if int(segment.id.rsplit("-", 1)[1]) >= settings.seen_utterances_per_language}
    save_subset(seen, [s for s in seen.segments if s.id not in dev_ids], paths.seen_train)
    save_subset(seen, [s for s in seen.segments if s.id in dev_ids], paths.seen_dev)

    build_synthetic_corpus([settings.target_language], root / "target" / "all", utterances_per_language=settings.target_utterances,
                           speakers_per_language=settings.speakers_per_language, seed=settings.seed)
    target = Corpus.load(root / "target" / "all")
    test_end = settings.target_test_utterances
    train_end = test_end + settings.target_labelled_utterances
    target = Corpus(target.recordings, with_word_boundaries(target.segments, settings.target_spec))
    by_index = [(int(segment.id.rsplit("-", 1)[1]), segment) for segment in target.segments]
    save_subset(target, [s for i, s in by_index if i < test_end], paths.target_test)
    save_subset(target, [s for i, s in by_index if test_end <= i < train_end], paths.target_train)
    save_subset(target, [without_labels(s) for i, s in by_index if i >= train_end], paths.target_unlabelled)

    # A voice none of the splits has: the speaker after the corpus's own.
    long = build_long_recording(settings.target_language, paths.long_reference, utterances=settings.long_recording_utterances,
                                seed=settings.seed, speaker_index=settings.speakers_per_language).corpus
    Corpus(long.recordings, with_word_boundaries(long.segments, settings.target_spec)).save(paths.long_reference)


def with_word_boundaries(segments: tuple[Segment, ...], spec: str) -> tuple[Segment, ...]:
    """Target phones with the word boundary `|` between words, so that the model learns where words end and
    the lexicon + LM beam search can turn its output into words."""
    lexicon = Lexicon(load_spec(spec))
    words = {segment.id: list(lexicon.g2p.words(segment.text or "")) for segment in segments}
    pronunciations = lexicon.pronounce(word for listing in words.values() for word in listing)
    return tuple(
        segment.with_(phones=tuple(phone for index, word in enumerate(words[segment.id])
                                   for phone in ((WORD_BOUNDARY,) if index else ()) + tuple(pronunciations[word])))
        for segment in segments
    )


def without_labels(segment: Segment) -> Segment:
    return segment.with_(text=None, phones=None)


def save_subset(corpus: Corpus, segments: list[Segment], folder: Path) -> None:
    recording_ids = {segment.recording_id for segment in segments}
    subset = Corpus({key: value for key, value in corpus.recordings.items() if key in recording_ids}, tuple(segments))
    subset.validate()
    subset.save(folder)
