"""Corpus builders: a synthetic multilingual corpus (UDHR text + espeak-ng) and importers of real speech
installable from Debian (Fish Fillets NG Dutch dialogue, pocketsphinx's LibriVox test utterances)."""
from fieldasr.corpora.errors import CorpusSourceError
from fieldasr.corpora.fillets import FilletsImport, import_fillets
from fieldasr.corpora.long_recording import build_long_recording
from fieldasr.corpora.pocketsphinx import SphinxImport, import_pocketsphinx
from fieldasr.corpora.synth import LongRecording, SpeakerVoice, SynthesisResult, build_synthetic_corpus, make_speakers
from fieldasr.corpora.text_sources import DEFAULT_LANGUAGES, LANGUAGES, udhr_utterances

__all__ = [
    "CorpusSourceError",
    "DEFAULT_LANGUAGES",
    "FilletsImport",
    "LANGUAGES",
    "LongRecording",
    "SpeakerVoice",
    "SphinxImport",
    "SynthesisResult",
    "build_long_recording",
    "build_synthetic_corpus",
    "import_fillets",
    "import_pocketsphinx",
    "make_speakers",
    "udhr_utterances",
]
