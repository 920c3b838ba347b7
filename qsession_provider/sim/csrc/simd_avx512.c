/*
 * simd_avx512.c -- the kernels for AVX-512F (x86-64): qs_ops_c128_avx512 and
 * qs_ops_c64_avx512.  The hot functions carry __attribute__((target("avx512f,..."))) (QS_ATTR),
 * so no -march flag is needed; dispatch.c picks these tables only on a CPU that has AVX-512F.
 */
#include "internal.h"

#if QS_X86_DISPATCH
#define QS_ISA 2
#define QS_ISA_NAME avx512
#define QS_ATTR QS_TARGET_AVX512
#define QS_VBYTES 64

#define QS_F32 0 /* complex128 states */
#include "vector.inc"
#include "readout.inc"
#include "ops.inc"
#undef QS_F32

#define QS_F32 1 /* complex64 states */
#include "vector.inc"
#include "readout.inc"
#include "ops.inc"
#undef QS_F32
#endif
