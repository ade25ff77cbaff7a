"""Speed of the synthetic corpus builder: utterances per second for 600 utterances (12 languages x 50).

Run: PYTHONPATH=. python benchmarks/synth_speed.py [--utterances-per-language 50] [--noise-snr-db 20 --reverb]
Writes docs/benchmarks/synth_speed.md.
"""
from __future__ import annotations

import argparse
import resource
import tempfile

from benchmarks.benchmark_doc import Table, add_report_option, publish
from fieldasr_examples.corpora import DEFAULT_LANGUAGES, build_synthetic_corpus
from fieldasr_examples.corpora.phones import no_phonemizer


def cpu_seconds() -> float:
    """CPU time of this process and its finished workers (the synthesis runs in a process pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--languages", type=int, default=12)
    parser.add_argument("--utterances-per-language", type=int, default=50)
    parser.add_argument("--speakers-per-language", type=int, default=4)
    parser.add_argument("--noise-snr-db", type=float, default=None)
    parser.add_argument("--reverb", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    add_report_option(parser, "synth_speed")
    arguments = parser.parse_args()
    languages = DEFAULT_LANGUAGES[: arguments.languages]
    cpu = cpu_seconds()
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
    cpu = cpu_seconds() - cpu
    audio, wall = sum(result.audio_seconds.values()), result.elapsed_seconds
    row = (len(languages), result.total_utterances, f"{audio / 60:.1f}", f"{wall:.1f}", f"{cpu:.1f}",
           f"{result.total_utterances / wall:.0f}", f"{audio / wall:.0f}")
    note = (f"{arguments.utterances_per_language} utterances and {arguments.speakers_per_language} speakers per language, "
            f"noise {arguments.noise_snr_db or 'off'}, reverb {'on' if arguments.reverb else 'off'}; UDHR text already in the cache.")
    columns = ("languages", "utterances", "audio (min)", "wall s", "CPU s", "utterances/s", "x real time")
    publish(arguments.output, "Synthetic corpus speed", [Table("Building the corpus", columns, [row], note)])


if __name__ == "__main__":
    main()
