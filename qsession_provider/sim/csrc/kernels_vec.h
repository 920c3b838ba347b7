/*
 * kernels_vec.h -- dense and diagonal gates vectorised over consecutive amplitudes.
 *
 * Included by kernels_impl.h once per (precision, instruction set), with QS_ISA (0 generic,
 * 1 AVX2, 2 AVX-512F) and QS_F32 (complex64 states) defined on top of kernels_impl.h's
 * parameters.
 *
 * A vector holds QS_VC consecutive amplitudes, interleaved (re, im, re, im, ...); the lowest
 * QS_LOG_VC qubits are "lane" qubits and live inside one vector.  A gate's targets split into
 * h "high" targets (>= QS_LOG_VC), which select one of 2**h vectors ("streams") a fixed
 * distance apart, and "low" targets, which mix lanes.  For each group of 2**h vectors:
 *
 *     y[R] = sum_C sum_d  W[R][C][d] (*) perm_d(x[C])
 *
 * where perm_d moves lane l ^ d to lane l (d runs over the subsets of the low-target lane
 * bits) and W[R][C][d] holds, per lane, the matrix entry that lane needs.  A complex product
 * of interleaved vectors is A*x + B*swap(x) with A = (re, re), B = (-im, im).  Low controls
 * only change W (lanes whose controls do not match get the identity); high controls are
 * fixed bits of the group layout, as in kernels.c.  Gates with neither low targets nor low
 * controls ("uniform") use one complex scalar per (R, C), broadcast to all lanes.
 *
 * Every amplitude goes through the same operations in the same order whatever the thread
 * split, so results do not depend on the number of threads.
 */

#if QS_ISA == 2
#define QS_VC (32 / QS_RSIZE) /* 64-byte vectors */
#define QS_RB 8               /* rows accumulated in registers */
#elif QS_ISA == 1
#define QS_VC (16 / QS_RSIZE) /* 32-byte vectors */
#define QS_RB 4
#else
#define QS_VC 1 /* one amplitude: no lane qubits */
#define QS_RB 4
#endif

#if QS_VC == 1
#define QS_LOG_VC 0
#elif QS_VC == 2
#define QS_LOG_VC 1
#elif QS_VC == 4
#define QS_LOG_VC 2
#else
#define QS_LOG_VC 3
#endif

#define QS_VN (2 * QS_VC) /* reals per vector */
#ifndef QS_SPLIT_MIN_H
#define QS_SPLIT_MIN_H 1
#endif

typedef QS_REAL FN(vt) __attribute__((vector_size(QS_VN * QS_RSIZE)));
typedef QS_REAL FN(vtu) __attribute__((vector_size(QS_VN * QS_RSIZE), aligned(QS_RSIZE)));
#if QS_F32
typedef int32_t FN(vm) __attribute__((vector_size(QS_VN * QS_RSIZE)));
#else
typedef int64_t FN(vm) __attribute__((vector_size(QS_VN * QS_RSIZE)));
#endif
/* Index vector of the lane permutation instruction. */
#if QS_ISA == 2 && !QS_F32
typedef int64_t FN(vp) __attribute__((vector_size(64)));
#define QS_PERMUTE(x, idx) ((FN(vt))_mm512_permutexvar_pd((__m512i)(idx), (__m512d)(x)))
#elif QS_ISA == 2
typedef int32_t FN(vp) __attribute__((vector_size(64)));
#define QS_PERMUTE(x, idx) ((FN(vt))_mm512_permutexvar_ps((__m512i)(idx), (__m512)(x)))
#elif QS_ISA == 1
typedef int32_t FN(vp) __attribute__((vector_size(32)));
#define QS_PERMUTE(x, idx) ((FN(vt))_mm256_permutevar8x32_ps((__m256)(x), (__m256i)(idx)))
#else
typedef int32_t FN(vp) __attribute__((vector_size(8)));
#define QS_PERMUTE(x, idx) (x) /* never used: no lane qubits */
#endif

