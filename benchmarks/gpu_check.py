"""GPU check: an XLS-R-300m-shaped wav2vec 2.0 (random weights) through fieldasr's own training and transcription code.

One command for a GPU machine that has only PyTorch and transformers, with this repository copied beside it
(no network, no download; SpeechBrain, flashlight-text, KenLM, soundfile are optional: what needs them is
skipped and the table says so). Stages, each timed and reported, the run failing (exit 1) if any fails:

- CTC fine-tuning (`Wav2Vec2CTC` + `CTCTask`, AdamW, clipping as the Trainer does): audio seconds per second
  and peak memory at two batch sizes;
- continued pretraining (`Wav2Vec2PretrainingTask`, the wav2vec 2.0 objective): audio seconds per second;
- a 1-process DDP step (NCCL on CUDA, gloo on the CPU) and an all-reduce of statistics on the device;
- the Trainer itself (SpeechBrain) for two steps in that process group, checkpoint included;
- greedy transcription of 10 minutes of audio through a bundle (`export_bundle` → `load_bundle` →
  `BundleAcousticModel`): real-time factor.

    python benchmarks/gpu_check.py                           # CUDA when available; about 3-5 minutes on one GPU
    python benchmarks/gpu_check.py --write-doc               # also docs/benchmarks/gpu_check.md
    python benchmarks/gpu_check.py --device cpu --small      # the same stages at tiny size (the suite's smoke test)
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # fieldasr and benchmarks/ from this checkout

import torch  # noqa: E402

from fieldasr.text.vocabulary import Vocabulary  # noqa: E402

# The architecture of facebook/wav2vec2-xls-r-300m's config.json (315 M parameters with a phone CTC head), with its
# pretraining regularisation (dropouts 0.1, layerdrop 0.1, mask_time_prob 0.075).
XLSR_300M: dict = {
    "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
    "conv_dim": [512] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_bias": True,
    "feat_extract_norm": "layer", "do_stable_layer_norm": True, "feat_extract_activation": "gelu", "hidden_act": "gelu",
    "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
    "num_codevectors_per_group": 320, "num_codevector_groups": 2, "codevector_dim": 768, "proj_codevector_dim": 768,
    "hidden_dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0, "feat_proj_dropout": 0.1,
    "layerdrop": 0.1, "mask_time_prob": 0.075, "mask_time_length": 10, "layer_norm_eps": 1e-5,
}
# The same shape of model at a size that runs in seconds on a CPU. Layerdrop is off: with 2 layers it would make
# the steps (and the DDP check) differ from run to run.
SMALL = {**XLSR_300M, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
         "conv_dim": [32] * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4,
         "num_codevectors_per_group": 16, "codevector_dim": 32, "proj_codevector_dim": 32, "layerdrop": 0.0}
PHONES = Vocabulary(("<blank>", "<unk>", "|", *[f"p{index}" for index in range(61)]))  # a phone inventory's size
LABELS_PER_SECOND = 12
OPTIONAL_PACKAGES = {"speechbrain": "the Trainer stage", "flashlight": "beam search (not checked here)",
                     "kenlm": "n-gram LMs (not checked here)", "soundfile": "audio files (not needed here)"}


@dataclass(frozen=True)
class Sizes:
    """What each stage runs: utterance length, batch sizes, steps, audio to transcribe."""

    config: dict
    utterance_seconds: float
    ctc_batches: tuple[int, int]
    pretraining_batch: int
    warmup_steps: int
    timed_steps: int
    transcribe_seconds: float
    segment_seconds: float = 20.0


FULL = Sizes(XLSR_300M, utterance_seconds=10.0, ctc_batches=(4, 16), pretraining_batch=8, warmup_steps=2, timed_steps=5,
             transcribe_seconds=600.0)
TINY = Sizes(SMALL, utterance_seconds=2.0, ctc_batches=(2, 4), pretraining_batch=2, warmup_steps=1, timed_steps=1,
             transcribe_seconds=40.0)


@dataclass
class Context:
    device: torch.device
    sizes: Sizes
    precision: str  # "bf16" (autocast) or "fp32"
    folder: Path
    models: dict = field(default_factory=dict)  # built once, shared by the stages

    def autocast(self):
        if self.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def ctc_model(self):
        if "ctc" not in self.models:
            from fieldasr.models import Wav2Vec2CTC

            torch.manual_seed(0)
            self.models["ctc"] = Wav2Vec2CTC(self.sizes.config, len(PHONES)).to(self.device)
        return self.models["ctc"]


@dataclass(frozen=True)
class Row:
    stage: str
    setting: str
    result: str
    status: str  # "ok", "skipped: ..." or "FAILED: ..."
    seconds: float


class StageFailure(Exception):
    """A stage ran but its result is wrong (a non-finite loss, a wrong all-reduce)."""


class Skip(Exception):
    """A stage cannot run here (a missing optional package); not a failure."""


def ctc_batch(context: Context, size: int):
    from fieldasr.train.pipeline import collate_ctc

    samples, labels = int(context.sizes.utterance_seconds * 16000), int(context.sizes.utterance_seconds * LABELS_PER_SECOND)
    generator = torch.Generator().manual_seed(size)
    items = [{"id": f"u{row}", "waveform": torch.randn(samples, generator=generator) * 0.1, "language": "und",
              "labels": torch.randint(3, len(PHONES), (labels,), generator=generator)} for row in range(size)]
    return collate_ctc(items).to(context.device)


def peak_memory(context: Context) -> str:
    if context.device.type == "cuda":
        return f"peak {torch.cuda.max_memory_allocated(context.device) / 2**30:.1f} GiB allocated"
    return f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB"


@dataclass(frozen=True)
class StepTiming:
    seconds_per_step: float
    audio_seconds_per_second: float
    memory: str  # peak memory, as `peak_memory` words it

    def __str__(self) -> str:
        return f"{self.audio_seconds_per_second:,.1f} audio s/s ({self.seconds_per_step:.2f} s/step); {self.memory}"


def train_steps(context: Context, task: torch.nn.Module, batch, audio_seconds: float) -> StepTiming:
    """Warm-up, then timed optimizer steps as the Trainer takes them (autocast, clipping at 5, AdamW)."""
    parameters = [parameter for parameter in task.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5)
    sizes = context.sizes
    task.train()
    for step in range(sizes.warmup_steps + sizes.timed_steps):
        if step == sizes.warmup_steps:
            context.synchronize()
            if context.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(context.device)
            start = time.perf_counter()
        if hasattr(task, "set_training_step"):
            task.set_training_step(step)
        with context.autocast():
            output = task(batch)
        if not torch.isfinite(output.loss):
            raise StageFailure(f"non-finite loss {float(output.loss)} at step {step}")
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    context.synchronize()
    elapsed = time.perf_counter() - start
    return StepTiming(elapsed / sizes.timed_steps, audio_seconds * sizes.timed_steps / elapsed, peak_memory(context))


def environment(context: Context) -> tuple[str, str]:
    import transformers

    device = torch.cuda.get_device_name(context.device) if context.device.type == "cuda" else "CPU"
    missing = [f"{name} ({use})" for name, use in OPTIONAL_PACKAGES.items() if importlib.util.find_spec(name) is None]
    return (f"{device}; torch {torch.__version__}, transformers {transformers.__version__}",
            "missing, skipped: " + ", ".join(missing) if missing else "all optional packages present")


def ctc_fine_tuning(batch_size: int) -> Callable[[Context], tuple[str, str]]:
    def stage(context: Context) -> tuple[str, str]:
        from fieldasr.train.tasks import CTCTask

        model = context.ctc_model()
        setting = (f"batch {batch_size} × {context.sizes.utterance_seconds:g} s, {context.precision}, "
                   f"{sum(p.numel() for p in model.parameters()) / 1e6:.3g} M parameters, feature encoder frozen")
        batch = ctc_batch(context, batch_size)
        return setting, str(train_steps(context, CTCTask(model, PHONES), batch, batch_size * context.sizes.utterance_seconds))

    return stage


def pretraining_task(context: Context):
    """`Wav2Vec2ForPreTraining` built as `fieldasr pretrain` builds one from a config, in its Trainer task."""
    from transformers import Wav2Vec2Config

    from fieldasr.ssl.pretraining_task import PretrainingOptions, Wav2Vec2PretrainingTask, load_pretraining_model

    torch.manual_seed(0)
    return Wav2Vec2PretrainingTask(load_pretraining_model(Wav2Vec2Config(**context.sizes.config)).to(context.device), PretrainingOptions())


def audio_batch(context: Context, size: int) -> dict[str, torch.Tensor]:
    from fieldasr.ssl.pretraining_task import collate_audio

    generator = torch.Generator().manual_seed(1)
    waveforms = [torch.randn(int(context.sizes.utterance_seconds * 16000), generator=generator) for _ in range(size)]
    return {name: tensor.to(context.device) for name, tensor in collate_audio(waveforms).items()}


def continued_pretraining(context: Context) -> tuple[str, str]:
    size = context.sizes.pretraining_batch
    setting = f"batch {size} × {context.sizes.utterance_seconds:g} s, {context.precision}, mask p 0.65 × 10 frames, 100 negatives"
    # The task is local: its memory goes back before the next stages.
    return setting, str(train_steps(context, pretraining_task(context), audio_batch(context, size), size * context.sizes.utterance_seconds))


@contextlib.contextmanager
def process_group(context: Context, backend: str) -> Iterator[None]:
    """A 1-process group as torchrun would start it (environment variables), torn down afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        if backend:
            torch.distributed.init_process_group(backend, rank=0, world_size=1)
        yield
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def backend_for(context: Context) -> str:
    return "nccl" if context.device.type == "cuda" else "gloo"


