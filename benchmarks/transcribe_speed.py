"""Transcription speed and accuracy at each precision, against Hugging Face's pipeline, and training padding.

1. Precision on a trained model: the demo's Maori bundle (`python -m fieldasr_examples.demo --output DIR`) decodes the
   demo's held-out test set greedily at fp32, bf16 and int8 (phone and word error rates), and transcribes the
   demo's long recording end to end (VAD, batching, decoding, word times). No real-speech bundle exists yet.
2. Speed against HF: a base-size wav2vec 2.0 (transformers' default config, random weights: speed does not
   depend on what the weights learned) transcribes espeak-ng speech with 8 s pauses, end to end, and Hugging
   Face's `pipeline("automatic-speech-recognition", chunk_length_s=..., stride_length_s=chunk/6)` runs the same
   weights on the same audio at fp32 (its default) and at the same precision (the same int8 quantisation, or
   bf16 autocast).
3. Training padding: SpeechBrain's DynamicBatchSampler (what fieldasr used before, 10 buckets) against
   `fieldasr.train.batching.duration_batch_sampler`, on benchmarks/train_throughput.py's data, with the
   training time of one epoch of the tiny Conformer at each batching.

    PYTHONPATH=. python benchmarks/transcribe_speed.py --demo DIR [--minutes 4] [--threads 1]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
import warnings
from pathlib import Path

import torch
from transformers import Wav2Vec2Config

from benchmark_doc import Table, write_benchmark_doc
from fieldasr.audio import audio_info, write_audio
from fieldasr.bundle import export_bundle, load_bundle
from fieldasr.data import Corpus
from fieldasr.eval import score
from fieldasr.models.wav2vec2 import Wav2Vec2CTC
from fieldasr.text.vocabulary import WORD_BOUNDARY, Vocabulary
from fieldasr.transcribe import Transcriber, TranscribeOptions
from fieldasr.transcribe.bundle_model import BundleAcousticModel, quantise_linear_layers, resolve_precision
from fieldasr.transcribe.manifest_decoding import decode_manifest

LETTERS = tuple("<blank> <unk> | a b c d e f g h i j k l m n o p q r s t u v w x y z '".split())
PRECISIONS = ("fp32", "bf16", "int8")


def end_to_end_seconds(model: BundleAcousticModel, wav: Path) -> tuple[float, int]:
    transcriber = Transcriber(model, TranscribeOptions(precision=model.precision))
    start = time.perf_counter()
    transcript = transcriber.transcribe(wav)
    return time.perf_counter() - start, len(transcript.segments)


def precision_table(demo: Path) -> Table:
    bundle_dir, test, long_wav = demo / "bundles" / "mri", demo / "corpus" / "target" / "test", demo / "corpus" / "long" / "mri-long.wav"
    if not bundle_dir.is_dir():
        raise SystemExit(f"{bundle_dir}: no demo bundle; make it with `python -m fieldasr_examples.demo --output {demo}`.")
    corpus = Corpus.load(test)
    reference_phones = {s.id: [p for p in s.phones or () if p != WORD_BOUNDARY] for s in corpus.segments}
    reference_words = {s.id: s.text or "" for s in corpus.segments}
    duration = audio_info(long_wav).duration
    rows, fp32_per = [], None
    for precision in PRECISIONS:
        model = BundleAcousticModel(load_bundle(bundle_dir), precision)
        with torch.inference_mode():
            hypotheses = decode_manifest(model, corpus, show_progress=False)
        per = score(reference_phones, {s.id: list(s.phones or ()) for s in hypotheses.segments}, unit="phone").rate
        wer = score(reference_words, {s.id: s.text or "" for s in hypotheses.segments}, unit="word").rate
        fp32_per = per if fp32_per is None else fp32_per
        seconds, _ = end_to_end_seconds(model, long_wav)
        rows.append([precision, f"{100 * per:.2f}", f"{100 * (per - fp32_per):+.2f}", f"{100 * wer:.1f}",
                     f"{seconds:.1f}", f"{seconds / duration:.3f}"])
    note = (f"{len(corpus.segments)} test utterances ({sum(s.duration for s in corpus.segments) / 60:.1f} min), greedy decoding; "
            f"end to end: {long_wav.name}, {duration / 60:.1f} min. `--precision auto` on this machine: {resolve_precision('auto', 'cpu')}.")
    return Table("Precision on the demo's Maori bundle", ["precision", "PER %", "PER - fp32 PER (points)", "WER % (greedy)",
                 "end to end (s)", "RTF"], rows, note=note)


def base_bundle(folder: Path) -> Path:
    config = {key: value for key, value in Wav2Vec2Config().to_diff_dict().items() if key not in ("architectures", "transformers_version")}
    config.update(mask_time_prob=0.0, layerdrop=0.0)
    torch.manual_seed(0)
    model = Wav2Vec2CTC(config, vocab_size=len(LETTERS))
    return export_bundle(folder / "bundle", model, Vocabulary(LETTERS), label_unit="characters")


def huggingface_recognizer(bundle_dir: Path, precision: str):
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, pipeline

    ours = load_bundle(bundle_dir).model
    hf = Wav2Vec2ForCTC(Wav2Vec2Config(**{**ours.encoder_config, "vocab_size": len(LETTERS), "pad_token_id": 0})).eval()
    hf.wav2vec2.load_state_dict(ours.encoder.state_dict())
    hf.lm_head.load_state_dict(ours.head.state_dict())
    if precision == "int8":
        hf = quantise_linear_layers(hf)
    vocab_file = bundle_dir / "hf_vocab.json"
    vocab_file.write_text(json.dumps({token: index for index, token in enumerate(LETTERS)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), pad_token="<blank>", unk_token="<unk>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=ours.inputs.normalise,
                                         return_attention_mask=ours.inputs.attention_mask)  # the policy our model applies
    return pipeline("automatic-speech-recognition", model=hf, tokenizer=tokenizer, feature_extractor=extractor, device="cpu")


def huggingface_seconds(bundle_dir: Path, wav: Path, chunk_seconds: float, precision: str) -> float:
    from fieldasr.audio import load_audio

    recognizer = huggingface_recognizer(bundle_dir, precision)
    audio = load_audio(wav)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    start = time.perf_counter()
    with warnings.catch_warnings(), autocast:
        warnings.simplefilter("ignore")
        recognizer({"raw": audio, "sampling_rate": 16000}, chunk_length_s=chunk_seconds, stride_length_s=chunk_seconds / 6, batch_size=1)
    return time.perf_counter() - start


def huggingface_table(minutes: float, chunk_seconds: float) -> Table:
    from vad_speed import espeak_speech

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        wav = folder / "speech.wav"
        write_audio(wav, espeak_speech(folder, minutes * 60))
        bundle_dir = base_bundle(folder)
        duration = audio_info(wav).duration
        hf_fp32 = huggingface_seconds(bundle_dir, wav, chunk_seconds, "fp32")
        rows = []
        for precision in PRECISIONS:
            ours, segments = end_to_end_seconds(BundleAcousticModel(load_bundle(bundle_dir), precision), wav)
            hf_same = hf_fp32 if precision == "fp32" else huggingface_seconds(bundle_dir, wav, chunk_seconds, precision)
            rows.append([precision, f"{ours:.1f} ({segments} segments)", f"{ours / duration:.3f}", f"{hf_fp32:.1f}",
                         f"{hf_fp32 / ours:.2f}x", f"{hf_same:.1f}", f"{hf_same / ours:.2f}x"])
    note = (f"{duration / 60:.1f} min of espeak-ng speech with 8 s pauses; wav2vec2 base, random weights; "
            f"HF chunk_length_s={chunk_seconds:g}, stride_length_s={chunk_seconds / 6:g}, batch_size=1.")
    return Table("fieldasr against Hugging Face's pipeline, same weights and audio",
                 ["precision", "fieldasr end to end (s)", "RTF", "HF fp32 (s)", "HF fp32 / fieldasr", "HF same precision (s)",
                  "HF same precision / fieldasr"], rows, note=note)


def padding_table(train: bool) -> Table:
    from speechbrain.dataio.sampler import DynamicBatchSampler
    from train_throughput import RandomSpeech, audio_seconds, run_fieldasr

    from fieldasr.train.batching import duration_batch_sampler, padding_ratio

    dataset = RandomSpeech(120)
    durations = dataset.durations
    samplers = {
        "before: SpeechBrain DynamicBatchSampler, 10 buckets": list(DynamicBatchSampler(
            durations, max_batch_length=60.0, num_buckets=10, lengths_list=durations, shuffle=True, batch_ordering="random", seed=0)),
        "after: fieldasr duration_batch_sampler": list(duration_batch_sampler(durations, 60.0, seed=0)),
    }
    rows = []
    for name, batches in samplers.items():
        seconds = run_fieldasr("conformer", dataset, batches) if train else None
        throughput = f"{audio_seconds(dataset, batches) / seconds:.1f}" if seconds else "not run"
        rows.append([name, len(batches), f"{100 * padding_ratio(batches, durations):.1f}", f"{seconds:.1f}" if seconds else "not run", throughput])
    return Table("Training padding", ["batching", "batches", "padding % of processed audio", "one epoch (s)", "audio s/s"], rows,
                 note=f"{len(durations)} utterances of 1-12 s ({sum(durations) / 60:.1f} min), 60 s padded per batch; tiny Conformer CTC, one epoch.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, required=True, help="output folder of `python -m fieldasr_examples.demo`")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--chunk-seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--skip-training", action="store_true", help="padding only, no training epochs")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks/transcribe_speed.md"))
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    tables = [precision_table(arguments.demo)]
    write_benchmark_doc(arguments.output, "Transcription speed, precision and padding", tables)
    tables.append(huggingface_table(arguments.minutes, arguments.chunk_seconds))
    write_benchmark_doc(arguments.output, "Transcription speed, precision and padding", tables)
    tables.append(padding_table(not arguments.skip_training))
    print(write_benchmark_doc(arguments.output, "Transcription speed, precision and padding", tables).read_text())


if __name__ == "__main__":
    main()