#if QS_VN == 2
#define QS_SWAP_MASK {1, 0}
#elif QS_VN == 4
#define QS_SWAP_MASK {1, 0, 3, 2}
#elif QS_VN == 8
#define QS_SWAP_MASK {1, 0, 3, 2, 5, 4, 7, 6}
#else
#define QS_SWAP_MASK {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}
#endif
#define QS_VSWAP(x) __builtin_shuffle((x), (FN(vm))QS_SWAP_MASK)
/* Split form: real parts / imaginary parts of two interleaved vectors, and back, with in-lane
 * shuffles only (unpack for doubles, shufps for floats).  The split vectors hold the
 * amplitudes in a permuted order, which the inverse shuffles undo; the arithmetic in between
 * is lane-wise, so the order does not matter. */
#if QS_VN == 2
#define QS_EVEN_MASK {0, 2}
#define QS_ODD_MASK {1, 3}
#define QS_LO_MASK {0, 2}
#define QS_HI_MASK {1, 3}
#elif QS_VN == 4 /* AVX2 complex128 */
#define QS_EVEN_MASK {0, 4, 2, 6}
#define QS_ODD_MASK {1, 5, 3, 7}
#define QS_LO_MASK {0, 4, 2, 6}
#define QS_HI_MASK {1, 5, 3, 7}
#elif QS_VN == 8 && !QS_F32 /* AVX-512 complex128 */
#define QS_EVEN_MASK {0, 8, 2, 10, 4, 12, 6, 14}
#define QS_ODD_MASK {1, 9, 3, 11, 5, 13, 7, 15}
#define QS_LO_MASK {0, 8, 2, 10, 4, 12, 6, 14}
#define QS_HI_MASK {1, 9, 3, 11, 5, 13, 7, 15}
#elif QS_VN == 8 /* AVX2 complex64 */
#define QS_EVEN_MASK {0, 2, 8, 10, 4, 6, 12, 14}
#define QS_ODD_MASK {1, 3, 9, 11, 5, 7, 13, 15}
#define QS_LO_MASK {0, 8, 1, 9, 4, 12, 5, 13}
#define QS_HI_MASK {2, 10, 3, 11, 6, 14, 7, 15}
#else /* AVX-512 complex64 */
#define QS_EVEN_MASK {0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30}
#define QS_ODD_MASK {1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31}
#define QS_LO_MASK {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29}
#define QS_HI_MASK {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31}
#endif
#define QS_VLOAD(p) (*(const FN(vtu) *)(p))
#define QS_VSTORE(p, v) (*(FN(vtu) *)(p) = (v))

typedef struct {
    qs_layout L;                   /* over vector indices: n - QS_LOG_VC bits */
    int D;                         /* lane offsets d (1 = none) */
    uint64_t off[1 << QS_MAX_TARGETS]; /* reals from the group base to stream C */
    FN(vp) perm[QS_VC];            /* permutation for the di-th lane offset */
    const QS_REAL *ws;             /* uniform dense: (re, im) of W[R][C] at 2*(R*NH + C) */
    const FN(vt) *wv;              /* lane dense: A, B at 2*(((R/RB*NH + C)*D + di)*RB + R%RB) */
    int nrows;                     /* diagonal: streams that change */
    int rows[1 << QS_MAX_TARGETS];
    qs_range_fn fn;                /* the kernel (NULL: nothing to do) */
    void *wraw;                    /* allocation holding ws / wv */
    int64_t nwork;                 /* work items of fn (chunks, or runs of vectors) */
    /* Sequential diagonal: vector u takes factor row seq_lo[u % run] | hi(u / run). */
    uint64_t run;                  /* vectors per run (a power of two, <= 256) */
    uint16_t seq_lo[256];
    int nhi, hi_pos[QS_MAX_QUBITS], hi_bit[QS_MAX_QUBITS];
} FN(vctx);

/* What a kernel call receives: a prepared gate (shared, read-only) and the state to update,
 * so threads can run one prepared gate on different buffers at once. */
typedef struct {
    const FN(vctx) *ctx;
    QS_REAL *state;
} FN(vcall);

