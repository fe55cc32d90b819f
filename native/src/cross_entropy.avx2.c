/* The masked cross-entropy's loops compiled for AVX2 + FMA (chosen at run time by cross_entropy.c). */
#define CE_FN(name) name##_avx2
#include "cross_entropy_impl.h"
