"""Checkpoint averaging: the mean of the weights of the best checkpoints by the validation metric (ESPnet's
`average_nbest_models`, icefall's `--avg`), which smooths the noise of the last updates on small data.

The average is written beside the checkpoints as `averaged/task.ckpt` (the task's state, like a checkpoint's),
with `averaged/sources.yaml` naming the checkpoints it came from; `fieldasr export` prefers it when it is newer
than every checkpoint (`fieldasr.bundle.averaged_weights`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import yaml

from fieldasr.bundle import AVERAGED_FOLDER, TASK_FILE
from fieldasr.errors import FieldasrError
from fieldasr.files import atomic_path, atomic_write_text


def average_states(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; other tensors (counters) are taken from the last state."""
    if not states:
        raise FieldasrError("no checkpoints to average.")
    names = list(states[-1])
    for index, state in enumerate(states[:-1]):
        if list(state) != names or any(state[name].shape != states[-1][name].shape for name in names):
            raise FieldasrError(f"checkpoint {index + 1} of {len(states)} has other weights than the last one; cannot average them.")
    averaged = {}
    for name in names:
        last = states[-1][name]
        if last.is_floating_point():
            averaged[name] = (sum(state[name].double() for state in states) / len(states)).to(last.dtype)
        else:
            averaged[name] = last.clone()
    return averaged


def average_checkpoints(checkpoints: Sequence[Path], experiment_dir: Path) -> Path:
    """Average the task weights of `checkpoints` (SpeechBrain checkpoint folders) into experiment_dir/averaged/."""
    states = [torch.load(Path(folder) / TASK_FILE, map_location="cpu", weights_only=True) for folder in checkpoints]
    folder = Path(experiment_dir) / AVERAGED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / TASK_FILE) as staging:
        torch.save(average_states(states), staging)
    atomic_write_text(folder / "sources.yaml", yaml.safe_dump({"averaged": [Path(c).name for c in checkpoints]}))
    return folder / TASK_FILE
