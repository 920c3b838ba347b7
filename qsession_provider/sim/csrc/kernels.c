/*
 * kernels.c -- statevector kernels (plain C99, no Python).
 *
 * Layers inside this file:
 *   1. dtype-neutral helpers: index layout of a gate, the OpenMP range splitter, the grouping
 *      of Pauli terms by x mask;
 *   2. kernels_impl.h included once per (precision, instruction set), each inclusion producing
 *      a qs_ops table;
 *   3. runtime dispatch: qs_simd_init picks the tables for the best instruction set that
 *      __builtin_cpu_supports reports (GCC/Clang on x86 only; elsewhere just "generic");
 *   4. qs_fuse_blocks: products of small gates into fused block matrices (complex128).
 *
 * No -march flag is needed: the AVX2 and AVX-512 variants get their instruction set from
 * __attribute__((target(...))) on each hot function, so one binary runs on any x86-64 CPU.
 */
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define QS_ATFORK 1
#endif
#endif

#define QS_CAT_(a, b) a##_##b
#define QS_CAT(a, b) QS_CAT_(a, b)
#define QS_CAT3_(a, k, b) a##k##_##b
#define QS_CAT3(a, k, b) QS_CAT3_(a, k, b)

#if defined(__GNUC__) || defined(__clang__)
#define QS_ALWAYS_INLINE inline __attribute__((always_inline))
#define QS_RESTRICT __restrict__
#ifndef QS_VECTOR_EXT
#define QS_VECTOR_EXT 1 /* GCC vector extensions for the k >= 3 mat-vec (-DQS_VECTOR_EXT=0: off) */
#endif
#elif defined(_MSC_VER)
#define QS_ALWAYS_INLINE __forceinline
#define QS_RESTRICT __restrict
#else
#define QS_ALWAYS_INLINE inline
#define QS_RESTRICT restrict
#endif
#ifndef QS_VECTOR_EXT
#define QS_VECTOR_EXT 0
#endif

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && \
    !defined(QS_NO_SIMD_DISPATCH)
#define QS_X86_DISPATCH 1
#if defined(__clang__)
#define QS_TARGET_AVX2 __attribute__((target("avx2,fma,popcnt")))
#define QS_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma,popcnt")))
#else
#define QS_TARGET_AVX2 __attribute__((target("avx2,fma,popcnt")))
#define QS_TARGET_AVX512 \
    __attribute__((target("avx512f,avx2,fma,popcnt,prefer-vector-width=512")))
#endif
#else
#define QS_X86_DISPATCH 0
#endif

#if QS_X86_DISPATCH && QS_VECTOR_EXT
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------------------------------ */
/* Threads                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define QS_REDUCE_BLOCKS 64 /* fixed partial sums for states of >= 2**14 amplitudes */
#define QS_PAULI_SUB 64     /* sub-block of the Pauli kernel (sign table width) */
#define QS_MATK_TILE 8      /* indices per gather/scatter tile of the k >= 3 kernel */
#ifndef QS_TILE_PREFETCH
#define QS_TILE_PREFETCH 1  /* prefetch the next chunk while gathering a tile's chunk */
#endif
#define QS_MATK_TILE_MIN_BYTES 4096 /* ... used when all streams are at least this far apart */

static int qs_nthreads = 0; /* 0 until first use */

/* Dense gates use the split (3-multiplication) kernels where they apply; QSESSION_SPLIT=0 at
 * import turns them off (for comparisons). */
static int qs_split_kernels = 1;

/* GNU libgomp cannot run a parallel region in a child forked after the parent started its
 * thread pool (the child hangs).  A child forked after our first parallel region therefore
 * stays single-threaded, which never enters OpenMP (see qs_parallel). */
static volatile int qs_pool_started = 0;
static volatile int qs_forked_child = 0;

#ifdef QS_ATFORK
static void qs_atfork_child(void)
{
    if (qs_pool_started) qs_forked_child = 1;
}
#endif

