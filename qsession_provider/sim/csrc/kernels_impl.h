/*
 * kernels_impl.h -- the statevector math, written once.
 *
 * kernels.c includes this file once per (precision, instruction set).  Before each inclusion
 * it defines:
 *   QS_REAL   double (complex128 states) or float (complex64 states)
 *   QS_SFX    a name suffix such as c128_avx2, so every inclusion gets its own symbols
 *   QS_ATTR   function attributes for the hot loops, e.g. __attribute__((target("avx2,fma")))
 *   QS_VBYTES, QS_MATK_BLOCK  vector width in bytes and accumulator block of kernels_matk.h
 * and the inclusion ends by defining `static const qs_ops ops_<QS_SFX>`.
 *
 * Gates: kernels_vec.h (vectorised over consecutive amplitudes, any target set, dense and
 * diagonal; the split-form kernels there save a quarter of the multiplications) handles every
 * gate on states of at least one vector.  The scalar kernels -- mat1 / mat2 / kernels_matk.h
 * (k = 3..6) for dense matrices, diag1 / diag2 / diagk for diagonals, unit kernels for gates on
 * the lowest qubits -- remain for smaller states and compilers without vector extensions.
 * FN(apply_gate_nt) picks one.  FN(run_tiled) applies groups of gates chunk by chunk in
 * cache-resident buffers (one pass over memory per tile), each gate prepared once.
 *
 * Loops that touch the state take (ctx, lo, hi) and run serially over a range of chunks or
 * blocks; qs_parallel() in kernels.c splits that range over OpenMP threads.  Reductions write
 * one partial sum per fixed block and are combined in block order, so results do not depend on
 * the number of threads.
 */

#define FN(name) QS_CAT(name, QS_SFX)
#define FNK(name) QS_CAT3(name, QS_KLOG, QS_SFX)

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Sum of |a|^2 over len interleaved amplitudes; eight accumulators in a fixed order. */
QS_ATTR static QS_ALWAYS_INLINE double FN(sumsq)(const QS_REAL *QS_RESTRICT p, uint64_t len)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    uint64_t i = 0, v;
    for (; i + 8 <= len; i += 8) {
        for (v = 0; v < 8; ++v) {
            const double re = (double)p[2 * (i + v)], im = (double)p[2 * (i + v) + 1];
            acc[v] += re * re + im * im;
        }
    }
    for (v = 0; i < len; ++i, ++v) {
        const double re = (double)p[2 * i], im = (double)p[2 * i + 1];
        acc[v] += re * re + im * im;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ------------------------------------------------------------------------------------------ */
/* Dense gates                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* k = 1: two streams p (target bit 0) and q (target bit 1), contiguous over a chunk. */
QS_ATTR static void FN(mat1)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_gate_ctx *ctx = (const qs_gate_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const double *m = ctx->data;
    const QS_REAL m00r = (QS_REAL)m[0], m00i = (QS_REAL)m[1], m01r = (QS_REAL)m[2],
                  m01i = (QS_REAL)m[3], m10r = (QS_REAL)m[4], m10i = (QS_REAL)m[5],
                  m11r = (QS_REAL)m[6], m11i = (QS_REAL)m[7];
    const uint64_t d = 2 * L->off[1], len = 2 * L->chunk;
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *QS_RESTRICT p = s + 2 * b;
        QS_REAL *QS_RESTRICT q = p + d;
        uint64_t j;
        for (j = 0; j < len; j += 2) {
            const QS_REAL ar = p[j], ai = p[j + 1], br = q[j], bi = q[j + 1];
            p[j] = m00r * ar - m00i * ai + m01r * br - m01i * bi;
            p[j + 1] = m00r * ai + m00i * ar + m01r * bi + m01i * br;
            q[j] = m10r * ar - m10i * ai + m11r * br - m11i * bi;
            q[j + 1] = m10r * ai + m10i * ar + m11r * bi + m11i * br;
        }
    }
}

/* k = 2: four streams at offsets off[0..3], contiguous over a chunk. */
QS_ATTR static void FN(mat2)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_gate_ctx *ctx = (const qs_gate_ctx *)vctx;
    const qs_layout *L = ctx->L;
    QS_REAL mr[4][4], mi[4][4];
    const uint64_t o1 = 2 * L->off[1], o2 = 2 * L->off[2], o3 = 2 * L->off[3];
    const uint64_t len = 2 * L->chunk;
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    int r, k;
    for (r = 0; r < 4; ++r) {
        for (k = 0; k < 4; ++k) {
            mr[r][k] = (QS_REAL)ctx->data[2 * (4 * r + k)];
            mi[r][k] = (QS_REAL)ctx->data[2 * (4 * r + k) + 1];
        }
    }
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *QS_RESTRICT p0 = s + 2 * b;
        QS_REAL *QS_RESTRICT p1 = p0 + o1;
        QS_REAL *QS_RESTRICT p2 = p0 + o2;
        QS_REAL *QS_RESTRICT p3 = p0 + o3;
        uint64_t j;
        for (j = 0; j < len; j += 2) {
            const QS_REAL ar[4] = {p0[j], p1[j], p2[j], p3[j]};
            const QS_REAL ai[4] = {p0[j + 1], p1[j + 1], p2[j + 1], p3[j + 1]};
            QS_REAL yr[4], yi[4];
            for (r = 0; r < 4; ++r) {
                yr[r] = mr[r][0] * ar[0] - mi[r][0] * ai[0] + mr[r][1] * ar[1] - mi[r][1] * ai[1]
                      + mr[r][2] * ar[2] - mi[r][2] * ai[2] + mr[r][3] * ar[3] - mi[r][3] * ai[3];
                yi[r] = mr[r][0] * ai[0] + mi[r][0] * ar[0] + mr[r][1] * ai[1] + mi[r][1] * ar[1]
                      + mr[r][2] * ai[2] + mi[r][2] * ar[2] + mr[r][3] * ai[3] + mi[r][3] * ar[3];
            }
            p0[j] = yr[0]; p0[j + 1] = yi[0];
            p1[j] = yr[1]; p1[j + 1] = yi[1];
            p2[j] = yr[2]; p2[j + 1] = yi[2];
            p3[j] = yr[3]; p3[j + 1] = yi[3];
        }
    }
}

