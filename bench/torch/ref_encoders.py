"""PyTorch re-statements of Hugging Face's ElectraForSequenceClassification, DebertaV2ForSequenceClassification and
ModernBertForSequenceClassification (eager attention), with Hugging Face's parameter names and maths, as rose
implements them (src/models/{electra,deberta,modernbert}.ts; test/fixtures/golden/README.md specifies each).
Benchmark baselines only: rose never runs Python. BERT's layers come from ../shared/bench/ref_models.py.

Every dropout site is an nn.Dropout module, also where the config's probability is 0, so that a benchmark can
set them all at once, as rose's ROSE passes override every site's probability (src/train/step.ts).
Models take a Hugging Face config.json as a dict and read it with the defaults transformers uses.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

# ../shared/bench beside the repository (ROSE_SHARED_BENCH elsewhere): ref_models, rose_ref, torch_baseline.
SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench")
sys.path.insert(0, os.environ.get("ROSE_SHARED_BENCH", SHARED))
from ref_models import Encoder, Intermediate, Output, SelfOutput, gelu  # noqa: E402

MIN = torch.finfo(torch.float32).min
ACT = {"gelu": gelu, "relu": torch.relu, "tanh": torch.tanh}


def act(name):
    if name not in ACT:
        raise ValueError(f"activation {name!r} is not in this baseline ({', '.join(ACT)})")
    return ACT[name]


def num_labels(c):
    return c.get("num_labels") or len(c.get("id2label") or {}) or 2


def additive_mask(mask):
    """[batch, seq] 0/1 -> [batch, 1, 1, seq]: the most negative float32 on padding keys."""
    return (1.0 - mask[:, None, None, :].float()) * MIN


# ---------------------------------------------------------------- ELECTRA
def electra_config(c):
    return dict(dict(vocab_size=30522, embedding_size=128, hidden_size=256, num_hidden_layers=12, num_attention_heads=4,
                     intermediate_size=1024, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                     max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0), **c)


class ElectraEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["embedding_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], E, padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], E)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], E)
        self.LayerNorm = nn.LayerNorm(E, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids, tt):
        pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        e = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(tt)
        return self.drop(self.LayerNorm(e))


class ElectraModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c["hidden_act"] != "gelu":
            raise ValueError("ref_models' BERT layers use GELU")
        self.embeddings = ElectraEmbeddings(c)
        if c["embedding_size"] != c["hidden_size"]:
            self.embeddings_project = nn.Linear(c["embedding_size"], c["hidden_size"])
        self.encoder = Encoder(c)

    def forward(self, ids, mask, tt):
        h = self.embeddings(ids, tt)
        if hasattr(self, "embeddings_project"):
            h = self.embeddings_project(h)
        return self.encoder(h, additive_mask(mask))


class ElectraClassificationHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        p = c.get("classifier_dropout")
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.out_proj = nn.Linear(c["hidden_size"], num_labels(c))
        self.drop = nn.Dropout(c["hidden_dropout_prob"] if p is None else p)

    def forward(self, h):
        x = gelu(self.dense(self.drop(h[:, 0])))
        return self.out_proj(self.drop(x))


class ElectraForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        c = electra_config(c)
        self.electra = ElectraModel(c)
        self.classifier = ElectraClassificationHead(c)

    def forward(self, ids, mask, tt):
        return self.classifier(self.electra(ids, mask, tt))


# ---------------------------------------------------------------- DeBERTa-v2 / v3
def deberta_config(c):
    c = dict(dict(vocab_size=128100, hidden_size=1536, num_hidden_layers=24, num_attention_heads=24, intermediate_size=6144,
                  hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
                  type_vocab_size=0, layer_norm_eps=1e-7, pad_token_id=0, relative_attention=False, max_relative_positions=-1,
                  position_buckets=-1, pos_att_type=None, share_att_key=False, norm_rel_ebd="none", position_biased_input=True,
                  pooler_dropout=0, pooler_hidden_act="gelu"), **c)
    p = c["pos_att_type"]
    c["pos_att_type"] = [t.strip() for t in p.lower().split("|")] if isinstance(p, str) else list(p or [])
    if c.get("conv_kernel_size", 0) or c.get("embedding_size", c["hidden_size"]) != c["hidden_size"]:
        raise ValueError("DeBERTa variants with a convolution layer or embed_proj are not in this baseline")
    if c["hidden_act"] != "gelu":
        raise ValueError("ref_models' intermediate layer uses GELU")
    return c


def make_log_bucket_position(relative_pos, bucket_size, max_position):
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid), torch.tensor(mid - 1).type_as(relative_pos),
                          torch.abs(relative_pos))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)


def build_relative_position(query_size, key_size, bucket_size=-1, max_position=-1):
    """[1, query_size, key_size]: (bucketed) i - j."""
    rel = torch.arange(query_size)[:, None] - torch.arange(key_size)[None, :]
    if bucket_size > 0 and max_position > 0:
        rel = make_log_bucket_position(rel, bucket_size, max_position)
    return rel.to(torch.long).unsqueeze(0)


class DebertaV2Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H, padding_idx=c["pad_token_id"])
        if c["position_biased_input"]:
            self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        if c["type_vocab_size"] > 0:
            self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids, mask, tt):
        e = self.word_embeddings(ids)
        if hasattr(self, "position_embeddings"):
            e = e + self.position_embeddings(torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids))
        if hasattr(self, "token_type_embeddings"):
            e = e + self.token_type_embeddings(tt)
        e = self.LayerNorm(e) * mask.unsqueeze(2).to(e.dtype)
        return self.drop(e)


class DisentangledSelfAttention(nn.Module):
    """Hugging Face's eager path: heads folded into the batch ([batch * heads, seq, head_dim]), bmm and gather."""

    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.h, self.d = c["num_attention_heads"], H // c["num_attention_heads"]
        self.query_proj = nn.Linear(H, H)
        self.key_proj = nn.Linear(H, H)
        self.value_proj = nn.Linear(H, H)
        self.share_att_key = c["share_att_key"]
        self.pos_att_type = c["pos_att_type"]
        self.relative_attention = c["relative_attention"]
        if self.relative_attention:
            self.position_buckets = c["position_buckets"]
            self.max_relative_positions = c["max_relative_positions"]
            if self.max_relative_positions < 1:
                self.max_relative_positions = c["max_position_embeddings"]
            self.pos_ebd_size = self.position_buckets if self.position_buckets > 0 else self.max_relative_positions
            self.pos_dropout = nn.Dropout(c["hidden_dropout_prob"])
            if not self.share_att_key:
                if "c2p" in self.pos_att_type:
                    self.pos_key_proj = nn.Linear(H, H)
                if "p2c" in self.pos_att_type:
                    self.pos_query_proj = nn.Linear(H, H)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def heads(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.h, self.d).permute(0, 2, 1, 3).contiguous().view(-1, T, self.d)

    def forward(self, x, pair_mask, relative_pos, rel_embeddings):
        q, k, v = self.heads(self.query_proj(x)), self.heads(self.key_proj(x)), self.heads(self.value_proj(x))
        scale_factor = 1 + ("c2p" in self.pos_att_type) + ("p2c" in self.pos_att_type)
        scale = math.sqrt(self.d * scale_factor)
        scores = torch.bmm(q, k.transpose(-1, -2) / scale)
        if self.relative_attention:
            scores = scores + self.bias(q, k, relative_pos, self.pos_dropout(rel_embeddings), scale)
        B, T = x.shape[0], x.shape[1]
        scores = scores.view(B, self.h, T, T).masked_fill(~pair_mask.bool(), MIN)
        probs = self.dropout(torch.softmax(scores, dim=-1))
        out = torch.bmm(probs.view(-1, T, T), v)
        return out.view(B, self.h, T, self.d).permute(0, 2, 1, 3).contiguous().view(B, T, -1)

    def bias(self, q, k, relative_pos, rel, scale):
        span = self.pos_ebd_size
        rel = rel[0:span * 2, :].unsqueeze(0)
        reps = q.size(0) // self.h
        if self.share_att_key:
            pos_query = self.heads(self.query_proj(rel)).repeat(reps, 1, 1)
            pos_key = self.heads(self.key_proj(rel)).repeat(reps, 1, 1)
        else:
            pos_key = self.heads(self.pos_key_proj(rel)).repeat(reps, 1, 1) if "c2p" in self.pos_att_type else None
            pos_query = self.heads(self.pos_query_proj(rel)).repeat(reps, 1, 1) if "p2c" in self.pos_att_type else None
        score = 0
        if "c2p" in self.pos_att_type:
            c2p = torch.bmm(q, pos_key.transpose(-1, -2))
            idx = torch.clamp(relative_pos + span, 0, span * 2 - 1)
            c2p = torch.gather(c2p, dim=-1, index=idx.squeeze(0).expand([q.size(0), q.size(1), relative_pos.size(-1)]))
            score = score + c2p / scale
        if "p2c" in self.pos_att_type:
            # Queries and keys are the same positions here, so r_pos is relative_pos (build_rpos).
            idx = torch.clamp(-relative_pos + span, 0, span * 2 - 1)
            p2c = torch.bmm(k, pos_query.transpose(-1, -2))
            p2c = torch.gather(p2c, dim=-1, index=idx.squeeze(0).expand([q.size(0), k.size(-2), k.size(-2)])).transpose(-1, -2)
            score = score + p2c / scale
        return score


