"""The one exception the corpus builders raise."""
from fieldasr.errors import FieldasrError


class CorpusSourceError(FieldasrError):
    """A corpus source (UDHR text, espeak-ng, a Debian data package) is missing or unusable."""
