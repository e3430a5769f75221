#!/usr/bin/python3
"""The PyTorch side of `npm run bench -- --vs-torch`: the same GPT-2 as lm/model.ts, on the CPU.

Learned positions, pre-LayerNorm blocks, tanh GELU, tied LM head, no dropout, float32; the parameters
use GPT-2's Conv1D layout (x @ W + b) like ours. Shapes come from bench/shapes.ts through bench/run.ts:

  /usr/bin/python3 bench/torch-gpt.py --shape '{"name":"S","batch":8,"config":{...GPTConfig...}}' [--steps 3]
  /usr/bin/python3 bench/torch-gpt.py --peak          # sgemm GFLOP/s and memcpy GB/s only

Prints one JSON line on stdout; progress goes to stderr. Exits 3 with one line on stderr when torch
cannot be imported (Debian: apt-get install -y python3-torch libopenblas0-openmp).
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means "no torch here"
    print(f"torch is not importable by {sys.executable} ({type(e).__name__}: {e}); "
          "install it with: apt-get install -y python3-torch libopenblas0-openmp", file=sys.stderr)
    sys.exit(3)

THREADS = os.cpu_count() or 1


def log(s):
    print(s, file=sys.stderr, flush=True)


def blas_library():
    """The BLAS shared library torch loaded (Debian's torch links the generic libblas.so.3 alternative)."""
    try:
        with open('/proc/self/maps') as f:
            paths = {line.split()[-1] for line in f if 'blas' in line.lower() and line.split()[-1].startswith('/')}
    except OSError:
        return None, None
    for p in sorted(paths):
        try:
            lib = ctypes.CDLL(p)
            if hasattr(lib, 'openblas_set_num_threads'):
                lib.openblas_get_config.restype = ctypes.c_char_p
                return lib, f"{os.path.realpath(p)} ({lib.openblas_get_config().decode()})"
        except OSError:
            pass
    return None, (sorted(paths)[0] if paths else 'unknown')


BLAS, BLAS_NAME = blas_library()


def set_threads(n):
    """torch.set_num_threads covers OpenMP; the pthread build of OpenBLAS has its own pool, set it too."""
    torch.set_num_threads(n)
    if BLAS is not None:
        BLAS.openblas_set_num_threads(n)


def median_time(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


# ---------------------------------------------------------------------------------------------- model

class GPT(torch.nn.Module):
    def __init__(self, c, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        C, L, Fi = c['nEmbd'], c['nLayer'], c['nInner']
        self.c = c

        def normal(*shape, std=0.02):
            return torch.nn.Parameter(torch.randn(*shape, generator=g) * std)

        def const(v, n):
            return torch.nn.Parameter(torch.full((n,), float(v)))

        self.wte = normal(c['vocabSize'], C)
        self.wpe = normal(c['nPositions'], C)
        proj_std = 0.02 / math.sqrt(2 * L)
        self.h = torch.nn.ModuleList()
        for _ in range(L):
            b = torch.nn.Module()
            b.ln_1_g, b.ln_1_b = const(1, C), const(0, C)
            b.attn_w, b.attn_b = normal(C, 3 * C), const(0, 3 * C)
            b.proj_w, b.proj_b = normal(C, C, std=proj_std), const(0, C)
            b.ln_2_g, b.ln_2_b = const(1, C), const(0, C)
            b.fc_w, b.fc_b = normal(C, Fi), const(0, Fi)
            b.fcp_w, b.fcp_b = normal(Fi, C, std=proj_std), const(0, C)
            self.h.append(b)
        self.ln_f_g, self.ln_f_b = const(1, C), const(0, C)

    def hidden(self, ids, cache=None):
        """ids [B, T] -> final hidden states [B*T, C]. cache: {'k': [...], 'v': [...]} extended in place."""
        c = self.c
        B, T = ids.shape
        C, H = c['nEmbd'], c['nHead']
        hd = C // H
        eps = c['layerNormEpsilon']
        past = cache['k'][0].shape[2] if cache and cache['k'] else 0
        pos = torch.arange(past, past + T)
        x = (F.embedding(ids, self.wte) + F.embedding(pos, self.wpe)).reshape(B * T, C)
        # additive mask [T, past+T]: key j is allowed for query i iff j <= past + i
        allowed = torch.ones(T, past + T).tril(past)
        bias = (1 - allowed) * -1e9
        for i, b in enumerate(self.h):
            a = F.layer_norm(x, (C,), b.ln_1_g, b.ln_1_b, eps)
            qkv = torch.addmm(b.attn_b, a, b.attn_w).view(B, T, 3, H, hd)
            q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))  # [B, H, T, hd]
            if cache is not None:
                if past:
                    k = torch.cat([cache['k'][i], k], 2)
                    v = torch.cat([cache['v'][i], v], 2)
                    cache['k'][i], cache['v'][i] = k, v
                else:
                    cache['k'].append(k)
                    cache['v'].append(v)
            scale = 1 / math.sqrt(hd) / ((i + 1) if c.get('scaleAttnByInverseLayerIdx') else 1)
            att = torch.softmax(q @ k.transpose(-1, -2) * scale + bias, -1)
            y = (att @ v).transpose(1, 2).reshape(B * T, C)
            x = x + torch.addmm(b.proj_b, y, b.proj_w)
            m = F.layer_norm(x, (C,), b.ln_2_g, b.ln_2_b, eps)
            f = F.gelu(torch.addmm(b.fc_b, m, b.fc_w), approximate='tanh')
            x = x + torch.addmm(b.fcp_b, f, b.fcp_w)
        return F.layer_norm(x, (C,), self.ln_f_g, self.ln_f_b, eps)

    def head(self, h):
        """Tied LM head: [N, C] -> logits [N, V]."""
        return h @ self.wte.t()

    def loss(self, ids):
        """ids [B, T+1]: mean next-token cross-entropy, as GPT.loss in lm/model.ts."""
        inputs, targets = ids[:, :-1], ids[:, 1:].reshape(-1)
        logits = self.head(self.hidden(inputs))
        return F.cross_entropy(logits, targets)


# ------------------------------------------------------------------------------------------ measures

def train_tok_s(model, batch, steps):
    c = model.c
    # Our AdamW decays matrices and embeddings (rank >= 2), not biases or LayerNorm: the same groups here.
    params = list(model.parameters())
    opt = torch.optim.AdamW([
        {'params': [p for p in params if p.dim() >= 2], 'weight_decay': 0.1},
        {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.0},
    ], lr=1e-4)
    g = torch.Generator().manual_seed(1)
    times = []
    for i in range(steps + 1):
        ids = torch.randint(0, c['vocabSize'], (batch, c['nPositions'] + 1), generator=g)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model.loss(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        lv = loss.item()
        dt = time.perf_counter() - t0
        log(f"[torch] train step {i}: {dt:.2f}s loss {lv:.3f}{' (warm-up)' if i == 0 else ''}")
        if i > 0:
            times.append(dt)
    step_s = statistics.median(times)
    return batch * c['nPositions'] / step_s, step_s


@torch.no_grad()
def generate(model, prompts, new_tokens, g):
    """Sample new_tokens per row at temperature 1 with a KV cache; returns the number of tokens made."""
    cache = {'k': [], 'v': []}
    h = model.hidden(prompts, cache)
    B, T = prompts.shape
    made = 0
    for step in range(new_tokens):
        last = h.view(B, -1, h.shape[-1])[:, -1]
        probs = torch.softmax(model.head(last), -1)  # temperature 1, no top-k / top-p
        tok = torch.multinomial(probs, 1, generator=g)  # [B, 1]
        made += B
        if step == new_tokens - 1:
            break
        h = model.hidden(tok, cache)
    return made


def gen_tok_s(model):
    g = torch.Generator().manual_seed(2)
    V = model.c['vocabSize']
    prompts = torch.randint(0, V - 1, (16, 16), generator=g)
    generate(model, prompts, 64, g)  # warm-up: one whole call, as bench/lm-shape.ts does with its KV cache
    rates = []
    for _ in range(3):  # the median of 3 timed calls, as bench/lm-shape.ts (GEN_REPS)
        t0 = time.perf_counter()
        made = generate(model, prompts, 64, g)
        rates.append(made / (time.perf_counter() - t0))
    log(f"[torch] generate with KV cache, 3 calls: {', '.join(f'{r:.0f}' for r in rates)} tokens/s")
    return statistics.median(rates)


def sgemm_gflops(n=2048, reps=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    s = median_time(lambda: torch.mm(a, b, out=out), reps)
    return 2 * n ** 3 / s / 1e9


def memcpy_gbs(mb=256, reps=5):
    src = torch.rand(mb * 2 ** 20 // 4)
    dst = torch.empty_like(src)
    s = median_time(lambda: dst.copy_(src), reps)
    return 2 * src.numel() * 4 / s / 1e9  # bytes read + bytes written


def main(model_class=None, doc=None):
    """The command line; bench/torch-llama.py calls it with its own model class (default: GPT above)."""
    model_class = model_class or GPT
    ap = argparse.ArgumentParser(description=(doc or __doc__).split('\n')[0])
    ap.add_argument('--shape', help='JSON: {"name", "batch", "config": GPTConfig} as in bench/shapes.ts')
    ap.add_argument('--steps', type=int, default=3, help='timed training steps after one warm-up (default 3)')
    ap.add_argument('--peak', action='store_true', help='measure sgemm GFLOP/s and memcpy GB/s')
    ap.add_argument('--no-gen', action='store_true', help='skip the generation measure')
    a = ap.parse_args()
    if not a.shape and not a.peak:
        ap.error('give --shape JSON and/or --peak')
    set_threads(THREADS)
    out = {'torch': torch.__version__, 'threads': THREADS, 'blas': BLAS_NAME}
    if a.shape:
        s = json.loads(a.shape)
        torch.manual_seed(0)
        model = model_class(s['config'])
        out.update(shape=s['name'], batch=s['batch'], params=sum(p.numel() for p in model.parameters()))
        out['trainTokS'], out['trainStepS'] = train_tok_s(model, s['batch'], a.steps)
        log(f"[torch] {s['name']} train {out['trainTokS']:.1f} tokens/s")
        if not a.no_gen:
            out['genCacheTokS'] = gen_tok_s(model)
            log(f"[torch] {s['name']} generate with KV cache {out['genCacheTokS']:.1f} tokens/s")
    if a.peak:
        out['sgemmGflops'] = sgemm_gflops()
        out['memcpyGBs'] = memcpy_gbs()
        set_threads(1)
        out['sgemmGflops1'] = sgemm_gflops()
        out['memcpyGBs1'] = memcpy_gbs()
        set_threads(THREADS)
        log(f"[torch] sgemm 2048³ {out['sgemmGflops']:.1f} GFLOP/s ({THREADS} threads), {out['sgemmGflops1']:.1f} (1 thread); "
            f"memcpy 256 MB {out['memcpyGBs']:.1f} GB/s read+write ({THREADS} threads), {out['memcpyGBs1']:.1f} (1 thread)")
    out['maxRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
