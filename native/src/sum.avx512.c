/* The column sums' loop compiled for AVX-512 (chosen at run time by sum.c). */
#define SUM_FN(name) name##_avx512
#include "sum_impl.h"
