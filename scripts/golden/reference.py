#!/usr/bin/env python3
"""
Step 2 of the golden fixtures: load the weights seqarena exported (tests/fixtures/golden/*.weights.json)
into each family's PyTorch reference, run the fixed batch, and write the logits, the masked loss and the
gradient of every weight to tests/fixtures/golden/<case>.expected.json. tests/golden.test.ts holds
seqarena to these numbers.

    node --import tsx scripts/golden/export.ts && /usr/bin/python3 scripts/golden/reference.py

The references are written the way their sources write them, not translated from seqarena:
  - transformer: a GPT-2 block as nanoGPT's model.py has it (LayerNorm -> CausalSelfAttention -> MLP),
    GELU in GPT-2's tanh form, learned positions or GPT-NeoX's rotate-half rotary positions;
  - lstm / gru / rnn: torch.nn.LSTM / nn.GRU / nn.RNN(tanh) stacked, with nn.Embedding and a tied head;
  - mamba: mamba_simple's Mamba layer with the sequential reference scan (selective_scan_ref), RMSNorm
    pre-norm residuals as in MixerModel, tied head;
  - lstm-seq2seq: nn.LSTM encoder and decoder, Luong's "general" attention and tanh(W_c [c; h]);
  - swa: the GPT-2 block above with each query's keys cut to the last `window` positions (Longformer's causal band);
  - gla: fla's GLA layer with its recurrence as the plain loop S_t = diag(alpha_t) S_{t-1} + k_t^T v_t, o_t = q_t S_t
    (the paper's eq. 3, no chunks), per-head RMSNorm, swish output gate, LLaMA-style SwiGLU blocks;
  - mamba2: mamba2_simple's block with the SSD recurrence as the plain loop h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T,
    y_t = h_t C_t + D x_t (ssd_minimal's reference reading, no chunks), gated RMSNorm;
  - mlstm: xlstm's mLSTM layer with the stabilised recurrent cell step by step (recurrent_step_stabilized_simple,
    m_0 = -inf), not the parallel form seqarena trains with; headwise q/k/v, per-head LayerNorm, learnable skip;
  - hyena: safari's HyenaOperator with its implicit Sin filter, exponential window and the long convolution as the
    direct causal sum y_t = sum_{s<=t} h_{t-s} u_s (a Toeplitz product), not an FFT; zoology's block (RMSNorm) with a GELU MLP;
  - optimizer: torch.optim.AdamW + clip_grad_norm_ + LambdaLR (linear warm-up, cosine to 10%).
Needs Debian's python3-torch (use /usr/bin/python3); never run in CI.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)  # the reference in double: the test's tolerance is seqarena's fp32 error
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', '..', 'tests', 'fixtures', 'golden')


def tensor(w):
    return torch.tensor(w['values'], dtype=torch.float64).reshape(w['shape'])


class Weights:
    """seqarena's weights by name; seqarena stores Linear weights (in, out), PyTorch (out, in)."""

    def __init__(self, case):
        self.by_name = {w['name']: tensor(w) for w in case['weights']}
        self.used = {}

    def get(self, name, transpose=False):
        if name in self.used:  # a tied weight is one Parameter wherever it is read
            p, was = self.used[name]
            return p if was == transpose else p.t()
        t = self.by_name[name]
        p = nn.Parameter(t.t().contiguous() if transpose else t.clone())
        self.used[name] = (p, transpose)
        return p

    def grads(self):
        out = {}
        for name, (p, transpose) in self.used.items():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            out[name] = (g.t() if transpose else g).contiguous().reshape(-1).tolist()
        missing = set(self.by_name) - set(self.used)
        if missing:
            raise SystemExit(f'reference did not use {sorted(missing)}')
        return out


# ----------------------------------------------------------------------------------------------------
# nanoGPT's GPT-2 (model.py), weights loaded from seqarena

