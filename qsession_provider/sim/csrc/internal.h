/*
 * internal.h -- what the kernel files share (no Python): compiler switches, template
 * parameters, the OpenMP range splitter, the index layout of a gate, bit helpers, and the
 * contexts passed to range kernels.
 *
 * Files:
 *   threads.c      OpenMP thread count, the fork guard
 *   expectation.c  Pauli terms grouped by x mask (one pass over the state per group)
 *   fusion.c       products of small gates into fused block matrices (qs_fuse_blocks)
 *   permute.c      in-place qubit permutation (qs_permute_qubits)
 *   dispatch.c     runtime choice of an instruction set (qs_simd_init, qs_get_ops)
 *   simd_generic.c, simd_avx2.c, simd_avx512.c
 *                  one per instruction set: each instantiates the template bodies below for
 *                  complex128 and complex64 states, giving the tables qs_ops_<dtype>_<isa>
 *   vector.inc     template body: vectorised dense and diagonal gates and Pauli products
 *                  (vector_streams.inc holds its dense kernels, one copy per number of high
 *                  targets)
 *   readout.inc    template body: probabilities, norm, sampling, measurement, Pauli sums
 *   ops.inc        template body: one gate, a plan, tiles; the table of entry points
 */
#ifndef QSESSION_INTERNAL_H
#define QSESSION_INTERNAL_H

#include "kernels.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if !defined(__GNUC__) || defined(__clang__)
#error "the statevector kernels need GCC (vector extensions with __builtin_shuffle)"
#endif

#define QS_CAT_(a, b) a##_##b
#define QS_CAT(a, b) QS_CAT_(a, b)
#define QS_CAT3_(a, k, b) a##k##_##b
#define QS_CAT3(a, k, b) QS_CAT3_(a, k, b)

#define QS_ALWAYS_INLINE inline __attribute__((always_inline))
#define QS_RESTRICT __restrict__

/* Instruction sets besides the portable one: x86-64 only, picked at run time (dispatch.c).
 * No -march flag is needed: the AVX2 and AVX-512 variants get their instruction set from
 * __attribute__((target(...))) on each hot function, so one binary runs on any x86-64 CPU. */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(QS_NO_SIMD_DISPATCH)
#define QS_X86_DISPATCH 1
#define QS_TARGET_AVX2 __attribute__((target("avx2,fma,popcnt")))
#define QS_TARGET_AVX512 \
    __attribute__((target("avx512f,avx2,fma,popcnt,prefer-vector-width=512")))
#include <immintrin.h>
#else
#define QS_X86_DISPATCH 0
#endif

#define QS_REDUCE_BLOCKS 64 /* fixed partial sums for states of >= 2**14 amplitudes */
#define QS_PAULI_SUB 64     /* sub-block of the Pauli kernel (sign table width) */
#ifndef QS_TILE_PREFETCH
#define QS_TILE_PREFETCH 1  /* prefetch the next chunk while gathering a tile's chunk */
#endif

/* ------------------------------------------------------------------------------------------ */
/* Template parameters                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* An instruction-set file (simd_*.c) defines QS_ISA (0 generic, 1 AVX2, 2 AVX-512F),
 * QS_ISA_NAME (the symbol suffix: generic, avx2, avx512), QS_ATTR (the target attribute of
 * the hot functions) and QS_VBYTES (bytes per vector), then includes the template bodies once
 * with QS_F32 0 (complex128 states) and once with QS_F32 1 (complex64 states).  The rest
 * follows from QS_F32 wherever it is used: */
#define QS_PICK_F32_0(f32, f64) f64
#define QS_PICK_F32_1(f32, f64) f32
#define QS_IF_F32(f32, f64) QS_CAT(QS_PICK_F32, QS_F32)(f32, f64)
#define QS_REAL QS_IF_F32(float, double) /* real type of the state's amplitudes */
#define QS_RSIZE QS_IF_F32(4, 8)         /* its size in bytes */
/* Symbol suffix of an instantiation, e.g. c128_avx2: FN(sample) is sample_c128_avx2. */
#define QS_SFX QS_CAT(QS_IF_F32(c64, c128), QS_ISA_NAME)
#define FN(name) QS_CAT(name, QS_SFX)
/* The portable table of the same precision (states smaller than one vector run there). */
#define QS_GENERIC_OPS QS_IF_F32(qs_ops_c64_generic, qs_ops_c128_generic)

