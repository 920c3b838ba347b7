/*
 * kernels_vecg.h -- the dense vector kernels of kernels_vec.h for one number of high targets
 * QS_H (0..6), included once per QS_H.  See kernels_vec.h for the scheme.
 */

#define QS_NH (1 << QS_H)
#define QS_RBH (QS_NH < QS_RB ? QS_NH : QS_RB)
#define QS_RBG (QS_NH < QS_RB / 2 ? QS_NH : QS_RB / 2) /* three accumulators a row */
#define FNH(name) QS_CAT3(name, QS_H, QS_SFX)

/* Weights copied to the stack when they are few (the compiler keeps them in registers and
 * knows that stores to the state do not change them). */
#define QS_WS_LOCAL (QS_NH <= 4)
#define QS_WV_LOCAL(D) (2 * QS_NH * QS_NH * (D) <= 16)

/* Uniform matrix: every lane uses W[R][C]; y = sum_C x*Re + (swap(x)*(-1, 1))*Im. */
QS_ATTR static void FNH(vdu)(void *vctx, int64_t c0, int64_t c1)
{
    const FN(vcall) *call = (const FN(vcall) *)vctx;
    const FN(vctx) *ctx = call->ctx;
    const qs_layout *L = &ctx->L;
    QS_REAL wloc[QS_WS_LOCAL ? 2 * QS_NH * QS_NH : 1];
    const QS_REAL *QS_RESTRICT w = ctx->ws;
    QS_REAL *s = call->state;
    const FN(vt) sgn = FN(vsign)(); /* -1, 1, -1, 1, ... */
    const uint64_t chunk = L->chunk;
    uint64_t off[QS_NH];
    uint64_t b = qs_base(L, c0);
    int64_t c;
    int r;
    for (r = 0; r < QS_NH; ++r) off[r] = ctx->off[r];
    if (QS_WS_LOCAL) {
        for (r = 0; r < 2 * QS_NH * QS_NH; ++r) wloc[r] = ctx->ws[r];
        w = wloc;
    }
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *pb = s + (uint64_t)QS_VN * b;
        uint64_t j;
        for (j = 0; j < chunk; ++j) {
            QS_REAL *p = pb + (uint64_t)QS_VN * j;
            FN(vt) x[QS_NH], xs[QS_NH];
            int C, r0;
            for (C = 0; C < QS_NH; ++C) {
                x[C] = QS_VLOAD(p + off[C]);
                xs[C] = QS_VSWAP(x[C]) * sgn;
            }
            for (r0 = 0; r0 < QS_NH; r0 += QS_RBH) {
                FN(vt) acc[QS_RBH];
                const QS_REAL *wr = w + 2 * (size_t)r0 * QS_NH;
                for (r = 0; r < QS_RBH; ++r) {
                    acc[r] = x[0] * wr[2 * r * QS_NH];
                    acc[r] += xs[0] * wr[2 * r * QS_NH + 1];
                }
                for (C = 1; C < QS_NH; ++C) {
                    for (r = 0; r < QS_RBH; ++r) {
                        acc[r] += x[C] * wr[2 * (r * QS_NH + C)];
                        acc[r] += xs[C] * wr[2 * (r * QS_NH + C) + 1];
                    }
                }
                for (r = 0; r < QS_RBH; ++r) QS_VSTORE(p + off[r0 + r], acc[r]);
            }
        }
    }
}

/* Lane-dependent matrix with D lane offsets (D a compile-time constant after inlining). */
QS_ATTR static QS_ALWAYS_INLINE void FNH(vdl_body)(const FN(vcall) *call, int64_t c0, int64_t c1,
                                                    const int D)
{
    const FN(vctx) *ctx = call->ctx;
    const qs_layout *L = &ctx->L;
    FN(vt) wloc[16];
    const FN(vt) *QS_RESTRICT w0 = ctx->wv;
    QS_REAL *s = call->state;
    const uint64_t chunk = L->chunk;
    FN(vp) perm[QS_VC];
    uint64_t off[QS_NH];
    uint64_t b = qs_base(L, c0);
    int64_t c;
    int r, di;
    for (r = 0; r < QS_NH; ++r) off[r] = ctx->off[r];
    for (di = 0; di < D; ++di) perm[di] = ctx->perm[di];
    (void)perm; /* unused where vectors hold a single amplitude */
    if (QS_WV_LOCAL(D)) {
        for (r = 0; r < 2 * QS_NH * QS_NH * D; ++r) wloc[r] = ctx->wv[r];
        w0 = wloc;
    }
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *pb = s + (uint64_t)QS_VN * b;
        uint64_t j;
        for (j = 0; j < chunk; ++j) {
            QS_REAL *p = pb + (uint64_t)QS_VN * j;
            FN(vt) x[QS_NH];
            const FN(vt) *w = w0;
            int C, r0;
            for (C = 0; C < QS_NH; ++C) x[C] = QS_VLOAD(p + off[C]);
            for (r0 = 0; r0 < QS_NH; r0 += QS_RBH) {
                FN(vt) acc[QS_RBH];
                for (r = 0; r < QS_RBH; ++r) acc[r] = (FN(vt)){0};
                for (C = 0; C < QS_NH; ++C) {
                    for (di = 0; di < D; ++di) {
                        const FN(vt) xp = di ? QS_PERMUTE(x[C], perm[di]) : x[C];
                        const FN(vt) xsw = QS_VSWAP(xp);
                        for (r = 0; r < QS_RBH; ++r) acc[r] += w[2 * r] * xp;
                        for (r = 0; r < QS_RBH; ++r) acc[r] += w[2 * r + 1] * xsw;
                        w += 2 * QS_RBH;
                    }
                }
                for (r = 0; r < QS_RBH; ++r) QS_VSTORE(p + off[r0 + r], acc[r]);
            }
        }
    }
}

