"""Phone inventories and mapping of unseen phones by panphon articulatory features."""
from __future__ import annotations

import math

import panphon.distance

from fieldasr.data import Segment
from fieldasr.g2p import phonemize
from fieldasr.g2p.inventory import (
    Inventory,
    format_inventory_table,
    inventories_from_segments,
    map_to_inventory,
    phone_distance,
    shared_inventory,
)

KNOWN = ["p", "t", "k", "b", "d", "ɡ", "s", "ʃ", "m", "n", "l", "r", "a", "e", "i", "o", "u"]


def test_unseen_retroflexes_map_to_their_dental_or_alveolar_neighbours() -> None:
    mapping = map_to_inventory(["ʈ", "ɖ", "ɳ", "ʂ"], KNOWN)
    assert mapping["ʈ"].phone == "t"
    assert mapping["ɖ"].phone == "d"
    assert mapping["ɳ"].phone == "n"
    assert mapping["ʂ"].phone in {"ʃ", "s"}
    assert all(0 < match.distance < 1 for match in mapping.values())


def test_a_retroflex_stays_retroflex_when_the_inventory_has_one() -> None:
    mapping = map_to_inventory(["ʈʰ", "aː", "a˥˩", "t"], [*KNOWN, "ʈ"])
    assert mapping["ʈʰ"].phone == "ʈ"
    assert mapping["aː"].phone == "a" and mapping["a˥˩"].phone == "a"
    assert mapping["t"] == ("t", 0.0)


def test_phone_distance_is_panphons_weighted_substitution_cost() -> None:
    reference = panphon.distance.Distance().weighted_feature_edit_distance("ʈ", "t")
    assert math.isclose(phone_distance("ʈ", "t"), reference)
    assert phone_distance("7", "t") == math.inf


def test_inventories_per_language_and_shared_with_rare_phone_mapping() -> None:
    segments = [
        Segment("a", "r", 0, 1, language="mi", phones=("k", "a", "|", "ŋ", "a")),
        Segment("b", "r", 1, 1, language="ain", phones=("t͡ʃ", "i", "ʃ", "e", "k", "a")),
        Segment("c", "r", 2, 1, language="ain", phones=("t͡ʃ", "e", "t")),
        Segment("d", "r", 3, 1, language="ain", phones=None),
    ]
    inventories, without_phones = inventories_from_segments(segments)
    assert without_phones == 1
    assert inventories["mi"].counts == {"k": 1, "a": 2, "ŋ": 1}  # the word boundary is not a phone
    assert inventories["ain"].phones[:3] == ("e", "t͡ʃ", "a")  # by count, ties in code-point order
    shared = shared_inventory(inventories, min_count=2)
    assert shared.counts["a"] == 3 and shared.counts["k"] == 2
    assert "ŋ" not in shared.phones and shared.mapping["ŋ"].phone in shared.phones
    assert shared.apply(("ŋ", "a")) == (shared.mapping["ŋ"].phone, "a")
    table = format_inventory_table(shared)
    assert "ain" in table and "mi" in table and "ŋ" in table


def test_inventory_of_real_g2p_output() -> None:
    inventory = Inventory.from_sequences(phonemize(["whānau kōrero tangata"], "mi", word_boundaries=True), "mi")
    assert {"f", "aː", "ŋ", "ɾ"} <= set(inventory.phones) and "|" not in inventory


def test_g2p_reports_and_inventory_mapping_share_one_feature_look_up(tmp_path) -> None:
    """Czech ř (r̝), voiceless ř̊ written with the ring above; a symbol with no features at all (7), and a diacritic
    panphon does not allow on its base (ñ: a nasalised nasal)."""
    from fieldasr.g2p import G2P
    from fieldasr.g2p.inventory import map_to_inventory, phone_distance
    from fieldasr.g2p.spec import spec_from_mapping

    (tmp_path / "x.rules").write_text("ř -> r̝\nq -> r̝̊\nn -> ŋ̊\na -> a\nz -> 7\ny -> ñ\n", encoding="utf-8")
    g2p = G2P(spec_from_mapping({"language": "x", "backend": "rules", "rules": "x.rules"}, tmp_path / "x.yaml"))
    result = g2p.phonemize(["řa qa na za ya"])
    phones = set(result.phones[0])
    assert {"r̝̊", "ŋ̊", "7", "ñ"} <= phones
    mapped = map_to_inventory(phones, ["r", "r̥", "ŋ̥", "a", "t"])
    without_features = {phone for phone, match in mapped.items() if match.phone is None}
    assert set(result.report.unknown_phones) == without_features == {"7", "ñ"}
    # The ring is voicelessness wherever it is written, and it counts in the distance.
    assert mapped["r̝̊"].phone == "r̥" and phone_distance("r̝̊", "r̝") > 0 and phone_distance("ŋ̊", "ŋ̥") == 0
