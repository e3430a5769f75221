#!/usr/bin/python3
"""The PyTorch side of `npm run bench -- --vs-torch` for the Llama family (shapes L, Smol, Qwen), on the CPU.

Written from the architecture in transformers' style (LlamaForCausalLM / Qwen2ForCausalLM, eager attention),
as lm/models/llama.ts computes it: token embedding, pre-RMSNorm blocks (x * rsqrt(mean(x²) + eps) * w),
rotary positions in the half-split form (rotate_half: q·cos + [-q₂, q₁]·sin), grouped-query attention,
a SwiGLU MLP (down(silu(gate(x)) * up(x))), Qwen2's q/k/v biases, Qwen3's per-head q/k RMSNorm, a tied or
untied LM head; no dropout, float32. Projections are nn.Linear's F.linear(x, W[out, in], b).

Grouped-query attention multiplies the queries of each KV group against that group's keys directly
(q [B, Hkv, G·T, hd] · kᵀ [B, Hkv, hd, S]) instead of transformers' repeat_kv, which copies every key and
value G times (every decoding step, the whole cache): the same products, without the copies, as ours.

Training, generation and the machine peaks are bench/torch-gpt.py's (imported from it): forward +
cross-entropy + backward + clip_grad_norm_(1.0) + torch.optim.AdamW; batch 16, 16-token prompts, 64 new
tokens sampled at temperature 1 with a KV cache extended by torch.cat.

  /usr/bin/python3 bench/torch-llama.py --shape '{"name":"L","batch":8,"config":{...GPTConfig...}}' [--steps 3]

Prints one JSON line on stdout; progress goes to stderr. Exits 3 with one line on stderr when torch
cannot be imported (Debian: apt-get install -y python3-torch libopenblas0-openmp).
"""
import importlib.util
import math
import os
import sys

_spec = importlib.util.spec_from_file_location('torch_gpt', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch-gpt.py'))
tg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tg)  # exits 3 when torch is missing
torch, F = tg.torch, tg.F