class DebertaV2Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = DisentangledSelfAttention(c)
        self.output = SelfOutput(c)

    def forward(self, x, pair_mask, relative_pos, rel):
        return self.output(self.self(x, pair_mask, relative_pos, rel), x)


class DebertaV2Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = DebertaV2Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c)

    def forward(self, x, pair_mask, relative_pos, rel):
        a = self.attention(x, pair_mask, relative_pos, rel)
        return self.output(self.intermediate(a), a)


class DebertaV2Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([DebertaV2Layer(c) for _ in range(c["num_hidden_layers"])])
        self.relative_attention = c["relative_attention"]
        if self.relative_attention:
            self.max_relative_positions = c["max_relative_positions"]
            if self.max_relative_positions < 1:
                self.max_relative_positions = c["max_position_embeddings"]
            self.position_buckets = c["position_buckets"]
            size = self.position_buckets if self.position_buckets > 0 else self.max_relative_positions
            self.rel_embeddings = nn.Embedding(size * 2, c["hidden_size"])
        self.norm_rel_ebd = [t.strip() for t in c["norm_rel_ebd"].lower().split("|")]
        if "layer_norm" in self.norm_rel_ebd:
            self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"], elementwise_affine=True)

    def forward(self, h, mask):
        m = mask.unsqueeze(1).unsqueeze(2)
        pair_mask = m * m.squeeze(-2).unsqueeze(-1)
        relative_pos = rel = None
        if self.relative_attention:
            T = h.shape[1]
            relative_pos = build_relative_position(T, T, self.position_buckets, self.max_relative_positions)
            rel = self.rel_embeddings.weight
            if "layer_norm" in self.norm_rel_ebd:
                rel = self.LayerNorm(rel)
        for layer in self.layer:
            h = layer(h, pair_mask, relative_pos, rel)
        return h


