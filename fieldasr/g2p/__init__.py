"""Grapheme-to-phoneme conversion into one shared IPA phone inventory (specs live in the repository's g2p/)."""
from fieldasr.g2p.errors import G2PError, RuleFileError, SpecError, UnknownVoiceError
from fieldasr.g2p.pipeline import G2P, G2PReport, G2PResult, get_g2p, phonemize, phonemize_with_report
from fieldasr.g2p.segment import IPAOptions, ipa_to_phones, segment_ipa
from fieldasr.g2p.spec import G2PSpec, available_specs, load_spec

__all__ = [
    "G2P", "G2PError", "G2PReport", "G2PResult", "G2PSpec", "IPAOptions", "RuleFileError", "SpecError",
    "UnknownVoiceError", "available_specs", "get_g2p", "ipa_to_phones", "load_spec", "phonemize",
    "phonemize_with_report", "segment_ipa",
]
