"""Training: one Trainer (on SpeechBrain's Brain) for every task; data pipeline and batching for speech."""
from fieldasr.train.task import TaskOutput, move_to_device
from fieldasr.train.tasks import CTCTask

_TRAINER_NAMES = ("Trainer", "TrainerOptions", "TrainingError", "TrainingSummary")


def __getattr__(name: str):
    # The Trainer needs SpeechBrain, imported on first use: the tasks and models run without it (benchmarks/gpu_check.py).
    if name in _TRAINER_NAMES:
        from fieldasr.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CTCTask", "TaskOutput", "Trainer", "TrainerOptions", "TrainingError", "TrainingSummary", "move_to_device"]
