"""A toy pair of related languages for tests, demos and benchmarks: Spanish-like source, Portuguese-like target.

Sentences are generated from parallel word lists, so the bilingual dictionary is known exactly and the
target shares many (but not all) subwords with the source, including accented letters.
"""
from __future__ import annotations

import random

SUBJECTS = [("el hombre", "o homem"), ("la mujer", "a mulher"), ("el niño", "o menino"), ("la niña", "a menina"),
            ("el perro", "o cão"), ("el gato", "o gato"), ("mi hermano", "meu irmão"), ("mi hermana", "minha irmã"),
            ("el maestro", "o professor"), ("el pueblo", "o povo")]
VERBS = [("come", "come"), ("ve", "vê"), ("quiere", "quer"), ("tiene", "tem"), ("busca", "procura"),
         ("compra", "compra"), ("lleva", "leva"), ("encuentra", "encontra"), ("vende", "vende"), ("trae", "traz")]
OBJECTS = [("pan", "pão"), ("agua", "água"), ("leche", "leite"), ("casa", "casa"), ("libro", "livro"),
           ("pescado", "peixe"), ("manzana", "maçã"), ("carta", "carta"), ("flor", "flor"), ("mesa", "mesa"),
           ("camisa", "camisa"), ("queso", "queijo")]
ADJECTIVES = [("grande", "grande"), ("pequeño", "pequeno"), ("nuevo", "novo"), ("viejo", "velho"), ("bueno", "bom"),
              ("hermoso", "bonito"), ("blanco", "branco"), ("negro", "preto"), ("rojo", "vermelho"),
              ("caliente", "quente")]
ADVERBS = [("hoy", "hoje"), ("mañana", "amanhã"), ("siempre", "sempre"), ("ahora", "agora"), ("también", "também")]


def parallel_sentences(count: int = 400, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    source, target = [], []
    for _ in range(count):
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), ("un", "um"), rng.choice(OBJECTS), rng.choice(ADJECTIVES),
                 rng.choice(ADVERBS)]
        source.append(" ".join(pair[0] for pair in parts))
        target.append(" ".join(pair[1] for pair in parts))
    return source, target


def dictionary_pairs() -> list[tuple[str, str]]:
    """Single-word translation pairs (multi-word subjects split word by word)."""
    pairs = []
    for source, target in SUBJECTS + VERBS + OBJECTS + ADJECTIVES + ADVERBS:
        source_words, target_words = source.split(), target.split()
        if len(source_words) == len(target_words):
            pairs.extend(zip(source_words, target_words))
    return sorted(set(pairs))
