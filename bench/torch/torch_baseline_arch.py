"""PyTorch CPU baseline for fine-tuning throughput of ELECTRA, DeBERTa-v3 and ModernBERT (and BERT), the work of
`npm run bench -- train --arch ...`: ../shared/bench/torch_baseline.py's steps and output for the architectures
in ref_encoders.py, with the ROSE reference optimizer from ../shared/bench/rose_ref.py.

Needs Debian's python3 with torch: apt-get install -y python3-torch libopenblas0-pthread (without
libopenblas0-pthread, Debian's torch falls back to the reference BLAS and is 30x slower).
Example:  /usr/bin/python3 bench/torch/torch_baseline_arch.py --arch deberta --config mini --method ensemble --steps 5
Prints one JSON line: arch, config, method, batch, seq, threads, median step seconds, samples/s, tokens/s, peak RSS MiB.

The model: a preset's sizes (torch_baseline.CONFIGS, as rose's PRESETS) plus the architecture's fields in
bench/arch-configs.json, which `npm run bench` reads too. Methods: vanilla (one forward, CE backward, AdamW),
first (ROSE first order: two dropout forwards, KL backward for per-tensor norms, CE backward), second, ensemble
(both), eval (no_grad forward in eval mode). As in rose, the two ROSE passes run every dropout site at 0.1 (the
KL dropout), also the sites the config leaves at 0 (ModernBERT's, DeBERTa's pooler). Gradients are clipped to
global norm 1.0; weight decay 0.01 except on norm parameters and biases (rose's defaultNoDecay).
"""
import argparse
import json
import os
import re
import resource
import statistics
import sys
import time

sys.dont_write_bytecode = True
# OpenBLAS reads these at load time; the machine sets them for old OpenBLAS builds, and they halve this build's
# matmul speed (see ../shared/bench/torch_baseline.py). Unset for this process alone, before torch loads OpenBLAS.
for _k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_k, None)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ref_encoders import classifier  # noqa: E402  (puts ../shared/bench on the path)
from ref_models import BertForSequenceClassification  # noqa: E402
from rose_ref import RoseAdamW  # noqa: E402
from torch_baseline import CONFIGS  # noqa: E402

KL_DROPOUT = 0.1


def arch_config(arch, config, num_labels=2):
    """As archConfig in bench/models.ts: the preset's sizes, the architecture's fields, from_hidden ratios."""
    with open(os.path.join(HERE, "..", "arch-configs.json")) as f:
        specs = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    if arch not in specs:
        raise SystemExit(f"unknown --arch {arch} ({', '.join(specs)})")
    preset = CONFIGS[config]
    spec = specs[arch]
    derived = {k: round(preset["hidden_size"] * r) for k, r in spec.get("from_hidden", {}).items()}
    return dict(preset, **spec["fields"], **derived, num_labels=num_labels)


def no_decay(name):
    return "LayerNorm" in name or "layer_norm" in name or re.search(r"(^|[._])norm\.weight$", name) or name.endswith("bias")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="electra")
    ap.add_argument("--config", default="mini", choices=CONFIGS)
    ap.add_argument("--method", default="vanilla", choices=["vanilla", "first", "second", "ensemble", "eval"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    # 1 intra-op thread: PyTorch's fastest setting on the 2-core machine (see torch_baseline.py).
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--params", action="store_true", help="print the parameter names and shapes as JSON and stop")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = arch_config(a.arch, a.config)
    model = BertForSequenceClassification(cfg) if cfg["model_type"] == "bert" else classifier(cfg)
    if a.params:
        print(json.dumps({n: list(p.shape) for n, p in model.named_parameters()}))
        return
    model.train()
    named = list(model.named_parameters())
    decay = [(n, p) for n, p in named if not no_decay(n)]
    nodecay = [(n, p) for n, p in named if no_decay(n)]
    first, second = a.method in ("first", "ensemble"), a.method in ("second", "ensemble")
    opt = RoseAdamW([(decay, 0.01), (nodecay, 0.0)], lr=2e-5, upper=70, lower=0, first=first, second=second)
    if first:
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = KL_DROPOUT
    ids = torch.randint(5, cfg["vocab_size"], (a.batch, a.seq))
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    tt = torch.zeros(a.batch, a.seq, dtype=torch.long)
    labels = torch.randint(0, 2, (a.batch,))
    params = dict(named)
    times = []
    if a.method == "eval":
        model.eval()
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        if a.method == "eval":
            with torch.no_grad():
                model(ids, mask, tt)
            if i >= a.warmup:
                times.append(time.perf_counter() - t0)
            continue
        model.zero_grad(set_to_none=True)
        if first:
            l1, l2 = model(ids, mask, tt), model(ids, mask, tt)
            p, q = F.log_softmax(l1, -1), F.log_softmax(l2, -1)
            kl = (F.kl_div(p, q.exp(), reduction="sum") + F.kl_div(q, p.exp(), reduction="sum")) / 4.0
            kl.backward(retain_graph=True)
            norms = torch.stack([torch.norm(params[n].grad) for n in opt.selected_names()])
            opt.first_order_mask(norms)
            model.zero_grad(set_to_none=True)
            ce = 0.5 * (F.cross_entropy(l1, labels) + F.cross_entropy(l2, labels))
        else:
            ce = F.cross_entropy(model(ids, mask, tt), labels)
        ce.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps(dict(impl="pytorch-" + torch.__version__, arch=a.arch, config=a.config, method=a.method, batch=a.batch,
                          seq=a.seq, threads=a.threads, step_s=round(med, 4), samples_per_s=round(a.batch / med, 2),
                          tokens_per_s=round(a.batch * a.seq / med, 1),
                          peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))))


if __name__ == "__main__":
    main()
