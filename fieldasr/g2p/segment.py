"""Split IPA strings into phones, so that every backend's output is cut the same way.

panphon knows which symbol sequences form one segment (`t͡ʃ`, `kʷ`, `aː`, `ɐ̃`), but its own
`ipa_segs` silently drops what it does not know (`ɚ`, `ᵻ`, ASCII `g`, tone letters on their own).
Here the longest panphon segment at each position is taken (as panphon's regex does), and everything else is kept: a base symbol
panphon does not know becomes its own phone, and modifiers (combining marks, length, tone letters,
superscripts) attach to the phone before them. Stress marks attach to the phone after them.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import panphon

TIE_BARS = frozenset({"\u0361", "\u035c"})
STRESS_MARKS = frozenset({"ˈ", "ˌ"})
LENGTH_MARKS = frozenset({"ː", "ˑ", "\u0306"})  # long, half-long, extra-short
TONE_LETTERS = frozenset("˥˦˧˨˩꜒꜓꜔꜕꜖ꜛꜜ")
# Modifier-letter code points that are vowels in their own right (espeak's barred i and u).
BASE_MODIFIER_LETTERS = frozenset("ᵻᵿ")
# Combining diacritics that mark tone on a vowel (acute, grave, macron, circumflex, caron, double acute/grave).
TONE_DIACRITICS = frozenset({"\u0301", "\u0300", "\u0304", "\u0302", "\u030c", "\u030b", "\u030f"})
# ASCII look-alikes that are not IPA, mapped to the IPA symbol they are meant as.
IPA_LOOKALIKES = {"g": "ɡ", ":": "ː", "ʦ": "t͡s", "ʣ": "d͡z", "ʧ": "t͡ʃ", "ʤ": "d͡ʒ"}


@lru_cache(maxsize=1)
def feature_table() -> panphon.FeatureTable:
    import panphon  # when first needed: decoding and the GPU check import this module without segmenting IPA

    return panphon.FeatureTable()


@lru_cache(maxsize=1)
def _known_segments() -> tuple[frozenset[str], int]:
    """panphon's segments (NFD) and the longest one's length: a dictionary look-up is ~100x faster than its regex."""
    segments = frozenset(feature_table().seg_dict)
    return segments, max(len(segment) for segment in segments)


def _known_segment_end(text: str, position: int) -> int:
    """End of the longest panphon segment starting at `position`, or `position` if none does."""
    segments, longest = _known_segments()
    for end in range(min(len(text), position + longest), position, -1):
        if text[position:end] in segments:
            return end
    return position


def _is_modifier(character: str) -> bool:
    """True for symbols that belong to the phone before them: diacritics, length, tone, superscripts."""
    if character in STRESS_MARKS or character in BASE_MODIFIER_LETTERS:
        return False
    if character in TONE_LETTERS or character in LENGTH_MARKS:
        return True
    return unicodedata.category(character) in {"Mn", "Me", "Mc", "Lm", "Sk"}


@lru_cache(maxsize=65536)
def segment_ipa(ipa: str) -> tuple[str, ...]:
    """Phones of an IPA string (NFC), with diacritics, tie bars, length and tone attached to their base.

    Whitespace is ignored; stress marks stay on the phone that follows them (strip them first with
    `clean_ipa` if they are not wanted). No character of the input is dropped.
    """
    text = unicodedata.normalize("NFD", "".join(IPA_LOOKALIKES.get(c, c) for c in ipa))
    phones: list[str] = []
    prefix = ""
    position = 0
    while position < len(text):
        character = text[position]
        if character.isspace():
            position += 1
            continue
        if character in STRESS_MARKS:
            prefix += character
            position += 1
            continue
        end = max(_known_segment_end(text, position), position + 1)
        phone, position = _absorb_modifiers(text, text[position:end], end)
        phones.append(prefix + phone)
        prefix = ""
    if prefix:
        phones.append(prefix)  # a trailing stress mark: kept rather than dropped
    return tuple(unicodedata.normalize("NFC", phone) for phone in phones)


def _absorb_modifiers(text: str, phone: str, position: int) -> tuple[str, int]:
    """Extend `phone` with following modifiers and tie-barred partners (t͡ʃ even when panphon lacks it)."""
    while position < len(text):
        character = text[position]
        if character in TIE_BARS and position + 1 < len(text):
            phone += text[position : position + 2]
            position += 2
        elif _is_modifier(character):
            phone += character
            position += 1
        else:
            break
    return phone, position


@dataclass(frozen=True)
class IPAOptions:
    """How a spec post-processes IPA before and after it is cut into phones."""

    strip_stress: bool = True
    strip_length: bool = False
    strip_tone: bool = False
    join_affricates: bool = True  # a tie-barred consonant sequence (t͡ʃ) is one phone; False splits it
    affricates: tuple[str, ...] = ()  # untied pairs to join when a backend writes them without tie bar ("tʃ")
    split_diphthongs: bool = True  # a tie-barred sequence with a vowel (a͡ɪ, espeak's oː͡ɹ) is split, shared across languages
    replace: tuple[tuple[str, str], ...] = ()  # phone -> phone(s), applied last


def clean_ipa(ipa: str, options: IPAOptions) -> str:
    """Remove the marks a spec does not want (stress, length, tone) from an IPA string."""
    removed: set[str] = set()
    if options.strip_stress:
        removed |= STRESS_MARKS
    if options.strip_length:
        removed |= LENGTH_MARKS
    if options.strip_tone:
        removed |= TONE_LETTERS | TONE_DIACRITICS
    if not removed:
        return ipa
    decomposed = unicodedata.normalize("NFD", ipa)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in removed))


def join_affricates(phones: tuple[str, ...], affricates: tuple[str, ...]) -> tuple[str, ...]:
    """Join stop + fricative pairs listed in `affricates` into one tie-barred phone (t ʃ -> t͡ʃ)."""
    pairs = {_split_pair(pair) for pair in affricates}
    joined: list[str] = []
    index = 0
    while index < len(phones):
        if index + 1 < len(phones) and _is_pair(phones[index], phones[index + 1], pairs):
            joined.append(phones[index] + "\u0361" + phones[index + 1])
            index += 2
        else:
            joined.append(phones[index])
            index += 1
    return tuple(joined)


def _is_pair(first: str, second: str, pairs: set[tuple[str, str]]) -> bool:
    """`second` may carry modifiers of the whole affricate (t ʃʰ -> t͡ʃʰ)."""
    for stop, fricative in pairs:
        if first == stop and second.startswith(fricative):
            rest = unicodedata.normalize("NFD", second[len(fricative) :])
            if all(_is_modifier(character) for character in rest):
                return True
    return False


def _split_pair(pair: str) -> tuple[str, str]:
    parts = segment_ipa(pair.replace("\u0361", ""))
    return (parts[0], parts[1]) if len(parts) == 2 else (pair, "")


def ipa_to_phones(ipa: str, options: IPAOptions) -> tuple[str, ...]:
    """Clean, segment, join or split tie-barred sequences, and apply the spec's phone replacements."""
    phones = segment_ipa(clean_ipa(ipa, options))
    phones = tuple(part for phone in phones for part in _resolve_tie(phone, options))
    if options.affricates and options.join_affricates:
        phones = join_affricates(phones, options.affricates)
    if options.replace:
        mapping = dict(options.replace)
        phones = tuple(part for phone in phones for part in segment_ipa(mapping.get(phone, phone)))
    return phones


