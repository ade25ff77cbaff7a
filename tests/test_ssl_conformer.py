"""The wav2vec 2.0 objective on the filterbank Conformer: the same loss as Hugging Face's, it learns, it masks right."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from test_ssl_pretraining import TINY_OPTIONS, pretrain, spoken_waveforms, tiny_config  # noqa: F401  (fixture)

from fieldasr.models.conformer import TINY_CONFORMER
from fieldasr.models.conformer_checkpoint import ConformerPretrainingConfig, SSLCheckpointError
from fieldasr.ssl.conformer_pretraining import (
    ConformerPretrainingModel,
    ConformerPretrainingTask,
    load_conformer_checkpoint,
    save_conformer_checkpoint,
)
from fieldasr.ssl.objective import PretrainingStates, contrastive_objective
from fieldasr.ssl.pretraining_task import PretrainingOptions, Wav2Vec2PretrainingTask, collate_audio, load_pretraining_model

torch.set_num_threads(1)
TINY_SSL_CONFORMER = ConformerPretrainingConfig(conformer=TINY_CONFORMER, num_codevectors_per_group=16, codevector_dim=32,
                                                proj_codevector_dim=32)
# Conformer frames are 40 ms: short spans suit utterances of 1-3 s.
CONFORMER_OPTIONS = PretrainingOptions(num_negatives=10, mask_probability=0.5, mask_length=2, gumbel_temperature_decay=0.95)
TONES_HZ = (300, 500, 700, 1000, 1400, 2000, 2600, 3300)


def conformer_task(seed: int = 0) -> ConformerPretrainingTask:
    torch.manual_seed(seed)
    return ConformerPretrainingTask(ConformerPretrainingModel(TINY_SSL_CONFORMER), CONFORMER_OPTIONS)


def tone_sequence(rng: np.random.Generator, seconds: float = 3.0, tone_seconds: float = 0.32) -> np.ndarray:
    """Pure tones of random pitch, each held for 8 frames: a masked 2-frame span is told by its neighbours."""
    time = np.arange(int(tone_seconds * 16000)) / 16000
    pitches = rng.choice(TONES_HZ, size=int(seconds / tone_seconds))
    return np.concatenate([np.sin(2 * np.pi * pitch * time) for pitch in pitches]).astype(np.float32)


def held_out(task, batch: dict) -> dict[str, float]:
    """Mean statistics over five fixed mask draws, in evaluation mode: comparable before and after training."""
    task.eval()
    np.random.seed(123)
    with torch.no_grad():
        runs = [task(batch).stats for _ in range(5)]
    task.train()
    return {name: float(np.mean([run[name] for run in runs])) for name in ("contrastive_loss", "contrastive_accuracy")}


def test_shared_objective_is_hugging_face_s_loss(spoken_waveforms):  # noqa: F811
    torch.manual_seed(0)
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS).eval()  # no Gumbel noise, no dropout
    batch = collate_audio([spoken_waveforms[0], spoken_waveforms[1][:24000]])
    np.random.seed(3)
    masked, negatives = task.draw_masks_and_negatives(task.frame_attention_mask(batch["attention_mask"]))
    with torch.no_grad():
        reference = task.model(batch["input_values"], attention_mask=batch["attention_mask"], mask_time_indices=masked,
                               sampled_negative_indices=negatives)
        states = PretrainingStates(reference.projected_states, reference.projected_quantized_states, reference.codevector_perplexity)
        ours = contrastive_objective(states, masked, negatives, 32, task.logits_temperature, TINY_OPTIONS.diversity_weight)
        np.random.seed(3)  # the same draw inside the task's forward
        through_task = task(batch)
    frames = float(masked.sum())
    assert float(ours.loss) * frames == pytest.approx(float(reference.loss), rel=1e-5)
    assert float(ours.contrastive_loss) * frames == pytest.approx(float(reference.contrastive_loss), rel=1e-5)
    assert float(through_task.loss) == pytest.approx(float(reference.loss) / frames, rel=1e-5)


def test_conformer_loss_decreases_on_spoken_audio(spoken_waveforms):  # noqa: F811
    task = conformer_task()
    batch = collate_audio(spoken_waveforms, normalise=False)
    before = held_out(task, batch)
    history = pretrain(task, batch, steps=40)
    after = held_out(task, batch)
    assert after["contrastive_loss"] < before["contrastive_loss"] - 0.2  # measured: a drop of 0.8-1.6 nats, seeds 0-2
    training = [stats["contrastive_loss"] for stats in history]
    assert np.mean(training[-5:]) < np.mean(training[:5])
    assert all(math.isfinite(value) for stats in history for value in stats.values())
    assert all(1.0 <= stats["codebook_perplexity"] <= 32 for stats in history)


def test_contrastive_accuracy_leaves_chance_on_a_learnable_input():
    rng = np.random.default_rng(0)
    batch = collate_audio([tone_sequence(rng) for _ in range(4)], normalise=False)
    task = conformer_task()
    before = held_out(task, batch)
    pretrain(task, batch, steps=50)
    after = held_out(task, batch)
    chance = 1 / (1 + CONFORMER_OPTIONS.num_negatives)
    # Untrained, distractors that quantise like the target are left out, so "chance" is above 1/11 (measured 0.20-0.28 untrained, 0.78-0.83 after, seeds 0-2).
    assert after["contrastive_accuracy"] > max(3 * chance, before["contrastive_accuracy"] + 0.25)


def test_masks_and_distractors_never_pick_the_frame_itself(spoken_waveforms):  # noqa: F811
    task = conformer_task()
    batch = collate_audio([spoken_waveforms[0], spoken_waveforms[1][:24000]], normalise=False)
    frame_mask = task.frame_attention_mask(batch["attention_mask"])
    frames = frame_mask.shape[1]
    local, _ = task.model.encoder.local_features(batch["input_values"], batch["attention_mask"].sum(-1), augment=False)
    assert local.shape[1] == frames  # the mask covers exactly the frames the encoder makes
    for seed in range(20):
        np.random.seed(seed)
        masked, negatives = task.draw_masks_and_negatives(frame_mask)
        assert not (masked & ~frame_mask).any()  # never mask padding
        for row in range(2):
            positions = torch.nonzero(masked[row]).flatten()
            chosen = negatives[row, positions] - row * frames  # indices are flattened over the batch
            assert torch.isin(chosen, positions).all()  # other masked frames of the same utterance
            assert not (chosen == positions[:, None]).any()  # never the frame itself


def test_masked_frames_are_replaced_before_the_conformer_blocks(spoken_waveforms):  # noqa: F811
    task = conformer_task().eval()
    batch = collate_audio([spoken_waveforms[0]], normalise=False)
    np.random.seed(0)
    masked, _ = task.draw_masks_and_negatives(task.frame_attention_mask(batch["attention_mask"]))
    lengths = batch["attention_mask"].sum(-1)
    with torch.no_grad():
        plain = task.model(batch["input_values"], lengths, torch.zeros_like(masked))
        with_mask = task.model(batch["input_values"], lengths, masked)
    torch.testing.assert_close(with_mask.targets, plain.targets)  # targets come from the unmasked features
    assert not torch.allclose(with_mask.context, plain.context)  # the context did not see the masked frames


def test_checkpoint_round_trip(tmp_path, spoken_waveforms):  # noqa: F811
    task = conformer_task(seed=2)
    pretrain(task, collate_audio(spoken_waveforms, normalise=False), steps=2)
    folder = task.save_checkpoint(tmp_path / "checkpoint")
    reloaded = load_conformer_checkpoint(tmp_path)  # an experiment folder finds its checkpoint/
    assert reloaded.config == TINY_SSL_CONFORMER
    trained = task.model.state_dict()
    assert set(reloaded.state_dict()) == set(trained)
    for name, value in reloaded.state_dict().items():
        assert torch.equal(value, trained[name]), name
    assert folder == tmp_path / "checkpoint"


def test_untrained_quantiser_spreads_speech_over_the_codebook(spoken_waveforms):  # noqa: F811
    # The codes' logits start near unit size (normalised input, weights scaled to its width), so Gumbel sampling uses
    # most of the codebook at step 0 (measured 28.0-30.7 of 32, seeds 0-2). With transformers' std-1 weights on the
    # raw convolution output it was 14.2-16.5 here, and 12-15 of 640 on real Dutch with the small Conformer.
    batch = collate_audio(spoken_waveforms, normalise=False)
    perplexities = []
    for seed in range(3):
        task = conformer_task(seed)
        np.random.seed(seed)
        with torch.no_grad():
            perplexities.append(task(batch).stats["codebook_perplexity"])
    assert min(perplexities) > 0.75 * TINY_SSL_CONFORMER.num_codevector_groups * TINY_SSL_CONFORMER.num_codevectors_per_group


def test_quantiser_weight_init_is_a_checked_recorded_setting(tmp_path):
    fairseq_like = ConformerPretrainingModel(dataclasses.replace(TINY_SSL_CONFORMER, quantizer_weight_init_std=1.0))
    default = ConformerPretrainingModel(TINY_SSL_CONFORMER)
    width = default.encoder.local_feature_size
    assert float(fairseq_like.quantizer.weight_proj.weight.detach().std()) == pytest.approx(1.0, rel=0.1)
    assert float(default.quantizer.weight_proj.weight.detach().std()) == pytest.approx(width ** -0.5, rel=0.1)
    with pytest.raises(SSLCheckpointError, match="quantizer_weight_init_std"):
        ConformerPretrainingModel(dataclasses.replace(TINY_SSL_CONFORMER, quantizer_weight_init_std=0.0))
    saved = save_conformer_checkpoint(fairseq_like, tmp_path / "checkpoint")
    assert load_conformer_checkpoint(saved).config.quantizer_weight_init_std == 1.0
