"""Text units for CTC: vocabularies of phones, characters or subwords; the one text normaliser (`normalise`)."""
from fieldasr.text.vocabulary import Vocabulary

__all__ = ["Vocabulary"]
