/*
 * fusion.c -- fused gate matrices (complex128): the product of a block's component gates,
 * computed once per parameter binding by applying each component to the identity (viewed as
 * a 2k-qubit state) with the complex128 kernels of the selected instruction set.
 */
#include "internal.h"

#define QS_FAIL(pos, why) \
    do {                    \
        *where = (pos);     \
        return (why);       \
    } while (0)

/* code (int64):  nblocks, then per block
 *     out_offset kind k ncomp, then per component
 *         ckind nt nc t[0..nt) c[0..nc) ctrl_state data_offset
 * Offsets count complex numbers.  A block of kind 0 gets the (2**k, 2**k) product of its
 * components (in order, the first applied first); kind 1 gets the 2**k diagonal (diagonal
 * components only).  Component qubits t (targets, bit j of the component's matrix index is
 * t[j]) and c (controls) are positions 0..k-1 inside the block. */
const char *qs_fuse_check(const int64_t *code, int64_t ncode, int64_t ncomp, int64_t nout,
                          int64_t *where)
{
    int64_t at = 1, b, nblocks;
    if (ncode < 1 || ncomp < 0 || nout < 0 || code[0] < 0) {
        QS_FAIL(0, "code must start with the number of blocks");
    }
    nblocks = code[0];
    /* Invariant: 1 <= at <= ncode, so ncode - at is the number of entries left. */
    for (b = 0; b < nblocks; ++b) {
        int64_t kind, k, nc0, c;
        if (ncode - at < 4) QS_FAIL(ncode, "code ends inside a block header");
        kind = code[at + 1];
        k = code[at + 2];
        nc0 = code[at + 3];
        if (kind != 0 && kind != 1) {
            QS_FAIL(at + 1, "block kind must be 0 (matrix) or 1 (diagonal)");
        }
        if (k < 1 || k > QS_MAX_TARGETS) QS_FAIL(at + 2, "block size must be 1..6 qubits");
        if (nc0 < 0) QS_FAIL(at + 3, "negative component count");
        if (!qs_span_ok(code[at], kind == 0 ? (int64_t)1 << (2 * k) : (int64_t)1 << k, nout)) {
            QS_FAIL(at, "block output out of range");
        }
        at += 4;
        for (c = 0; c < nc0; ++c) {
            int64_t ckind, nt, ncc, i, used = 0, cs, doff;
            if (ncode - at < 3) QS_FAIL(ncode, "code ends inside a component");
            ckind = code[at];
            nt = code[at + 1];
            ncc = code[at + 2];
            if (ckind != 0 && ckind != 1) QS_FAIL(at, "component kind must be 0 or 1");
            if (kind == 1 && ckind != 1) {
                QS_FAIL(at, "a diagonal block takes diagonal components only");
            }
            if (nt < 1 || nt > k) QS_FAIL(at + 1, "bad component qubit count");
            if (ncc < 0 || ncc > k - nt) QS_FAIL(at + 2, "bad component qubit count");
            if (ncode - at < 5 + nt + ncc) QS_FAIL(ncode, "code ends inside a component");
            for (i = 0; i < nt + ncc; ++i) {
                const int64_t q = code[at + 3 + i];
                if (q < 0 || q >= k) QS_FAIL(at + 3 + i, "component qubit outside its block");
                if (used & ((int64_t)1 << q)) QS_FAIL(at + 3 + i, "component uses a qubit twice");
                used |= (int64_t)1 << q;
            }
            cs = code[at + 3 + nt + ncc];
            if (cs != -1 && (cs < 0 || cs >= ((int64_t)1 << ncc))) {
                QS_FAIL(at + 3 + nt + ncc, "bad ctrl_state");
            }
            doff = code[at + 4 + nt + ncc];
            if (!qs_span_ok(doff, ckind == 0 ? (int64_t)1 << (2 * nt) : (int64_t)1 << nt, ncomp)) {
                QS_FAIL(at + 4 + nt + ncc, "component data out of range");
            }
            at += 5 + nt + ncc;
        }
    }
    if (at != ncode) QS_FAIL(at, "code has trailing entries");
    return NULL;
}

#undef QS_FAIL

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
