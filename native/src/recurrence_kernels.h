/*
 * The whole-sequence recurrences' problem description (Elman RNN, GRU, LSTM), shared by the binding
 * (recurrence.c) and the per-instruction-set copies of the loops (recurrence_impl.h). Shapes and
 * gate orders are those of architectures/kernels/recurrence-fused.ts.
 */
#ifndef SEQARENA_RECURRENCE_KERNELS_H
#define SEQARENA_RECURRENCE_KERNELS_H

/* The number of gates is the kind: h·Wh has gates·h columns. */
typedef enum { REC_RNN = 1, REC_GRU = 3, REC_LSTM = 4 } rec_kind;

typedef struct {
  rec_kind kind;
  int b, l, h;
  const float *xProj, *wh, *h0; /* (b, l, gates·h), (h, gates·h), (b, h) */
  const float *bh, *c0;         /* GRU: (3h); LSTM: (b, h) */
  float *hs;                    /* (b, l, h), written by forward, read by backward */
  float *cs;                    /* LSTM cell states (b, l, h) */
  float *saved;                 /* LSTM activated gates (b, l, 4h); GRU r, z, n, a_n (b, l, 4h) */
  const float *dhs, *dhT, *dcT; /* backward: (b, l, h), (b, h), (b, h) */
  float *dxProj, *dwh, *dh0;    /* (b, l, gates·h), (h, gates·h), (b, h) */
  float *dbh, *dc0;             /* GRU: (3h); LSTM: (b, h) */
  float *da;                    /* GRU scratch: ∂(h·Wh + bh) per step, (b, l, 3h) */
} rec_problem;

#define REC_DECLARE(isa)                         \
  void rec_forward_##isa(const rec_problem *p);  \
  void rec_backward_##isa(const rec_problem *p);
REC_DECLARE(generic)
REC_DECLARE(avx2)

#endif