class DebertaV2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DebertaV2Embeddings(c)
        self.encoder = DebertaV2Encoder(c)

    def forward(self, ids, mask, tt):
        return self.encoder(self.embeddings(ids, mask, tt), mask)


class ContextPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.get("pooler_hidden_size", c["hidden_size"]), c.get("pooler_hidden_size", c["hidden_size"]))
        self.drop = nn.Dropout(c["pooler_dropout"])
        self.act = act(c["pooler_hidden_act"])

    def forward(self, h):
        return self.act(self.dense(self.drop(h[:, 0])))


class DebertaV2ForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        c = deberta_config(c)
        self.deberta = DebertaV2Model(c)
        self.pooler = ContextPooler(c)
        self.classifier = nn.Linear(c.get("pooler_hidden_size", c["hidden_size"]), num_labels(c))
        p = c.get("cls_dropout")
        self.drop = nn.Dropout(c["hidden_dropout_prob"] if p is None else p)

    def forward(self, ids, mask, tt):
        return self.classifier(self.drop(self.pooler(self.deberta(ids, mask, tt))))


# ---------------------------------------------------------------- ModernBERT
def modernbert_config(c):
    c = dict(dict(vocab_size=50368, hidden_size=768, intermediate_size=1152, num_hidden_layers=22, num_attention_heads=12,
                  hidden_activation="gelu", max_position_embeddings=8192, norm_eps=1e-5, norm_bias=False, pad_token_id=50283,
                  global_rope_theta=160000.0, local_rope_theta=10000.0, attention_bias=False, attention_dropout=0.0,
                  global_attn_every_n_layers=3, local_attention=128, embedding_dropout=0.0, mlp_bias=False, mlp_dropout=0.0,
                  classifier_pooling="cls", classifier_dropout=0.0, classifier_bias=False, classifier_activation="gelu"), **c)
    if c["local_rope_theta"] is None:
        c["local_rope_theta"] = c["global_rope_theta"]
    return c


class LayerNorm(nn.Module):
    """nn.LayerNorm(bias=norm_bias), which this torch (1.13) lacks."""

    def __init__(self, size, eps, bias):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class ModernBertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.norm = LayerNorm(c["hidden_size"], c["norm_eps"], c["norm_bias"])
        self.drop = nn.Dropout(c["embedding_dropout"])

    def forward(self, ids):
        return self.drop(self.norm(self.tok_embeddings(ids)))