def _resolve_tie(phone: str, options: IPAOptions) -> tuple[str, ...]:
    decomposed = unicodedata.normalize("NFD", phone)
    tie = next((character for character in decomposed if character in TIE_BARS), None)
    if tie is None:
        return (phone,)
    parts = [unicodedata.normalize("NFC", part) for part in decomposed.split(tie)]
    vowels = [is_vowel(part) for part in parts]
    if (any(vowels) and options.split_diphthongs) or (not any(vowels) and not options.join_affricates):
        return tuple(parts)
    return (phone,)


def is_vowel(phone: str) -> bool:
    """True for syllabic non-consonants according to panphon (unknown symbols count as not vowels)."""
    features = feature_table().fts(strip_suprasegmentals(phone))
    return bool(features) and features["syl"] > 0 and features["cons"] < 0


# Symbols espeak-ng writes that panphon has no entry for, and the panphon segment with their features.
FEATURE_STAND_INS = {"ɚ": "ə˞", "ɝ": "ɜ˞", "ᵻ": "ɪ̈", "ᵿ": "ʊ̈", "ⱱ": "ʋ"}
# The voiceless ring is written above a symbol with a descender (ŋ̊, r̝̊); panphon knows it below only.
RING_ABOVE, RING_BELOW = "\u030a", "\u0325"