/* k = 3..6: gather 2**k amplitudes, small mat-vec with a compile-time size, scatter. */
#define QS_KLOG 3
#include "kernels_matk.h"
#undef QS_KLOG
#define QS_KLOG 4
#include "kernels_matk.h"
#undef QS_KLOG
#define QS_KLOG 5
#include "kernels_matk.h"
#undef QS_KLOG
#define QS_KLOG 6
#include "kernels_matk.h"
#undef QS_KLOG

/* ------------------------------------------------------------------------------------------ */
/* Diagonal gates                                                                              */
/* ------------------------------------------------------------------------------------------ */

#define QS_CMUL_INPLACE(P, J, DR, DI)                                                         \
    do {                                                                                      \
        const QS_REAL xr_ = (P)[J], xi_ = (P)[(J) + 1];                                       \
        (P)[J] = (DR) * xr_ - (DI) * xi_;                                                     \
        (P)[(J) + 1] = (DR) * xi_ + (DI) * xr_;                                               \
    } while (0)

QS_ATTR static void FN(diag1)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_gate_ctx *ctx = (const qs_gate_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const double *d = ctx->data;
    const QS_REAL d0r = (QS_REAL)d[0], d0i = (QS_REAL)d[1], d1r = (QS_REAL)d[2],
                  d1i = (QS_REAL)d[3];
    /* Phase-type gates diag(1, z) leave the first stream alone. */
    const int skip0 = (d[0] == 1.0 && d[1] == 0.0);
    const uint64_t o1 = 2 * L->off[1], len = 2 * L->chunk;
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *QS_RESTRICT p = s + 2 * b;
        QS_REAL *QS_RESTRICT q = p + o1;
        uint64_t j;
        if (!skip0) {
            for (j = 0; j < len; j += 2) QS_CMUL_INPLACE(p, j, d0r, d0i);
        }
        for (j = 0; j < len; j += 2) QS_CMUL_INPLACE(q, j, d1r, d1i);
    }
}

QS_ATTR static void FN(diag2)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_gate_ctx *ctx = (const qs_gate_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const double *d = ctx->data;
    const QS_REAL d0r = (QS_REAL)d[0], d0i = (QS_REAL)d[1], d1r = (QS_REAL)d[2],
                  d1i = (QS_REAL)d[3], d2r = (QS_REAL)d[4], d2i = (QS_REAL)d[5],
                  d3r = (QS_REAL)d[6], d3i = (QS_REAL)d[7];
    const uint64_t o1 = 2 * L->off[1], o2 = 2 * L->off[2], o3 = 2 * L->off[3];
    const uint64_t len = 2 * L->chunk;
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *QS_RESTRICT p0 = s + 2 * b;
        QS_REAL *QS_RESTRICT p1 = p0 + o1;
        QS_REAL *QS_RESTRICT p2 = p0 + o2;
        QS_REAL *QS_RESTRICT p3 = p0 + o3;
        uint64_t j;
        for (j = 0; j < len; j += 2) {
            QS_CMUL_INPLACE(p0, j, d0r, d0i);
            QS_CMUL_INPLACE(p1, j, d1r, d1i);
            QS_CMUL_INPLACE(p2, j, d2r, d2i);
            QS_CMUL_INPLACE(p3, j, d3r, d3i);
        }
    }
}

