/*
 * simd_generic.c -- the kernels in portable C (GCC vector extensions over 16-byte vectors,
 * one amplitude each): qs_ops_c128_generic and qs_ops_c64_generic.  They run on any CPU, and
 * the other instruction sets hand them states smaller than one of their vectors.
 */
#include "internal.h"

#define QS_ISA 0
#define QS_ISA_NAME generic
#define QS_ATTR
#define QS_VBYTES 16

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