class ModernBertRotaryEmbedding(nn.Module):
    def __init__(self, dim, base):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)), persistent=False)

    def forward(self, position_ids):
        inv = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class ModernBertAttention(nn.Module):
    def __init__(self, c, layer_id):
        super().__init__()
        H = c["hidden_size"]
        self.h, self.d, self.H = c["num_attention_heads"], H // c["num_attention_heads"], H
        self.Wqkv = nn.Linear(H, 3 * H, bias=c["attention_bias"])
        self.local = layer_id % c["global_attn_every_n_layers"] != 0
        self.rotary_emb = ModernBertRotaryEmbedding(self.d, c["local_rope_theta"] if self.local else c["global_rope_theta"])
        self.attn_drop = nn.Dropout(c["attention_dropout"])
        self.Wo = nn.Linear(H, H, bias=c["attention_bias"])
        self.out_drop = nn.Dropout(c["attention_dropout"])

    def forward(self, x, attention_mask, sliding_window_mask, position_ids):
        B = x.shape[0]
        qkv = self.Wqkv(x).view(B, -1, 3, self.h, self.d)
        cos, sin = self.rotary_emb(position_ids)
        q, k, v = qkv.transpose(3, 1).unbind(dim=2)  # [batch, heads, seq, head_dim]
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        w = torch.matmul(q, k.transpose(2, 3)) * self.d ** -0.5
        w = w + (sliding_window_mask if self.local else attention_mask)
        w = self.attn_drop(torch.softmax(w, dim=-1, dtype=torch.float32))
        out = torch.matmul(w, v).transpose(1, 2).contiguous().view(B, -1, self.H)
        return self.out_drop(self.Wo(out))


class ModernBertMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.Wi = nn.Linear(H, 2 * I, bias=c["mlp_bias"])
        self.act = act(c["hidden_activation"])
        self.drop = nn.Dropout(c["mlp_dropout"])
        self.Wo = nn.Linear(I, H, bias=c["mlp_bias"])

    def forward(self, x):
        a, g = self.Wi(x).chunk(2, dim=-1)
        return self.Wo(self.drop(self.act(a) * g))


class ModernBertEncoderLayer(nn.Module):
    def __init__(self, c, layer_id):
        super().__init__()
        norm = lambda: LayerNorm(c["hidden_size"], c["norm_eps"], c["norm_bias"])  # noqa: E731
        self.attn_norm = nn.Identity() if layer_id == 0 else norm()
        self.attn = ModernBertAttention(c, layer_id)
        self.mlp_norm = norm()
        self.mlp = ModernBertMLP(c)

    def forward(self, x, attention_mask, sliding_window_mask, position_ids):
        x = x + self.attn(self.attn_norm(x), attention_mask, sliding_window_mask, position_ids)
        return x + self.mlp(self.mlp_norm(x))


class ModernBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = ModernBertEmbeddings(c)
        self.layers = nn.ModuleList([ModernBertEncoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.final_norm = LayerNorm(c["hidden_size"], c["norm_eps"], c["norm_bias"])
        self.window = c["local_attention"] // 2

    def forward(self, ids, mask):
        B, T = ids.shape
        position_ids = torch.arange(T).unsqueeze(0)
        global_mask = additive_mask(mask).expand(B, 1, T, T)
        rows = torch.arange(T).unsqueeze(0)
        window = (torch.abs(rows - rows.T) <= self.window).unsqueeze(0).unsqueeze(0)
        sliding_mask = global_mask.masked_fill(window.logical_not(), MIN)
        h = self.embeddings(ids)
        for layer in self.layers:
            h = layer(h, global_mask, sliding_mask, position_ids)
        return self.final_norm(h)


class ModernBertPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"], bias=c["classifier_bias"])
        self.act = act(c["classifier_activation"])
        self.norm = LayerNorm(c["hidden_size"], c["norm_eps"], c["norm_bias"])

    def forward(self, h):
        return self.norm(self.act(self.dense(h)))


class ModernBertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        c = modernbert_config(c)
        self.model = ModernBertModel(c)
        self.head = ModernBertPredictionHead(c)
        self.drop = nn.Dropout(c["classifier_dropout"])
        self.classifier = nn.Linear(c["hidden_size"], num_labels(c))
        self.pooling = c["classifier_pooling"]
        if self.pooling not in ("cls", "mean"):
            raise ValueError(f"classifier_pooling {self.pooling!r} is not in this baseline (cls, mean)")

    def forward(self, ids, mask, tt=None):
        h = self.model(ids, mask)
        if self.pooling == "cls":
            h = h[:, 0]
        else:
            m = mask.unsqueeze(-1).to(h.dtype)
            h = (h * m).sum(dim=1) / m.sum(dim=1)
        return self.classifier(self.drop(self.head(h)))


CLASSIFIERS = {
    "electra": ElectraForSequenceClassification,
    "deberta-v2": DebertaV2ForSequenceClassification,
    "modernbert": ModernBertForSequenceClassification,
}


def classifier(c):
    """The sequence classifier for a config.json dict (model_type electra, deberta-v2 or modernbert)."""
    t = c.get("model_type")
    if t not in CLASSIFIERS:
        raise ValueError(f"model_type {t!r} is not in this baseline ({', '.join(CLASSIFIERS)})")
    return CLASSIFIERS[t](c)
