/*
 * The selective scan's problem description, shared by its binding (selective_scan.c) and the
 * per-instruction-set copies of its loops (selective_scan_impl.h).
 */
#ifndef SEQARENA_SCAN_KERNELS_H
#define SEQARENA_SCAN_KERNELS_H
#include <stddef.h>

/* Channels per piece of work: a piece's states (SCAN_BLOCK · n floats) and its step's exp() stay in L1. */
#define SCAN_BLOCK 8

typedef struct {
  int b, l, di, n;
  const float *u, *delta, *A, *B, *C, *D; /* (b, l, di) (b, l, di) (di, n) (b, l, n) (b, l, n) (di) */
  float *y;                               /* forward: (b, l, di) */
  const float *dy;                        /* backward: (b, l, di), and its outputs: */
  float *du, *ddelta, *dA, *dB, *dC, *dD;
  /* backward scratch: ∂B, ∂C per channel block (blocks, b, l, n); ∂A, ∂D per sequence (b, di, n), (b, di) */
  float *dB_parts, *dC_parts, *dA_parts, *dD_parts;
} scan_problem;

#define SCAN_DECLARE(isa)                                         \
  void scan_forward_##isa(const scan_problem *p);                 \
  void scan_backward_##isa(const scan_problem *p, float *scratch);
SCAN_DECLARE(generic)
SCAN_DECLARE(avx2)

#endif