def ddp_step(context: Context) -> tuple[str, str]:
    from torch.nn.parallel import DistributedDataParallel

    from fieldasr.train.tasks import CTCTask

    batch = ctc_batch(context, context.sizes.ctc_batches[0])
    with process_group(context, backend_for(context)):
        task = CTCTask(context.ctc_model(), PHONES)
        # Layerdrop leaves the skipped layers without gradients: DDP must be told, or its second step fails.
        unused = context.sizes.config["layerdrop"] > 0
        device_ids = [context.device.index or 0] if context.device.type == "cuda" else None
        wrapped = DistributedDataParallel(task, device_ids=device_ids, find_unused_parameters=unused)
        optimizer = torch.optim.AdamW([p for p in wrapped.parameters() if p.requires_grad], lr=1e-5)
        start = time.perf_counter()
        for _ in range(2):
            with context.autocast():
                output = wrapped(batch)
            output.loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        statistics = torch.tensor([float(output.loss.detach()) * output.weight, output.weight], dtype=torch.float64,
                                  device=context.device)
        expected = statistics.clone()
        torch.distributed.all_reduce(statistics)  # NCCL refuses CPU tensors: this is the device path
        context.synchronize()
        elapsed = time.perf_counter() - start
        if not torch.equal(statistics, expected):
            raise StageFailure(f"all-reduce over 1 process changed the statistics: {expected.tolist()} -> {statistics.tolist()}")
    return (f"{backend_for(context)}, 1 process, 2 steps of batch {context.sizes.ctc_batches[0]}, find_unused_parameters={unused}",
            f"{elapsed:.1f} s; all-reduce of statistics on {context.device.type}")


