"""The fieldworker's transcription path: recordings in, ELAN/TextGrid/SRT/JSON/text out."""
from fieldasr.transcribe.engine import TranscribedSegment, Transcriber, TranscribeOptions, Transcript, TranscriptionError
from fieldasr.transcribe.runner import TranscriptionSummary, find_audio, transcribe_paths

__all__ = [
    "TranscribedSegment", "Transcriber", "TranscribeOptions", "Transcript", "TranscriptionError",
    "TranscriptionSummary", "find_audio", "transcribe_paths",
]