class Linear(torch.nn.Module):
    """nn.Linear's computation (F.linear, weight [out, in]) with transformers' N(0, 0.02) init, zero bias."""

    def __init__(self, n_in, n_out, bias, g):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n_out, n_in, generator=g) * 0.02)
        self.bias = torch.nn.Parameter(torch.zeros(n_out)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


def rms_norm(x, w, eps):
    """LlamaRMSNorm: x / sqrt(mean(x²) + eps) · w over the last axis."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), -1)


class Llama(torch.nn.Module):
    def __init__(self, c, seed=0):
        super().__init__()
        if c.get('ropeScaling'):
            raise ValueError('ropeScaling is not implemented in the PyTorch twin (no bench shape uses it)')
        g = torch.Generator().manual_seed(seed)
        C, L, I = c['nEmbd'], c['nLayer'], c['nInner']
        H, Hkv, hd = c['nHead'], c['nKvHead'], c['headDim']
        self.c = c
        self.embed_tokens = torch.nn.Parameter(torch.randn(c['vocabSize'], C, generator=g) * 0.02)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            b = torch.nn.Module()
            b.input_layernorm = torch.nn.Parameter(torch.ones(C))
            b.q_proj = Linear(C, H * hd, c['qkvBias'], g)
            b.k_proj = Linear(C, Hkv * hd, c['qkvBias'], g)
            b.v_proj = Linear(C, Hkv * hd, c['qkvBias'], g)
            b.o_proj = Linear(H * hd, C, c['oBias'], g)
            if c.get('qkNorm'):
                b.q_norm = torch.nn.Parameter(torch.ones(hd))
                b.k_norm = torch.nn.Parameter(torch.ones(hd))
            b.post_attention_layernorm = torch.nn.Parameter(torch.ones(C))
            b.gate_proj = Linear(C, I, c['mlpBias'], g)
            b.up_proj = Linear(C, I, c['mlpBias'], g)
            b.down_proj = Linear(I, C, c['mlpBias'], g)
            self.layers.append(b)
        self.norm = torch.nn.Parameter(torch.ones(C))
        self.lm_head = None if c['tieWordEmbeddings'] else torch.nn.Parameter(torch.randn(c['vocabSize'], C, generator=g) * 0.02)
        # RoPE tables for every position (LlamaRotaryEmbedding, default rule): emb = cat(freqs, freqs)
        inv_freq = 1.0 / (c['ropeTheta'] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        freqs = torch.outer(torch.arange(c['nPositions'], dtype=torch.float64), inv_freq)
        emb = torch.cat((freqs, freqs), -1)
        self.register_buffer('cos', emb.cos().float(), persistent=False)  # [P, hd]
        self.register_buffer('sin', emb.sin().float(), persistent=False)

    def hidden(self, ids, cache=None):
        """ids [B, T] -> final hidden states [B*T, C]. cache: {'k': [...], 'v': [...]} of rotated keys, extended in place."""
        c = self.c
        B, T = ids.shape
        C, H, Hkv, hd, eps = c['nEmbd'], c['nHead'], c['nKvHead'], c['headDim'], c['layerNormEpsilon']
        G = H // Hkv
        past = cache['k'][0].shape[2] if cache and cache['k'] else 0
        if past + T > c['nPositions']:
            raise ValueError(f'sequence of {past + T} tokens exceeds nPositions {c["nPositions"]}')
        cos, sin = self.cos[past:past + T], self.sin[past:past + T]  # [T, hd], broadcast over [B, n, T, hd]
        # causal additive mask [T, past+T] (key j allowed for query i iff j <= past + i), repeated for the
        # G query heads of a group, which sit one after another along the rows: [G*T, past+T]
        bias = ((1 - torch.ones(T, past + T).tril(past)) * -1e9).repeat(G, 1)
        scale = 1 / math.sqrt(hd)
        x = F.embedding(ids, self.embed_tokens).reshape(B * T, C)
        for i, b in enumerate(self.layers):
            a = rms_norm(x, b.input_layernorm, eps)
            q = b.q_proj(a).view(B, T, H, hd)
            k = b.k_proj(a).view(B, T, Hkv, hd)
            v = b.v_proj(a).view(B, T, Hkv, hd).transpose(1, 2)  # [B, Hkv, T, hd]
            if c.get('qkNorm'):
                q, k = rms_norm(q, b.q_norm, eps), rms_norm(k, b.k_norm, eps)
            q, k = q.transpose(1, 2), k.transpose(1, 2)  # [B, H, T, hd], [B, Hkv, T, hd]
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                if past:
                    k = torch.cat([cache['k'][i], k], 2)
                    v = torch.cat([cache['v'][i], v], 2)
                    cache['k'][i], cache['v'][i] = k, v
                else:
                    cache['k'].append(k)
                    cache['v'].append(v)
            # query head h uses KV head h // G (repeat_kv's order): group the queries, no copy of k or v
            qg = q.reshape(B, Hkv, G * T, hd)
            att = torch.softmax(qg @ k.transpose(-1, -2) * scale + bias, -1)  # [B, Hkv, G*T, past+T]
            y = (att @ v).view(B, H, T, hd).transpose(1, 2).reshape(B * T, H * hd)
            x = x + b.o_proj(y)
            m = rms_norm(x, b.post_attention_layernorm, eps)
            x = x + b.down_proj(F.silu(b.gate_proj(m)) * b.up_proj(m))
        return rms_norm(x, self.norm, eps)

    def head(self, h):
        """LM head, tied to the embedding or its own: [N, C] -> logits [N, V]."""
        return F.linear(h, self.embed_tokens if self.lm_head is None else self.lm_head)

    def loss(self, ids):
        """ids [B, T+1]: mean next-token cross-entropy, as GPT.loss in lm/model.ts."""
        inputs, targets = ids[:, :-1], ids[:, 1:].reshape(-1)
        return F.cross_entropy(self.head(self.hidden(inputs)), targets)


def self_check():
    """The grouped attention equals repeat_kv's, and decoding with the cache equals a full forward."""
    c = {'vocabSize': 64, 'nPositions': 16, 'nEmbd': 24, 'nLayer': 2, 'nHead': 6, 'nKvHead': 2, 'headDim': 4, 'nInner': 40,
         'layerNormEpsilon': 1e-6, 'ropeTheta': 10000.0, 'tieWordEmbeddings': False, 'qkvBias': True, 'oBias': False, 'mlpBias': False, 'qkNorm': False}
    m = Llama(c, 3)
    ids = torch.randint(0, 64, (2, 7), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = m.hidden(ids)
        cache = {'k': [], 'v': []}
        step = torch.cat([m.hidden(ids[:, :4], cache).view(2, 4, -1)] + [m.hidden(ids[:, t:t + 1], cache).view(2, 1, -1) for t in range(4, 7)], 1)
        # reference attention of layer 0 with repeat_kv (transformers' eager path)
        b, a = m.layers[0], rms_norm(F.embedding(ids, m.embed_tokens).reshape(14, 24), m.layers[0].input_layernorm, 1e-6)
        cos, sin = m.cos[:7], m.sin[:7]
        q = b.q_proj(a).view(2, 7, 6, 4).transpose(1, 2)
        k = b.k_proj(a).view(2, 7, 2, 4).transpose(1, 2)
        v = b.v_proj(a).view(2, 7, 2, 4).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(3, 1), v.repeat_interleave(3, 1)
        mask = (1 - torch.ones(7, 7).tril()) * -1e9
        ref = (torch.softmax(q @ k.transpose(-1, -2) / 2 + mask, -1) @ v).transpose(1, 2).reshape(14, 24)
        qg = q.reshape(2, 2, 21, 4)
        ours = (torch.softmax(qg @ k[:, ::3].transpose(-1, -2) / 2 + mask.repeat(3, 1), -1) @ v[:, ::3]).view(2, 6, 7, 4).transpose(1, 2).reshape(14, 24)
    assert torch.allclose(ours, ref, atol=1e-6), 'grouped attention differs from repeat_kv'
    assert torch.allclose(full.view(2, 7, -1), step, atol=1e-5), 'KV-cache decoding differs from the full forward'
    tg.log('[torch] self-check: grouped attention = repeat_kv, cached decoding = full forward')


if __name__ == '__main__':
    if '--self-check' in sys.argv:
        self_check()
    else:
        tg.main(Llama, __doc__)
