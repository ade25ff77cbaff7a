"""Training: one Trainer (on SpeechBrain's Brain) for every task; data pipeline and batching for speech."""
from fieldasr.train.task import TaskOutput, move_to_device
from fieldasr.train.tasks import CTCTask
from fieldasr.train.trainer import Trainer, TrainerOptions, TrainingError, TrainingSummary

__all__ = ["CTCTask", "TaskOutput", "Trainer", "TrainerOptions", "TrainingError", "TrainingSummary", "move_to_device"]
