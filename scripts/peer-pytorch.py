#!/usr/bin/env python3
"""
PyTorch eager fp32, the peer seqarena is measured against: on the CPU (README "Performance") and on the
GPU of the GPU check (scripts/gpu-check.sh runs this with --device cuda on the same GPU as seqarena).

The defaults are the CPU comparison, the same models and sizes as `npx seqarena run --arch ARCH --preset
micro --task induction-heads --task-param vocab_size=32 --seq-len 256 --batch-size 16 --steps 20`: 2 layers,
d_model 64, 4 heads, L 256, batch 16, vocabulary 32, AdamW with global-norm clipping, the loss on the answer
position (the last one, as induction heads scores it) over logits at every position. Tokens/s is
Σ tokens / Σ time over the timed steps after the warm-up steps, as seqarena's tokens_per_s; the spread is
over per-step rates. --d-model/--layers/--seq-len/--batch set the GPU-sized config (the GPU check uses
512, 4, 2048, 16).

  transformer  GPT-2-style pre-norm block (nanoGPT's model.py): learned positions, GELU MLP 4·d, tied head
  lstm         nn.LSTM LM, hidden d_model, tied head
  mamba        mamba_simple's Mamba layer (expand 2, d_state 16, d_conv 4, dt_rank ⌈d/16⌉, RMSNorm
               pre-norm residuals, tied head) with the selective scan written as a log-depth parallel scan
               (recursive doubling over time: log2 L steps of h ← h + a·shift(h), a ← a·shift(a)), the
               strongest pure-PyTorch Mamba; --sequential-scan uses mamba_simple's reference loop

Decode tokens/s (--decode N, default 32): greedy decoding of N tokens from an empty state with cached
state (the Transformer's key/value cache, the LSTM's (h, c), Mamba's conv and SSM states), batch
min(batch, 8), one untimed warm-up step, rate = batch / step time per step, as seqarena's
decode_tokens_per_s. Peak memory: torch.cuda.max_memory_allocated() on cuda (peak_device_bytes), the
process's peak RSS on cpu (peak_rss_bytes).

--csv FILE appends one line per run to FILE (header written when the file is new), the format
scripts/gpu-unpack.sh reads:
  side,arch,device,device_name,torch,d_model,n_layers,seq_len,batch,params,train_tokens_per_s,
  train_tokens_per_s_std,step_ms,decode_tokens_per_s,peak_bytes,peak_kind,n,error
(peak_kind: peak_device_bytes or peak_rss_bytes; error: empty, or the exception of a failed run, e.g.
CUDA out of memory, with the figures left empty). scripts/gpu-check.sh adds the row of a run that wrote
none (PyTorch missing, killed at its share of the time, crashed): the figures empty, the reason in error.

Usage (Debian: apt-get install python3-torch libopenblas0-pthread):
  /usr/bin/python3 scripts/peer-pytorch.py --arch transformer [--threads 2] [--steps 20] [--json]
  python3 scripts/peer-pytorch.py --arch mamba --device cuda --d-model 512 --layers 4 --seq-len 2048 --csv peer.csv
"""
import argparse
import csv
import os
import resource
import json
import math
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, D_MODEL, N_LAYERS, N_HEADS, SEQ_LEN, BATCH = 32, 64, 2, 4, 256, 16  # the CPU comparison's; set by main()
DEVICE = 'cpu'
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

    def heads(self, t):
        B, T, C = t.shape
        return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

    def mlp(self, x):
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate='tanh'))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (self.heads(t) for t in self.qkv(self.ln1(x)).split(C, dim=2))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device)) == 0, float('-inf'))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.mlp(x + self.proj(y))

    def step(self, x, cache):
        """x (B, 1, C); cache (k, v) of (B, nh, t, hs) or None: attention over the cached keys and this one."""
        B, _, C = x.shape
        q, k, v = (self.heads(t) for t in self.qkv(self.ln1(x)).split(C, dim=2))
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        att = F.softmax((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1))), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, 1, C)
        return self.mlp(x + self.proj(y)), (k, v)


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, D_MODEL), nn.Embedding(SEQ_LEN, D_MODEL)
        self.blocks = nn.ModuleList(Block(D_MODEL, N_HEADS) for _ in range(N_LAYERS))
        self.ln_f = nn.LayerNorm(D_MODEL)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)

    def init_state(self, batch):
        return {'t': 0, 'caches': [None] * len(self.blocks)}

    def step(self, token, state):
        x = self.wte(token[:, None]) + self.wpe.weight[state['t']]
        caches = []
        for block, cache in zip(self.blocks, state['caches']):
            x, cache = block.step(x, cache)
            caches.append(cache)
        return F.linear(self.ln_f(x[:, 0]), self.wte.weight), {'t': state['t'] + 1, 'caches': caches}


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

    def init_state(self, batch):
        return None  # nn.LSTM's zero (h, c)

    def step(self, token, state):
        h, state = self.lstm(self.embed(token[:, None]), state)
        return F.linear(h[:, 0], self.embed.weight), state


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
        di, self.r, self.n, self.scan, self.d_conv = expand * d, math.ceil(d / 16), d_state, scan, d_conv
        self.in_proj = nn.Linear(d, 2 * di, bias=False)
        self.conv1d = nn.Conv1d(di, di, d_conv, groups=di, padding=d_conv - 1)
        self.x_proj = nn.Linear(di, self.r + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.r, di)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(di, 1))  # (di, n)
        self.D = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d, bias=False)

    def ssm_inputs(self, x):
        dt, B, C = torch.split(self.x_proj(x), [self.r, self.n, self.n], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # (b, [l,] di)
        deltaA = torch.exp(dt.unsqueeze(-1) * -torch.exp(self.A_log))  # (b, [l,] di, n)
        deltaB_u = (dt * x).unsqueeze(-1) * B.unsqueeze(-2)  # (b, [l,] di, n)
        return deltaA, deltaB_u, C

    def forward(self, hidden):
        L = hidden.shape[1]
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # (b, l, di)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2))
        deltaA, deltaB_u, C = self.ssm_inputs(x)
        h = self.scan(deltaA, deltaB_u)
        y = (h @ C.unsqueeze(-1)).squeeze(-1) + x * self.D  # (b, l, di)
        return self.out_proj(y * F.silu(z))

    def step(self, hidden, state):
        """hidden (b, d); state (conv window (b, di, d_conv), h (b, di, n)): mamba_simple's step."""
        conv, h = state
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # (b, di)
        conv = torch.cat([conv[:, :, 1:], x.unsqueeze(-1)], dim=-1)
        x = F.silu((conv * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        deltaA, deltaB_u, C = self.ssm_inputs(x)
        h = deltaA * h + deltaB_u
        y = (h @ C.unsqueeze(-1)).squeeze(-1) + x * self.D
        return self.out_proj(y * F.silu(z)), (conv, h)


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

    def init_state(self, batch):
        p = self.embedding.weight
        return [(p.new_zeros(batch, l.D.shape[0], l.d_conv), p.new_zeros(batch, l.D.shape[0], l.n)) for l in self.layers]

    def step(self, token, state):
        x, states = self.embedding(token), []
        for norm, layer, s in zip(self.norms, self.layers, state):
            y, s = layer.step(norm(x), s)
            x = x + y
            states.append(s)
        return F.linear(self.norm_f(x), self.embedding.weight), states


# ---------------------------------------------------------------------------------------------------

def sync():
    if DEVICE == 'cuda':
        torch.cuda.synchronize()


def train(model, steps):
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = BATCH * SEQ_LEN
    rates, seconds = [], []
    for step in range(steps):
        idx = torch.randint(0, VOCAB, (BATCH, SEQ_LEN), device=DEVICE)
        answer = torch.randint(0, VOCAB, (BATCH,), device=DEVICE)
        sync()
        t0 = time.perf_counter()
        logits = model(idx)  # (b, l, v)
        loss = F.cross_entropy(logits[:, -1], answer)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss.item()
        sync()
        dt = time.perf_counter() - t0
        if step >= WARMUP_STEPS:
            seconds.append(dt)
            rates.append(tokens / dt)
    return rates, seconds


@torch.no_grad()
def decode(model, n):
    b = min(BATCH, 8)
    state, token, rates = model.init_state(b), torch.full((b,), 4, dtype=torch.long, device=DEVICE), []
    for i in range(min(n + 1, SEQ_LEN)):  # one untimed warm-up step, within the positions the model has
        sync()
        t0 = time.perf_counter()
        logits, state = model.step(token, state)
        token = logits.argmax(-1)
        token.cpu()
        if i > 0:
            rates.append(b / (time.perf_counter() - t0))
    return rates


CSV_FIELDS = ['side', 'arch', 'device', 'device_name', 'torch', 'd_model', 'n_layers', 'seq_len', 'batch', 'params',
              'train_tokens_per_s', 'train_tokens_per_s_std', 'step_ms', 'decode_tokens_per_s', 'peak_bytes', 'peak_kind', 'n', 'error']


def main():
    global VOCAB, D_MODEL, N_LAYERS, N_HEADS, SEQ_LEN, BATCH, DEVICE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', choices=['transformer', 'lstm', 'mamba'], required=True)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads (cpu device)')
    parser.add_argument('--steps', type=int, default=20, help='steps in all, the first %d untimed' % WARMUP_STEPS)
    parser.add_argument('--d-model', type=int, default=D_MODEL)
    parser.add_argument('--layers', type=int, default=N_LAYERS)
    parser.add_argument('--heads', type=int, default=N_HEADS)
    parser.add_argument('--seq-len', type=int, default=SEQ_LEN)
    parser.add_argument('--batch', type=int, default=BATCH)
    parser.add_argument('--vocab', type=int, default=VOCAB)
    parser.add_argument('--decode', type=int, default=32, help='decode steps timed (0: no decode measurement)')
    parser.add_argument('--sequential-scan', action='store_true', help="mamba: mamba_simple's reference loop instead of the parallel scan")
    parser.add_argument('--json', action='store_true')
    parser.add_argument('--csv', metavar='FILE', help='append one row to FILE (format above)')
    args = parser.parse_args()
    if args.steps <= WARMUP_STEPS + 1:
        parser.error(f'--steps {args.steps} leaves fewer than 2 timed steps: give at least {WARMUP_STEPS + 2}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: this PyTorch sees no CUDA device (torch.cuda.is_available() is False); use --device cpu')
    VOCAB, D_MODEL, N_LAYERS, N_HEADS, SEQ_LEN, BATCH, DEVICE = args.vocab, args.d_model, args.layers, args.heads, args.seq_len, args.batch, args.device
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cuda = DEVICE == 'cuda'
    result = {
        'side': 'pytorch-eager-fp32', 'arch': args.arch, 'device': DEVICE,
        'device_name': torch.cuda.get_device_name() if cuda else (platform.processor() or platform.machine()),
        'torch': torch.__version__, 'd_model': D_MODEL, 'n_layers': N_LAYERS, 'seq_len': SEQ_LEN, 'batch': BATCH,
        'peak_kind': 'peak_device_bytes' if cuda else 'peak_rss_bytes', 'error': '',
        'scan': ('sequential' if args.sequential_scan else 'parallel') if args.arch == 'mamba' else None,
        'threads': torch.get_num_threads(),
    }
    try:
        model = {'transformer': GPT, 'lstm': LSTMLM, 'mamba': lambda: MambaLM(scan_sequential if args.sequential_scan else scan_parallel)}[args.arch]()
        model = model.to(DEVICE)
        result['params'] = sum(p.numel() for p in model.parameters())
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        rates, seconds = train(model, args.steps)
        decode_rates = decode(model, args.decode) if args.decode > 0 else []
        result.update({
            'train_tokens_per_s': BATCH * SEQ_LEN * len(seconds) / sum(seconds),
            'train_tokens_per_s_std': statistics.stdev(rates) if len(rates) > 1 else 0.0,
            'step_ms': 1000 * statistics.median(seconds),
            'decode_tokens_per_s': statistics.median(decode_rates) if decode_rates else None,
            'peak_bytes': torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            'n': len(rates),
        })
    except (RuntimeError, MemoryError) as e:  # CUDA out of memory and the like: a row that says so
        result['error'] = str(e).splitlines()[0][:300]
    if args.csv:
        new = not os.path.exists(args.csv) or os.path.getsize(args.csv) == 0
        with open(args.csv, 'a', newline='') as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction='ignore', lineterminator='\n')
            if new:
                w.writeheader()
            w.writerow(result)
    if args.json:
        print(json.dumps(result))
    elif result['error']:
        print(f"{args.arch}: failed: {result['error']}")
    else:
        dec = f", decode {result['decode_tokens_per_s']:,.0f} tokens/s" if result['decode_tokens_per_s'] else ''
        print(f"{args.arch}{' (' + result['scan'] + ' scan)' if result['scan'] else ''}: {result['train_tokens_per_s']:,.0f} ± {result['train_tokens_per_s_std']:,.0f} tokens/s "
              f"(n={result['n']}, step {result['step_ms']:.1f} ms){dec}, peak {result['peak_bytes'] / 2**20:,.0f} MiB, torch {result['torch']} on {DEVICE} "
              f"({result['device_name']}), {result['threads']} threads, {result['params']:,} parameters")
    return 1 if result['error'] else 0


if __name__ == '__main__':
    raise SystemExit(main())