static void qs_register_atfork(void)
{
#ifdef QS_ATFORK
    static int registered = 0;
    if (!registered) registered = pthread_atfork(NULL, NULL, qs_atfork_child) == 0;
#endif
}

int qs_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int qs_get_num_threads(void)
{
#ifdef _OPENMP
    if (qs_forked_child) return 1;
    if (qs_nthreads < 1) qs_nthreads = omp_get_max_threads();
    return qs_nthreads;
#else
    return 1;
#endif
}

void qs_set_num_threads(int nthreads)
{
    if (nthreads >= 1) qs_nthreads = nthreads;
}

static int qs_threads_for(int n)
{
    return n >= QS_PARALLEL_MIN_QUBITS ? qs_get_num_threads() : 1;
}

static int64_t qs_reduce_blocks(int n)
{
    return n >= QS_PARALLEL_MIN_QUBITS ? QS_REDUCE_BLOCKS : 1;
}

typedef void (*qs_range_fn)(void *ctx, int64_t lo, int64_t hi);

/* Run fn over [0, count) on nt threads, handing out contiguous batches of about count/(16 nt)
 * items on demand, so a thread that the OS delays does not hold up the others.  Each item is
 * computed the same way whichever thread takes it, so results do not depend on the split. */
static void qs_parallel(qs_range_fn fn, void *ctx, int64_t count, int nt)
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

/* ------------------------------------------------------------------------------------------ */
/* Index layout of a gate                                                                      */
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

static void qs_layout_init(qs_layout *L, int n, const int *targets, int k, const int *controls,
                           int nc, int64_t ctrl_state)
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

/* Gates whose targets all sit below bit B (and controls above it) act inside aligned "units"
 * of 2**B consecutive amplitudes.  This layout walks units (no targets; controls shifted down
 * by B), so chunks are runs of whole units: long contiguous runs even when a target is bit 0. */
static void qs_unit_layout(qs_layout *L, int n, int B, const int *controls, int nc,
                           int64_t ctrl_state)
{
    int shifted[QS_MAX_QUBITS], i;
    for (i = 0; i < nc; ++i) shifted[i] = controls[i] - B;
    qs_layout_init(L, n - B, NULL, 0, shifted, nc, ctrl_state);
}