/* k >= 3: each diagonal entry scales one stream of the chunk. */
QS_ATTR static void FN(diagk)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_gate_ctx *ctx = (const qs_gate_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const uint64_t K = (uint64_t)1 << L->k, len = 2 * L->chunk;
    QS_REAL dr[1 << QS_MAX_TARGETS], di[1 << QS_MAX_TARGETS];
    QS_REAL *s = (QS_REAL *)ctx->state;
    uint64_t r;
    int64_t c;
    for (r = 0; r < K; ++r) {
        dr[r] = (QS_REAL)ctx->data[2 * r];
        di[r] = (QS_REAL)ctx->data[2 * r + 1];
    }
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *base = s + 2 * b;
        for (r = 0; r < K; ++r) {
            QS_REAL *QS_RESTRICT p = base + 2 * L->off[r];
            const QS_REAL xr = dr[r], xi = di[r];
            uint64_t j;
            for (j = 0; j < len; j += 2) QS_CMUL_INPLACE(p, j, xr, xi);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Gates on the lowest qubits, walked unit by unit (see qs_unit_layout)                        */
/* ------------------------------------------------------------------------------------------ */

/* Diagonal gates with every target below bit 6: the factor of amplitude i is f[i % QS_PAT]. */
QS_ATTR static void FN(diag_units)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_pattern_ctx *ctx = (const qs_pattern_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const QS_REAL *QS_RESTRICT fr = (const QS_REAL *)ctx->a;
    const QS_REAL *QS_RESTRICT fi = (const QS_REAL *)ctx->a1;
    const uint64_t run = L->chunk << ctx->unit_log; /* amplitudes per chunk */
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *p = s + 2 * (b << ctx->unit_log);
        uint64_t i, u;
        if (run >= QS_PAT) {
            for (i = 0; i < run; i += QS_PAT) {
                QS_REAL *QS_RESTRICT q = p + 2 * i;
                for (u = 0; u < QS_PAT; ++u) QS_CMUL_INPLACE(q, 2 * u, fr[u], fi[u]);
            }
        } else { /* a control right above the targets: runs shorter than the pattern */
            for (u = 0; u < run; ++u) QS_CMUL_INPLACE(p, 2 * u, fr[u], fi[u]);
        }
    }
}

/* k = 1 on qubit t < 3: units of 2T amplitudes (T = 2**t) hold T pairs (l, l + T). */
QS_ATTR static QS_ALWAYS_INLINE void FN(mat1_units)(const qs_pattern_ctx *ctx, int64_t c0,
                                                     int64_t c1, const int T)
{
    const qs_layout *L = ctx->L;
    const double *m = ctx->data;
    const QS_REAL m00r = (QS_REAL)m[0], m00i = (QS_REAL)m[1], m01r = (QS_REAL)m[2],
                  m01i = (QS_REAL)m[3], m10r = (QS_REAL)m[4], m10i = (QS_REAL)m[5],
                  m11r = (QS_REAL)m[6], m11i = (QS_REAL)m[7];
    const uint64_t len = 4 * (uint64_t)T * L->chunk; /* reals per chunk */
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *QS_RESTRICT p = s + 4 * (uint64_t)T * b;
        uint64_t j;
        int l;
        for (j = 0; j < len; j += 4 * (uint64_t)T) {
            for (l = 0; l < T; ++l) {
                QS_REAL *x = p + j + 2 * l, *y = p + j + 2 * (l + T);
                const QS_REAL ar = x[0], ai = x[1], br = y[0], bi = y[1];
                x[0] = m00r * ar - m00i * ai + m01r * br - m01i * bi;
                x[1] = m00r * ai + m00i * ar + m01r * bi + m01i * br;
                y[0] = m10r * ar - m10i * ai + m11r * br - m11i * bi;
                y[1] = m10r * ai + m10i * ar + m11r * bi + m11i * br;
            }
        }
    }
}

QS_ATTR static void FN(mat1_units_q0)(void *vctx, int64_t c0, int64_t c1)
{
    FN(mat1_units)((const qs_pattern_ctx *)vctx, c0, c1, 1);
}

QS_ATTR static void FN(mat1_units_q1)(void *vctx, int64_t c0, int64_t c1)
{
    FN(mat1_units)((const qs_pattern_ctx *)vctx, c0, c1, 2);
}

QS_ATTR static void FN(mat1_units_q2)(void *vctx, int64_t c0, int64_t c1)
{
    FN(mat1_units)((const qs_pattern_ctx *)vctx, c0, c1, 4);
}

/* k = 2 on qubits {0, 1}: every unit is a quad of consecutive amplitudes. */
QS_ATTR static void FN(mat2_units)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_pattern_ctx *ctx = (const qs_pattern_ctx *)vctx;
    const qs_layout *L = ctx->L;
    QS_REAL qr[4][4], qi[4][4]; /* the matrix in quad order: Q[u][v] = M[row(u)][row(v)] */
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    int r, k;
    for (r = 0; r < 4; ++r) {
        for (k = 0; k < 4; ++k) {
            qr[ctx->off[r]][ctx->off[k]] = (QS_REAL)ctx->data[2 * (4 * r + k)];
            qi[ctx->off[r]][ctx->off[k]] = (QS_REAL)ctx->data[2 * (4 * r + k) + 1];
        }
    }
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *QS_RESTRICT p = s + 8 * b;
        uint64_t j;
        for (j = 0; j < 8 * L->chunk; j += 8) {
            QS_REAL xr[4], xi[4];
            for (k = 0; k < 4; ++k) {
                xr[k] = p[j + 2 * k];
                xi[k] = p[j + 2 * k + 1];
            }
            for (r = 0; r < 4; ++r) {
                p[j + 2 * r] = qr[r][0] * xr[0] - qi[r][0] * xi[0] + qr[r][1] * xr[1]
                             - qi[r][1] * xi[1] + qr[r][2] * xr[2] - qi[r][2] * xi[2]
                             + qr[r][3] * xr[3] - qi[r][3] * xi[3];
                p[j + 2 * r + 1] = qr[r][0] * xi[0] + qi[r][0] * xr[0] + qr[r][1] * xi[1]
                                 + qi[r][1] * xr[1] + qr[r][2] * xi[2] + qi[r][2] * xr[2]
                                 + qr[r][3] * xi[3] + qi[r][3] * xr[3];
            }
        }
    }
}

