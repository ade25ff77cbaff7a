"""Corpus builders: a synthetic multilingual corpus (UDHR text + espeak-ng) and importers of real speech
installable from Debian (Fish Fillets NG Dutch dialogue, pocketsphinx's LibriVox test utterances)."""
from fieldasr_examples.corpora.errors import CorpusSourceError
from fieldasr_examples.corpora.fillets import FilletsImport, import_fillets
from fieldasr_examples.corpora.long_recording import build_long_recording
from fieldasr_examples.corpora.pocketsphinx import SphinxImport, import_pocketsphinx
from fieldasr_examples.corpora.synth import LongRecording, SpeakerVoice, SynthesisResult, build_synthetic_corpus, make_speakers
from fieldasr_examples.corpora.text_sources import DEFAULT_LANGUAGES, LANGUAGES, udhr_utterances

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