/* B = 1 + highest target if every control is above it, else 0. */
static int qs_unit_bits(const qs_gate *g)
{
    int i, B = 0;
    for (i = 0; i < g->k; ++i) {
        if (g->targets[i] + 1 > B) B = g->targets[i] + 1;
    }
    for (i = 0; i < g->nc; ++i) {
        if (g->controls[i] < B) return 0;
    }
    return B;
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

/* Distance in amplitudes between the closest two streams of a gate: 2**min(targets). */
static uint64_t qs_min_target_stride(const qs_gate *g)
{
    int i, t = g->targets[0];
    for (i = 1; i < g->k; ++i) {
        if (g->targets[i] < t) t = g->targets[i];
    }
    return (uint64_t)1 << t;
}

/* Memory aligned to 64 bytes for vector loads; release with free(*raw). */
static void *qs_aligned_malloc(size_t size, void **raw)
{
    *raw = malloc(size + 64);
    if (*raw == NULL) return NULL;
    return (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
}

static QS_ALWAYS_INLINE int qs_parity64(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_parityll(v);
#else
    v ^= v >> 32;
    v ^= v >> 16;
    v ^= v >> 8;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return (int)(v & 1);
#endif
}

/* OpenMP thread number inside qs_parallel (0 outside a parallel region). */
static int qs_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Spread the low bits of c over the set bits of mask (lowest first): the c-th submask. */
static uint64_t qs_deposit(uint64_t c, uint64_t mask)
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
 * whose j-th low target is lane bit lq[j] and matrix bit lb[j] (kernels_vec.h). */
static int qs_midx(int R, int l, int h, const int *hb, int nl, const int *lq, const int *lb)
{
    int m = 0, j;
    for (j = 0; j < h; ++j) m |= ((R >> j) & 1) << hb[j];
    for (j = 0; j < nl; ++j) m |= ((l >> lq[j]) & 1) << lb[j];
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* Contexts passed to the range kernels                                                        */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    void *state;
    const qs_layout *L;
    const double *data; /* complex128 matrix (k = 1, 2) or diagonal */
    const void *mre;    /* k >= 3: column-major real parts, state precision */
    const void *mim;
    int tile;           /* k >= 3: indices per gather/scatter tile */
} qs_gate_ctx;

/* Gates on the lowest qubits, on a unit layout (qs_unit_layout). */
#define QS_PAT 64 /* amplitudes in the factor pattern of diagonal gates (a multiple of a unit) */
typedef struct {
    void *state;
    const qs_layout *L; /* unit layout */
    int unit_log;       /* B: a unit is 2**B amplitudes */
    const void *a, *a1; /* diagonal: real and imaginary factor of amplitude i % QS_PAT */
    const double *data; /* dense: the matrix */
    uint64_t off[4];    /* k = 2: position of matrix row r inside the quad */
} qs_pattern_ctx;

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

/* ------------------------------------------------------------------------------------------ */
/* Pauli terms grouped by x mask: one pass over the state per distinct x                       */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    uint64_t x, z;
    int64_t idx;
} qs_term;

static int qs_term_cmp(const void *a, const void *b)
{
    const qs_term *s = (const qs_term *)a, *t = (const qs_term *)b;
    if (s->x != t->x) return s->x < t->x ? -1 : 1;
    return s->idx < t->idx ? -1 : (s->idx > t->idx);
}

static int qs_popcount64(uint64_t v)
{
    int c = 0;
    for (; v; v &= v - 1) ++c;
    return c;
}

static int qs_expectation_driver(const void *state, int n, const uint64_t *x, const uint64_t *z,
                                 int64_t nterms, double *out, qs_range_fn blocks)
{
    const int64_t nb = qs_reduce_blocks(n);
    const uint64_t block = ((uint64_t)1 << n) / (uint64_t)nb;
    const uint64_t sub = block < QS_PAULI_SUB ? block : QS_PAULI_SUB;
    qs_term *terms = NULL;
    double *part = NULL, *sgn = NULL, *factor = NULL;
    uint64_t *zs = NULL;
    int *need_im = NULL;
    int64_t t, g0, g1, gmax = 0;
    int rc = QS_ERR_NOMEM;
    if (nterms == 0) return QS_OK;
    terms = (qs_term *)malloc((size_t)nterms * sizeof(qs_term));
    if (terms == NULL) goto done;
    for (t = 0; t < nterms; ++t) {
        terms[t].x = x[t];
        terms[t].z = z[t];
        terms[t].idx = t;
    }
    qsort(terms, (size_t)nterms, sizeof(qs_term), qs_term_cmp);
    for (g0 = 0; g0 < nterms; g0 = g1) {
        for (g1 = g0 + 1; g1 < nterms && terms[g1].x == terms[g0].x; ++g1) {
        }
        if (g1 - g0 > gmax) gmax = g1 - g0;
    }
    part = (double *)malloc((size_t)(nb * gmax) * sizeof(double));
    sgn = (double *)malloc((size_t)gmax * sub * sizeof(double));
    factor = (double *)malloc((size_t)gmax * sizeof(double));
    zs = (uint64_t *)malloc((size_t)gmax * sizeof(uint64_t));
    need_im = (int *)malloc((size_t)gmax * sizeof(int));
    if (!part || !sgn || !factor || !zs || !need_im) goto done;

    for (g0 = 0; g0 < nterms; g0 = g1) {
        qs_pauli_ctx ctx;
        int64_t b;
        int G;
        for (g1 = g0 + 1; g1 < nterms && terms[g1].x == terms[g0].x; ++g1) {
        }
        G = (int)(g1 - g0);
        for (t = 0; t < G; ++t) {
            /* <P> = Re(i^y * sum), y = number of Y factors: keep Re or Im of the sum. */
            const int y = qs_popcount64(terms[g0].x & terms[g0 + t].z) & 3;
            uint64_t u;
            zs[t] = terms[g0 + t].z;
            need_im[t] = y & 1;
            factor[t] = (y == 0 || y == 3) ? 1.0 : -1.0;
            for (u = 0; u < sub; ++u) sgn[t * sub + u] = qs_parity64(u & zs[t]) ? -1.0 : 1.0;
        }
        ctx.state = state;
        ctx.block = block;
        ctx.sub = sub;
        ctx.x = terms[g0].x;
        ctx.skip = 0;
        if (ctx.x >= sub) { /* highest bit of x, at or above the sub-block size */
            ctx.skip = ctx.x;
            while (ctx.skip & (ctx.skip - 1)) ctx.skip &= ctx.skip - 1;
        }
        ctx.G = G;
        ctx.z = zs;
        ctx.need_im = need_im;
        ctx.sgn = sgn;
        ctx.part = part;
        qs_parallel(blocks, &ctx, nb, qs_threads_for(n));
        for (t = 0; t < G; ++t) {
            double sum = 0.0;
            for (b = 0; b < nb; ++b) sum += part[b * G + t];
            out[terms[g0 + t].idx] = (ctx.skip ? 2.0 : 1.0) * factor[t] * sum;
        }
    }
    rc = QS_OK;
done:
    free(terms);
    free(part);
    free(sgn);
    free(factor);
    free(zs);
    free(need_im);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The kernels, once per (precision, instruction set)                                          */
/* ------------------------------------------------------------------------------------------ */

#define QS_ATTR
#define QS_ISA 0
#define QS_VBYTES 16
#define QS_MATK_BLOCK 4
#define QS_REAL double
#define QS_RSIZE 8
#define QS_F32 0
#define QS_SFX c128_generic
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_RSIZE
#undef QS_F32
#undef QS_SFX
#define QS_REAL float
#define QS_RSIZE 4
#define QS_F32 1
#define QS_SFX c64_generic
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_RSIZE
#undef QS_F32
#undef QS_SFX
#undef QS_ISA
#undef QS_ATTR
#undef QS_VBYTES
#undef QS_MATK_BLOCK

#if QS_X86_DISPATCH
#define QS_ATTR QS_TARGET_AVX2
#define QS_VBYTES 32
#define QS_MATK_BLOCK 4
#define QS_ISA 1
#define QS_REAL double
#define QS_RSIZE 8
#define QS_F32 0
#define QS_SFX c128_avx2
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_RSIZE
#undef QS_F32
#undef QS_SFX
#define QS_REAL float
#define QS_RSIZE 4
#define QS_F32 1
#define QS_SFX c64_avx2
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_RSIZE
#undef QS_F32
#undef QS_SFX
#undef QS_ISA
#undef QS_ATTR
#undef QS_VBYTES
#undef QS_MATK_BLOCK

#define QS_ATTR QS_TARGET_AVX512
#define QS_VBYTES 64
#define QS_MATK_BLOCK 8
#define QS_ISA 2
#define QS_REAL double
#define QS_RSIZE 8
#define QS_F32 0
#define QS_SFX c128_avx512
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_RSIZE
#undef QS_F32
#undef QS_SFX
#define QS_REAL float
#define QS_RSIZE 4
#define QS_F32 1
#define QS_SFX c64_avx512
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_RSIZE
#undef QS_F32
#undef QS_SFX
#undef QS_ISA
#undef QS_ATTR
#undef QS_VBYTES
#undef QS_MATK_BLOCK
#endif

/* ------------------------------------------------------------------------------------------ */
/* Runtime dispatch                                                                            */
/* ------------------------------------------------------------------------------------------ */

enum { QS_LEVEL_GENERIC = 0, QS_LEVEL_AVX2 = 1, QS_LEVEL_AVX512 = 2 };

static const char *const qs_level_names[] = {"generic", "avx2", "avx512f"};
static int qs_level = QS_LEVEL_GENERIC;
static const qs_ops *qs_active[2] = {&ops_c128_generic, &ops_c64_generic};

static int qs_cpu_best_level(void)
{
#if QS_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("popcnt")) {
        return __builtin_cpu_supports("avx512f") ? QS_LEVEL_AVX512 : QS_LEVEL_AVX2;
    }
#endif
    return QS_LEVEL_GENERIC;
}

int qs_simd_init(const char *level)
{
    const int best = qs_cpu_best_level();
    int want = best, i;
    if (level != NULL && level[0] != '\0') {
        want = -1;
        for (i = 0; i < 3; ++i) {
            if (strcmp(level, qs_level_names[i]) == 0) want = i;
        }
        if (want < 0) return -1;
        if (want > best) return -2;
    }
    qs_level = want;
    switch (want) {
#if QS_X86_DISPATCH
    case QS_LEVEL_AVX512:
        qs_active[QS_COMPLEX128] = &ops_c128_avx512;
        qs_active[QS_COMPLEX64] = &ops_c64_avx512;
        break;
    case QS_LEVEL_AVX2:
        qs_active[QS_COMPLEX128] = &ops_c128_avx2;
        qs_active[QS_COMPLEX64] = &ops_c64_avx2;
        break;
#endif
    default:
        qs_active[QS_COMPLEX128] = &ops_c128_generic;
        qs_active[QS_COMPLEX64] = &ops_c64_generic;
        break;
    }
    {
        const char *split = getenv("QSESSION_SPLIT");
        qs_split_kernels = !(split != NULL && split[0] == '0');
    }
    (void)qs_get_num_threads(); /* settle the default thread count once, at load time */
    qs_register_atfork();
    return 0;
}

const char *qs_simd_level(void)
{
    return qs_level_names[qs_level];
}

const qs_ops *qs_get_ops(qs_dtype dtype)
{
    return qs_active[dtype == QS_COMPLEX64 ? QS_COMPLEX64 : QS_COMPLEX128];
}

/* ------------------------------------------------------------------------------------------ */
/* Fused gates                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* code (int64):  nblocks, then per block
 *     out_offset kind k ncomp, then per component
 *         ckind nt nc t[0..nt) c[0..nc) ctrl_state data_offset
 * Offsets count complex numbers.  A block of kind 0 gets the (2**k, 2**k) product of its
 * components (in order, the first applied first); kind 1 gets the 2**k diagonal (diagonal
 * components only).  Component qubits t (targets, bit j of the component's matrix index is
 * t[j]) and c (controls) are positions 0..k-1 inside the block. */
const char *qs_fuse_check(const int64_t *code, int64_t ncode, int64_t ncomp, int64_t nout)
{
    int64_t at = 1, b, nblocks;
    if (ncode < 1 || code[0] < 0) return "code must start with the number of blocks";
    nblocks = code[0];
    for (b = 0; b < nblocks; ++b) {
        int64_t kind, k, nc0, c;
        if (at + 4 > ncode) return "code ends inside a block header";
        kind = code[at + 1];
        k = code[at + 2];
        nc0 = code[at + 3];
        if (kind != 0 && kind != 1) return "block kind must be 0 (matrix) or 1 (diagonal)";
        if (k < 1 || k > QS_MAX_TARGETS) return "block size must be 1..6 qubits";
        if (nc0 < 0) return "negative component count";
        if (code[at] < 0 || code[at] + (kind == 0 ? (int64_t)1 << (2 * k) : (int64_t)1 << k) > nout) {
            return "block output out of range";
        }
        at += 4;
        for (c = 0; c < nc0; ++c) {
            int64_t ckind, nt, ncc, i, used = 0, cs, doff;
            if (at + 3 > ncode) return "code ends inside a component";
            ckind = code[at];
            nt = code[at + 1];
            ncc = code[at + 2];
            if (ckind != 0 && ckind != 1) return "component kind must be 0 or 1";
            if (kind == 1 && ckind != 1) return "a diagonal block takes diagonal components only";
            if (nt < 1 || nc0 < 0 || ncc < 0 || nt + ncc > k) return "bad component qubit count";
            if (at + 3 + nt + ncc + 2 > ncode) return "code ends inside a component";
            for (i = 0; i < nt + ncc; ++i) {
                const int64_t q = code[at + 3 + i];
                if (q < 0 || q >= k) return "component qubit outside its block";
                if (used & ((int64_t)1 << q)) return "component uses a qubit twice";
                used |= (int64_t)1 << q;
            }
            cs = code[at + 3 + nt + ncc];
            if (cs != -1 && (cs < 0 || cs >= ((int64_t)1 << ncc))) return "bad ctrl_state";
            doff = code[at + 4 + nt + ncc];
            if (doff < 0 || doff + (ckind == 0 ? (int64_t)1 << (2 * nt) : (int64_t)1 << nt) > ncomp) {
                return "component data out of range";
            }
            at += 5 + nt + ncc;
        }
    }
    if (at != ncode) return "code has trailing entries";
    return NULL;
}

int qs_fuse_blocks(const int64_t *code, int64_t ncode, const double *comp, double *out)
{
    const qs_ops *ops = qs_get_ops(QS_COMPLEX128);
    int64_t at = 1, b;
    (void)ncode;
    for (b = 0; b < code[0]; ++b) {
        const int kind = (int)code[at + 1], k = (int)code[at + 2];
        const int64_t ncomp = code[at + 3];
        double *o = out + 2 * code[at];
        const int64_t K = (int64_t)1 << k;
        int64_t c, i;
        at += 4;
        if (kind == 0) {
            memset(o, 0, (size_t)(K * K) * 2 * sizeof(double));
            for (i = 0; i < K; ++i) o[2 * (i * K + i)] = 1.0;
        } else {
            for (i = 0; i < K; ++i) {
                o[2 * i] = 1.0;
                o[2 * i + 1] = 0.0;
            }
        }
        for (c = 0; c < ncomp; ++c) {
            const int ckind = (int)code[at], nt = (int)code[at + 1], nc = (int)code[at + 2];
            const int64_t *q = code + at + 3;
            const int64_t cs = q[nt + nc];
            const double *d = comp + 2 * q[nt + nc + 1];
            int tg[QS_MAX_TARGETS], ct[QS_MAX_TARGETS], j;
            at += 5 + nt + nc;
            if (kind == 0) {
                /* Row bits of the (K, K) matrix are qubits k..2k-1 of a 2k-qubit "state". */
                qs_gate g;
                int rc;
                for (j = 0; j < nt; ++j) tg[j] = (int)q[j] + k;
                for (j = 0; j < nc; ++j) ct[j] = (int)q[nt + j] + k;
                g.kind = ckind;
                g.k = nt;
                g.nc = nc;
                g.targets = tg;
                g.controls = ct;
                g.ctrl_state = cs;
                g.data = d;
                rc = ops->apply_gate_nt(o, 2 * k, &g, 1);
                if (rc != QS_OK) return rc;
            } else {
                for (i = 0; i < K; ++i) {
                    int ok = 1, r = 0;
                    double re, im;
                    for (j = 0; j < nc; ++j) {
                        const int want = cs < 0 ? 1 : (int)((cs >> j) & 1);
                        if (((i >> q[nt + j]) & 1) != want) ok = 0;
                    }
                    if (!ok) continue;
                    for (j = 0; j < nt; ++j) r |= (int)((i >> q[j]) & 1) << j;
                    re = o[2 * i] * d[2 * r] - o[2 * i + 1] * d[2 * r + 1];
                    im = o[2 * i] * d[2 * r + 1] + o[2 * i + 1] * d[2 * r];
                    o[2 * i] = re;
                    o[2 * i + 1] = im;
                }
            }
        }
    }
    return QS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Qubit permutation (undoes relabelled SWAP gates)                                            */
/* ------------------------------------------------------------------------------------------ */

/* Amplitudes move in blocks of 2**QS_PERM_LOW that keep their low bits together. */
#define QS_PERM_LOW 6

/* v with bit a[j] and bit b[j] exchanged, for each pair j (the pairs are disjoint). */
static uint64_t qs_swap_bits(uint64_t v, const int *a, const int *b, int np)
{
    int j;
    for (j = 0; j < np; ++j) {
        const uint64_t x = ((v >> a[j]) ^ (v >> b[j])) & 1;
        v ^= (x << a[j]) | (x << b[j]);
    }
    return v;
}

/* One pass that exchanges disjoint pairs of qubits.  Block indices (bits >= low) split into
 * "cross" bits (the high ends of pairs whose other end is below low), bits of high-high pairs
 * and the rest.  A group is the 2**c blocks that differ in cross bits, plus the partner group
 * that the high-high pairs map it to: closed under the exchange, so it is gathered into a
 * buffer, permuted by a table (the same for every group) and written back in place. */
typedef struct {
    char *state;
    size_t item;          /* bytes per amplitude: 16 or 8 */
    int low, c;
    uint64_t cross_mask;  /* block-index bits of the cross pairs' high ends */
    uint64_t rest_mask;   /* the other block-index bits */
    const int *ha, *hb;   /* high-high pairs, in block-index bits */
    int nh;
    const uint32_t *table; /* local source of each local destination, 2**(c + low) entries */
    char *buffers;         /* per thread: 4 * 2**(c + low) amplitudes */
} qs_perm_ctx;

static void qs_perm_groups(void *vctx, int64_t r0, int64_t r1)
{
    qs_perm_ctx *ctx = (qs_perm_ctx *)vctx;
    const uint64_t G = (uint64_t)1 << ctx->c, B = (uint64_t)1 << ctx->low, S = G * B;
    const size_t item = ctx->item, bytes = (size_t)B * item;
    char *in = ctx->buffers + 4 * (size_t)S * item * (size_t)qs_thread_id();
    char *out = in + 2 * (size_t)S * item;
    int64_t r;
    for (r = r0; r < r1; ++r) {
        const uint64_t hi = qs_deposit((uint64_t)r, ctx->rest_mask);
        const uint64_t partner = qs_swap_bits(hi, ctx->ha, ctx->hb, ctx->nh);
        uint64_t m, j;
        int h, halves;
        if (partner < hi) continue; /* the group was done from its partner */
        halves = partner != hi ? 2 : 1;
        for (h = 0; h < halves; ++h) {
            for (m = 0; m < G; ++m) {
                const uint64_t blk = (h ? partner : hi) | qs_deposit(m, ctx->cross_mask);
                memcpy(in + (size_t)((h * G + m) * B) * item, ctx->state + (size_t)(blk << ctx->low) * item, bytes);
            }
        }
        for (h = 0; h < halves; ++h) {
            const char *src = in + (size_t)((uint64_t)(h ^ (halves - 1)) * S) * item;
            char *dst = out + (size_t)((uint64_t)h * S) * item;
            if (item == 16) {
                for (j = 0; j < S; ++j) memcpy(dst + 16 * j, src + 16 * (size_t)ctx->table[j], 16);
            } else {
                for (j = 0; j < S; ++j) memcpy(dst + 8 * j, src + 8 * (size_t)ctx->table[j], 8);
            }
        }
        for (h = 0; h < halves; ++h) {
            for (m = 0; m < G; ++m) {
                const uint64_t blk = (h ? partner : hi) | qs_deposit(m, ctx->cross_mask);
                memcpy(ctx->state + (size_t)(blk << ctx->low) * item, out + (size_t)((h * G + m) * B) * item, bytes);
            }
        }
    }
}

static int qs_exchange_pairs(void *state, int n, size_t item, const int *a, const int *b,
                             int np)
{
    const int low = n < QS_PERM_LOW ? n : QS_PERM_LOW;
    int ha[QS_MAX_QUBITS], hb[QS_MAX_QUBITS], la[QS_MAX_QUBITS], lb[QS_MAX_QUBITS];
    int cross[QS_MAX_QUBITS], nh = 0, nl = 0, c = 0, j, i;
    uint64_t cross_mask = 0, blocks_mask, t;
    const int nt = qs_threads_for(n);
    uint32_t *table;
    void *raw;
    qs_perm_ctx ctx;
    for (j = 0; j < np; ++j) {
        const int x = a[j] < b[j] ? a[j] : b[j], y = a[j] < b[j] ? b[j] : a[j];
        if (y < low) { /* both ends inside a block */
            la[nl] = x;
            lb[nl++] = y;
        } else if (x >= low) {
            ha[nh] = x - low;
            hb[nh++] = y - low;
        } else {
            cross_mask |= (uint64_t)1 << (y - low);
            cross[c++] = j;
        }
    }
    /* Cross pairs in the local index: low end x, high end at low + its rank in cross_mask. */
    for (i = 0; i < c; ++i) {
        const int j2 = cross[i];
        const int x = a[j2] < b[j2] ? a[j2] : b[j2], y = (a[j2] < b[j2] ? b[j2] : a[j2]) - low;
        const uint64_t below = cross_mask & (((uint64_t)1 << y) - 1);
        la[nl] = x;
        lb[nl++] = low + qs_popcount64(below);
    }
    table = (uint32_t *)malloc(((size_t)1 << (c + low)) * sizeof(uint32_t));
    ctx.buffers = (char *)qs_aligned_malloc(((size_t)4 << (c + low)) * item * (size_t)nt, &raw);
    if (table == NULL || ctx.buffers == NULL) {
        free(table);
        if (ctx.buffers != NULL) free(raw);
        return QS_ERR_NOMEM;
    }
    for (t = 0; t < ((uint64_t)1 << (c + low)); ++t) table[t] = (uint32_t)qs_swap_bits(t, la, lb, nl);
    blocks_mask = (((uint64_t)1 << (n - low)) - 1);
    ctx.state = (char *)state;
    ctx.item = item;
    ctx.low = low;
    ctx.c = c;
    ctx.cross_mask = cross_mask;
    ctx.rest_mask = blocks_mask & ~cross_mask;
    ctx.ha = ha;
    ctx.hb = hb;
    ctx.nh = nh;
    ctx.table = table;
    qs_parallel(qs_perm_groups, &ctx, (int64_t)1 << (n - low - c), nt);
    free(table);
    free(raw);
    return QS_OK;
}

int qs_permute_qubits(void *state, int n, size_t itemsize, const int *source)
{
    /* Bit source[q] of every index moves to bit q: pi(source[q]) = q.  Each cycle
     * x_0 -> x_1 -> ... of pi is the product of two reflections, x_i <-> x_{-i} then
     * x_i <-> x_{1-i}; the reflections of all cycles give two passes of disjoint pairs. */
    int pi[QS_MAX_QUBITS], seen[QS_MAX_QUBITS], cyc[QS_MAX_QUBITS];
    int a[2][QS_MAX_QUBITS], b[2][QS_MAX_QUBITS], np[2] = {0, 0};
    int q, s, m, i, pass;
    for (q = 0; q < n; ++q) {
        pi[source[q]] = q;
        seen[q] = 0;
    }
    for (s = 0; s < n; ++s) {
        if (seen[s]) continue;
        m = 0;
        for (q = s; !seen[q]; q = pi[q]) {
            seen[q] = 1;
            cyc[m++] = q;
        }
        for (i = 0; i < m; ++i) {
            const int j1 = (m - i) % m, j2 = (m + 1 - i) % m;
            if (i < j1) {
                a[0][np[0]] = cyc[i];
                b[0][np[0]++] = cyc[j1];
            }
            if (i < j2) {
                a[1][np[1]] = cyc[i];
                b[1][np[1]++] = cyc[j2];
            }
        }
    }
    for (pass = 0; pass < 2; ++pass) {
        if (np[pass] > 0) {
            const int rc = qs_exchange_pairs(state, n, itemsize, a[pass], b[pass], np[pass]);
            if (rc != QS_OK) return rc;
        }
    }
    return QS_OK;
}