/* Try the unit kernels for gates on the lowest qubits; returns 0 if the gate does not fit. */
static int FN(apply_low)(void *state, int n, const qs_gate *g, int nt)
{
    const int B = qs_unit_bits(g);
    int t_min = g->targets[0], i, u;
    qs_layout L;
    qs_pattern_ctx ctx;
    QS_REAL fr[QS_PAT], fi[QS_PAT];
    qs_range_fn fn;
    for (i = 1; i < g->k; ++i) {
        if (g->targets[i] < t_min) t_min = g->targets[i];
    }
    if (B == 0 || B > QS_MAX_TARGETS || t_min >= 3) return 0;
    if (g->kind == QS_GATE_MATRIX && g->k > 2) return 0;
    if (g->kind == QS_GATE_MATRIX && g->k == 2 && B != 2) return 0;
    qs_unit_layout(&L, n, B, g->controls, g->nc, g->ctrl_state);
    ctx.state = state;
    ctx.L = &L;
    ctx.unit_log = B;
    ctx.a = fr;
    ctx.a1 = fi;
    ctx.data = g->data;
    if (g->kind == QS_GATE_DIAGONAL) {
        for (u = 0; u < QS_PAT; ++u) { /* factor of amplitude u: diag[bits of the targets] */
            int r = 0;
            for (i = 0; i < g->k; ++i) r |= ((u >> g->targets[i]) & 1) << i;
            fr[u] = (QS_REAL)g->data[2 * r];
            fi[u] = (QS_REAL)g->data[2 * r + 1];
        }
        fn = FN(diag_units);
    } else if (g->k == 1) {
        fn = g->targets[0] == 0   ? FN(mat1_units_q0)
             : g->targets[0] == 1 ? FN(mat1_units_q1)
                                  : FN(mat1_units_q2);
    } else {
        ctx.off[0] = 0;
        ctx.off[1] = (uint64_t)1 << g->targets[0];
        ctx.off[2] = (uint64_t)1 << g->targets[1];
        ctx.off[3] = 3;
        fn = FN(mat2_units);
    }
    qs_parallel(fn, &ctx, L.nchunks, nt);
    return 1;
}

#undef QS_CMUL_INPLACE

#if QS_VECTOR_EXT
#include "kernels_vec.h"
#endif

static int FN(apply_gate_nt)(void *state, int n, const qs_gate *g, int nt)
{
    qs_layout L;
    qs_gate_ctx ctx;
#if QS_VECTOR_EXT
    {
        const int rc = FN(vapply)(state, n, g, nt);
        if (rc < 0) return rc;
        if (rc) return QS_OK;
    }
#endif
    if (FN(apply_low)(state, n, g, nt)) return QS_OK;
    qs_layout_init(&L, n, g->targets, g->k, g->controls, g->nc, g->ctrl_state);
    ctx.state = state;
    ctx.L = &L;
    ctx.data = g->data;
    ctx.mre = ctx.mim = NULL;
    if (g->kind == QS_GATE_DIAGONAL) {
        qs_parallel(g->k == 1 ? FN(diag1) : g->k == 2 ? FN(diag2) : FN(diagk), &ctx,
                    L.nchunks, nt);
        return QS_OK;
    }
    if (g->k == 1) {
        qs_parallel(FN(mat1), &ctx, L.nchunks, nt);
    } else if (g->k == 2) {
        qs_parallel(FN(mat2), &ctx, L.nchunks, nt);
    } else {
        /* Column-major split copy in the state's precision: mre[c*K + r] = Re M[r][c]. */
        const int K = 1 << g->k;
        void *raw;
        QS_REAL *buf = (QS_REAL *)qs_aligned_malloc(2 * (size_t)K * (size_t)K * sizeof(QS_REAL),
                                                    &raw);
        qs_range_fn fn;
        int r, c;
        if (buf == NULL) return QS_ERR_NOMEM;
        for (c = 0; c < K; ++c) {
            for (r = 0; r < K; ++r) {
                buf[c * K + r] = (QS_REAL)g->data[2 * (r * K + c)];
                buf[K * K + c * K + r] = (QS_REAL)g->data[2 * (r * K + c) + 1];
            }
        }
        ctx.mre = buf;
        ctx.mim = buf + K * K;
        /* With k >= 4 streams all >= 4 KiB apart (a multiple of the L1 set stride), they
         * compete for the same cache sets: go through tiles of several indices. */
        ctx.tile = g->k >= 4 && L.chunk >= QS_MATK_TILE &&
                   qs_min_target_stride(g) * 2 * sizeof(QS_REAL) >= QS_MATK_TILE_MIN_BYTES;
        fn = g->k == 3 ? FN(matk3) : g->k == 4 ? FN(matk4) : g->k == 5 ? FN(matk5) : FN(matk6);
        qs_parallel(fn, &ctx, L.nchunks, nt);
        free(raw);
    }
    return QS_OK;
}

static int FN(apply_gate)(void *state, int n, const qs_gate *g)
{
    return FN(apply_gate_nt)(state, n, g, qs_threads_for(n));
}

static int FN(run_plan)(void *state, int n, const qs_gate *gates, int64_t ngates)
{
    const int nt = qs_threads_for(n);
    int64_t g;
    for (g = 0; g < ngates; ++g) {
        const int rc = FN(apply_gate_nt)(state, n, &gates[g], nt);
        if (rc != QS_OK) return rc;
    }
    return QS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Tiles: several gates per pass over the state, chunk by chunk in a cache-resident buffer     */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    QS_REAL *state;
    const qs_gate *gates;
    int64_t ngates;
    int nlocal;          /* L: the chunk holds 2**L amplitudes */
    int run_log;         /* r: local qubits 0..r-1 are global 0..r-1 (contiguous runs) */
    uint64_t high_mask;  /* global positions of local qubits r..L-1 */
    uint64_t free_mask;  /* global positions of the other qubits */
    QS_REAL *buffers;    /* one 2**L buffer per thread (NULL: in place, r == L) */
#if QS_VECTOR_EXT
    FN(vctx) *prepared;  /* gates prepared once for 2**L amplitudes (NULL: unprepared) */
#endif
    volatile int failed;
} FN(tile_ctx);

