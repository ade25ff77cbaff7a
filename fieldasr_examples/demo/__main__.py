"""`python -m fieldasr_examples.demo [--output DIR] [--quick] [--seed N]`: run the embedded demo (what `make demo` does)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fieldasr.errors import FieldasrError
from fieldasr_examples.demo import FULL, QUICK, run_demo


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fieldasr_examples.demo",
        description="Build a small synthetic corpus (Māori as the target language, five seen languages), train a "
                    "multilingual phone model, transfer it to Māori with a few minutes of labels, transcribe a long "
                    "held-out recording into ELAN and write the evaluation report. About 10 minutes on 2 CPU cores. "
                    "Rerunning with the same --output reuses every finished stage.",
    )
    parser.add_argument("--output", type=Path, default=Path("demo_output"), help="folder for everything (default: demo_output/)")
    parser.add_argument("--quick", action="store_true", help="tiny data and a few training steps: checks the path end to end in about a minute")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corpus and of training (default: 0)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    settings = (QUICK if arguments.quick else FULL).with_(seed=arguments.seed)
    try:
        summary = run_demo(arguments.output, settings)
    except FieldasrError as error:
        print(f"demo stopped: {error}", file=sys.stderr)
        return 1
    print(f"\n{'=' * 78}\nDemo finished in {summary.total_seconds / 60:.1f} min\n{'=' * 78}\n{summary.table()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
