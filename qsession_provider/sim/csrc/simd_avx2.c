/*
 * simd_avx2.c -- the kernels for AVX2 and FMA (x86-64): qs_ops_c128_avx2 and qs_ops_c64_avx2.
 * The hot functions carry __attribute__((target("avx2,fma,popcnt"))) (QS_ATTR), so no -march
 * flag is needed; dispatch.c picks these tables only on a CPU that has the instructions.
 */
#include "internal.h"

#if QS_X86_DISPATCH
#define QS_ISA 1
#define QS_ISA_NAME avx2
#define QS_ATTR QS_TARGET_AVX2
#define QS_VBYTES 32

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
