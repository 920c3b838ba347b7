/*
 * expectation.c -- Pauli expectation values, precision-neutral part: the terms are grouped
 * by x mask, and each group takes one pass over the state through a range kernel of the
 * state's precision (pauli_blocks or vpauli_blocks in the template bodies).
 */
#include "internal.h"

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

int qs_expectation_driver(const void *state, int n, const uint64_t *x, const uint64_t *z,
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