def trainer_steps(context: Context) -> tuple[str, str]:
    if importlib.util.find_spec("speechbrain") is None:
        raise Skip("needs speechbrain")
    from fieldasr.train import Trainer, TrainerOptions
    from fieldasr.train.pipeline import collate_ctc
    from fieldasr.train.tasks import CTCTask

    size = context.sizes.ctc_batches[0]
    batch = ctc_batch(context, size).to("cpu")
    items = [{"id": batch.ids[row], "waveform": batch.waveforms[row], "labels": batch.labels[row], "language": "und"}
             for row in range(size)]
    options = TrainerOptions(experiment_dir=context.folder / "trainer", lr=1e-5, max_steps=2, max_epochs=1,
                             precision=context.precision, device=str(context.device), progress_bar=False,
                             checkpoint_interval_minutes=0, log_interval_steps=1)
    with process_group(context, backend=""):  # the Trainer joins the group itself, as under torchrun
        start = time.perf_counter()
        trainer = Trainer(CTCTask(context.ctc_model(), PHONES), options, items, collate_ctc, batch_size=size // 2)
        summary = trainer.fit()
        elapsed = time.perf_counter() - start
        wrapped = isinstance(trainer.brain.modules.task, torch.nn.parallel.DistributedDataParallel)
    if not wrapped:
        raise StageFailure("the Trainer did not wrap the task in DistributedDataParallel under a process group")
    if summary.optimizer_steps != 2 or not all(map(torch.isfinite, torch.tensor(summary.step_losses))):
        raise StageFailure(f"{summary.optimizer_steps} steps, losses {summary.step_losses}")
    return (f"Trainer (SpeechBrain) under DDP ({backend_for(context)}), 2 steps of batch {size // 2}, {context.precision}",
            f"{elapsed:.1f} s including the checkpoint")


def greedy_transcription(context: Context) -> tuple[str, str]:
    from fieldasr.batching import cut_batches
    from fieldasr.bundle import export_bundle, load_bundle
    from fieldasr.decode.greedy import greedy_decode
    from fieldasr.transcribe.bundle_model import BundleAcousticModel

    bundle_dir = export_bundle(context.folder / "bundle", context.ctc_model(), PHONES)
    context.models.pop("ctc")  # the bundle's copy is the one that runs
    model = BundleAcousticModel(load_bundle(bundle_dir, device=str(context.device)), context.precision)
    sizes = context.sizes
    count = int(sizes.transcribe_seconds // sizes.segment_seconds)
    generator = torch.Generator().manual_seed(2)
    segments = [torch.randn(int(sizes.segment_seconds * 16000), generator=generator) * 0.1 for _ in range(count)]
    context.synchronize()
    start = time.perf_counter()
    frames = 0
    for indices in cut_batches([sizes.segment_seconds] * count, range(count), 120.0):
        waveforms = torch.stack([segments[index] for index in indices]).to(context.device)
        lengths = torch.full((len(indices),), waveforms.shape[1], device=context.device)
        with torch.inference_mode():
            log_probs, frame_lengths = model.log_probs(waveforms, lengths)
        frames += sum(len(result.tokens) >= 0 for result in greedy_decode(log_probs.cpu(), PHONES, frame_lengths.cpu()))
    elapsed = time.perf_counter() - start
    if frames != count:
        raise StageFailure(f"{frames} of {count} segments decoded")
    return (f"{sizes.transcribe_seconds / 60:.3g} min of audio in {sizes.segment_seconds:g} s segments, 120 s batches, {model.precision}",
            f"RTF {elapsed / sizes.transcribe_seconds:.4f} ({elapsed:.1f} s)")


def stages(sizes: Sizes) -> list[tuple[str, Callable[[Context], tuple[str, str]]]]:
    small, large = sizes.ctc_batches
    return [
        ("environment", environment),
        (f"CTC fine-tuning, batch {small}", ctc_fine_tuning(small)),
        (f"CTC fine-tuning, batch {large}", ctc_fine_tuning(large)),
        ("continued pretraining", continued_pretraining),
        ("DDP step", ddp_step),
        ("Trainer under DDP", trainer_steps),
        ("greedy transcription", greedy_transcription),
    ]


def run_stage(name: str, stage: Callable[[Context], tuple[str, str]], context: Context) -> Row:
    start = time.perf_counter()
    try:
        setting, result = stage(context)
        status = "ok"
    except Skip as skip:
        setting, result, status = "", "", f"skipped: {skip}"
    except Exception as error:  # noqa: BLE001  (every failure is reported in the table, and the run fails)
        setting, result, status = "", "", f"FAILED: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    finally:
        if context.device.type == "cuda":
            torch.cuda.empty_cache()
    row = Row(name, setting, result, status, time.perf_counter() - start)
    print(f"[{row.seconds:6.1f} s] {name}: {status} {result}", flush=True)
    return row


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda[:N] or cpu (default: cuda when available)")
    parser.add_argument("--small", action="store_true", help="tiny model and batches: the same stages in seconds")
    parser.add_argument("--precision", choices=("bf16", "fp32"), help="default: bf16 autocast on CUDA, fp32 on the CPU")
    parser.add_argument("--only", help="comma-separated stage names (or the start of them) to run, e.g. 'CTC,greedy'")
    parser.add_argument("--write-doc", nargs="?", const="docs/benchmarks/gpu_check.md", metavar="PATH",
                        help="also write the table as a benchmark report (default path: docs/benchmarks/gpu_check.md)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    device = torch.device(arguments.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no CUDA device; use --device cpu", file=sys.stderr)
        return 2
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())  # DDP and the Trainer want the index
    sizes = TINY if arguments.small else FULL
    precision = arguments.precision or ("bf16" if device.type == "cuda" else "fp32")
    chosen = stages(sizes)
    if arguments.only:
        prefixes = [name.strip().lower() for name in arguments.only.split(",")]
        chosen = [(name, stage) for name, stage in chosen if any(name.lower().startswith(prefix) for prefix in prefixes)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fieldasr-gpu-check-") as folder:
        context = Context(device, sizes, precision, Path(folder))
        rows = [run_stage(name, stage, context) for name, stage in chosen]
    total = time.perf_counter() - started
    publish_table(rows, arguments, sizes, total)
    failed = [row.stage for row in rows if row.status.startswith("FAILED")]
    skipped = sum(row.status.startswith("skipped") for row in rows)
    print(f"\n{len(rows) - len(failed) - skipped} of {len(rows)} stages passed, {skipped} skipped, in {total:.0f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def publish_table(rows: list[Row], arguments: argparse.Namespace, sizes: Sizes, total: float) -> None:
    from benchmarks.benchmark_doc import Table, write_benchmark_doc

    shape = "tiny (--small)" if sizes is TINY else "XLS-R 300m (24 layers, 1024 hidden, 16 heads, 4096 FFN)"
    table = Table("Stages", ["stage", "setting", "result", "status", "seconds"],
                  [[row.stage, row.setting, row.result, row.status, f"{row.seconds:.1f}"] for row in rows],
                  note=f"Model shape: {shape}, random weights; device {arguments.device}; the whole run took {total:.0f} s.")
    print("\n" + table.markdown())
    if arguments.write_doc:
        print(f"\nwritten: {write_benchmark_doc(arguments.write_doc, 'GPU check: XLS-R-300m-shaped model', [table])}")


if __name__ == "__main__":
    sys.exit(main())
