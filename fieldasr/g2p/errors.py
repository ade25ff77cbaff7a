"""Errors of the G2P step; each names the spec, rule file or word and says what to change."""
from fieldasr.errors import FieldasrError


class G2PError(FieldasrError):
    """Text cannot be turned into phones as the spec asks."""


class SpecError(G2PError):
    """A G2P spec (g2p/xx.yaml) is missing or malformed."""


class RuleFileError(G2PError):
    """A hand-written rule file is malformed; the message gives the line number and the reason."""


class UnknownVoiceError(SpecError):
    """A spec names an espeak-ng voice that is not installed."""
