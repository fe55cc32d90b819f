/* The selective scan's loops compiled for AVX2 + FMA (chosen at run time by selective_scan.c). */
#define SCAN_FN(name) name##_avx2
#include "selective_scan_impl.h"
