/* The column sums' loop compiled for AVX2 + FMA (chosen at run time by sum.c). */
#define SUM_FN(name) name##_avx2
#include "sum_impl.h"
