/*
 * permute.c -- permute the qubits of a state in place (undoes SWAP gates that the compiler
 * relabelled away): every permutation is two passes of disjoint qubit exchanges.
 */
#include "internal.h"

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
