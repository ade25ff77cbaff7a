"""The fieldworker's transcription path: recordings in, ELAN/TextGrid/SRT/JSON/text out."""
from fieldasr.transcribe.engine import TranscribedSegment, Transcriber, TranscribeOptions, Transcript, TranscriptionError
from fieldasr.transcribe.runner import TranscriptionPlan, TranscriptionSummary, find_audio, plan_transcription, run_plan, transcribe_paths

__all__ = [
    "TranscribedSegment", "Transcriber", "TranscribeOptions", "Transcript", "TranscriptionError",
    "TranscriptionPlan", "TranscriptionSummary", "find_audio", "plan_transcription", "run_plan", "transcribe_paths",
]
