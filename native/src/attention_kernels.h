/*
 * Flash attention's problem description, shared by its binding (attention.c) and the
 * per-instruction-set copies of its loops (attention_impl.h).
 */
#ifndef SEQARENA_ATTENTION_KERNELS_H
#define SEQARENA_ATTENTION_KERNELS_H

/* Queries per forward piece, and keys per block (a multiple of 8: one score vector per 8 keys). */
#define ATTN_BQ 32
#define ATTN_BK 64

typedef struct {
  int b, h, lq, lk, hs, causal;
  int window; /* causal only: keys a query sees, its own included; 0 for all of them */
  float scale;
  const float *q, *k, *v, *mask; /* (b, h, lq, hs), (b, h, lk, hs) twice, (b, lk) */
  float *out, *lse;              /* (b, h, lq, hs), (b, h, lq): forward writes, backward reads */
  const float *dOut, *dLse;      /* backward: (b, h, lq, hs), (b, h, lq) */
  float *dq, *dk, *dv;
} attn_problem;

#define ATTN_DECLARE(isa)                          \
  void attn_forward_##isa(const attn_problem *p);  \
  void attn_backward_##isa(const attn_problem *p);
ATTN_DECLARE(generic)
ATTN_DECLARE(avx2)

#endif
