/* The recurrences' loops compiled for AVX2 + FMA (chosen at run time by recurrence.c). */
#define REC_FN(name) name##_avx2
#include "recurrence_impl.h"
