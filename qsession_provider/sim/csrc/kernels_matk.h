/*
 * kernels_matk.h -- dense k-qubit gate for one compile-time k, included by kernels_impl.h with
 * QS_KLOG = 3, 4, 5, 6 (on top of the QS_REAL / QS_SFX / QS_ATTR / QS_VBYTES parameters).
 *
 * For every index of the chunk: gather the K = 2**k amplitudes at the precomputed offsets (one
 * index, or a tile of QS_MATK_TILE consecutive indices, at a time), multiply by the matrix held
 * column-major in the state's precision (mre[c*K + r], 64-byte aligned), scatter back.  The
 * mat-vec runs over rows in vectors of QS_VBYTES bytes (GCC vector extensions, compiled for the
 * instruction set of QS_ATTR) with up to QS_MATK_BLOCK row-vectors of accumulators held in
 * registers while the columns stream past; other compilers get the same loop in plain C.
 */

#define QS_K (1 << QS_KLOG)

#if QS_VECTOR_EXT
/* A vector never wider than one matrix column. */
typedef QS_REAL FNK(qs_vec)
    __attribute__((vector_size(QS_VBYTES < QS_K * sizeof(QS_REAL) ? QS_VBYTES
                                                                    : QS_K * sizeof(QS_REAL))));
#define QS_VEC FNK(qs_vec)
#define QS_VL ((int)(sizeof(QS_VEC) / sizeof(QS_REAL)))        /* lanes */
#define QS_NV (QS_K / QS_VL)                                    /* vectors per column */
#define QS_NB (QS_NV < QS_MATK_BLOCK ? QS_NV : QS_MATK_BLOCK)  /* accumulator vectors */

/* y = M v for one index: v split into real/imaginary parts, y as QS_NV vectors each. */
QS_ATTR static QS_ALWAYS_INLINE void FNK(mv)(const QS_REAL *vr, const QS_REAL *vi,
                                              const QS_VEC *QS_RESTRICT mr,
                                              const QS_VEC *QS_RESTRICT mi, QS_VEC *yr,
                                              QS_VEC *yi)
{
    int rb, v, col;
    for (rb = 0; rb < QS_NV; rb += QS_NB) {
        QS_VEC ar[QS_NB], ai[QS_NB];
        for (v = 0; v < QS_NB; ++v) {
            ar[v] = mr[rb + v] * vr[0] - mi[rb + v] * vi[0];
            ai[v] = mr[rb + v] * vi[0] + mi[rb + v] * vr[0];
        }
        for (col = 1; col < QS_K; ++col) {
            const QS_REAL xr = vr[col], xi = vi[col];
            const QS_VEC *cr = mr + col * QS_NV + rb, *ci = mi + col * QS_NV + rb;
            for (v = 0; v < QS_NB; ++v) {
                ar[v] += cr[v] * xr - ci[v] * xi;
                ai[v] += cr[v] * xi + ci[v] * xr;
            }
        }
        for (v = 0; v < QS_NB; ++v) {
            yr[rb + v] = ar[v];
            yi[rb + v] = ai[v];
        }
    }
}
#define QS_Y(y, r) ((y)[(r) / QS_VL][(r) % QS_VL])
#else
#define QS_VEC QS_REAL
#define QS_NV QS_K

QS_ATTR static QS_ALWAYS_INLINE void FNK(mv)(const QS_REAL *vr, const QS_REAL *vi,
                                              const QS_REAL *QS_RESTRICT mre,
                                              const QS_REAL *QS_RESTRICT mim, QS_REAL *yr,
                                              QS_REAL *yi)
{
    int r, col;
    for (r = 0; r < QS_K; ++r) {
        yr[r] = mre[r] * vr[0] - mim[r] * vi[0];
        yi[r] = mre[r] * vi[0] + mim[r] * vr[0];
    }
    for (col = 1; col < QS_K; ++col) {
        const QS_REAL xr = vr[col], xi = vi[col];
        const QS_REAL *QS_RESTRICT cr = mre + col * QS_K;
        const QS_REAL *QS_RESTRICT ci = mim + col * QS_K;
        for (r = 0; r < QS_K; ++r) {
            yr[r] += cr[r] * xr - ci[r] * xi;
            yi[r] += cr[r] * xi + ci[r] * xr;
        }
    }
}
#define QS_Y(y, r) ((y)[r])
#endif

QS_ATTR static void FNK(matk)(void *vctx, int64_t c0, int64_t c1)
{
    const qs_gate_ctx *ctx = (const qs_gate_ctx *)vctx;
    const qs_layout *L = ctx->L;
    const QS_VEC *mr = (const QS_VEC *)ctx->mre, *mi = (const QS_VEC *)ctx->mim;
    const uint64_t len = L->chunk;
    QS_REAL *s = (QS_REAL *)ctx->state;
    uint64_t off[QS_K];
    int64_t c;
    int r;
    for (r = 0; r < QS_K; ++r) off[r] = 2 * L->off[r];
    uint64_t b = qs_base(L, c0);
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        uint64_t j;
        if (!ctx->tile) {
            /* Streams close together: gather, multiply, scatter one index at a time. */
            for (j = 0; j < len; ++j) {
                QS_REAL *p = s + 2 * (b + j);
                QS_REAL vr[QS_K], vi[QS_K];
                QS_VEC yr[QS_NV], yi[QS_NV];
                for (r = 0; r < QS_K; ++r) {
                    vr[r] = p[off[r]];
                    vi[r] = p[off[r] + 1];
                }
                FNK(mv)(vr, vi, mr, mi, yr, yi);
                for (r = 0; r < QS_K; ++r) {
                    p[off[r]] = QS_Y(yr, r);
                    p[off[r] + 1] = QS_Y(yi, r);
                }
            }
            continue;
        }
        /* Streams a large power of two apart share cache sets: copy a tile of QS_MATK_TILE
         * consecutive indices stream by stream, so each cache line of a stream is read and
         * written once per tile instead of once per index.  len is a multiple of the tile. */
        for (j = 0; j < len; j += QS_MATK_TILE) {
            QS_REAL *p = s + 2 * (b + j);
            QS_REAL tr[QS_MATK_TILE][QS_K], ti[QS_MATK_TILE][QS_K];
            QS_VEC ur[QS_MATK_TILE][QS_NV], ui[QS_MATK_TILE][QS_NV];
            int jj;
            for (r = 0; r < QS_K; ++r) {
                const QS_REAL *q = p + off[r];
                for (jj = 0; jj < QS_MATK_TILE; ++jj) {
                    tr[jj][r] = q[2 * jj];
                    ti[jj][r] = q[2 * jj + 1];
                }
            }
            for (jj = 0; jj < QS_MATK_TILE; ++jj) FNK(mv)(tr[jj], ti[jj], mr, mi, ur[jj], ui[jj]);
            for (r = 0; r < QS_K; ++r) {
                QS_REAL *q = p + off[r];
                for (jj = 0; jj < QS_MATK_TILE; ++jj) {
                    q[2 * jj] = QS_Y(ur[jj], r);
                    q[2 * jj + 1] = QS_Y(ui[jj], r);
                }
            }
        }
    }
}

#undef QS_VEC
#undef QS_VL
#undef QS_NV
#undef QS_NB
#undef QS_Y
#undef QS_K