/* The entry points of every instantiation (dispatch.c picks one pair). */
extern const qs_ops qs_ops_c128_generic, qs_ops_c64_generic;
#if QS_X86_DISPATCH
extern const qs_ops qs_ops_c128_avx2, qs_ops_c64_avx2;
extern const qs_ops qs_ops_c128_avx512, qs_ops_c64_avx512;
#endif

/* Dense gates use the split (3-multiplication) kernels where they apply; QSESSION_SPLIT=0 at
 * import turns them off, for comparisons (dispatch.c). */
extern int qs_split_kernels;

/* ------------------------------------------------------------------------------------------ */
/* Threads                                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef void (*qs_range_fn)(void *ctx, int64_t lo, int64_t hi);

/* Set by the first parallel region (threads.c keeps forked children single-threaded). */
extern volatile int qs_pool_started;

/* Run fn over [0, count) on nt threads, handing out contiguous batches of about count/(16 nt)
 * items on demand, so a thread that the OS delays does not hold up the others.  Each item is
 * computed the same way whichever thread takes it, so results do not depend on the split. */
static inline void qs_parallel(qs_range_fn fn, void *ctx, int64_t count, int nt)
{
#ifdef _OPENMP
    if (nt > 1 && count > 1) {
        int64_t grain, nb;
        if ((int64_t)nt > count) nt = (int)count;
        grain = count / ((int64_t)nt * 16);
        if (grain < 1) grain = 1;
        nb = (count + grain - 1) / grain;
        qs_pool_started = 1;
#pragma omp parallel num_threads(nt)
        {
            int64_t b;
#pragma omp for schedule(dynamic, 1)
            for (b = 0; b < nb; ++b) {
                const int64_t lo = b * grain;
                fn(ctx, lo, lo + grain < count ? lo + grain : count);
            }
        }
        return;
    }
#else
    (void)nt;
#endif
    fn(ctx, 0, count);
}

/* Threads for a state of n qubits: 1 below QS_PARALLEL_MIN_QUBITS. */
static inline int qs_threads_for(int n)
{
    return n >= QS_PARALLEL_MIN_QUBITS ? qs_get_num_threads() : 1;
}

/* Fixed reduction blocks for a state of n qubits (QS_REDUCE_BLOCKS, or 1 when small). */
static inline int64_t qs_reduce_blocks(int n)
{
    return n >= QS_PARALLEL_MIN_QUBITS ? QS_REDUCE_BLOCKS : 1;
}

/* OpenMP thread number inside qs_parallel (0 outside a parallel region). */
static inline int qs_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}


/* Keep children forked after the first parallel region single-threaded (threads.c). */
void qs_register_atfork(void);

/* ------------------------------------------------------------------------------------------ */
/* Index layout of a gate                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define QS_LOG_CHUNK_MAX 10

/* The 2**n indices split into chunks: each chunk is a contiguous run of `chunk` "base"
 * indices (target bits 0, control bits at their required values); amplitude r of the gate
 * sits at base + off[r]. */
typedef struct qs_layout {
    int m;                             /* fixed bits: targets and controls */
    int pos[QS_MAX_QUBITS + 1];        /* their positions, ascending */
    uint64_t mask;                     /* all fixed bits */
    uint64_t fixed;                    /* control bits required to be 1 */
    int k;                             /* targets */
    uint64_t off[1 << QS_MAX_TARGETS]; /* offset of amplitude r of the gate */
    int log_chunk;
    uint64_t chunk;                    /* run length (free bits below pos[0], capped) */
    int64_t nchunks;
} qs_layout;

