"""Speed of the synthetic corpus builder: utterances per second for 600 utterances (12 languages x 50).

Run: PYTHONPATH=. python benchmarks/synth_speed.py [--utterances-per-language 50] [--noise-snr-db 20 --reverb]
"""
from __future__ import annotations

import argparse
import tempfile

from fieldasr_examples.corpora import DEFAULT_LANGUAGES, build_synthetic_corpus
from fieldasr_examples.corpora.phones import no_phonemizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--languages", type=int, default=12)
    parser.add_argument("--utterances-per-language", type=int, default=50)
    parser.add_argument("--speakers-per-language", type=int, default=4)
    parser.add_argument("--noise-snr-db", type=float, default=None)
    parser.add_argument("--reverb", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    arguments = parser.parse_args()
    languages = DEFAULT_LANGUAGES[: arguments.languages]
    with tempfile.TemporaryDirectory() as folder:
        result = build_synthetic_corpus(
            languages,
            folder,
            utterances_per_language=arguments.utterances_per_language,
            speakers_per_language=arguments.speakers_per_language,
            noise_snr_db=arguments.noise_snr_db,
            reverb=arguments.reverb,
            phonemizer=no_phonemizer,
            workers=arguments.workers,
        )
    audio = sum(result.audio_seconds.values())
    print("| languages | utterances | audio (min) | wall time (s) | utterances/s | x real time |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {len(languages)} | {result.total_utterances} | {audio / 60:.1f} | {result.elapsed_seconds:.1f} "
        f"| {result.total_utterances / result.elapsed_seconds:.0f} | {audio / result.elapsed_seconds:.0f} |"
    )


if __name__ == "__main__":
    main()