QS_ATTR static void FN(tile_chunks)(void *vctx, int64_t c0, int64_t c1)
{
    FN(tile_ctx) *ctx = (FN(tile_ctx) *)vctx;
    const int L = ctx->nlocal, r = ctx->run_log;
    const uint64_t run = (uint64_t)1 << r, nruns = (uint64_t)1 << (L - r);
    const uint64_t hm = ctx->high_mask, fm = ctx->free_mask;
    QS_REAL *buf = ctx->buffers ? ctx->buffers + ((size_t)2 << L) * qs_thread_id() : NULL;
    uint64_t base = qs_deposit((uint64_t)c0, fm);
    int64_t c, g;
    for (c = c0; c < c1; ++c, base = ((base | ~fm) + 1) & fm) {
        QS_REAL *work;
        uint64_t j, o;
        if (buf == NULL) {
            work = ctx->state + 2 * base; /* local qubits are 0..L-1: the chunk is contiguous */
        } else {
            /* While copying this chunk in, prefetch the same runs of the next chunk (they
             * lie right next to these in memory, so the memory system streams better). */
            const uint64_t nextb = ((base | ~fm) + 1) & fm;
            const int pf = c + 1 < c1 && QS_TILE_PREFETCH;
            const size_t bytes = 2 * run * sizeof(QS_REAL);
            for (j = 0, o = 0; j < nruns; ++j, o = ((o | ~hm) + 1) & hm) {
                memcpy(buf + 2 * (j << r), ctx->state + 2 * (base + o), bytes);
                if (pf) {
                    const char *q = (const char *)(ctx->state + 2 * (nextb + o));
                    size_t k;
                    for (k = 0; k < bytes; k += 64) __builtin_prefetch(q + k, 0, 1);
                }
            }
            work = buf;
        }
#if QS_VECTOR_EXT
        if (ctx->prepared) {
            for (g = 0; g < ctx->ngates; ++g) FN(vrun)(&ctx->prepared[g], work, 1);
        } else
#endif
        {
            for (g = 0; g < ctx->ngates; ++g) {
                if (FN(apply_gate_nt)(work, L, &ctx->gates[g], 1) != QS_OK) ctx->failed = 1;
            }
        }
        if (buf != NULL) {
            for (j = 0, o = 0; j < nruns; ++j, o = ((o | ~hm) + 1) & hm) {
                memcpy(ctx->state + 2 * (base + o), buf + 2 * (j << r), 2 * run * sizeof(QS_REAL));
            }
        }
    }
}