/* (-1, 1, -1, 1, ...): turns swap(x) = (im, re) into i*x = (-im, re). */
QS_ATTR static QS_ALWAYS_INLINE FN(vt) FN(vsign)(void)
{
    union {
        FN(vt) v;
        QS_REAL r[QS_VN];
    } u;
    int i;
    for (i = 0; i < QS_VN; ++i) u.r[i] = (i & 1) ? (QS_REAL)1 : (QS_REAL)-1;
    return u.v;
}

/* Kernels for each number of high targets. */
#define QS_H 0
#include "kernels_vecg.h"
#undef QS_H
#define QS_H 1
#include "kernels_vecg.h"
#undef QS_H
#define QS_H 2
#include "kernels_vecg.h"
#undef QS_H
#define QS_H 3
#include "kernels_vecg.h"
#undef QS_H
#define QS_H 4
#include "kernels_vecg.h"
#undef QS_H
#define QS_H 5
#include "kernels_vecg.h"
#undef QS_H
#define QS_H 6
#include "kernels_vecg.h"
#undef QS_H

/* All high controls at vector bit 1 or above (the split kernel's groups are two vectors). */
static int FN(ch_min_ok)(const int *ch, int nch)
{
    int i;
    for (i = 0; i < nch; ++i) {
        if (ch[i] < 1) return 0;
    }
    return 1;
}

/* Diagonal gates: each changing stream R is scaled lane by lane, y = A*x + B*swap(x). */
QS_ATTR static void FN(vdiag)(void *vctx, int64_t c0, int64_t c1)
{
    const FN(vcall) *call = (const FN(vcall) *)vctx;
    const FN(vctx) *ctx = call->ctx;
    const qs_layout *L = &ctx->L;
    const FN(vt) *w = ctx->wv;
    QS_REAL *s = call->state;
    const int nr = ctx->nrows;
    uint64_t b = qs_base(L, c0);
    int64_t c;
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *p = s + (uint64_t)QS_VN * b;
        uint64_t j;
        int i;
        for (i = 0; i < nr; ++i) {
            QS_REAL *QS_RESTRICT q = p + ctx->off[ctx->rows[i]];
            const FN(vt) a = w[2 * i], bb = w[2 * i + 1];
            for (j = 0; j < L->chunk; ++j) {
                const FN(vt) x = QS_VLOAD(q + QS_VN * j);
                QS_VSTORE(q + QS_VN * j, a * x + bb * QS_VSWAP(x));
            }
        }
    }
}

/* Diagonal gates walked in memory order: each vector's factors come from a small table indexed
 * by the vector's bits at the high targets and high controls (rows whose controls do not
 * match hold the identity).  Used when the streams of vdiag would be short or many. */
QS_ATTR static void FN(vdiag_seq)(void *vctx, int64_t c0, int64_t c1)
{
    const FN(vcall) *call = (const FN(vcall) *)vctx;
    const FN(vctx) *ctx = call->ctx;
    const FN(vt) *QS_RESTRICT w = ctx->wv;
    const uint64_t run = ctx->run;
    QS_REAL *s = call->state;
    uint16_t lo[256];
    int64_t c;
    uint64_t x;
    int i;
    for (x = 0; x < run; ++x) lo[x] = ctx->seq_lo[x];
    for (c = c0; c < c1; ++c) {
        const uint64_t u0 = (uint64_t)c * run;
        QS_REAL *QS_RESTRICT p = s + (uint64_t)QS_VN * u0;
        unsigned hi = 0;
        for (i = 0; i < ctx->nhi; ++i) hi |= (unsigned)((u0 >> ctx->hi_pos[i]) & 1) << ctx->hi_bit[i];
        for (x = 0; x < run; ++x) {
            const unsigned r = lo[x] | hi;
            const FN(vt) v = QS_VLOAD(p + QS_VN * x);
            QS_VSTORE(p + QS_VN * x, w[2 * r] * v + w[2 * r + 1] * QS_VSWAP(v));
        }
    }
}