def feature_symbol(phone: str) -> str:
    """The symbol whose panphon features describe `phone`: without stress/tone, with stand-ins for espeak symbols."""
    base = unicodedata.normalize("NFD", strip_suprasegmentals(phone)).replace(RING_ABOVE, RING_BELOW)
    for symbol, stand_in in FEATURE_STAND_INS.items():
        base = base.replace(symbol, stand_in)
    return unicodedata.normalize("NFC", base)


@lru_cache(maxsize=65536)
def phone_vector(phone: str) -> tuple[float, ...] | None:
    """panphon's numeric feature vector of a phone, the one feature look-up of G2P reports, inventories and transfer.

    panphon lists a base with one diacritic at a time (r̝ and r̥, not r̝̥): a further diacritic is taken off, and then
    changes the features it changes on the bare base (r̥ against r: voiceless). A diacritic panphon does not allow
    on that base (ñ: a nasal cannot be nasalised) leaves the phone without features, as a symbol panphon does not
    know does. A phone panphon reads as several segments (an unknown tied sequence) gets their average.
    None: the phone cannot be mapped by features.
    """
    symbol = unicodedata.normalize("NFD", feature_symbol(phone))
    taken_off: list[str] = []
    while symbol:
        vector = _whole_vector(symbol)
        if vector is not None:
            return _with_modifiers(vector, symbol, taken_off)
        if not _is_modifier(symbol[-1]):
            return None
        taken_off.insert(0, symbol[-1])
        symbol = symbol[:-1]
    return None


def _whole_vector(symbol: str) -> tuple[float, ...] | None:
    """The features of `symbol` when panphon reads all of it (NFD), averaged over its segments; else None."""
    table = feature_table()
    vectors = table.word_to_vector_list(unicodedata.normalize("NFC", symbol), numeric=True)
    if not vectors or len("".join(table.ipa_segs(symbol))) != len(symbol):
        return None
    return tuple(sum(column) / len(vectors) for column in zip(*vectors))


def _with_modifiers(vector: tuple[float, ...], symbol: str, modifiers: list[str]) -> tuple[float, ...] | None:
    if not modifiers:
        return vector
    base = symbol
    while len(base) > 1 and _is_modifier(base[-1]):
        base = base[:-1]
    bare = _whole_vector(base)
    changed = list(vector)
    for modifier in modifiers:
        marked = _whole_vector(base + modifier)
        if bare is None or marked is None:
            return None
        for index, (before, after) in enumerate(zip(bare, marked)):
            if before != after:
                changed[index] = after
    return tuple(changed)


def is_known_phone(phone: str) -> bool:
    """True when the phone has articulatory features (`phone_vector`; tone and stress marks ignored)."""
    return phone_vector(phone) is not None


def strip_suprasegmentals(phone: str) -> str:
    """The phone without stress and tone marks, for feature look-ups."""
    decomposed = unicodedata.normalize("NFD", phone)
    kept = "".join(c for c in decomposed if c not in STRESS_MARKS and c not in TONE_LETTERS and c not in TONE_DIACRITICS)
    return unicodedata.normalize("NFC", kept)