static int FN(run_tiled)(void *state, int n, const qs_gate *gates, const qs_tile *tiles,
                         int64_t ntiles)
{
    const int nt = qs_threads_for(n);
    int64_t t, g;
    int maxl = 0;
    void *raw = NULL;
    QS_REAL *buffers = NULL;
    for (t = 0; t < ntiles; ++t) {
        if (tiles[t].nlocal > 0 && tiles[t].nlocal < n && tiles[t].nlocal > maxl) {
            maxl = tiles[t].nlocal;
        }
    }
    if (maxl > 0) {
        buffers = (QS_REAL *)qs_aligned_malloc(((size_t)2 << maxl) * sizeof(QS_REAL) * nt, &raw);
        if (buffers == NULL) return QS_ERR_NOMEM;
    }
    for (t = 0; t < ntiles; ++t) {
        const qs_tile *T = &tiles[t];
        FN(tile_ctx) ctx;
        int r, i;
        if (T->nlocal == 0 || T->nlocal >= n) { /* global gates (a tile over all qubits too) */
            for (g = T->g0; g < T->g1; ++g) {
                const int rc = FN(apply_gate_nt)(state, n, &gates[g], nt);
                if (rc != QS_OK) {
                    free(raw);
                    return rc;
                }
            }
            continue;
        }
        if (T->g1 <= T->g0) continue;
        for (r = 0; r < T->nlocal && T->local[r] == r; ++r) {
        }
        ctx.state = (QS_REAL *)state;
        ctx.gates = gates + T->g0;
        ctx.ngates = T->g1 - T->g0;
        ctx.nlocal = T->nlocal;
        ctx.run_log = r;
        ctx.high_mask = 0;
        for (i = r; i < T->nlocal; ++i) ctx.high_mask |= (uint64_t)1 << T->local[i];
        ctx.free_mask = (((uint64_t)1 << n) - 1) & ~(ctx.high_mask | (((uint64_t)1 << r) - 1));
        ctx.buffers = r == T->nlocal ? NULL : buffers;
        ctx.failed = 0;
#if QS_VECTOR_EXT
        {
            /* Prepare each gate once for all chunks (weights, layout, kernel). */
            void *praw;
            int64_t ready = 0;
            int prc = 1;
            ctx.prepared = (FN(vctx) *)qs_aligned_malloc((size_t)ctx.ngates * sizeof(FN(vctx)), &praw);
            if (ctx.prepared == NULL) {
                free(raw);
                return QS_ERR_NOMEM;
            }
            for (; ready < ctx.ngates; ++ready) {
                prc = FN(vprep)(&ctx.prepared[ready], T->nlocal, &ctx.gates[ready]);
                if (prc != 1) break;
            }
            if (prc == 1) {
                qs_parallel(FN(tile_chunks), &ctx, (int64_t)1 << (n - T->nlocal), nt);
            }
            for (g = 0; g < ready; ++g) FN(vfree)(&ctx.prepared[g]);
            free(praw);
            if (prc == QS_ERR_NOMEM) ctx.failed = 1;
            if (prc == 0) { /* chunks smaller than one vector: the scalar kernels */
                ctx.prepared = NULL;
                qs_parallel(FN(tile_chunks), &ctx, (int64_t)1 << (n - T->nlocal), nt);
            }
        }
#else
        qs_parallel(FN(tile_chunks), &ctx, (int64_t)1 << (n - T->nlocal), nt);
#endif
        if (ctx.failed) {
            free(raw);
            return QS_ERR_NOMEM;
        }
    }
    free(raw);
    return QS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Probabilities, norm, sampling                                                               */
/* ------------------------------------------------------------------------------------------ */

QS_ATTR static void FN(probs_range)(void *vctx, int64_t lo, int64_t hi)
{
    const qs_probs_ctx *ctx = (const qs_probs_ctx *)vctx;
    const QS_REAL *QS_RESTRICT s = (const QS_REAL *)ctx->state;
    double *QS_RESTRICT out = ctx->out;
    int64_t i;
    for (i = lo; i < hi; ++i) {
        const double re = (double)s[2 * i], im = (double)s[2 * i + 1];
        out[i] = re * re + im * im;
    }
}

static void FN(probabilities)(const void *state, int n, double *out)
{
    qs_probs_ctx ctx;
    ctx.state = state;
    ctx.out = out;
    qs_parallel(FN(probs_range), &ctx, (int64_t)1 << n, qs_threads_for(n));
}

QS_ATTR static void FN(sumsq_blocks)(void *vctx, int64_t b0, int64_t b1)
{
    const qs_sumsq_ctx *ctx = (const qs_sumsq_ctx *)vctx;
    const QS_REAL *s = (const QS_REAL *)ctx->state;
    int64_t b;
    for (b = b0; b < b1; ++b) {
        ctx->part[b] = FN(sumsq)(s + 2 * (uint64_t)b * ctx->block, ctx->block);
    }
}

static double FN(norm_squared)(const void *state, int n)
{
    double part[QS_REDUCE_BLOCKS], total = 0.0;
    const int64_t nb = qs_reduce_blocks(n);
    qs_sumsq_ctx ctx;
    int64_t b;
    ctx.state = state;
    ctx.block = ((uint64_t)1 << n) / (uint64_t)nb;
    ctx.part = part;
    qs_parallel(FN(sumsq_blocks), &ctx, nb, qs_threads_for(n));
    for (b = 0; b < nb; ++b) total += part[b];
    return total;
}

/* Sampling in parallel: block b of the fixed reduction blocks owns the shots whose target
 * u*total falls in [cum_b, cum_b + part_b); each block is scanned once, independently. */
typedef struct {
    const void *state;
    uint64_t block;
    const double *start;   /* cumulative weight before each block */
    const int64_t *first;  /* first shot of each block (nb + 1 entries) */
    const double *target;  /* u[j] * total */
    int64_t *out;
    int64_t *last;         /* last nonzero amplitude of each block (-1: none) */
    int64_t *done;         /* shots placed by each block's scan */
} FN(sample_ctx);

QS_ATTR static void FN(sample_blocks)(void *vctx, int64_t b0, int64_t b1)
{
    const FN(sample_ctx) *ctx = (const FN(sample_ctx) *)vctx;
    const QS_REAL *s = (const QS_REAL *)ctx->state;
    int64_t b;
    for (b = b0; b < b1; ++b) {
        const uint64_t lo = (uint64_t)b * ctx->block, hi = lo + ctx->block;
        int64_t j = ctx->first[b], last = -1;
        const int64_t j1 = ctx->first[b + 1];
        double cum = ctx->start[b];
        uint64_t i, c, lastc = hi; /* lastc: the last run of 64 with a nonzero sum */
        for (c = lo; c < hi; c += 64) {
            const uint64_t e = c + 64 < hi ? c + 64 : hi;
            const double run = FN(sumsq)(s + 2 * c, e - c);
            if (run == 0.0) continue;
            lastc = c;
            if (j >= j1 || !(ctx->target[j] < cum + run)) { /* no shot lands here */
                cum += run;
                continue;
            }
            for (i = c; i < e; ++i) {
                const double re = (double)s[2 * i], im = (double)s[2 * i + 1];
                const double p = re * re + im * im;
                if (p == 0.0) continue;
                cum += p;
                while (j < j1 && ctx->target[j] < cum) ctx->out[j++] = (int64_t)i;
            }
        }
        if (lastc < hi) { /* the last nonzero amplitude of the block */
            const uint64_t e = lastc + 64 < hi ? lastc + 64 : hi;
            for (i = lastc; i < e; ++i) {
                if (s[2 * i] != 0 || s[2 * i + 1] != 0) last = (int64_t)i;
            }
        }
        ctx->last[b] = last;
        ctx->done[b] = j;
    }
}

static int FN(sample)(const void *state, int n, const double *u, int64_t nshots, int64_t *out)
{
    const QS_REAL *s = (const QS_REAL *)state;
    const int64_t N = (int64_t)1 << n;
    const int64_t nb = qs_reduce_blocks(n);
    double part[QS_REDUCE_BLOCKS], start[QS_REDUCE_BLOCKS + 1], total = 0.0;
    int64_t first[QS_REDUCE_BLOCKS + 1], last[QS_REDUCE_BLOCKS], done[QS_REDUCE_BLOCKS];
    double *target = NULL;
    int64_t i, j, b, prev;
    FN(sample_ctx) ctx;
    qs_sumsq_ctx sctx;
    if (nb == 1) {
        /* Small states: one serial pass, exactly the cumulative distribution. */
        double cum = 0.0, next;
        int64_t lastnz = -1;
        total = FN(norm_squared)(state, n);
        if (!(total > 0.0) || total > DBL_MAX) return QS_ERR_ZERO_NORM;
        if (nshots == 0) return QS_OK;
        j = 0;
        next = u[0] * total;
        for (i = 0; i < N; ++i) {
            const double re = (double)s[2 * i], im = (double)s[2 * i + 1];
            const double p = re * re + im * im;
            if (p == 0.0) continue;
            lastnz = i;
            cum += p;
            while (next < cum) {
                out[j++] = i;
                if (j == nshots) return QS_OK;
                next = u[j] * total;
            }
        }
        /* Rounding left some uniforms above the final cumulative sum: they belong to the last
         * amplitude with nonzero probability, never to a trailing zero. */
        for (; j < nshots; ++j) out[j] = lastnz;
        return QS_OK;
    }
    sctx.state = state;
    sctx.block = (uint64_t)N / (uint64_t)nb;
    sctx.part = part;
    qs_parallel(FN(sumsq_blocks), &sctx, nb, qs_threads_for(n));
    for (b = 0; b < nb; ++b) total += part[b];
    if (!(total > 0.0) || total > DBL_MAX) return QS_ERR_ZERO_NORM;
    if (nshots == 0) return QS_OK;
    target = (double *)malloc((size_t)nshots * sizeof(double));
    if (target == NULL) return QS_ERR_NOMEM;
    for (j = 0; j < nshots; ++j) target[j] = u[j] * total;
    start[0] = 0.0;
    for (b = 0; b < nb; ++b) start[b + 1] = start[b] + part[b];
    for (b = 0, j = 0; b < nb; ++b) { /* block b takes the targets below start[b + 1] */
        first[b] = j;
        while (j < nshots && (b == nb - 1 || target[j] < start[b + 1])) ++j;
    }
    first[nb] = nshots;
    ctx.state = state;
    ctx.block = sctx.block;
    ctx.start = start;
    ctx.first = first;
    ctx.target = target;
    ctx.out = out;
    ctx.last = last;
    ctx.done = done;
    qs_parallel(FN(sample_blocks), &ctx, nb, qs_threads_for(n));
    /* Targets a block's own running sum never reached (rounding): its last nonzero amplitude,
     * or the closest earlier one. */
    prev = -1;
    for (b = 0; b < nb; ++b) {
        int64_t owner = last[b] >= 0 ? last[b] : prev;
        if (owner < 0) { /* nothing nonzero yet: the first nonzero amplitude after */
            int64_t c;
            for (c = b + 1; c < nb && last[c] < 0; ++c) {
            }
            owner = c < nb ? (int64_t)((uint64_t)c * ctx.block) : 0;
            while (owner < N && s[2 * owner] == 0 && s[2 * owner + 1] == 0) ++owner;
        }
        for (j = done[b]; j < first[b + 1]; ++j) out[j] = owner;
        if (last[b] >= 0) prev = last[b];
    }
    free(target);
    return QS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Single-qubit measurement                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Group g of chunks: p0[g] = weight with the qubit at 0, p1[g] = weight with it at 1. */
QS_ATTR static void FN(pair_sums)(void *vctx, int64_t g0, int64_t g1)
{
    const qs_pair_ctx *ctx = (const qs_pair_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const QS_REAL *s = (const QS_REAL *)ctx->state;
    int64_t g, c;
    for (g = g0; g < g1; ++g) {
        double a = 0.0, b = 0.0;
        const int64_t first = g * ctx->per_group, last = first + ctx->per_group;
        uint64_t base = qs_base(L, first);
        for (c = first; c < last; ++c, base = qs_next(L, base)) {
            const QS_REAL *p = s + 2 * base;
            a += FN(sumsq)(p, L->chunk);
            b += FN(sumsq)(p + 2 * L->off[1], L->chunk);
        }
        ctx->p0[g] = a;
        ctx->p1[g] = b;
    }
}

static void FN(qubit_weights)(const void *state, int n, const qs_layout *L, double *w0,
                              double *w1)
{
    double p0[QS_REDUCE_BLOCKS], p1[QS_REDUCE_BLOCKS];
    int64_t ng = qs_reduce_blocks(n), g;
    qs_pair_ctx ctx;
    if (ng > L->nchunks) ng = L->nchunks;
    ctx.state = state;
    ctx.L = L;
    ctx.per_group = L->nchunks / ng;
    ctx.p0 = p0;
    ctx.p1 = p1;
    qs_parallel(FN(pair_sums), &ctx, ng, qs_threads_for(n));
    *w0 = *w1 = 0.0;
    for (g = 0; g < ng; ++g) {
        *w0 += p0[g];
        *w1 += p1[g];
    }
}

static int FN(measure_probability)(const void *state, int n, int qubit, double *p1)
{
    qs_layout L;
    double w0, w1;
    qs_layout_init(&L, n, &qubit, 1, NULL, 0, -1);
    FN(qubit_weights)(state, n, &L, &w0, &w1);
    if (!(w0 + w1 > 0.0) || w0 + w1 > DBL_MAX) return QS_ERR_ZERO_NORM;
    *p1 = w1 / (w0 + w1);
    return QS_OK;
}

QS_ATTR static void FN(collapse_chunks)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_collapse_ctx *ctx = (const qs_collapse_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const QS_REAL scale = (QS_REAL)ctx->scale;
    const uint64_t len = 2 * L->chunk, d = 2 * L->off[1];
    QS_REAL *s = (QS_REAL *)ctx->state;
    int64_t c;
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *p = s + 2 * b;
        QS_REAL *QS_RESTRICT keep = ctx->outcome ? p + d : p;
        QS_REAL *QS_RESTRICT drop = ctx->outcome ? p : p + d;
        uint64_t j;
        for (j = 0; j < len; ++j) drop[j] = 0;
        if (ctx->scale != 1.0) {
            for (j = 0; j < len; ++j) keep[j] *= scale;
        }
    }
}

static int FN(collapse)(void *state, int n, int qubit, int outcome, int renormalize)
{
    qs_layout L;
    qs_collapse_ctx ctx;
    double w0, w1, w;
    qs_layout_init(&L, n, &qubit, 1, NULL, 0, -1);
    FN(qubit_weights)(state, n, &L, &w0, &w1);
    w = outcome ? w1 : w0;
    if (!(w > 0.0) || w > DBL_MAX) return QS_ERR_ZERO_PROB;
    ctx.state = state;
    ctx.L = &L;
    ctx.outcome = outcome;
    ctx.scale = renormalize ? 1.0 / sqrt(w) : 1.0;
    qs_parallel(FN(collapse_chunks), &ctx, L.nchunks, qs_threads_for(n));
    return QS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Pauli expectation values                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* One x mask, G z masks.  For each block b and term t:
 *   part[b*G + t] = sum_i (-1)^popcount(i & z_t) * w_t(i),   w = conj(psi[i^x]) psi[i],
 * taking the real or the imaginary part of w as the term's phase i^popcount(x&z) requires.
 * Blocks are walked in sub-blocks of `sub` indices; the sign of the low bits comes from the
 * per-term table sgn[t*sub + u], the high bits flip it as a whole.  Sub-blocks with a bit of
 * ctx->skip set are left out: index i^x then carries the conjugate of i's product with the
 * same sign relation, so the kept half is worth exactly half of the sum. */
QS_ATTR static void FN(pauli_blocks)(void *vctx, int64_t b0, int64_t b1)
{
    const qs_pauli_ctx *ctx = (const qs_pauli_ctx *)vctx;
    const QS_REAL *s = (const QS_REAL *)ctx->state;
    const uint64_t sub = ctx->sub, x = ctx->x, xlo = x & (sub - 1), xhi = x & ~(sub - 1);
    double wr[QS_PAULI_SUB], wi[QS_PAULI_SUB];
    int64_t b;
    int t;
    for (b = b0; b < b1; ++b) {
        double *part = ctx->part + b * ctx->G;
        uint64_t i0;
        for (t = 0; t < ctx->G; ++t) part[t] = 0.0;
        for (i0 = (uint64_t)b * ctx->block; i0 < (uint64_t)(b + 1) * ctx->block; i0 += sub) {
            const QS_REAL *QS_RESTRICT pb = s + 2 * i0;
            if (i0 & ctx->skip) continue; /* the partner half, counted twice by the driver */
            const QS_REAL *QS_RESTRICT pa = s + 2 * (i0 ^ xhi);
            uint64_t u;
            for (u = 0; u < sub; ++u) {
                const uint64_t ua = u ^ xlo;
                const double ar = (double)pa[2 * ua], ai = (double)pa[2 * ua + 1];
                const double br = (double)pb[2 * u], bi = (double)pb[2 * u + 1];
                wr[u] = ar * br + ai * bi;
                wi[u] = ar * bi - ai * br;
            }
            for (t = 0; t < ctx->G; ++t) {
                const double *QS_RESTRICT w = ctx->need_im[t] ? wi : wr;
                const double *QS_RESTRICT sg = ctx->sgn + (uint64_t)t * sub;
                double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, sum;
                int v;
                for (u = 0; u + 8 <= sub; u += 8) {
                    for (v = 0; v < 8; ++v) acc[v] += sg[u + v] * w[u + v];
                }
                for (v = 0; u < sub; ++u, ++v) acc[v] += sg[u] * w[u];
                sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                      ((acc[4] + acc[5]) + (acc[6] + acc[7]));
                part[t] += qs_parity64(i0 & ctx->z[t]) ? -sum : sum;
            }
        }
    }
}

static int FN(expectation_paulis)(const void *state, int n, const uint64_t *x,
                                  const uint64_t *z, int64_t nterms, double *out)
{
#if QS_VECTOR_EXT && !QS_F32
    /* the vector kernel needs sub-blocks (64 amplitudes, or the whole of a smaller state) of
     * at least two vectors */
    const uint64_t size = (uint64_t)1 << n, sub = size < QS_PAULI_SUB ? size : QS_PAULI_SUB;
    if (sub >= (uint64_t)QS_VBYTES / 8) {
        return qs_expectation_driver(state, n, x, z, nterms, out, FN(vpauli_blocks));
    }
#endif
    return qs_expectation_driver(state, n, x, z, nterms, out, FN(pauli_blocks));
}

static const qs_ops FN(ops) = {
    FN(apply_gate),          FN(run_plan),   FN(probabilities),    FN(norm_squared),
    FN(sample),              FN(expectation_paulis), FN(measure_probability), FN(collapse),
    FN(apply_gate_nt),       FN(run_tiled),
};

#undef FN
#undef FNK