/* The lane permutation index vector for offset d: lane l reads lane l ^ d. */
static void FN(perm_index)(FN(vp) *out, int d)
{
    union {
        FN(vp) v;
        int64_t i64[8];
        int32_t i32[16];
    } u;
    int l;
    memset(&u, 0, sizeof(u));
#if QS_ISA == 2 && !QS_F32
    for (l = 0; l < QS_VC; ++l) {
        u.i64[2 * l] = 2 * (l ^ d);
        u.i64[2 * l + 1] = 2 * (l ^ d) + 1;
    }
#else
    {
        const int per = (int)(sizeof(FN(vp)) / sizeof(int32_t)) / QS_VC; /* 32-bit words a lane */
        int w;
        for (l = 0; l < QS_VC; ++l) {
            for (w = 0; w < per; ++w) u.i32[per * l + w] = per * (l ^ d) + w;
        }
    }
#endif
    *out = u.v;
}

/* Prepare ctx (allocated by the caller) to apply gate g to n-qubit states: layout, weights and
 * kernel.  Returns 1 if ready (release with vfree), 0 if the state is smaller than one vector
 * (the caller falls back; nothing to release), QS_ERR_NOMEM on allocation failure. */
static int FN(vprep)(FN(vctx) *ctx, int n, const qs_gate *g)
{
    static const qs_range_fn dense_u[7] = {FN(vdu0), FN(vdu1), FN(vdu2), FN(vdu3),
                                           FN(vdu4), FN(vdu5), FN(vdu6)};
    static const qs_range_fn dense_g[7] = {FN(vdg0), FN(vdg1), FN(vdg2), FN(vdg3),
                                           FN(vdg4), FN(vdg5), FN(vdg6)};
    static const qs_range_fn dense_l[7][4] = {
        {FN(vdlA0), FN(vdlB0), FN(vdlC0), FN(vdlD0)},
        {FN(vdlA1), FN(vdlB1), FN(vdlC1), FN(vdlD1)},
        {FN(vdlA2), FN(vdlB2), FN(vdlC2), FN(vdlD2)},
        {FN(vdlA3), FN(vdlB3), FN(vdlC3), FN(vdlD3)},
        {FN(vdlA4), FN(vdlB4), FN(vdlC4), FN(vdlD4)},
        {FN(vdlA5), FN(vdlB5), FN(vdlC5), FN(vdlD5)},
        {FN(vdlA6), FN(vdlB6), FN(vdlC6), FN(vdlD6)},
    };
    const int v = QS_LOG_VC, k = g->k, K = 1 << k;
    int th[QS_MAX_TARGETS] = {0}, hb[QS_MAX_TARGETS], lq[QS_MAX_TARGETS], lb[QS_MAX_TARGETS];
    int ch[QS_MAX_QUBITS] = {0}, h = 0, nl = 0, nch = 0, i, j, NH, D, di, R, C, l;
    int64_t cs_high = 0;
    unsigned lane_ok = 0; /* bit l: lane l satisfies the low controls */
    int dlist[QS_VC];
    void *wraw = NULL;
    if (n < v) return 0;
    ctx->wraw = NULL;
    ctx->fn = NULL;
    for (i = 0; i < k; ++i) {
        if (g->targets[i] >= v) {
            th[h] = g->targets[i] - v;
            hb[h++] = i;
        } else {
            lq[nl] = g->targets[i];
            lb[nl++] = i;
        }
    }
    for (l = 0; l < QS_VC; ++l) lane_ok |= 1u << l;
    for (i = 0; i < g->nc; ++i) {
        const int want = g->ctrl_state < 0 ? 1 : (int)((g->ctrl_state >> i) & 1);
        if (g->controls[i] >= v) {
            if (want) cs_high |= (int64_t)1 << nch;
            ch[nch++] = g->controls[i] - v;
        } else {
            for (l = 0; l < QS_VC; ++l) {
                if (((l >> g->controls[i]) & 1) != want) lane_ok &= ~(1u << l);
            }
        }
    }
    qs_layout_init(&ctx->L, n - v, th, h, ch, nch, cs_high);
    NH = 1 << h;
    for (C = 0; C < NH; ++C) {
        uint64_t o = 0;
        for (j = 0; j < h; ++j) {
            if ((C >> j) & 1) o |= (uint64_t)1 << (th[j] + v);
        }
        ctx->off[C] = 2 * o;
    }
    /* Lane offsets: every subset of the low targets' lane bits. */
    D = 1 << nl;
    for (di = 0; di < D; ++di) {
        int d = 0;
        for (j = 0; j < nl; ++j) {
            if ((di >> j) & 1) d |= 1 << lq[j];
        }
        dlist[di] = d;
        FN(perm_index)(&ctx->perm[di], d);
    }
    ctx->D = D;
#define QS_MIDX(R_, l_) qs_midx((R_), (l_), h, hb, nl, lq, lb)
    if (g->kind == QS_GATE_DIAGONAL && h + nch <= 7 && ctx->L.chunk < 4 &&
        n - v >= 1) {
        /* Sequential walk with a factor table over (high targets, high controls). */
        const int bits = h + nch, rows = 1 << bits;
        const int vb = n - v; /* vector index bits */
        int pos[QS_MAX_TARGETS + 8], x;
        FN(vt) *w = (FN(vt) *)qs_aligned_malloc(2 * (size_t)rows * sizeof(FN(vt)), &wraw);
        if (w == NULL) return QS_ERR_NOMEM;
        for (j = 0; j < h; ++j) pos[j] = th[j];
        for (j = 0; j < nch; ++j) pos[h + j] = ch[j];
        for (R = 0; R < rows; ++R) {
            union {
                FN(vt) v;
                QS_REAL r[QS_VN];
            } a, bb;
            const int cbits = R >> h;
            const int match = (int64_t)cbits == (cs_high & (((int64_t)1 << nch) - 1));
            for (l = 0; l < QS_VC; ++l) {
                double re = 1.0, im = 0.0;
                if (match && ((lane_ok >> l) & 1)) {
                    const int m = QS_MIDX(R & (NH - 1), l);
                    re = g->data[2 * m];
                    im = g->data[2 * m + 1];
                }
                a.r[2 * l] = a.r[2 * l + 1] = (QS_REAL)re;
                bb.r[2 * l] = (QS_REAL)-im;
                bb.r[2 * l + 1] = (QS_REAL)im;
            }
            w[2 * R] = a.v;
            w[2 * R + 1] = bb.v;
        }
        ctx->run = vb >= 8 ? 256 : (uint64_t)1 << vb;
        for (x = 0; x < (int)ctx->run; ++x) {
            unsigned r = 0;
            for (j = 0; j < bits; ++j) {
                if (pos[j] < 8) r |= (unsigned)((x >> pos[j]) & 1) << j;
            }
            ctx->seq_lo[x] = (uint16_t)r;
        }
        ctx->nhi = 0;
        for (j = 0; j < bits; ++j) {
            if (pos[j] >= 8) {
                ctx->hi_pos[ctx->nhi] = pos[j];
                ctx->hi_bit[ctx->nhi++] = j;
            }
        }
        ctx->wv = w;
        ctx->wraw = wraw;
        ctx->fn = FN(vdiag_seq);
        ctx->nwork = (int64_t)(((uint64_t)1 << vb) / ctx->run);
        return 1;
    }
    if (g->kind == QS_GATE_DIAGONAL) {
        FN(vt) *w = (FN(vt) *)qs_aligned_malloc(2 * (size_t)NH * sizeof(FN(vt)), &wraw);
        if (w == NULL) return QS_ERR_NOMEM;
        ctx->nrows = 0;
        for (R = 0; R < NH; ++R) {
            union {
                FN(vt) v;
                QS_REAL r[QS_VN];
            } a, bb;
            int ident = 1;
            for (l = 0; l < QS_VC; ++l) {
                double re = 1.0, im = 0.0;
                if ((lane_ok >> l) & 1) {
                    const int m = QS_MIDX(R, l);
                    re = g->data[2 * m];
                    im = g->data[2 * m + 1];
                }
                if (re != 1.0 || im != 0.0) ident = 0;
                a.r[2 * l] = a.r[2 * l + 1] = (QS_REAL)re;
                bb.r[2 * l] = (QS_REAL)-im;
                bb.r[2 * l + 1] = (QS_REAL)im;
            }
            if (ident) continue; /* phase-type gates leave most streams alone */
            w[2 * ctx->nrows] = a.v;
            w[2 * ctx->nrows + 1] = bb.v;
            ctx->rows[ctx->nrows++] = R;
        }
        ctx->wv = w;
        ctx->wraw = wraw;
        ctx->fn = ctx->nrows ? FN(vdiag) : NULL; /* NULL: the identity */
        ctx->nwork = ctx->L.nchunks;
        return 1;
    }
    (void)K;
    if (nl == 0 && lane_ok == (1u << QS_VC) - 1 && h >= QS_SPLIT_MIN_H && n - v >= 1 &&
        qs_split_kernels) {
        int lowest = th[0];
        for (j = 1; j < h; ++j) lowest = th[j] < lowest ? th[j] : lowest;
        if (lowest >= 1 && FN(ch_min_ok)(ch, nch)) {
            /* Split (Gauss) kernel, for 3 or more high targets (below that its shuffles cost
             * more than the multiplications it saves): groups of two vectors, so targets and
             * controls from vector bit 1 up; A, B and A + B per entry. */
            int th1[QS_MAX_TARGETS], ch1[QS_MAX_QUBITS];
            QS_REAL *w = (QS_REAL *)qs_aligned_malloc(3 * (size_t)NH * NH * sizeof(QS_REAL),
                                                      &wraw);
            if (w == NULL) return QS_ERR_NOMEM;
            for (j = 0; j < h; ++j) th1[j] = th[j] - 1;
            for (j = 0; j < nch; ++j) ch1[j] = ch[j] - 1;
            qs_layout_init(&ctx->L, n - v - 1, th1, h, ch1, nch, cs_high);
            for (R = 0; R < NH; ++R) {
                const int r = QS_MIDX(R, 0);
                for (C = 0; C < NH; ++C) {
                    const int cc = QS_MIDX(C, 0);
                    const double a = g->data[2 * (r * K + cc)], bi = g->data[2 * (r * K + cc) + 1];
                    w[3 * (R * NH + C)] = (QS_REAL)a;
                    w[3 * (R * NH + C) + 1] = (QS_REAL)bi;
                    w[3 * (R * NH + C) + 2] = (QS_REAL)(a + bi);
                }
            }
            ctx->ws = w;
            ctx->wraw = wraw;
            ctx->fn = dense_g[h];
            ctx->nwork = ctx->L.nchunks;
            return 1;
        }
    }
    if (nl == 0 && lane_ok == (1u << QS_VC) - 1 && (h >= 2 || !qs_split_kernels)) {
        /* (one high target: the lane kernel below, with the weights in registers, is faster) */
        /* Uniform: the matrix in state precision, reordered to stream indices. */
        QS_REAL *w = (QS_REAL *)qs_aligned_malloc(2 * (size_t)NH * NH * sizeof(QS_REAL), &wraw);
        if (w == NULL) return QS_ERR_NOMEM;
        for (R = 0; R < NH; ++R) {
            const int r = QS_MIDX(R, 0);
            for (C = 0; C < NH; ++C) {
                const int c = QS_MIDX(C, 0);
                w[2 * (R * NH + C)] = (QS_REAL)g->data[2 * (r * K + c)];
                w[2 * (R * NH + C) + 1] = (QS_REAL)g->data[2 * (r * K + c) + 1];
            }
        }
        ctx->ws = w;
        ctx->wraw = wraw;
        ctx->fn = dense_u[h];
        ctx->nwork = ctx->L.nchunks;
    } else {
        const int RB = NH < QS_RB ? NH : QS_RB;
        FN(vt) *w = (FN(vt) *)qs_aligned_malloc(2 * (size_t)NH * NH * D * sizeof(FN(vt)), &wraw);
        int dsel = D == 1 ? 0 : D == 2 ? 1 : D == 4 ? 2 : 3;
        if (w == NULL) return QS_ERR_NOMEM;
        for (R = 0; R < NH; ++R) {
            for (C = 0; C < NH; ++C) {
                for (di = 0; di < D; ++di) {
                    union {
                        FN(vt) v;
                        QS_REAL r[QS_VN];
                    } a, bb;
                    const size_t at = 2 * ((((size_t)(R / RB) * NH + C) * D + di) * RB + R % RB);
                    for (l = 0; l < QS_VC; ++l) {
                        double re, im;
                        if ((lane_ok >> l) & 1) {
                            const int r = QS_MIDX(R, l), c = QS_MIDX(C, l ^ dlist[di]);
                            re = g->data[2 * (r * K + c)];
                            im = g->data[2 * (r * K + c) + 1];
                        } else {
                            re = (R == C && di == 0) ? 1.0 : 0.0;
                            im = 0.0;
                        }
                        a.r[2 * l] = a.r[2 * l + 1] = (QS_REAL)re;
                        bb.r[2 * l] = (QS_REAL)-im;
                        bb.r[2 * l + 1] = (QS_REAL)im;
                    }
                    w[at] = a.v;
                    w[at + 1] = bb.v;
                }
            }
        }
        ctx->wv = w;
        ctx->wraw = wraw;
        ctx->fn = dense_l[h][dsel];
        ctx->nwork = ctx->L.nchunks;
    }
#undef QS_MIDX
    return 1;
}

