#!/usr/bin/env python3
"""
PyTorch on the CPU, the peer seqarena's training speed is measured against (README "Performance").

The same models and sizes as `npx seqarena run --arch ARCH --preset micro --task induction-heads
--task-param vocab_size=32 --seq-len 256 --batch-size 16 --steps 20`: 2 layers, d_model 64, 4 heads,
L 256, batch 16, vocabulary 32, AdamW with global-norm clipping, the loss on the answer position (the
last one, as induction heads scores it) over logits at every position. Tokens/s is Σ tokens / Σ time over
the timed steps after the warm-up steps, as seqarena's tokens_per_s; the spread is over per-step rates.

  transformer  GPT-2-style pre-norm block (nanoGPT's model.py): learned positions, GELU MLP 4·d, tied head
  lstm         nn.LSTM LM, 2 layers, hidden 64, tied head
  mamba        mamba_simple's Mamba layer (expand 2, d_state 16, d_conv 4, dt_rank ⌈d/16⌉, RMSNorm
               pre-norm residuals, tied head) with the selective scan written as a log-depth parallel scan
               (recursive doubling over time: log2 L steps of h ← h + a·shift(h), a ← a·shift(a)), the
               strongest pure-PyTorch CPU Mamba; --sequential-scan uses mamba_simple's reference loop

Usage (Debian: apt-get install python3-torch libopenblas0-pthread):
  /usr/bin/python3 scripts/peer-pytorch-cpu.py --arch transformer [--threads 2] [--steps 20] [--json]
"""
import argparse
import json
import math
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, D_MODEL, N_LAYERS, N_HEADS, SEQ_LEN, BATCH = 32, 64, 2, 4, 256, 16
WARMUP_STEPS = 2  # as seqarena's harness/run.ts


# ---------------------------------------------------------------------------------------------------
# Transformer (nanoGPT)

class Block(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.fc_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool)) == 0, float('-inf'))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(y)
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, D_MODEL), nn.Embedding(SEQ_LEN, D_MODEL)
        self.blocks = nn.ModuleList(Block(D_MODEL, N_HEADS) for _ in range(N_LAYERS))
        self.ln_f = nn.LayerNorm(D_MODEL)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)


# ---------------------------------------------------------------------------------------------------
# LSTM

class LSTMLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL)
        self.lstm = nn.LSTM(D_MODEL, D_MODEL, num_layers=N_LAYERS, batch_first=True)

    def forward(self, idx):
        h, _ = self.lstm(self.embed(idx))
        return F.linear(h, self.embed.weight)


# ---------------------------------------------------------------------------------------------------
# Mamba (mamba_simple's layer)

def scan_parallel(deltaA, deltaB_u):
    """h_t = a_t ⊙ h_{t−1} + b_t over dim 1 by recursive doubling: log2 L steps, each over all t at once."""
    a, h = deltaA, deltaB_u  # (b, l, di, n)
    offset = 1
    while offset < a.shape[1]:
        h_prev = F.pad(h[:, :-offset], (0, 0, 0, 0, offset, 0))  # zeros before the start
        a_prev = F.pad(a[:, :-offset], (0, 0, 0, 0, offset, 0), value=1.0)
        h = h + a * h_prev
        a = a * a_prev
        offset *= 2
    return h


def scan_sequential(deltaA, deltaB_u):
    """mamba_simple's selective_scan_ref loop."""
    x = deltaA.new_zeros(deltaA[:, 0].shape)
    hs = []
    for i in range(deltaA.shape[1]):
        x = deltaA[:, i] * x + deltaB_u[:, i]
        hs.append(x)
    return torch.stack(hs, dim=1)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MambaLayer(nn.Module):
    def __init__(self, d, scan, d_state=16, d_conv=4, expand=2):
        super().__init__()
        di, self.r, self.n, self.scan = expand * d, math.ceil(d / 16), d_state, scan
        self.in_proj = nn.Linear(d, 2 * di, bias=False)
        self.conv1d = nn.Conv1d(di, di, d_conv, groups=di, padding=d_conv - 1)
        self.x_proj = nn.Linear(di, self.r + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.r, di)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(di, 1))  # (di, n)
        self.D = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d, bias=False)

    def forward(self, hidden):
        L = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # (b, l, di)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2))
        dt, B, C = torch.split(self.x_proj(x), [self.r, self.n, self.n], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # (b, l, di)
        A = -torch.exp(self.A_log)
        deltaA = torch.exp(dt.unsqueeze(-1) * A)  # (b, l, di, n)
        deltaB_u = (dt * x).unsqueeze(-1) * B.unsqueeze(2)  # (b, l, di, n)
        h = self.scan(deltaA, deltaB_u)
        y = (h @ C.unsqueeze(-1)).squeeze(-1) + x * self.D  # (b, l, di)
        return self.out_proj(y * F.silu(z))


class MambaLM(nn.Module):
    def __init__(self, scan):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D_MODEL)
        self.layers = nn.ModuleList(MambaLayer(D_MODEL, scan) for _ in range(N_LAYERS))
        self.norms = nn.ModuleList(RMSNorm(D_MODEL) for _ in range(N_LAYERS))
        self.norm_f = RMSNorm(D_MODEL)

    def forward(self, idx):
        x = self.embedding(idx)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x))
        return F.linear(self.norm_f(x), self.embedding.weight)


# ---------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', choices=['transformer', 'lstm', 'mamba'], required=True)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--steps', type=int, default=20, help='steps in all, the first %d untimed' % WARMUP_STEPS)
    parser.add_argument('--sequential-scan', action='store_true', help="mamba: mamba_simple's reference loop instead of the parallel scan")
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = {'transformer': GPT, 'lstm': LSTMLM, 'mamba': lambda: MambaLM(scan_sequential if args.sequential_scan else scan_parallel)}[args.arch]()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = BATCH * SEQ_LEN
    rates, seconds = [], []
    for step in range(args.steps):
        idx = torch.randint(0, VOCAB, (BATCH, SEQ_LEN))
        answer = torch.randint(0, VOCAB, (BATCH,))
        t0 = time.perf_counter()
        logits = model(idx)  # (b, l, v)
        loss = F.cross_entropy(logits[:, -1], answer)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss.item()
        dt = time.perf_counter() - t0
        if step >= WARMUP_STEPS:
            seconds.append(dt)
            rates.append(tokens / dt)
    result = {
        'arch': args.arch,
        'scan': ('sequential' if args.sequential_scan else 'parallel') if args.arch == 'mamba' else None,
        'tokens_per_s': tokens * len(seconds) / sum(seconds),
        'stddev': statistics.stdev(rates) if len(rates) > 1 else 0.0,
        'n': len(rates),
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'params': sum(p.numel() for p in model.parameters()),
        'machine': platform.processor() or platform.machine(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.arch}{' (' + result['scan'] + ' scan)' if result['scan'] else ''}: {result['tokens_per_s']:,.0f} ± {result['stddev']:,.0f} tokens/s "
              f"(n={result['n']}), torch {result['torch']}, {result['threads']} threads, {result['params']:,} parameters")


if __name__ == '__main__':
    main()
