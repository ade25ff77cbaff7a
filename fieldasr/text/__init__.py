"""Text units for CTC: vocabularies of phones, characters or subwords."""
from fieldasr.text.vocabulary import Vocabulary

__all__ = ["Vocabulary"]