static void FN(vfree)(FN(vctx) *ctx)
{
    free(ctx->wraw);
    ctx->wraw = NULL;
}

/* Run a prepared gate on a state of the prepared size with at most nt threads. */
static void FN(vrun)(const FN(vctx) *ctx, void *state, int nt)
{
    FN(vcall) call;
    if (ctx->fn == NULL) return;
    call.ctx = ctx;
    call.state = (QS_REAL *)state;
    qs_parallel(ctx->fn, &call, ctx->nwork, nt);
}

/* Apply a gate with the vector kernels.  Returns 1 if done, 0 if the state is smaller than one
 * vector (the caller falls back), QS_ERR_NOMEM on allocation failure. */
static int FN(vapply)(void *state, int n, const qs_gate *g, int nt)
{
    void *raw;
    FN(vctx) *ctx = (FN(vctx) *)qs_aligned_malloc(sizeof(FN(vctx)), &raw);
    int rc;
    if (ctx == NULL) return QS_ERR_NOMEM;
    rc = FN(vprep)(ctx, n, g);
    if (rc == 1) {
        FN(vrun)(ctx, state, nt);
        FN(vfree)(ctx);
    }
    free(raw);
    return rc;
}

#if !QS_F32
/* Pauli expectation blocks (see pauli_blocks in kernels_impl.h) with the products
 * conj(psi[i ^ x]) psi[i] computed a vector at a time: the partner vector is the one at
 * (i ^ x) without the lane bits of x, with its lanes permuted by them.  complex128 only. */
