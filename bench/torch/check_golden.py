"""Checks the PyTorch re-statements in ref_encoders.py on the golden checkpoints (test/fixtures/golden/models):
their logits, loss and gradients against expected.safetensors, and their logits against rose's own (`npm run bench
-- logits`), so that bench/torch/torch_baseline_arch.py times the computation rose does.

Usage (repository root): /usr/bin/python3 bench/torch/check_golden.py [--no-rose]
Prints one JSON line per model and exits 1 when a tolerance is missed: logits within 1e-4 of rose's and of
expected.safetensors, loss within 1e-5, every gradient element within 1e-6 absolute or 1e-4 relative (the rule of
test/models/golden.test.ts: gradients that are zero in exact arithmetic, as the attention key bias's, are float
noise). grad_rel_vs_expected is the largest relative error over elements above 1e-3.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_encoders import classifier  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GOLDEN = os.path.join(ROOT, "test", "fixtures", "golden", "models")
MODELS = ["electra", "deberta-v3", "modernbert", "modernbert-mean"]
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """name -> tensor: an 8-byte little-endian header length, the JSON header, then the raw tensor bytes."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = bytearray(data[8 + n:])
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        b, e = h["data_offsets"]
        dtype = DTYPES[h["dtype"]]
        out[name] = torch.frombuffer(body[b:e], dtype=dtype).reshape(h["shape"]).clone() if e > b else torch.zeros(h["shape"], dtype=dtype)
    return out


def rose_logits(model_dir):
    r = subprocess.run(["npm", "run", "-s", "bench", "--", "logits", "--model", model_dir, "--json"], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    return torch.tensor(json.loads(r.stdout.strip().splitlines()[-1])["logits"])


def check(name, with_rose):
    d = os.path.join(GOLDEN, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(d, "case.json")) as f:
        case = json.load(f)
    model = classifier(cfg)
    missing, unexpected = model.load_state_dict(read_safetensors(os.path.join(d, "model.safetensors")), strict=False)
    if missing or unexpected:
        raise SystemExit(f"{name}: parameter names differ from the checkpoint: missing {missing}, unexpected {unexpected}")
    model.eval()
    ids = torch.tensor(case["input_ids"])
    mask = torch.tensor(case["attention_mask"])
    tt = torch.tensor(case.get("token_type_ids", torch.zeros_like(ids).tolist()))
    logits = model(ids, mask, tt)
    loss = F.cross_entropy(logits, torch.tensor(case["labels"]))
    loss.backward()
    exp = read_safetensors(os.path.join(d, "expected.safetensors"))
    grad_abs = grad_rel = 0.0
    grads_ok = True
    for n, p in model.named_parameters():
        e = exp[f"grad/{n}"]
        err = ((p.grad if p.grad is not None else torch.zeros_like(p)) - e).abs()
        grads_ok = grads_ok and bool(((err <= 1e-6) | (err <= 1e-4 * e.abs())).all())
        grad_abs = max(grad_abs, err.max().item())
        big = e.abs() > 1e-3
        if big.any():
            grad_rel = max(grad_rel, (err[big] / e.abs()[big]).max().item())
    r = dict(model=name, params=sum(1 for _ in model.parameters()), logits_vs_expected=(logits - exp["logits"]).abs().max().item(),
             loss_vs_expected=abs(loss.item() - exp["loss"].item()), grad_abs_vs_expected=grad_abs,
             grad_rel_vs_expected=grad_rel)
    if with_rose:
        r["logits_vs_rose"] = (logits - rose_logits(d)).abs().max().item()
    r["ok"] = r["logits_vs_expected"] < 1e-4 and r["loss_vs_expected"] < 1e-5 and grads_ok and r.get("logits_vs_rose", 0.0) < 1e-4
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-rose", action="store_true", help="skip the comparison with rose's logits (no Node needed)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    ok = True
    for name in MODELS:
        r = check(name, not a.no_rose)
        print(json.dumps(r))
        ok = ok and r["ok"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
