"""The one exception of the evaluation package."""
from fieldasr.errors import FieldasrError


class EvaluationError(FieldasrError):
    """A reference or hypothesis file cannot be scored as asked."""
