"""Peak memory of text-side transfer at XLM-R-base scale: a 250002 × 768 embedding matrix, per initialiser.

The source is an XLM-R masked LM of XLM-R-base's vocabulary and width (one transformer layer: the embeddings are
what transfer touches), random weights, with a real `XLMRobertaTokenizer` over a synthetic vocabulary of XLM-R's
layout (<s> <pad> </s> <unk>, pieces, <mask>). The target tokenizer is of the same kind; `--overlap` of its pieces
are source pieces, the rest are new. Pieces are syllable strings, so the fastText vectors of WECHSEL, OFA and FOCUS
(trained on synthetic sentences of these pieces) have character n-grams to share. Each method runs in a fresh
process: the resources it needs are built first (not measured), then `transfer_model_embeddings` is measured:
peak resident memory during the transfer (Linux VmHWM, reset just before it through /proc/self/clear_refs; where
that is not allowed, `resource.getrusage`'s ru_maxrss, which includes the set-up) and the peak of allocations
tracemalloc sees (numpy's; not torch's). Writes docs/benchmarks/lm_transfer_memory.md.

    PYTHONPATH=. python benchmarks/lm_transfer_memory.py                       # the full size (tens of CPU minutes)
    PYTHONPATH=. python benchmarks/lm_transfer_memory.py --vocab-size 3000 --dim 64 --output -   # a check
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_doc import Table, add_report_option, publish  # noqa: E402

METHODS = ("random", "mean", "multivariate-normal", "convex-hull", "wechsel", "focus", "clp", "ofa")
SYLLABLES = [consonant + vowel for consonant in "bdfgklmnprstvz" for vowel in "aeiou"]
MIB = 1 << 20


def syllable_word(index: int) -> str:
    """A distinct pronounceable string per index: its digits in base len(SYLLABLES)."""
    letters = []
    while True:
        index, digit = divmod(index, len(SYLLABLES))
        letters.append(SYLLABLES[digit])
        if index == 0:
            return "".join(letters)


def vocabularies(vocab_size: int, target_size: int, overlap: float) -> tuple[list[str], list[str]]:
    """Pieces (without specials) of the source and the target; the first `overlap` of the target's are the source's."""
    pieces = vocab_size - 5
    source = ["▁" + syllable_word(i) if i % 3 else syllable_word(i) for i in range(pieces)]
    target_pieces = target_size - 5
    shared = int(overlap * target_pieces)
    target = source[:shared] + ["▁" + syllable_word(pieces + i) for i in range(target_pieces - shared)]
    return source, target


def xlmr_tokenizer(pieces: list[str]):
    from transformers import XLMRobertaTokenizer

    scores = [-(1.0 + i / len(pieces)) for i in range(len(pieces))]
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    return XLMRobertaTokenizer(vocab=specials + list(zip(pieces, scores)) + [("<mask>", 0.0)])


def sentences(pieces: list[str], count: int, seed: int) -> list[str]:
    """Lines of whole-word pieces (those starting with ▁), so fastText sees them as words."""
    words = [piece[1:] for piece in pieces if piece.startswith("▁")]
    rng = np.random.default_rng(seed)
    return [" ".join(words[i] for i in rng.integers(0, len(words), size=12)) for _ in range(count)]


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mib(reset: bool) -> float:
    if reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(method: str, args: argparse.Namespace) -> dict:
    """Build the source model and the method's resources, then measure one transfer (run in a child process)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    from fieldasr.transfer.apply import transfer_model_embeddings
    from fieldasr.transfer.registry import build_resources, make_initialiser

    torch.set_num_threads(args.threads)
    source_pieces, target_pieces = vocabularies(args.vocab_size, args.target_vocab_size, args.overlap)
    source_tokenizer, target_tokenizer = xlmr_tokenizer(source_pieces), xlmr_tokenizer(target_pieces)
    config = XLMRobertaConfig(vocab_size=len(source_tokenizer), hidden_size=args.dim, num_hidden_layers=1,
                              num_attention_heads=max(1, args.dim // 64), intermediate_size=4 * args.dim,
                              max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)
    model = XLMRobertaForMaskedLM(config).eval()
    source_lines, target_lines = sentences(source_pieces, args.lines, 0), sentences(target_pieces, args.lines, 1)
    dictionary = [(word, word) for word in {piece[1:] for piece in target_pieces[:1000] if piece.startswith("▁")}]
    helper = np.random.default_rng(2).normal(size=(len(target_tokenizer), args.helper_dim)).astype(np.float32)
    resources = build_resources(method, target_tokenizer, source_lines, target_lines, dictionary, helper, min_count=1,
                                dim=args.fasttext_dim)
    initialiser = make_initialiser(method, **resources)
    before = resident_mib()
    reset = reset_peak()
    tracemalloc.start()
    start = time.perf_counter()
    result = transfer_model_embeddings(model, source_tokenizer, target_tokenizer, initialiser)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"method": method, "before": before, "peak": peak_mib(reset), "peak_is_transfer_only": reset, "traced_peak": traced_peak / MIB,
            "seconds": seconds, "copied": result.count("copied"), "target": len(target_tokenizer)}


def run_child(method: str, argv: list[str]) -> dict:
    completed = subprocess.run([sys.executable, __file__, *argv, "--child", method], capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{method} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab-size", type=int, default=250002, help="source vocabulary (XLM-R base: 250002)")
    parser.add_argument("--target-vocab-size", type=int, default=None, help="default: the source's size")
    parser.add_argument("--overlap", type=float, default=0.5, help="fraction of target pieces the source has")
    parser.add_argument("--dim", type=int, default=768, help="embedding width (XLM-R base: 768)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--lines", type=int, default=20000, help="synthetic sentences per language for fastText")
    parser.add_argument("--fasttext-dim", type=int, default=100)
    parser.add_argument("--helper-dim", type=int, default=256, help="CLP's helper model width")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    add_report_option(parser, "lm_transfer_memory")
    args = parser.parse_args()
    args.target_vocab_size = args.target_vocab_size or args.vocab_size
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return
    matrix_mib = args.vocab_size * args.dim * 4 / MIB
    rows = []
    for method in args.methods:
        measured = run_child(method, sys.argv[1:])
        print(f"{method}: {measured}", file=sys.stderr)
        rows.append((method, f"{measured['before']:.0f}", f"{measured['peak']:.0f}",
                     f"{measured['peak'] - measured['before']:.0f}", f"{measured['traced_peak']:.0f}",
                     f"{measured['copied']}", f"{measured['seconds']:.1f}"))
    scope = "during the transfer" if rows and measured["peak_is_transfer_only"] else "of the process (set-up included)"
    note = (f"Source {args.vocab_size} × {args.dim} (one float32 matrix: {matrix_mib:.0f} MiB), target "
            f"{args.target_vocab_size} tokens, {args.overlap:.0%} of them source pieces; peak RSS {scope}; "
            f"{args.threads} threads.")
    table = Table("Memory of one transfer (MiB)", ("method", "RSS before", "peak RSS", "peak − before",
                                                   "numpy peak (tracemalloc)", "copied tokens", "seconds"), rows, note)
    publish(args.output, "Text-side transfer memory at XLM-R-base scale", [table])


if __name__ == "__main__":
    main()
