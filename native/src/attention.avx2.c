/* Flash attention's loops compiled for AVX2 + FMA (chosen at run time by attention.c). */
#define ATTN_FN(name) name##_avx2
#include "attention_impl.h"
