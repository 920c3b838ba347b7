/*
 * kernels.c -- statevector kernels (plain C99, no Python).
 *
 * Layers inside this file:
 *   1. dtype-neutral helpers: index layout of a gate, the OpenMP range splitter, the grouping
 *      of Pauli terms by x mask;
 *   2. kernels_impl.h included once per (precision, instruction set), each inclusion producing
 *      a qs_ops table;
 *   3. runtime dispatch: qs_simd_init picks the tables for the best instruction set that
 *      __builtin_cpu_supports reports (GCC/Clang on x86 only; elsewhere just "generic").
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

/* ------------------------------------------------------------------------------------------ */
/* Threads                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define QS_REDUCE_BLOCKS 64 /* fixed partial sums for states of >= 2**14 amplitudes */
#define QS_PAULI_SUB 64     /* sub-block of the Pauli kernel (sign table width) */
#define QS_MATK_TILE 8      /* indices per gather/scatter tile of the k >= 3 kernel */
#define QS_MATK_TILE_MIN_BYTES 4096 /* ... used when all streams are at least this far apart */

static int qs_nthreads = 0; /* 0 until first use */

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

/* Run fn over [0, count), split into one contiguous range per thread. */
static void qs_parallel(qs_range_fn fn, void *ctx, int64_t count, int nt)
{
#ifdef _OPENMP
    if (nt > 1 && count > 1) {
        if ((int64_t)nt > count) nt = (int)count;
        qs_pool_started = 1;
#pragma omp parallel num_threads(nt)
        {
            const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
            const int64_t q = count / T, r = count % T;
            const int64_t lo = t * q + (t < r ? t : r);
            fn(ctx, lo, lo + q + (t < r ? 1 : 0));
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
#define QS_VBYTES 16
#define QS_MATK_BLOCK 4
#define QS_REAL double
#define QS_SFX c128_generic
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_SFX
#define QS_REAL float
#define QS_SFX c64_generic
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_SFX
#undef QS_ATTR
#undef QS_VBYTES
#undef QS_MATK_BLOCK

#if QS_X86_DISPATCH
#define QS_ATTR QS_TARGET_AVX2
#define QS_VBYTES 32
#define QS_MATK_BLOCK 4
#define QS_REAL double
#define QS_SFX c128_avx2
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_SFX
#define QS_REAL float
#define QS_SFX c64_avx2
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_SFX
#undef QS_ATTR
#undef QS_VBYTES
#undef QS_MATK_BLOCK

#define QS_ATTR QS_TARGET_AVX512
#define QS_VBYTES 64
#define QS_MATK_BLOCK 8
#define QS_REAL double
#define QS_SFX c128_avx512
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_SFX
#define QS_REAL float
#define QS_SFX c64_avx512
#include "kernels_impl.h"
#undef QS_REAL
#undef QS_SFX
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
