"""wav2vec 2.0 continued pretraining: the loss falls, checkpoints really carry weights, and they fine-tune with CTC."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from conftest import speak
from safetensors.torch import save_file
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

from fieldasr.audio import load_audio
from fieldasr.ssl.guard import GradientGuard
from fieldasr.errors import FieldasrError
from fieldasr.models.hf_encoder import EncoderCheckpointError
from fieldasr.train.schedule import warmup_decay_schedule
from fieldasr.ssl.pretraining_task import (
    PretrainingError,
    PretrainingOptions,
    Wav2Vec2PretrainingTask,
    collate_audio,
    gumbel_decay_reaching_minimum,
    load_pretraining_model,
    save_pretraining_checkpoint,
)
from fieldasr.text.vocabulary import Vocabulary

SENTENCES = (
    "the quick brown fox jumps over the lazy dog",
    "a field recording of an old story",
    "she sells sea shells by the sea shore",
)
# Small masks and few distractors suit 2-3 s utterances; chance level of the contrastive loss is ln(21).
TINY_OPTIONS = PretrainingOptions(num_negatives=20, mask_probability=0.5, mask_length=5, gumbel_temperature_decay=0.98)


def tiny_config() -> Wav2Vec2Config:
    return Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(32,) * 7, num_codevectors_per_group=16, num_codevector_groups=2, codevector_dim=32,
        proj_codevector_dim=32, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=8,
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
        layerdrop=0.0, feat_quantizer_dropout=0.0, feat_extract_norm="layer", do_stable_layer_norm=True,
    )


@pytest.fixture(scope="module")
def spoken_waveforms(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("ssl_speech")
    return [load_audio(speak(text, folder / f"u{index}.wav")) for index, text in enumerate(SENTENCES)]


def pretrain(task: Wav2Vec2PretrainingTask, batch: dict, steps: int, clip_norms: list | None = None) -> list[dict[str, float]]:
    """A plain training loop, as the common Trainer runs it: step hook, forward, backward, clip, update."""
    optimizer = torch.optim.AdamW(task.parameters(), lr=2e-3)
    schedule = warmup_decay_schedule(optimizer, warmup_steps=10, total_steps=steps + 20)
    history = []
    for step in range(steps):
        task.set_training_step(step)
        output = task(batch)
        optimizer.zero_grad()
        output.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(task.parameters(), 5.0)
        optimizer.step()
        schedule.step()
        history.append(output.stats)
        if clip_norms is not None:
            clip_norms.append(float(norm))
    return history


def held_out_contrastive_loss(task: Wav2Vec2PretrainingTask, batch: dict) -> float:
    """Mean contrastive loss over five fixed mask draws, without updating: comparable before and after training."""
    task.eval()
    np.random.seed(123)
    torch.manual_seed(123)
    with torch.no_grad():
        loss = float(np.mean([task(batch).stats["contrastive_loss"] for _ in range(5)]))
    task.train()
    return loss


def test_pretraining_loss_decreases_on_a_small_spoken_corpus(spoken_waveforms):
    torch.manual_seed(0)
    np.random.seed(0)
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS)
    batch = collate_audio(spoken_waveforms)
    before = held_out_contrastive_loss(task, batch)
    history = pretrain(task, batch, steps=60)
    after = held_out_contrastive_loss(task, batch)
    # Measured over seeds 0-3: a drop of 0.45-0.8 nats; an untrained model guesses among 1 + 20 candidates.
    assert before == pytest.approx(math.log(21), abs=0.4)
    assert after < before - 0.3
    training = [stats["contrastive_loss"] for stats in history]
    assert np.mean(training[-10:]) < np.mean(training[:10])
    assert all(math.isfinite(value) for stats in history for value in stats.values())
    temperatures = [stats["gumbel_temperature"] for stats in history]
    assert temperatures[0] == 2.0 and temperatures[-1] < 0.7 and temperatures == sorted(temperatures, reverse=True)
    assert all(0.2 < stats["masked_fraction"] < 0.6 for stats in history)
    assert all(1.0 <= stats["codebook_perplexity"] <= 32 for stats in history)


def test_masks_and_distractors_stay_inside_each_utterance(spoken_waveforms):
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS)
    batch = collate_audio([spoken_waveforms[0], spoken_waveforms[1][:24000]])
    frame_mask = task.frame_attention_mask(batch["attention_mask"])
    np.random.seed(5)
    masked, negatives = task.draw_masks_and_negatives(frame_mask)
    assert not (masked & ~frame_mask).any()  # never mask padding
    frames = frame_mask.shape[1]
    for row in range(2):
        positions = torch.nonzero(masked[row]).flatten()
        chosen = negatives[row, positions] - row * frames  # indices are flattened over the batch
        assert torch.isin(chosen, positions).all()  # distractors are other masked frames of the same utterance
        assert not (chosen == positions[:, None]).any()  # never the positive itself
    np.random.seed(5)  # the same draw inside forward: the loss is per masked frame
    output = task(batch)
    assert output.weight == float(masked.sum())
    assert output.stats["masked_fraction"] == pytest.approx(float(masked.sum() / frame_mask.sum()))
    assert output.loss.ndim == 0


def test_gradient_norm_is_logged_and_guarded(spoken_waveforms):
    torch.manual_seed(5)
    guard = GradientGuard(codebook_size=32, gradient_norm_range=(1e3, 1e4), patience=2)  # any real norm is "low"
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS, guard=guard)
    clip_norms: list[float] = []
    history = pretrain(task, collate_audio(spoken_waveforms[:2]), steps=4, clip_norms=clip_norms)
    assert "gradient_norm" not in history[0]  # no update yet
    # The hook-recorded norm of update k, logged at step k + 1, equals torch's pre-clipping total norm.
    assert [stats["gradient_norm"] for stats in history[1:]] == pytest.approx(clip_norms[:-1], rel=1e-4)
    assert [(w.step, w.kind) for w in guard.warnings] == [(1, "gradient_norm_low")]


def test_collate_normalises_each_waveform_and_marks_padding():
    loud = np.sin(np.arange(16000) / 5.0).astype(np.float32) * 0.8 + 0.3
    quiet = np.random.default_rng(0).normal(0, 0.01, 8000).astype(np.float32)
    batch = collate_audio([loud, quiet])
    assert batch["input_values"].shape == (2, 16000)
    assert batch["attention_mask"][1].sum() == 8000 and batch["attention_mask"][0].all()
    for row, length in ((0, 16000), (1, 8000)):
        values = batch["input_values"][row, :length]
        assert float(values.mean()) == pytest.approx(0.0, abs=1e-4)
        assert float(values.std(unbiased=False)) == pytest.approx(1.0, abs=1e-3)
    assert not batch["input_values"][1, 8000:].any()


def test_base_style_model_trains_on_zero_padding_without_attention_mask(spoken_waveforms):
    # wav2vec2-base style: group-normalised convolutions, trained on zero-padded batches without attention masks.
    config = tiny_config()
    config.feat_extract_norm, config.do_stable_layer_norm = "group", False
    task = Wav2Vec2PretrainingTask(load_pretraining_model(config), TINY_OPTIONS)
    output = task(collate_audio([spoken_waveforms[0], spoken_waveforms[1][:24000]]))
    output.loss.backward()
    assert torch.isfinite(output.loss)
    assert task.model.wav2vec2.feature_extractor.conv_layers[0].conv.weight.grad.abs().sum() > 0


def test_configs_that_would_disable_masking_are_refused():
    no_mask_embedding = tiny_config()
    no_mask_embedding.mask_time_prob = 0.0
    with pytest.raises(PretrainingError, match="mask_time_prob"):
        Wav2Vec2PretrainingTask(load_pretraining_model(no_mask_embedding))
    no_masking = tiny_config()
    no_masking.apply_spec_augment = False
    with pytest.raises(PretrainingError, match="apply_spec_augment"):
        Wav2Vec2PretrainingTask(load_pretraining_model(no_masking))


def test_gumbel_temperature_decays_to_its_floor():
    halving = PretrainingOptions(gumbel_temperature_decay=0.5)
    assert [halving.gumbel_temperature(step) for step in range(4)] == [2.0, 1.0, 0.5, 0.5]
    paper = PretrainingOptions()
    assert paper.gumbel_temperature(100_000) == pytest.approx(2.0 * math.exp(-0.5), rel=1e-3)  # 0.999995^1e5 ≈ e^-0.5
    decay = gumbel_decay_reaching_minimum(100_000)
    tuned = PretrainingOptions(gumbel_temperature_decay=decay)
    assert tuned.gumbel_temperature(50_000) == pytest.approx(1.0)  # geometric mean of 2 and 0.5 half-way
    assert tuned.gumbel_temperature(100_000) == pytest.approx(0.5)


def test_bad_options_are_refused_with_every_problem_named():
    with pytest.raises(PretrainingError, match="mask_probability.*gumbel_temperature_decay"):
        PretrainingOptions(mask_probability=0.0, gumbel_temperature_decay=1.5).validate()
    PretrainingOptions().validate()  # the paper's defaults are valid


def test_too_short_utterance_is_refused_with_advice():
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS)
    with pytest.raises(PretrainingError, match="vad-chunk"):
        task(collate_audio([np.random.default_rng(0).normal(size=1200).astype(np.float32)]))


def test_saved_checkpoint_really_loads_its_weights(tmp_path, spoken_waveforms):
    torch.manual_seed(1)
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS)
    pretrain(task, collate_audio(spoken_waveforms), steps=3)
    folder = save_pretraining_checkpoint(task.model, tmp_path / "checkpoint")
    save_pretraining_checkpoint(task.model, folder)  # overwriting an existing checkpoint works too
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint"]  # no staging folders left

    reloaded = load_pretraining_model(folder)
    trained = task.model.state_dict()
    for name, value in reloaded.state_dict().items():
        torch.testing.assert_close(value, trained[name], msg=name)
    torch.manual_seed(2)
    fresh = load_pretraining_model(tiny_config()).state_dict()
    differing = [name for name, value in fresh.items() if value.is_floating_point() and not torch.equal(value, trained[name])]
    assert len(differing) > len(fresh) // 2  # a random init would not pass the comparison above

    ctc = Wav2Vec2ForCTC.from_pretrained(str(folder), vocab_size=5, local_files_only=True)
    for name, value in ctc.wav2vec2.state_dict().items():
        torch.testing.assert_close(value, trained[f"wav2vec2.{name}"], msg=name)


def test_folder_without_checkpoint_is_refused(tmp_path):
    with pytest.raises(PretrainingError, match="config.json"):
        load_pretraining_model(tmp_path)


def test_checkpoint_without_encoder_weights_is_refused(tmp_path):
    config = tiny_config()
    model = load_pretraining_model(config)
    config.save_pretrained(str(tmp_path))
    quantizer_only = {name: value.contiguous() for name, value in model.state_dict().items() if name.startswith("quantizer.")}
    save_file(quantizer_only, str(tmp_path / "model.safetensors"))
    with pytest.raises(EncoderCheckpointError, match=r"missing \(\d+\): "):
        load_pretraining_model(tmp_path)


def test_ctc_checkpoint_continues_with_a_fresh_quantizer(tmp_path, caplog):
    torch.manual_seed(4)
    ctc = Wav2Vec2ForCTC(tiny_config())
    ctc.save_pretrained(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="fieldasr.ssl.pretraining_task"):
        model = load_pretraining_model(tmp_path)
    assert "no quantizer" in caplog.text
    for name, value in ctc.wav2vec2.state_dict().items():
        torch.testing.assert_close(model.wav2vec2.state_dict()[name], value, msg=name)


def test_checkpoint_fine_tunes_with_ctc(tmp_path, spoken_waveforms):
    torch.manual_seed(3)
    task = Wav2Vec2PretrainingTask(load_pretraining_model(tiny_config()), TINY_OPTIONS)
    pretrain(task, collate_audio(spoken_waveforms), steps=3)
    folder = save_pretraining_checkpoint(task.model, tmp_path / "checkpoint")
    vocabulary = Vocabulary.build([list(text) for text in SENTENCES])
    model = Wav2Vec2ForCTC.from_pretrained(
        str(folder), vocab_size=len(vocabulary), pad_token_id=vocabulary.blank_index,
        ctc_loss_reduction="mean", local_files_only=True,
    )
    batch = collate_audio(spoken_waveforms)
    encoded = [vocabulary.encode(list(text)) for text in SENTENCES]
    labels = torch.full((len(encoded), max(map(len, encoded))), -100)
    for row, ids in enumerate(encoded):
        labels[row, : len(ids)] = torch.tensor(ids)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = model(batch["input_values"], attention_mask=batch["attention_mask"], labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(value) for value in losses)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_warmup_then_linear_decay():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = warmup_decay_schedule(optimizer, warmup_steps=4, total_steps=12, final_fraction=0.1)
    rates = []
    for _ in range(14):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])  # linear warm-up reaches the peak at its last step
    assert rates[8] == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the decay
    assert rates[12:] == pytest.approx([0.1, 0.1])  # then stays at the floor
    with pytest.raises(FieldasrError):
        warmup_decay_schedule(optimizer, warmup_steps=5, total_steps=5)