def new_gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def rotate(x, pos0=0):
    """GPT-NeoX rotate-half rotary embedding on (B, nh, T, hs)."""
    hs = x.shape[-1]
    half = hs // 2
    inv = 10000.0 ** (-2.0 * torch.arange(half, dtype=torch.float64) / hs)
    angle = (torch.arange(x.shape[2], dtype=torch.float64) + pos0)[:, None] * inv[None, :]
    cos, sin = torch.cos(angle), torch.sin(angle)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def gpt(case, W):
    cfg = case['config']
    n_head, rope, window = cfg['n_heads'], cfg['positions'] == 'rope', cfg.get('window')
    idx = torch.tensor(case['tokens'])
    B, T = idx.shape
    wte = W.get('wte.table')
    x = F.embedding(idx, wte)
    if not rope:
        x = x + W.get('wpe.table')[:T]
    for i in range(cfg['n_layers']):
        p = f'h{i}.'
        ln1 = layer_norm(x, W.get(p + 'ln1.gamma'), W.get(p + 'ln1.beta'))
        q = F.linear(ln1, W.get(p + 'attn.query.w', True), W.get(p + 'attn.query.b'))
        kv = F.linear(ln1, W.get(p + 'attn.key_value.w', True), W.get(p + 'attn.key_value.b'))
        k, v = kv.split(kv.shape[-1] // 2, dim=2)
        C = q.shape[-1]
        q = q.view(B, T, n_head, C // n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
        v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
        if rope:
            q, k = rotate(q), rotate(k)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float('-inf'))
        if window is not None:  # query t sees keys t - window < s <= t
            att = att.masked_fill(torch.triu(torch.ones(T, T), diagonal=-window + 1) == 0, float('-inf'))
        y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + F.linear(y, W.get(p + 'attn.proj.w', True), W.get(p + 'attn.proj.b'))
        ln2 = layer_norm(x, W.get(p + 'ln2.gamma'), W.get(p + 'ln2.beta'))
        h = new_gelu(F.linear(ln2, W.get(p + 'mlp.fc.w', True), W.get(p + 'mlp.fc.b')))
        x = x + F.linear(h, W.get(p + 'mlp.proj.w', True), W.get(p + 'mlp.proj.b'))
    x = layer_norm(x, W.get('ln_f.gamma'), W.get('ln_f.beta'))
    head = wte if cfg['tie_embeddings'] else W.get('head.w', True)
    return F.linear(x, head)


# ----------------------------------------------------------------------------------------------------
# torch.nn recurrences

RNN_MODULES = {'lstm': (nn.LSTM, 4), 'gru': (nn.GRU, 3), 'rnn': (nn.RNN, 1)}


def load_recurrent(module, W, prefix, layer=0):
    """seqarena's (wx, wh, bx, bh) of one layer into layer `layer` of an nn.LSTM / GRU / RNN."""
    names = {'weight_ih': 'wx', 'weight_hh': 'wh', 'bias_ih': 'bx', 'bias_hh': 'bh'}
    for torch_name, ours in names.items():
        setattr(module, f'{torch_name}_l{layer}', W.get(f'{prefix}.{ours}', transpose=torch_name.startswith('weight')))
    module._flat_weights = [getattr(module, n) for n in module._flat_weights_names]


def recurrent_lm(case, W):
    cfg = case['config']
    kind = case['arch']
    cls, _ = RNN_MODULES[kind]
    d = cfg['d_model']
    idx = torch.tensor(case['tokens'])
    embed = W.get('embed.table')
    x = F.embedding(idx, embed)
    for i in range(cfg['n_layers']):
        layer = cls(d, d, batch_first=True)
        load_recurrent(layer, W, f'layer{i}')
        x, _ = layer(x)
    return F.linear(x, embed)


# ----------------------------------------------------------------------------------------------------
# mamba_simple's Mamba layer with selective_scan_ref

def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def selective_scan_ref(u, delta, A, B, C, D):
    """u, delta (b, d, l); A (d, n); B, C (b, n, l); D (d): the plain sequential loop."""
    b, d, l = u.shape
    deltaA = torch.exp(torch.einsum('bdl,dn->bdln', delta, A))
    deltaB_u = torch.einsum('bdl,bnl,bdl->bdln', delta, B, u)
    x = u.new_zeros((b, d, A.shape[1]))
    ys = []
    for i in range(l):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        ys.append(torch.einsum('bdn,bn->bd', x, C[:, :, i]))
    return torch.stack(ys, dim=2) + u * D[None, :, None]


def mamba_layer(hidden, W, p, cfg):
    d_state, d_conv = cfg['d_state'], cfg.get('d_conv', 4)
    _, L, _ = hidden.shape
    xz = F.linear(hidden, W.get(p + 'in_proj.w', True)).transpose(1, 2)  # (b, 2·di, l)
    x, z = xz.chunk(2, dim=1)
    di = x.shape[1]
    conv_w = W.get(p + 'conv.w')  # (di, k): Conv1d's (di, 1, k) without the middle axis
    x = F.silu(F.conv1d(x, conv_w.unsqueeze(1), W.get(p + 'conv.b'), padding=d_conv - 1, groups=di)[..., :L])
    x_dbl = F.linear(x.transpose(1, 2), W.get(p + 'x_proj.w', True))  # (b, l, r + 2n)
    dt_rank = x_dbl.shape[-1] - 2 * d_state
    dt, Bm, Cm = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
    dt = F.softplus(F.linear(dt, W.get(p + 'dt_proj.w', True)) + W.get(p + 'dt_bias')).transpose(1, 2)  # (b, di, l)
    A = -torch.exp(W.get(p + 'A_log'))
    y = selective_scan_ref(x, dt, A, Bm.transpose(1, 2), Cm.transpose(1, 2), W.get(p + 'D'))
    y = y * F.silu(z)
    return F.linear(y.transpose(1, 2), W.get(p + 'out_proj.w', True))


def mamba_lm(case, W):
    cfg = case['config']
    idx = torch.tensor(case['tokens'])
    emb = W.get('embedding.table')
    x = F.embedding(idx, emb)
    for i in range(cfg['n_layers']):
        p = f'layers.{i}.'
        x = x + mamba_layer(rms_norm(x, W.get(p + 'norm.gamma')), W, p + 'mixer.', cfg)
    return F.linear(rms_norm(x, W.get('norm_f.gamma')), emb)


# ----------------------------------------------------------------------------------------------------
# LSTM encoder–decoder with Luong attention

def lstm_seq2seq(case, W):
    cfg = case['config']
    d, n = cfg['d_model'], cfg['n_layers']
    src, tgt = torch.tensor(case['source']), torch.tensor(case['tokens'])
    encoder, decoder = nn.LSTM(d, d, n, batch_first=True), nn.LSTM(d, d, n, batch_first=True)
    for i in range(n):
        load_recurrent(encoder, W, f'enc{i}', i)
        load_recurrent(decoder, W, f'dec{i}', i)
    memory, state = encoder(F.embedding(src, W.get('src_embed.table')))  # (b, ls, h)
    tgt_embed = W.get('tgt_embed.table')
    h, _ = decoder(F.embedding(tgt, tgt_embed), state)  # (b, lt, h): the decoder starts from the encoder's final state
    keys = memory @ W.get('attn.wa')  # Luong "general": score(h_t, h_s) = h_t · (W_a' h_s)
    context = F.softmax(h @ keys.transpose(1, 2), dim=-1) @ memory
    attentional = torch.tanh(torch.cat([context, h], dim=-1) @ W.get('combine.wc'))
    return F.linear(attentional, tgt_embed)


# ----------------------------------------------------------------------------------------------------
# The residual LM the newer mixers share: embedding -> blocks -> RMSNorm -> tied head (mamba_simple's MixerModel)

def residual_lm(case, W, block):
    idx = torch.tensor(case['tokens'])
    emb = W.get('embedding.table')
    x = F.embedding(idx, emb)
    for i in range(case['config']['n_layers']):
        x = block(x, W, f'layers.{i}.', case)
    return F.linear(rms_norm(x, W.get('norm_f.gamma')), emb)


def causal_depthwise_conv(x, w, b):
    """x (b, l, c), w (c, k), b (c): Conv1d(groups=c, padding=k-1) cut to the first l outputs."""
    L = x.shape[1]
    return F.conv1d(x.transpose(1, 2), w.unsqueeze(1), b, padding=w.shape[1] - 1, groups=w.shape[0])[..., :L].transpose(1, 2)


# ----------------------------------------------------------------------------------------------------
# fla's GLA layer (fla/layers/gla.py) and GLABlock, the recurrence as the plain loop

def gla_recurrence(q, k, v, g):
    """q, k, g = log(alpha) (b, l, h, kh), v (b, l, h, vh): S_t = diag(alpha_t) S_{t-1} + k_t^T v_t, o_t = q_t S_t."""
    b, l, h, kh = q.shape
    S = q.new_zeros((b, h, kh, v.shape[-1]))
    outs = []
    for t in range(l):
        S = torch.exp(g[:, t])[..., None] * S + k[:, t][..., None] * v[:, t][..., None, :]
        outs.append(torch.einsum('bhk,bhkv->bhv', q[:, t], S))
    return torch.stack(outs, dim=1)  # (b, l, h, vh)


def gla_layer(x, W, p, cfg):
    B, T, d = x.shape
    h = cfg['n_heads']
    dk, dv = int(cfg.get('expand_k', 0.5) * d), int(cfg.get('expand_v', 1) * d)
    kh, vh = dk // h, dv // h
    q = F.linear(x, W.get(p + 'q_proj.w', True)).view(B, T, h, kh) * kh ** -0.5
    k = F.linear(x, W.get(p + 'k_proj.w', True)).view(B, T, h, kh)
    v = F.linear(x, W.get(p + 'v_proj.w', True)).view(B, T, h, vh)
    gate_logits = F.linear(F.linear(x, W.get(p + 'gk_proj.0.w', True)), W.get(p + 'gk_proj.1.w', True), W.get(p + 'gk_proj.1.b'))
    g = (F.logsigmoid(gate_logits) / cfg.get('gate_logit_normalizer', 16)).view(B, T, h, kh)  # log alpha
    o = rms_norm(gla_recurrence(q, k, v, g), W.get(p + 'g_norm.gamma')).reshape(B, T, dv)
    return F.linear(o * F.silu(F.linear(x, W.get(p + 'g_proj.w', True))), W.get(p + 'o_proj.w', True))


def swiglu(x, W, p):
    return F.linear(F.silu(F.linear(x, W.get(p + 'gate_proj.w', True))) * F.linear(x, W.get(p + 'up_proj.w', True)), W.get(p + 'down_proj.w', True))


def gla_block(x, W, p, case):
    x = x + gla_layer(rms_norm(x, W.get(p + 'norm.gamma')), W, p + 'mixer.', case['config'])
    return x + swiglu(rms_norm(x, W.get(p + 'mlp_norm.gamma')), W, p + 'mlp.')


# ----------------------------------------------------------------------------------------------------
# mamba2_simple's Mamba-2 block, the SSD recurrence as the plain loop

def ssd_recurrence(x, dt, A, B, C, D):
    """x (b, l, h, p), dt (b, l, h), A (h), B and C (b, l, n), D (h): h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T, y_t = h_t C_t + D x_t."""
    b, l, h, p = x.shape
    state = x.new_zeros((b, h, p, B.shape[-1]))
    ys = []
    for t in range(l):
        state = torch.exp(dt[:, t] * A)[:, :, None, None] * state + torch.einsum('bhp,bn->bhpn', dt[:, t, :, None] * x[:, t], B[:, t])
        ys.append(torch.einsum('bhpn,bn->bhp', state, C[:, t]))
    return torch.stack(ys, dim=1) + x * D[:, None]


def mamba2_block(hidden, W, p, case):
    cfg = case['config']
    B_, L, d = hidden.shape
    n, headdim = cfg['d_state'], cfg['headdim']
    di = cfg.get('expand', 2) * d
    h = di // headdim
    m = p + 'mixer.'
    u = rms_norm(hidden, W.get(p + 'norm.gamma'))
    z, xBC, dt = torch.split(F.linear(u, W.get(m + 'in_proj.w', True)), [di, di + 2 * n, h], dim=-1)
    xBC = F.silu(causal_depthwise_conv(xBC, W.get(m + 'conv.w'), W.get(m + 'conv.b')))
    x, Bm, Cm = torch.split(xBC, [di, n, n], dim=-1)
    dt = F.softplus(dt + W.get(m + 'dt_bias'))  # (b, l, h)
    A = -torch.exp(W.get(m + 'A_log'))
    y = ssd_recurrence(x.reshape(B_, L, h, headdim), dt, A, Bm, Cm, W.get(m + 'D')).reshape(B_, L, di)
    y = rms_norm(y * F.silu(z), W.get(m + 'norm.gamma'))  # RMSNormGated, norm_before_gate=False
    return hidden + F.linear(y, W.get(m + 'out_proj.w', True))


# ----------------------------------------------------------------------------------------------------
# xlstm's mLSTM layer, the stabilised cell run step by step

def mlstm_recurrent(q, k, v, i_pre, log_f, eps=1e-6):
    """q, k, v (b, h, l, dh), i_pre and log_f (b, h, l) -> h~ (b, h, l, dh); states C (b, h, dh, dh) as k v^T, n, m from m_0 = -inf."""
    b, h, l, dh = q.shape
    C, n = q.new_zeros((b, h, dh, dh)), q.new_zeros((b, h, dh))
    m = q.new_full((b, h), float('-inf'))
    k = k / math.sqrt(dh)
    hs = []
    for t in range(l):
        m_next = torch.maximum(log_f[..., t] + m, i_pre[..., t])
        f = torch.exp(log_f[..., t] + m - m_next)  # stabilised forget gate f'_t
        i = torch.exp(i_pre[..., t] - m_next)  # stabilised input gate i'_t
        C = f[..., None, None] * C + i[..., None, None] * k[:, :, t, :, None] * v[:, :, t, None, :]
        n = f[..., None] * n + i[..., None] * k[:, :, t]
        m = m_next
        num = torch.einsum('bhd,bhde->bhe', q[:, :, t], C)
        den = torch.maximum((q[:, :, t] * n).sum(-1).abs(), torch.exp(-m)) + eps
        hs.append(num / den[..., None])
    return torch.stack(hs, dim=2)


def headwise(x, w):
    """LinearHeadwiseExpand: x (..., di) in blocks of bs, each times its own (bs, bs) matrix w[j] (in, out)."""
    blocks, bs, _ = w.shape
    return torch.einsum('...ji,jio->...jo', x.reshape(*x.shape[:-1], blocks, bs), w).reshape(x.shape)


def mlstm_block(hidden, W, p, case):
    cfg = case['config']
    B_, L, d = hidden.shape
    nh = cfg['n_heads']
    m = p + 'mixer.'
    x, z = F.linear(rms_norm(hidden, W.get(p + 'norm.gamma')), W.get(m + 'proj_up.w', True)).chunk(2, dim=-1)  # (b, l, di) each
    di = x.shape[-1]
    dh = di // nh
    xc = F.silu(causal_depthwise_conv(x, W.get(m + 'conv.w'), W.get(m + 'conv.b')))
    q, k, v = headwise(xc, W.get(m + 'q_proj.w')), headwise(xc, W.get(m + 'k_proj.w')), headwise(x, W.get(m + 'v_proj.w'))
    gate_in = torch.cat([q, k, v], dim=-1)
    i_pre = gate_in @ W.get(m + 'igate.w') + W.get(m + 'igate.b')  # (b, l, h)
    f_pre = gate_in @ W.get(m + 'fgate.w') + W.get(m + 'fgate.b')
    log_f = f_pre if cfg.get('forget_gate', 'sigmoid') == 'exp' else F.logsigmoid(f_pre)
    heads = lambda t: t.view(B_, L, nh, dh).transpose(1, 2)  # (b, h, l, dh)
    h_tilde = mlstm_recurrent(heads(q), heads(k), heads(v), i_pre.transpose(1, 2), log_f.transpose(1, 2)).transpose(1, 2)  # (b, l, h, dh)
    normed = F.layer_norm(h_tilde, (dh,), eps=1e-5).reshape(B_, L, di) * W.get(m + 'outnorm.w')  # MultiHeadLayerNorm
    out = (normed + xc * W.get(m + 'learnable_skip')) * F.silu(z)
    return hidden + F.linear(out, W.get(m + 'proj_down.w', True))


# ----------------------------------------------------------------------------------------------------
# xlstm's sLSTMLayer and GatedFeedForward, the stabilised cell step by step (src/vanilla/slstm.py)

def slstm_block(hidden, W, p, case):
    cfg = case['config']
    B_, L, d = hidden.shape
    nh = cfg.get('n_heads', 4)
    dh = d // nh
    m = p + 'mixer.'
    x = rms_norm(hidden, W.get(p + 'norm.gamma'))
    xc = F.silu(causal_depthwise_conv(x, W.get(m + 'conv.w'), W.get(m + 'conv.b')))
    wx = [headwise(xc, W.get(m + 'igate.w')), headwise(xc, W.get(m + 'fgate.w')), headwise(x, W.get(m + 'zgate.w')), headwise(x, W.get(m + 'ogate.w'))]
    R = W.get(m + 'recurrent_kernel')  # (h, dh, 4 dh): per head, y_{t-1} (dh) -> the gates i, f, z, o (dh each)
    bias = W.get(m + 'bias')  # (4, d)
    y, c, n = hidden.new_zeros((B_, d)), hidden.new_zeros((B_, d)), hidden.new_zeros((B_, d))
    mstate = hidden.new_full((B_, d), float('-inf'))
    ys = []
    for t in range(L):
        ry = torch.einsum('bhk,hkg->bhg', y.view(B_, nh, dh), R).view(B_, nh, 4, dh)  # (b, h, gate, dh)
        pre = [wx[g][:, t] + ry[:, :, g].reshape(B_, d) + bias[g] for g in range(4)]
        log_f = F.logsigmoid(pre[1])
        m_next = torch.maximum(log_f + mstate, pre[0])
        i = torch.exp(pre[0] - m_next)
        f = torch.exp(log_f + mstate - m_next)
        c = f * c + i * torch.tanh(pre[2])
        n = f * n + i
        y = torch.sigmoid(pre[3]) * c / n
        mstate = m_next
        ys.append(y)
    y = torch.stack(ys, dim=1)  # (b, l, d)
    normed = F.layer_norm(y.view(B_, L, nh, dh), (dh,), eps=1e-5).reshape(B_, L, d) * W.get(m + 'group_norm.w')  # MultiHeadLayerNorm
    hidden = hidden + normed
    gate, up = F.linear(rms_norm(hidden, W.get(p + 'ffn_norm.gamma')), W.get(p + 'ffn.proj_up.w', True)).chunk(2, dim=-1)
    return hidden + F.linear(new_gelu(gate) * up, W.get(p + 'ffn.proj_down.w', True))


# ----------------------------------------------------------------------------------------------------
# safari's HyenaOperator with its HyenaFilter, the long convolution as the direct causal sum

def hyena_positions(l_max, emb_dim):
    """safari's PositionalEmbedding: z (l_max, emb_dim) = [t, Re, Im of exp(-i f 2 pi j / l_max)], and t = linspace(0, 1, l_max)."""
    bands = (emb_dim - 1) // 2
    t = torch.linspace(0, 1, l_max)[:, None]
    f = torch.linspace(1e-4, bands - 1, bands)[None, :]
    w = 2 * math.pi * torch.arange(l_max, dtype=torch.float64)[:, None] / l_max
    return torch.cat([t, torch.cos(f * w), -torch.sin(f * w)], dim=-1), t


def long_conv_direct(u, h):
    """u (b, l, c), h (l, c): y_t = sum_{s<=t} h_{t-s} u_s, as a product with the (l, l) Toeplitz matrix of each channel."""
    l = u.shape[1]
    lag = torch.arange(l)[:, None] - torch.arange(l)[None, :]  # t - s
    toeplitz = h[lag.clamp(min=0)] * (lag >= 0)[..., None]  # (l_t, l_s, c)
    return torch.einsum('tsc,bsc->btc', toeplitz, u)


def hyena_operator(x, W, p, case):
    cfg = case['config']
    B_, L, d = x.shape
    N = cfg.get('order', 2)
    e = cfg.get('emb_dim', 3)
    # the implicit filters (l, (N-1) d): Sin FFN of the positions, times the decay window exp(-t |delta|)
    z, t = hyena_positions(case['io']['maxLen'], e)
    hf = z[:L]
    inner = 1 + cfg.get('num_inner_mlps', 2)
    freq = W.get(p + 'filter_fn.freq')
    for j in range(inner):
        hf = torch.sin(freq * F.linear(hf, W.get(p + f'filter_fn.implicit_filter.{j}.w', True), W.get(p + f'filter_fn.implicit_filter.{j}.b')))
    hf = F.linear(hf, W.get(p + 'filter_fn.implicit_filter.out.w', True))
    channels = (N - 1) * d
    target = cfg.get('target', 1e-2)
    slow, fast = math.log(target) / cfg.get('slow_decay_pct', 1.5), math.log(target) / cfg.get('fast_decay_pct', 0.3)
    deltas = torch.linspace(slow, fast, channels).abs()
    hf = hf * torch.exp(-t[:L] * deltas)
    filters = hf.view(L, d, N - 1)  # channel c (N-1) + o belongs to convolution o
    bias = W.get(p + 'filter_fn.bias').view(d, N - 1)
    # the operator
    uc = causal_depthwise_conv(F.linear(x, W.get(p + 'in_proj.w', True), W.get(p + 'in_proj.b')), W.get(p + 'short_filter.w'), W.get(p + 'short_filter.b'))
    *xs, v = uc.split(d, dim=-1)  # x^0 ... x^{N-1}, v
    for o, x_i in enumerate(reversed(xs[1:])):
        v = v * x_i
        v = long_conv_direct(v, filters[..., o]) + v * bias[:, o]
    return F.linear(v * xs[0], W.get(p + 'out_proj.w', True), W.get(p + 'out_proj.b'))


def hyena_block(x, W, p, case):
    x = x + hyena_operator(rms_norm(x, W.get(p + 'norm.gamma')), W, p + 'mixer.', case)
    hid = new_gelu(F.linear(rms_norm(x, W.get(p + 'norm2.gamma')), W.get(p + 'mlp.fc.w', True), W.get(p + 'mlp.fc.b')))
    return x + F.linear(hid, W.get(p + 'mlp.proj.w', True), W.get(p + 'mlp.proj.b'))


BUILDERS = {
    'transformer': gpt,
    'swa': gpt,
    'lstm': recurrent_lm,
    'gru': recurrent_lm,
    'rnn': recurrent_lm,
    'mamba': mamba_lm,
    'lstm-seq2seq': lstm_seq2seq,
    'gla': lambda case, W: residual_lm(case, W, gla_block),
    'mamba2': lambda case, W: residual_lm(case, W, mamba2_block),
    'mlstm': lambda case, W: residual_lm(case, W, mlstm_block),
    'hyena': lambda case, W: residual_lm(case, W, hyena_block),
    'slstm': lambda case, W: residual_lm(case, W, slstm_block),
}


def masked_loss(logits, case):
    target = torch.tensor(case['target'])
    mask = torch.tensor(case['mask'], dtype=torch.bool)
    return F.cross_entropy(logits[mask], target[mask])


def run_case(case):
    W = Weights(case)
    logits = BUILDERS[case['arch']](case, W)
    loss = masked_loss(logits, case)
    loss.backward()
    return {'logits': logits.detach().reshape(-1).tolist(), 'logits_shape': list(logits.shape), 'loss': loss.item(), 'grads': W.grads()}


def optimizer_case(case, settings):
    """Three steps of torch.optim.AdamW with clip_grad_norm_ and LambdaLR, the parameters grouped by seqarena's decay flags."""
    t = settings['training']
    W = Weights(case)
    params = []
    builder = BUILDERS[case['arch']]
    logits = builder(case, W)  # creates every parameter once
    named = {name: p for name, (p, _) in W.used.items()}
    decay = [named[w['name']] for w in case['weights'] if w['decay']]
    no_decay = [named[w['name']] for w in case['weights'] if not w['decay']]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': t['weightDecay']}, {'params': no_decay, 'weight_decay': 0.0}], lr=t['learningRate'], betas=(0.9, 0.95), eps=1e-8)

    def lr_lambda(step):
        if step < t['warmupSteps']:
            return (step + 1) / t['warmupSteps']
        progress = min(1.0, (step - t['warmupSteps']) / max(1, t['steps'] - t['warmupSteps']))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    losses = []
    for step in range(settings['steps']):
        opt.zero_grad()
        if step > 0:
            logits = reuse(builder, case, W.used)
        loss = masked_loss(logits, case)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(decay + no_decay, t['gradClip'])
        opt.step()
        sched.step()
        losses.append(loss.item())
    weights = {}
    for name, (p, transpose) in W.used.items():
        weights[name] = (p.detach().t() if transpose else p.detach()).contiguous().reshape(-1).tolist()
    return {'losses': losses, 'weights': weights}


def reuse(builder, case, W_transposed):
    """Run the builder again on the same Parameter objects (the optimizer holds them)."""
    class Same(Weights):
        def __init__(self):
            self.by_name, self.used = {}, {}

        def get(self, name, transpose=False):
            p, was = W_transposed[name]
            return p if was == transpose else p.t()
    return builder(case, Same())


def rounded(value):
    """Ten significant digits: far below the test's tolerance, and half the file size."""
    if isinstance(value, float):
        return float(f'{value:.10g}')
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def main():
    settings = json.load(open(os.path.join(FIXTURES, 'optimizer.settings.json')))
    for file in sorted(os.listdir(FIXTURES)):
        if not file.endswith('.weights.json'):
            continue
        case = json.load(open(os.path.join(FIXTURES, file)))
        expected = run_case(case)
        if case['name'] == settings['model']:
            expected['optimizer'] = optimizer_case(case, settings)
        stem = file[: -len('.weights.json')]
        with open(os.path.join(FIXTURES, f'{stem}.expected.json'), 'w') as f:
            json.dump(rounded(expected), f)
            f.write('\n')
        print(f"{stem}: loss {expected['loss']:.6f}, {len(expected['grads'])} gradients")


if __name__ == '__main__':
    sys.exit(main())