#if QS_VN == 2
#define QS_EXACT_EVEN {0, 2}
#define QS_EXACT_ODD {1, 3}
#elif QS_VN == 4
#define QS_EXACT_EVEN {0, 2, 4, 6}
#define QS_EXACT_ODD {1, 3, 5, 7}
#else
#define QS_EXACT_EVEN {0, 2, 4, 6, 8, 10, 12, 14}
#define QS_EXACT_ODD {1, 3, 5, 7, 9, 11, 13, 15}
#endif
QS_ATTR static void FN(vpauli_blocks)(void *vctx, int64_t b0, int64_t b1)
{
    const qs_pauli_ctx *ctx = (const qs_pauli_ctx *)vctx;
    const QS_REAL *s = (const QS_REAL *)ctx->state;
    const uint64_t sub = ctx->sub, x = ctx->x, xlo = x & (sub - 1), xhi = x & ~(sub - 1);
    const uint64_t xv = xlo & ~(uint64_t)(QS_VC - 1); /* vector part of the low bits */
    const int xl = (int)(xlo & (QS_VC - 1));          /* lane part */
    double wr[QS_PAULI_SUB] __attribute__((aligned(64)));
    double wi[QS_PAULI_SUB] __attribute__((aligned(64)));
    FN(vp) perm;
    int64_t b;
    int t;
    FN(perm_index)(&perm, xl);
    (void)perm;
    for (b = b0; b < b1; ++b) {
        double *part = ctx->part + b * ctx->G;
        uint64_t i0;
        for (t = 0; t < ctx->G; ++t) part[t] = 0.0;
        for (i0 = (uint64_t)b * ctx->block; i0 < (uint64_t)(b + 1) * ctx->block; i0 += sub) {
            const QS_REAL *QS_RESTRICT pb = s + 2 * i0;
            if (i0 & ctx->skip) continue; /* the partner half, counted twice by the driver */
            const QS_REAL *QS_RESTRICT pa = s + 2 * (i0 ^ xhi);
            uint64_t u;
            for (u = 0; u < sub; u += 2 * QS_VC) {
                FN(vt) a0 = QS_VLOAD(pa + 2 * (u ^ xv)), a1 = QS_VLOAD(pa + 2 * ((u + QS_VC) ^ xv));
                const FN(vt) c0 = QS_VLOAD(pb + 2 * u), c1 = QS_VLOAD(pb + 2 * (u + QS_VC));
                FN(vt) p0, p1, q0, q1;
                if (xl) {
                    a0 = QS_PERMUTE(a0, perm);
                    a1 = QS_PERMUTE(a1, perm);
                }
                p0 = a0 * c0; /* (ar br, ai bi) */
                p1 = a1 * c1;
                q0 = a0 * QS_VSWAP(c0); /* (ar bi, ai br) */
                q1 = a1 * QS_VSWAP(c1);
                *(FN(vt) *)(wr + u) = __builtin_shuffle(p0, p1, (FN(vm))QS_EXACT_EVEN) +
                                      __builtin_shuffle(p0, p1, (FN(vm))QS_EXACT_ODD);
                *(FN(vt) *)(wi + u) = __builtin_shuffle(q0, q1, (FN(vm))QS_EXACT_EVEN) -
                                      __builtin_shuffle(q0, q1, (FN(vm))QS_EXACT_ODD);
            }
            for (t = 0; t < ctx->G; ++t) {
                const double *QS_RESTRICT w = ctx->need_im[t] ? wi : wr;
                const double *QS_RESTRICT sg = ctx->sgn + (uint64_t)t * sub;
                FN(vt) acc0 = {0}, acc1 = {0};
                double sum = 0.0;
                int v;
                for (u = 0; u + 2 * QS_VN <= sub; u += 2 * QS_VN) {
                    acc0 += QS_VLOAD(sg + u) * *(const FN(vt) *)(w + u);
                    acc1 += QS_VLOAD(sg + u + QS_VN) * *(const FN(vt) *)(w + u + QS_VN);
                }
                acc0 += acc1;
                for (v = 0; v < QS_VN; ++v) sum += acc0[v];
                for (; u < sub; ++u) sum += sg[u] * w[u];
                part[t] += qs_parity64(i0 & ctx->z[t]) ? -sum : sum;
            }
        }
    }
}
#undef QS_EXACT_EVEN
#undef QS_EXACT_ODD
#endif

#undef QS_VC
#undef QS_RB
#undef QS_LOG_VC
#undef QS_VN
#undef QS_PERMUTE
#undef QS_SWAP_MASK
#undef QS_VSWAP
#undef QS_EVEN_MASK
#undef QS_ODD_MASK
#undef QS_LO_MASK
#undef QS_HI_MASK
#undef QS_VLOAD
#undef QS_VSTORE
