"""N-best lists in JSONL files (one utterance a line: `id`, `hypotheses` [{`text`, `score`}], optional `reference`),
rescored with a language model folder, the weight given or tuned on a dev file (`fieldasr transfer rescore`)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fieldasr.files import atomic_write_text
from fieldasr.transfer.errors import TransferError
from fieldasr.transfer.rescore import Hypothesis, WeightTuning, rescore_nbest, tune_rescoring_weight


@dataclass(frozen=True)
class NbestList:
    id: str
    hypotheses: tuple[Hypothesis, ...]
    reference: str | None


@dataclass(frozen=True)
class RescoredFile:
    output: Path
    utterances: int
    weight: float
    tuning: WeightTuning | None  # when the weight was tuned on a dev file

    def tuning_summary(self) -> str | None:
        if self.tuning is None:
            return None
        return (f"tuned on {self.tuning.utterances} dev utterances: weight {self.weight} "
                f"(WER {self.tuning.word_error_rates[self.weight]:.3f})")


def read_nbest_file(path: str | Path) -> list[NbestList]:
    """The n-best lists of a JSONL file; a malformed line is an error naming the file and line."""
    lists = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            hypotheses = tuple(Hypothesis(tuple(h["text"].split()), float(h["score"])) for h in item["hypotheses"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise TransferError(f"{path}:{number}: expected {{'id', 'hypotheses': [{{'text', 'score'}}]}}: {error}") from None
        lists.append(NbestList(item.get("id", str(number)), hypotheses, item.get("reference")))
    return lists


def rescore_nbest_file(nbest: str | Path, language_model: str | Path, output: str | Path, weight: float | None = None,
                       dev: str | Path | None = None, kind: str = "causal") -> RescoredFile:
    """Write the best hypothesis of each n-best list in `nbest` (JSONL: id, text) to `output`. Without `weight`,
    it is tuned on the dev file's lists that have a reference."""
    from transformers import AutoTokenizer

    from fieldasr.transfer.lm_task import load_language_model

    if weight is None and dev is None:
        raise TransferError("give --weight, or --dev n-best lists with references to tune it")
    tokenizer = AutoTokenizer.from_pretrained(language_model, local_files_only=True)
    lm = load_language_model(language_model, kind)
    tuning = None
    if weight is None:
        dev_lists = [item for item in read_nbest_file(dev) if item.reference is not None]
        tuning = tune_rescoring_weight([item.hypotheses for item in dev_lists], [item.reference for item in dev_lists], lm, tokenizer)
        weight = tuning.best_weight
    lines = [json.dumps({"id": item.id, "text": rescore_nbest(item.hypotheses, lm, tokenizer, weight)[0].text if item.hypotheses else ""},
                        ensure_ascii=False) for item in read_nbest_file(nbest)]
    atomic_write_text(output, "\n".join(lines) + "\n")
    return RescoredFile(Path(output), len(lines), weight, tuning)