static inline void qs_layout_init(qs_layout *L, int n, const int *targets, int k,
                                  const int *controls, int nc, int64_t ctrl_state)
{
    int i, j, lc;
    uint64_t r;
    L->m = 0;
    L->fixed = 0;
    L->mask = 0;
    for (i = 0; i < k; ++i) L->pos[L->m++] = targets[i];
    for (i = 0; i < nc; ++i) {
        L->pos[L->m++] = controls[i];
        if (ctrl_state < 0 || ((ctrl_state >> i) & 1)) L->fixed |= (uint64_t)1 << controls[i];
    }
    for (i = 1; i < L->m; ++i) { /* insertion sort: m is small */
        const int v = L->pos[i];
        for (j = i - 1; j >= 0 && L->pos[j] > v; --j) L->pos[j + 1] = L->pos[j];
        L->pos[j + 1] = v;
    }
    for (i = 0; i < L->m; ++i) L->mask |= (uint64_t)1 << L->pos[i];
    L->k = k;
    for (r = 0; r < ((uint64_t)1 << k); ++r) {
        uint64_t o = 0;
        for (i = 0; i < k; ++i) {
            if ((r >> i) & 1) o |= (uint64_t)1 << targets[i];
        }
        L->off[r] = o;
    }
    lc = L->m > 0 ? L->pos[0] : n; /* free bits below the lowest fixed one */
    if (lc > QS_LOG_CHUNK_MAX) lc = QS_LOG_CHUNK_MAX;
    L->log_chunk = lc;
    L->chunk = (uint64_t)1 << lc;
    L->nchunks = (int64_t)1 << (n - L->m - lc);
}

/* First base index of chunk c: spread the chunk number over the free bits. */
static QS_ALWAYS_INLINE uint64_t qs_base(const qs_layout *L, int64_t c)
{
    uint64_t b = (uint64_t)c << L->log_chunk;
    int j;
    for (j = 0; j < L->m; ++j) {
        const int p = L->pos[j];
        const uint64_t low = ((uint64_t)1 << p) - 1;
        b = ((b & ~low) << 1) | (b & low);
    }
    return b | L->fixed;
}

/* Base index of the chunk after the one at base b: add one chunk, carrying over fixed bits. */
static QS_ALWAYS_INLINE uint64_t qs_next(const qs_layout *L, uint64_t b)
{
    return (((b | L->mask) + L->chunk) & ~L->mask) | L->fixed;
}

/* Spread the low bits of c over the set bits of mask (lowest first): the c-th submask. */
static inline uint64_t qs_deposit(uint64_t c, uint64_t mask)
{
    uint64_t out = 0;
    while (mask && c) {
        const uint64_t low = mask & (~mask + 1);
        if (c & 1) out |= low;
        c >>= 1;
        mask &= mask - 1;
    }
    return out;
}

/* Matrix index of stream R, lane l for a gate whose j-th high target is matrix bit hb[j] and
 * whose j-th low target is lane bit lq[j] and matrix bit lb[j] (vector.inc). */
static inline int qs_midx(int R, int l, int h, const int *hb, int nl, const int *lq,
                           const int *lb)
{
    int m = 0, j;
    for (j = 0; j < h; ++j) m |= ((R >> j) & 1) << hb[j];
    for (j = 0; j < nl; ++j) m |= ((l >> lq[j]) & 1) << lb[j];
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Memory aligned to 64 bytes for vector loads; release with free(*raw). */
static inline void *qs_aligned_malloc(size_t size, void **raw)
{
    *raw = malloc(size + 64);
    if (*raw == NULL) return NULL;
    return (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
}

static QS_ALWAYS_INLINE int qs_parity64(uint64_t v)
{
    return __builtin_parityll(v);
}

static inline int qs_popcount64(uint64_t v)
{
    int c = 0;
    for (; v; v &= v - 1) ++c;
    return c;
}

/* ------------------------------------------------------------------------------------------ */
/* Contexts passed to the range kernels of readout.inc                                        */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const void *state;
    double *out;
} qs_probs_ctx;

typedef struct {
    const void *state;
    uint64_t block;
    double *part;
} qs_sumsq_ctx;

typedef struct {
    const void *state;
    const qs_layout *L;
    int64_t per_group;
    double *p0, *p1;
} qs_pair_ctx;

typedef struct {
    void *state;
    const qs_layout *L;
    int outcome;
    double scale;
} qs_collapse_ctx;

typedef struct {
    const void *state;
    uint64_t block, sub, x;
    uint64_t skip; /* 0, or the highest bit of x when it is >= sub: sum over half of the state */
    int G;
    const uint64_t *z;
    const int *need_im;
    const double *sgn;
    double *part;
} qs_pauli_ctx;

/* out[t] = Re <psi| P_t |psi>: group the terms by x mask and run `blocks` (a range kernel over
 * a qs_pauli_ctx) once per group (expectation.c).  Returns QS_OK or QS_ERR_NOMEM. */
int qs_expectation_driver(const void *state, int n, const uint64_t *x, const uint64_t *z,
                          int64_t nterms, double *out, qs_range_fn blocks);

#endif /* QSESSION_INTERNAL_H */
