"""Transcription speed on a long recording: fieldasr end to end vs. the bare model forward pass vs.
Hugging Face's `pipeline("automatic-speech-recognition", chunk_length_s=...)` on the same weights.

The model is a base-size wav2vec 2.0 (transformers' default config: 12 layers, 768 wide) with random
weights: speed does not depend on what the weights learned. The recording is espeak-ng speech with pauses.

    PYTHONPATH=. python benchmarks/transcribe_speed.py --minutes 10
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from transformers import Wav2Vec2Config

from fieldasr.audio import audio_info, load_audio
from fieldasr.bundle import export_bundle, load_bundle
from fieldasr_examples.corpora import build_long_recording
from fieldasr.files import atomic_write_text
from fieldasr.models.wav2vec2 import Wav2Vec2CTC
from fieldasr.text.vocabulary import Vocabulary
from fieldasr.transcribe import Transcriber, TranscribeOptions
from fieldasr.transcribe.bundle_model import BundleAcousticModel
from fieldasr.vad import detect_speech

LETTERS = tuple("<blank> <unk> | a b c d e f g h i j k l m n o p q r s t u v w x y z '".split())


def long_recording(folder: Path, minutes: float) -> Path:
    # About six seconds per UDHR utterance with its pause.
    recording = build_long_recording("eng", folder, utterances=max(1, int(minutes * 60 / 6)), seed=1, phonemizer=lambda texts, code: None)
    return recording.wav_path


def base_bundle(folder: Path) -> Path:
    config = {key: value for key, value in Wav2Vec2Config().to_diff_dict().items() if key not in ("architectures", "transformers_version")}
    config.update(mask_time_prob=0.0, layerdrop=0.0)
    model = Wav2Vec2CTC(config, vocab_size=len(LETTERS))
    return export_bundle(folder / "bundle", model, Vocabulary(LETTERS), label_unit="characters")


def bare_forward_seconds(model: BundleAcousticModel, wav: Path, chunk_seconds: float, precision: str) -> float:
    """The model alone over the whole recording in fixed chunks, one at a time: no VAD, no decoding, no I/O timed."""
    samples = torch.from_numpy(load_audio(wav))
    chunk = int(chunk_seconds * 16000)
    pieces = [samples[i : i + chunk] for i in range(0, len(samples), chunk)]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else torch.autocast("cpu", enabled=False)
    start = time.perf_counter()
    with torch.inference_mode(), autocast:
        for piece in pieces:
            model.log_probs(piece[None], torch.tensor([len(piece)]))
    return time.perf_counter() - start


def fieldasr_seconds(model: BundleAcousticModel, wav: Path, precision: str) -> tuple[float, int]:
    transcriber = Transcriber(model, TranscribeOptions(precision=precision, batch_seconds=60.0))
    start = time.perf_counter()
    transcript = transcriber.transcribe(wav)
    return time.perf_counter() - start, len(transcript.segments)


def huggingface_seconds(bundle_dir: Path, wav: Path, chunk_seconds: float) -> float:
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, pipeline

    bundle = load_bundle(bundle_dir)
    ours = bundle.model
    hf = Wav2Vec2ForCTC(Wav2Vec2Config(**{**ours.encoder_config, "vocab_size": len(LETTERS), "pad_token_id": 0})).eval()
    hf.wav2vec2.load_state_dict(ours.encoder.state_dict())
    hf.lm_head.load_state_dict(ours.head.state_dict())
    vocab_file = bundle_dir / "hf_vocab.json"
    vocab_file.write_text(json.dumps({token: index for index, token in enumerate(LETTERS)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), pad_token="<blank>", unk_token="<unk>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True)
    recognizer = pipeline("automatic-speech-recognition", model=hf, tokenizer=tokenizer, feature_extractor=extractor, device="cpu")
    audio = load_audio(wav)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recognizer({"raw": audio, "sampling_rate": 16000}, chunk_length_s=chunk_seconds, stride_length_s=chunk_seconds / 6, batch_size=1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--precisions", default="fp32,bf16,int8")
    parser.add_argument("--chunk-seconds", type=float, default=20.0)
    parser.add_argument("--skip-huggingface", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks/transcribe_speed.md"),
                        help="Markdown report, rewritten after every row")
    arguments = parser.parse_args()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    command = "PYTHONPATH=. python benchmarks/transcribe_speed.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        wav = long_recording(folder, arguments.minutes)
        duration = audio_info(wav).duration
        speech = sum(region.duration for region in detect_speech(wav))
        bundle_dir = base_bundle(folder)
        lines = [
            f"recording: {duration / 60:.1f} min ({speech / 60:.1f} min speech by VAD); model: wav2vec2 base, "
            f"random weights; torch threads: {torch.get_num_threads()}",
            "",
            "| precision | fieldasr end to end (s) | RTF | bare forward, whole audio (s) | overhead vs bare | HF pipeline (s) | HF / fieldasr |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        print("\n".join(lines), flush=True)
        for precision in arguments.precisions.split(","):
            model = BundleAcousticModel(load_bundle(bundle_dir), precision)
            ours, segments = fieldasr_seconds(model, wav, precision)
            bare = bare_forward_seconds(model, wav, arguments.chunk_seconds, precision)
            hf = "" if arguments.skip_huggingface or precision != "fp32" else huggingface_seconds(bundle_dir, wav, arguments.chunk_seconds)
            ratio = f"{hf / ours:.2f}x" if hf else "n/a"
            hf_text = f"{hf:.1f}" if hf else "n/a"
            lines.append(f"| {precision} | {ours:.1f} ({segments} segments) | {ours / duration:.3f} | {bare:.1f} | {(ours - bare) / bare:+.0%} | {hf_text} | {ratio} |")
            print(lines[-1], flush=True)
            write_report(arguments.output, command, lines)


def write_report(path: Path, command: str, lines: list[str]) -> None:
    facts = [f"- {name}: {value}" for name, value in machine_facts().items()]
    text = "\n".join(["# Transcription speed", "", f"Written by `{command}`.", "", *facts, "", *lines, ""])
    atomic_write_text(path, text, make_parents=True)


def machine_facts() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    return {"date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "cores": str(os.cpu_count()), "CPU": cpu,
            "torch": torch.__version__, "python": platform.python_version()}


if __name__ == "__main__":
    main()