/* Uniform matrix, split form (3 multiplications per complex product instead of 4): a group is
 * two vectors per stream, turned into one vector of real parts and one of imaginary parts;
 * with M = A + iB and x = u + iv,
 *     Re y = A u - B v,   Im y = (A + B)(u + v) - A u - B v.
 * ws holds A, B and A + B at 3*(R*NH + C) + {0, 1, 2}. */
QS_ATTR static void FNH(vdg)(void *vctx, int64_t c0, int64_t c1)
{
    const FN(vcall) *call = (const FN(vcall) *)vctx;
    const FN(vctx) *ctx = call->ctx;
    const qs_layout *L = &ctx->L;
    QS_REAL wloc[QS_WS_LOCAL ? 3 * QS_NH * QS_NH : 1];
    const QS_REAL *QS_RESTRICT w = ctx->ws;
    QS_REAL *s = call->state;
    const uint64_t chunk = L->chunk;
    uint64_t off[QS_NH];
    uint64_t b = qs_base(L, c0);
    int64_t c;
    int r;
    for (r = 0; r < QS_NH; ++r) off[r] = ctx->off[r];
    if (QS_WS_LOCAL) {
        for (r = 0; r < 3 * QS_NH * QS_NH; ++r) wloc[r] = ctx->ws[r];
        w = wloc;
    }
    for (c = c0; c < c1; ++c, b = qs_next(L, b)) {
        QS_REAL *pb = s + (uint64_t)(2 * QS_VN) * b;
        uint64_t j;
        for (j = 0; j < chunk; ++j) {
            QS_REAL *p = pb + (uint64_t)(2 * QS_VN) * j;
            FN(vt) u[QS_NH], v[QS_NH], t[QS_NH];
            int C, r0;
            for (C = 0; C < QS_NH; ++C) {
                const FN(vt) lo = QS_VLOAD(p + off[C]), hi = QS_VLOAD(p + off[C] + QS_VN);
                u[C] = __builtin_shuffle(lo, hi, (FN(vm))QS_EVEN_MASK);
                v[C] = __builtin_shuffle(lo, hi, (FN(vm))QS_ODD_MASK);
                t[C] = u[C] + v[C];
            }
            for (r0 = 0; r0 < QS_NH; r0 += QS_RBG) {
                FN(vt) p1[QS_RBG], p2[QS_RBG], p3[QS_RBG];
                const QS_REAL *wr = w + 3 * (size_t)r0 * QS_NH;
                for (r = 0; r < QS_RBG; ++r) {
                    p1[r] = u[0] * wr[3 * r * QS_NH];
                    p2[r] = v[0] * wr[3 * r * QS_NH + 1];
                    p3[r] = t[0] * wr[3 * r * QS_NH + 2];
                }
                for (C = 1; C < QS_NH; ++C) {
                    for (r = 0; r < QS_RBG; ++r) {
                        p1[r] += u[C] * wr[3 * (r * QS_NH + C)];
                        p2[r] += v[C] * wr[3 * (r * QS_NH + C) + 1];
                        p3[r] += t[C] * wr[3 * (r * QS_NH + C) + 2];
                    }
                }
                for (r = 0; r < QS_RBG; ++r) {
                    const FN(vt) yre = p1[r] - p2[r], yim = p3[r] - p1[r] - p2[r];
                    QS_REAL *q = p + off[r0 + r];
                    QS_VSTORE(q, __builtin_shuffle(yre, yim, (FN(vm))QS_LO_MASK));
                    QS_VSTORE(q + QS_VN, __builtin_shuffle(yre, yim, (FN(vm))QS_HI_MASK));
                }
            }
        }
    }
}

#define QS_DMAX(d) ((d) < QS_VC ? (d) : QS_VC)
QS_ATTR static void FNH(vdlA)(void *call, int64_t c0, int64_t c1)
{
    FNH(vdl_body)((const FN(vcall) *)call, c0, c1, 1);
}
QS_ATTR static void FNH(vdlB)(void *call, int64_t c0, int64_t c1)
{
    FNH(vdl_body)((const FN(vcall) *)call, c0, c1, QS_DMAX(2));
}
QS_ATTR static void FNH(vdlC)(void *call, int64_t c0, int64_t c1)
{
    FNH(vdl_body)((const FN(vcall) *)call, c0, c1, QS_DMAX(4));
}
QS_ATTR static void FNH(vdlD)(void *call, int64_t c0, int64_t c1)
{
    FNH(vdl_body)((const FN(vcall) *)call, c0, c1, QS_DMAX(8));
}
#undef QS_DMAX

#undef QS_WS_LOCAL
#undef QS_WV_LOCAL
#undef QS_NH
#undef QS_RBH
#undef QS_RBG
#undef FNH
