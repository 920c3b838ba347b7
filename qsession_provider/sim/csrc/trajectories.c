/*
 * trajectories.c -- noisy circuits by quantum trajectories with grouped shots (see
 * trajectories.h for the program format and the grouping rule).  Gates, measurement
 * probabilities, collapses, sampling and Pauli values run on the per-dtype kernel table
 * (qs_get_ops: the instruction set dispatch.c chose, threads as the kernels use them); the
 * reduced density matrix that gives a Kraus channel's branch probabilities is computed here,
 * in fixed blocks summed in order, so the draws do not depend on the thread count.
 */
#include "trajectories.h"

#include "internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64                                       */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    uint64_t s[4];
} qt_rng;

static uint64_t qt_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void qt_seed(qt_rng *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; ++i) r->s[i] = qt_splitmix(&seed);
}

static inline uint64_t qt_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t qt_next(qt_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t out = qt_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = qt_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static inline double qt_uniform(qt_rng *r) { return (double)(qt_next(r) >> 11) * 0x1.0p-53; }

/* ------------------------------------------------------------------------------------------ */
/* Program checks                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int64_t qt_record_len(const int64_t *c, int64_t left)
{
    /* Length of the record at c (header included), or -1 if it cannot be read. */
    if (left < QT_HEADER + 1) return -1;
    switch (c[0]) {
    case QT_GATE:
        if (left < QT_HEADER + 5) return -1;
        if (c[4] < 1 || c[4] > QS_MAX_TARGETS || c[5] < 0 || c[5] > QS_MAX_QUBITS) return -1;
        return QT_HEADER + 5 + c[4] + c[5];
    case QT_MIXED:
        if (left < QT_HEADER + 4) return -1;
        if (c[4] < 1 || c[4] > 2) return -1;
        return QT_HEADER + 4 + c[4];
    case QT_KRAUS:
        if (left < QT_HEADER + 3) return -1;
        if (c[4] < 1 || c[4] > 2) return -1;
        return QT_HEADER + 3 + c[4];
    case QT_MEASURE:
        return QT_HEADER + 2;
    case QT_RESET:
        return QT_HEADER + 1;
    case QT_READOUT:
        return QT_HEADER + 2;
    default:
        return -1;
    }
}

static int qt_qubits_ok(const int64_t *q, int64_t count, int n, uint64_t *used)
{
    int64_t i;
    for (i = 0; i < count; ++i) {
        if (q[i] < 0 || q[i] >= n) return 0;
        if (*used & ((uint64_t)1 << q[i])) return 0;
        *used |= (uint64_t)1 << q[i];
    }
    return 1;
}

const char *qt_check(const qt_program *p, int n, int64_t *where)
{
    int64_t pos = 0;
    int terminal_seen = p->terminal == p->ncode;
    if (p->ncode < 0 || p->ndata < 0 || p->ncond_bits < 0 || p->nclbits < 0) {
        *where = 0;
        return "negative array length";
    }
    if (p->terminal < 0 || p->terminal > p->ncode) {
        *where = p->terminal;
        return "terminal offset out of range";
    }
    while (pos < p->ncode) {
        const int64_t *c = p->code + pos;
        const int64_t len = qt_record_len(c, p->ncode - pos);
        uint64_t used = 0;
        int64_t k, dim, nb;
        *where = pos;
        if (pos == p->terminal) terminal_seen = 1;
        if (len < 0 || len > p->ncode - pos) return "malformed or truncated operation record";
        if (c[1] < 0 || c[1] > 63 || !qs_span_ok(c[2], c[1], p->ncond_bits))
            return "condition bits out of range";
        for (k = 0; k < c[1]; ++k) {
            if (p->cond_bits[c[2] + k] < 0 || p->cond_bits[c[2] + k] >= p->nclbits)
                return "condition names a classical bit out of range";
        }
        switch (c[0]) {
        case QT_GATE:
            k = c[4];
            if (!qt_qubits_ok(c + QT_HEADER + 5, k, n, &used) ||
                !qt_qubits_ok(c + QT_HEADER + 5 + k, c[5], n, &used))
                return "gate qubits out of range or repeated";
            if (c[6] != -1 && (c[6] < 0 || c[6] >= ((int64_t)1 << c[5])))
                return "gate ctrl_state out of range";
            if (c[7] != QS_GATE_MATRIX && c[7] != QS_GATE_DIAGONAL) return "unknown gate kind";
            dim = (int64_t)1 << k;
            if (!qs_span_ok(c[8], 2 * (c[7] == QS_GATE_MATRIX ? dim * dim : dim), p->ndata))
                return "gate matrix out of range";
            break;
        case QT_MIXED:
            k = c[4];
            nb = c[5];
            dim = (int64_t)1 << k;
            if (nb < 1 || nb > QT_MAX_BRANCH) return "mixed channel: bad branch count";
            if (!qt_qubits_ok(c + QT_HEADER + 4, k, n, &used))
                return "channel qubits out of range or repeated";
            if (!qs_span_ok(c[6], 4 * nb, p->ndata) ||
                !qs_span_ok(c[7], nb * 2 * dim * dim, p->ndata))
                return "mixed channel data out of range";
            break;
        case QT_KRAUS:
            k = c[4];
            nb = c[5];
            dim = (int64_t)1 << k;
            if (nb < 1 || nb > QT_MAX_BRANCH) return "Kraus channel: bad operator count";
            if (!qt_qubits_ok(c + QT_HEADER + 3, k, n, &used))
                return "channel qubits out of range or repeated";
            if (!qs_span_ok(c[6], nb * 2 * dim * dim, p->ndata))
                return "Kraus channel data out of range";
            break;
        case QT_MEASURE:
            if (c[4] < 0 || c[4] >= n || c[5] < 0 || c[5] >= p->nclbits)
                return "measurement qubit or bit out of range";
            break;
        case QT_RESET:
            if (c[4] < 0 || c[4] >= n) return "reset qubit out of range";
            if (pos >= p->terminal) return "a reset in the terminal measurements";
            break;
        case QT_READOUT:
            if (c[4] < 0 || c[4] >= p->nclbits || !qs_span_ok(c[5], 2, p->ndata))
                return "readout error bit or data out of range";
            break;
        default:
            return "unknown operation";
        }
        if (pos >= p->terminal && ((c[0] != QT_MEASURE && c[0] != QT_READOUT) || c[1] != 0))
            return "the terminal part holds only unconditional measurements and readout errors";
        pos += len;
    }
    *where = pos;
    if (!terminal_seen) return "terminal offset is not at a record boundary";
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Reduced density matrix of 1 or 2 qubits                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const void *state;
    int f32;
    int n, k;
    int t[2];
    int64_t count; /* 2**(n-k) base indices */
    int64_t nblocks;
    double *partial; /* nblocks x 32 (4x4 complex) */
} qt_rdm_ctx;

static inline uint64_t qt_insert_zero(uint64_t i, int bit)
{
    const uint64_t low = i & (((uint64_t)1 << bit) - 1);
    return ((i >> bit) << (bit + 1)) | low;
}

static void qt_rdm_blocks(void *vctx, int64_t b0, int64_t b1)
{
    const qt_rdm_ctx *x = (const qt_rdm_ctx *)vctx;
    const int d = 1 << x->k;
    const int lo = x->k == 2 && x->t[1] < x->t[0] ? x->t[1] : x->t[0];
    const int hi = x->k == 2 && x->t[1] < x->t[0] ? x->t[0] : x->t[1];
    int64_t b;
    for (b = b0; b < b1; ++b) {
        const int64_t start = x->count * b / x->nblocks, stop = x->count * (b + 1) / x->nblocks;
        double acc[32] = {0};
        int64_t i;
        for (i = start; i < stop; ++i) {
            uint64_t base = qt_insert_zero((uint64_t)i, lo);
            uint64_t off[4];
            double re[4], im[4];
            int r, c;
            if (x->k == 2) base = qt_insert_zero(base, hi);
            for (r = 0; r < d; ++r) {
                off[r] = base | ((uint64_t)(r & 1) << x->t[0]);
                if (x->k == 2) off[r] |= (uint64_t)((r >> 1) & 1) << x->t[1];
                if (x->f32) {
                    const float *s = (const float *)x->state;
                    re[r] = s[2 * off[r]];
                    im[r] = s[2 * off[r] + 1];
                } else {
                    const double *s = (const double *)x->state;
                    re[r] = s[2 * off[r]];
                    im[r] = s[2 * off[r] + 1];
                }
            }
            for (r = 0; r < d; ++r) {
                for (c = 0; c < d; ++c) { /* rho[r][c] += a_r conj(a_c) */
                    acc[2 * (r * d + c)] += re[r] * re[c] + im[r] * im[c];
                    acc[2 * (r * d + c) + 1] += im[r] * re[c] - re[r] * im[c];
                }
            }
        }
        memcpy(x->partial + 32 * b, acc, sizeof acc);
    }
}

/* rho (d x d interleaved complex, d = 2**k) of the targets, summed over fixed blocks. */
static int qt_rdm(const void *state, int f32, int n, int k, const int *t, double *rho)
{
    qt_rdm_ctx x;
    int64_t b;
    int j;
    x.state = state;
    x.f32 = f32;
    x.n = n;
    x.k = k;
    x.t[0] = t[0];
    x.t[1] = k == 2 ? t[1] : 0;
    x.count = (int64_t)1 << (n - k);
    x.nblocks = qs_reduce_blocks(n);
    if (x.nblocks > x.count) x.nblocks = x.count;
    x.partial = (double *)malloc(sizeof(double) * 32 * (size_t)x.nblocks);
    if (x.partial == NULL) return QS_ERR_NOMEM;
    qs_parallel(qt_rdm_blocks, &x, x.nblocks, qs_threads_for(n));
    for (j = 0; j < 32; ++j) rho[j] = 0.0;
    for (b = 0; b < x.nblocks; ++b) {
        for (j = 0; j < 32; ++j) rho[j] += x.partial[32 * b + j];
    }
    free(x.partial);
    return QS_OK;
}

/* Re tr(K rho K^dagger) for a d x d interleaved K. */
static double qt_branch_weight(const double *K, const double *rho, int d)
{
    double total = 0.0;
    int a, b, c;
    for (a = 0; a < d; ++a) {
        for (b = 0; b < d; ++b) {
            const double kr = K[2 * (a * d + b)], ki = K[2 * (a * d + b) + 1];
            for (c = 0; c < d; ++c) {
                /* K[a][b] rho[b][c] conj(K[a][c]) */
                const double rr = rho[2 * (b * d + c)], ri = rho[2 * (b * d + c) + 1];
                const double cr = K[2 * (a * d + c)], ci = -K[2 * (a * d + c) + 1];
                const double tr = kr * rr - ki * ri, ti = kr * ri + ki * rr;
                total += tr * cr - ti * ci;
            }
        }
    }
    return total;
}

/* ------------------------------------------------------------------------------------------ */
/* The run                                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const qt_program *p;
    const qs_ops *ops;
    int f32, n;
    size_t state_bytes;
    void *states[66];   /* one state per depth (states[0] is the caller's) */
    void *raw[66];
    uint8_t *bits[66];  /* classical bits per depth */
    qt_rng rng;
    uint8_t *out_bits;
    int64_t row;        /* next output row (sampler) or group (estimator) */
    const uint64_t *xmask, *zmask;
    int64_t nterms;
    double *out_evs;
    int64_t *out_counts;
    double *u;          /* scratch: uniforms for terminal sampling */
    int64_t *idx;       /* scratch: sampled basis states */
} qt_ctx;

static int qt_level(qt_ctx *x, int depth)
{
    if (depth >= 66) return QS_ERR_NOMEM;
    if (x->states[depth] == NULL) {
        x->states[depth] = qs_aligned_malloc(x->state_bytes, &x->raw[depth]);
        if (x->states[depth] == NULL) return QS_ERR_NOMEM;
    }
    if (x->bits[depth] == NULL) {
        x->bits[depth] = (uint8_t *)malloc((size_t)x->p->nclbits + 1);
        if (x->bits[depth] == NULL) return QS_ERR_NOMEM;
    }
    return QS_OK;
}

static int qt_condition(const qt_program *p, const int64_t *c, const uint8_t *bits)
{
    int64_t i, value = 0;
    for (i = 0; i < c[1]; ++i) value |= (int64_t)(bits[p->cond_bits[c[2] + i]] & 1) << i;
    return value == c[3];
}

/* Draw a branch for each of `shots` shots; counts[b] receives how many took branch b. */
static void qt_split(qt_rng *r, const double *cum, int nb, int64_t shots, int64_t *counts)
{
    int64_t s;
    int b;
    for (b = 0; b < nb; ++b) counts[b] = 0;
    for (s = 0; s < shots; ++s) {
        const double u = qt_uniform(r) * cum[nb - 1];
        int lo = 0, hi = nb - 1; /* first b with u < cum[b] */
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            if (u < cum[mid]) hi = mid;
            else lo = mid + 1;
        }
        counts[lo]++;
    }
    (void)b;
}

static int qt_apply_matrix(qt_ctx *x, void *state, int k, const int64_t *targets,
                           const double *m)
{
    int t[2];
    qs_gate g;
    t[0] = (int)targets[0];
    t[1] = k == 2 ? (int)targets[1] : 0;
    g.kind = QS_GATE_MATRIX;
    g.k = k;
    g.nc = 0;
    g.targets = t;
    g.controls = NULL;
    g.ctrl_state = -1;
    g.data = m;
    return x->ops->apply_gate(state, x->n, &g);
}

static const double QT_X[8] = {0, 0, 1, 0, 1, 0, 0, 0};

/* Apply branch b of the record c to (state, bits); probability `prob` of the branch (Kraus:
 * to normalise).  Measurement and reset branches are outcomes. */
static int qt_apply_branch(qt_ctx *x, const int64_t *c, int b, double prob, void *state,
                           uint8_t *bits)
{
    const qt_program *p = x->p;
    int rc = QS_OK;
    switch (c[0]) {
    case QT_MIXED: { /* the branch's Pauli part (its resets: qt_resets) */
        const int64_t k = c[4];
        const int64_t dim = (int64_t)1 << k;
        if (p->data[c[6] + 4 * b + 1] == 0) return QS_OK; /* no unitary part */
        return qt_apply_matrix(x, state, (int)k, c + QT_HEADER + 4,
                               p->data + c[7] + (int64_t)b * 2 * dim * dim);
    }
    case QT_KRAUS: {
        const int64_t k = c[4];
        const int64_t dim = (int64_t)1 << k;
        const double *K = p->data + c[6] + (int64_t)b * 2 * dim * dim;
        double m[32];
        const double scale = 1.0 / sqrt(prob);
        int64_t j;
        for (j = 0; j < 2 * dim * dim; ++j) m[j] = K[j] * scale;
        return qt_apply_matrix(x, state, (int)k, c + QT_HEADER + 3, m);
    }
    case QT_MEASURE:
        rc = x->ops->collapse(state, x->n, (int)c[4], b, 1);
        if (rc == QS_OK && x->nterms == 0) bits[c[5]] = (uint8_t)b;
        return rc;
    case QT_RESET:
        rc = x->ops->collapse(state, x->n, (int)c[4], b, 1);
        if (rc == QS_OK && b == 1) rc = qt_apply_matrix(x, state, 1, c + QT_HEADER, QT_X);
        return rc;
    case QT_READOUT:
        if (b == 1) bits[c[4]] ^= 1;
        return QS_OK;
    default:
        return QS_OK;
    }
}

static int qt_group(qt_ctx *x, int depth, int64_t pos, int64_t shots);

/* The resets of branch b of the mixed record c, from target j on, for `shots` shots in
 * states[depth] (each reset measures: its outcomes split the group as a measurement does),
 * then the rest of the program from pos. */
static int qt_resets(qt_ctx *x, int depth, int64_t pos, int64_t shots, const int64_t *c, int b,
                     int j)
{
    const double *info = x->p->data + c[6] + 4 * (int64_t)b;
    const int k = (int)c[4], rmask = (int)info[2], rvals = (int)info[3];
    int64_t s, ones = 0, minor_n;
    int q, v, rc, main_o;
    double p1;
    while (j < k && !((rmask >> j) & 1)) ++j;
    if (j == k) return qt_group(x, depth, pos, shots);
    q = (int)c[QT_HEADER + 4 + j];
    v = (rvals >> j) & 1;
    rc = x->ops->measure_probability(x->states[depth], x->n, q, &p1);
    if (rc != QS_OK) return rc;
    for (s = 0; s < shots; ++s) ones += qt_uniform(&x->rng) < p1;
    main_o = 2 * ones > shots || (shots == 1 && ones == 1);
    minor_n = main_o ? shots - ones : ones;
    if (minor_n > 0) {
        int64_t tq = q;
        rc = qt_level(x, depth + 1);
        if (rc != QS_OK) return rc;
        memcpy(x->states[depth + 1], x->states[depth], x->state_bytes);
        memcpy(x->bits[depth + 1], x->bits[depth], (size_t)x->p->nclbits);
        rc = x->ops->collapse(x->states[depth + 1], x->n, q, !main_o, 1);
        if (rc == QS_OK && (!main_o) != v)
            rc = qt_apply_matrix(x, x->states[depth + 1], 1, &tq, QT_X);
        if (rc == QS_OK) rc = qt_resets(x, depth + 1, pos, minor_n, c, b, j + 1);
        if (rc != QS_OK) return rc;
    }
    if (shots - minor_n == 0) return QS_OK;
    {
        int64_t tq = q;
        rc = x->ops->collapse(x->states[depth], x->n, q, main_o, 1);
        if (rc == QS_OK && main_o != v) rc = qt_apply_matrix(x, x->states[depth], 1, &tq, QT_X);
        if (rc != QS_OK) return rc;
    }
    return qt_resets(x, depth, pos, shots - minor_n, c, b, j + 1);
}

/* True if branch b of the mixed record c resets a qubit. */
static int qt_has_resets(const qt_ctx *x, const int64_t *c, int b)
{
    return c[0] == QT_MIXED && x->p->data[c[6] + 4 * (int64_t)b + 2] != 0;
}

/* Sample `shots` shots of the terminal part from states[depth]. */
static int qt_terminal(qt_ctx *x, int depth, int64_t pos, int64_t shots)
{
    const qt_program *p = x->p;
    const uint8_t *bits = x->bits[depth];
    double total = 0.0;
    int64_t s;
    int rc;
    /* Sorted uniforms as normalised sums of exponentials (order statistics, O(shots)). */
    for (s = 0; s < shots; ++s) {
        total += -log1p(-qt_uniform(&x->rng));
        x->u[s] = total;
    }
    total += -log1p(-qt_uniform(&x->rng));
    for (s = 0; s < shots; ++s) {
        x->u[s] /= total;
        if (x->u[s] >= 1.0) x->u[s] = 1.0 - 0x1.0p-53;
    }
    rc = x->ops->sample(x->states[depth], x->n, x->u, shots, x->idx);
    if (rc != QS_OK) return rc;
    for (s = 0; s < shots; ++s) {
        uint8_t *row = x->out_bits + (x->row + s) * p->nclbits;
        const uint64_t basis = (uint64_t)x->idx[s];
        int64_t at = pos;
        memcpy(row, bits, (size_t)p->nclbits);
        while (at < p->ncode) {
            const int64_t *c = p->code + at;
            if (c[0] == QT_MEASURE) {
                row[c[5]] = (uint8_t)((basis >> c[4]) & 1);
            } else { /* QT_READOUT */
                const double flip = p->data[c[5] + (row[c[4]] ? 1 : 0)];
                if (flip > 0 && qt_uniform(&x->rng) < flip) row[c[4]] ^= 1;
            }
            at += qt_record_len(c, p->ncode - at);
        }
    }
    x->row += shots;
    return QS_OK;
}

static int qt_finish(qt_ctx *x, int depth, int64_t pos, int64_t shots)
{
    if (x->nterms > 0) { /* the group's slot: its first shot's row (unique, deterministic) */
        int rc = x->ops->expectation_paulis(x->states[depth], x->n, x->xmask, x->zmask,
                                            x->nterms, x->out_evs + x->row * x->nterms);
        if (rc != QS_OK) return rc;
        x->out_counts[x->row] = shots;
        x->row += shots;
        return QS_OK;
    }
    if (pos < x->p->ncode) return qt_terminal(x, depth, pos, shots);
    {
        int64_t s;
        for (s = 0; s < shots; ++s)
            memcpy(x->out_bits + (x->row + s) * x->p->nclbits, x->bits[depth],
                   (size_t)x->p->nclbits);
        x->row += shots;
    }
    return QS_OK;
}

/* The branch probabilities (cumulative, cum[nb-1] the total) of a random record. */
static int qt_probabilities(qt_ctx *x, const int64_t *c, const void *state, const uint8_t *bits,
                            double *probs, int *nb)
{
    const qt_program *p = x->p;
    int b, rc;
    switch (c[0]) {
    case QT_MIXED:
        *nb = (int)c[5];
        for (b = 0; b < *nb; ++b) {
            const double w = p->data[c[6] + 4 * b];
            probs[b] = w > 0 ? w : 0.0;
        }
        return QS_OK;
    case QT_KRAUS: {
        const int k = (int)c[4], d = 1 << k;
        int t[2];
        double rho[32];
        t[0] = (int)c[QT_HEADER + 3];
        t[1] = k == 2 ? (int)c[QT_HEADER + 4] : 0;
        rc = qt_rdm(state, x->f32, x->n, k, t, rho);
        if (rc != QS_OK) return rc;
        *nb = (int)c[5];
        for (b = 0; b < *nb; ++b) {
            const double w = qt_branch_weight(p->data + c[6] + (int64_t)b * 2 * d * d, rho, d);
            probs[b] = w > 0 ? w : 0.0;
        }
        return QS_OK;
    }
    case QT_MEASURE:
    case QT_RESET: {
        double p1;
        rc = x->ops->measure_probability(state, x->n, (int)c[4], &p1);
        if (rc != QS_OK) return rc;
        *nb = 2;
        probs[0] = 1.0 - p1;
        probs[1] = p1;
        return QS_OK;
    }
    case QT_READOUT: {
        const double flip = p->data[c[5] + (bits[c[4]] ? 1 : 0)];
        *nb = 2;
        probs[0] = 1.0 - flip;
        probs[1] = flip;
        return QS_OK;
    }
    default:
        *nb = 1;
        probs[0] = 1.0;
        return QS_OK;
    }
}

/* Run the program from code offset pos for a group of `shots` shots in states[depth]. */
static int qt_group(qt_ctx *x, int depth, int64_t pos, int64_t shots)
{
    const qt_program *p = x->p;
    void *state = x->states[depth];
    uint8_t *bits = x->bits[depth];
    int rc;
    while (pos < p->ncode && (pos < p->terminal || x->nterms > 0)) {
        const int64_t *c = p->code + pos;
        const int64_t len = qt_record_len(c, p->ncode - pos);
        double probs[QT_MAX_BRANCH], cum[QT_MAX_BRANCH];
        int64_t counts[QT_MAX_BRANCH];
        int nb = 1, b, main;
        probs[0] = 1.0;
        pos += len;
        if (c[1] > 0 && !qt_condition(p, c, bits)) continue;
        if (c[0] == QT_GATE) {
            int t[QS_MAX_TARGETS], cq[QS_MAX_QUBITS];
            qs_gate g;
            int64_t j;
            for (j = 0; j < c[4]; ++j) t[j] = (int)c[QT_HEADER + 5 + j];
            for (j = 0; j < c[5]; ++j) cq[j] = (int)c[QT_HEADER + 5 + c[4] + j];
            g.kind = (int)c[7];
            g.k = (int)c[4];
            g.nc = (int)c[5];
            g.targets = t;
            g.controls = cq;
            g.ctrl_state = c[6];
            g.data = p->data + c[8];
            rc = x->ops->apply_gate(state, x->n, &g);
            if (rc != QS_OK) return rc;
            continue;
        }
        if (c[0] == QT_READOUT && x->nterms > 0) continue; /* estimator: bits not recorded */
        rc = qt_probabilities(x, c, state, bits, probs, &nb);
        if (rc != QS_OK) return rc;
        cum[0] = probs[0];
        for (b = 1; b < nb; ++b) cum[b] = cum[b - 1] + probs[b];
        if (!(cum[nb - 1] > 0.0)) return QS_ERR_ZERO_PROB;
        if (shots == 1) {
            const double u = qt_uniform(&x->rng) * cum[nb - 1];
            for (b = 0; b < nb - 1 && (u >= cum[b] || probs[b] <= 0.0); ++b) {
            }
            rc = qt_apply_branch(x, c, b, probs[b] / cum[nb - 1], state, bits);
            if (rc != QS_OK) return rc;
            if (qt_has_resets(x, c, b)) return qt_resets(x, depth, pos, 1, c, b, 0);
            continue;
        }
        qt_split(&x->rng, cum, nb, shots, counts);
        main = 0;
        for (b = 1; b < nb; ++b) {
            if (counts[b] > counts[main]) main = b;
        }
        for (b = 0; b < nb; ++b) {
            if (b == main || counts[b] == 0) continue;
            rc = qt_level(x, depth + 1);
            if (rc != QS_OK) return rc;
            memcpy(x->states[depth + 1], state, x->state_bytes);
            memcpy(x->bits[depth + 1], bits, (size_t)p->nclbits);
            rc = qt_apply_branch(x, c, b, probs[b] / cum[nb - 1], x->states[depth + 1],
                                 x->bits[depth + 1]);
            if (rc != QS_OK) return rc;
            rc = qt_has_resets(x, c, b) ? qt_resets(x, depth + 1, pos, counts[b], c, b, 0)
                                        : qt_group(x, depth + 1, pos, counts[b]);
            if (rc != QS_OK) return rc;
        }
        rc = qt_apply_branch(x, c, main, probs[main] / cum[nb - 1], state, bits);
        if (rc != QS_OK) return rc;
        if (qt_has_resets(x, c, main)) return qt_resets(x, depth, pos, counts[main], c, main, 0);
        shots = counts[main];
    }
    return qt_finish(x, depth, pos, shots);
}

/* Shots run in QT_BATCHES independent batches (each from its own copy of the initial state,
 * with its own generator derived from the seed) for states below QT_BATCH_QUBITS qubits, on
 * up to that many threads with single-threaded kernels inside; larger states run as one batch
 * on the kernels' threads.  The split depends only on n and shots, never on the thread count,
 * so the same seed gives the same bits on any machine. */
#define QT_BATCHES 4
#define QT_BATCH_QUBITS 21

static int qt_batches(int n, int64_t shots)
{
    return n < QT_BATCH_QUBITS && shots >= 4 * QT_BATCHES ? QT_BATCHES : 1;
}

static int qt_run_batch(const qt_program *prog, qs_dtype dtype, void *state, int n,
                        int64_t first_row, int64_t shots, uint64_t seed, uint8_t *out_bits,
                        const uint64_t *xmask, const uint64_t *zmask, int64_t nterms,
                        double *out_evs, int64_t *out_counts, int64_t *ngroups)
{
    qt_ctx x;
    int rc, d;
    memset(&x, 0, sizeof x);
    x.p = prog;
    x.ops = qs_get_ops(dtype);
    x.f32 = dtype == QS_COMPLEX64;
    x.n = n;
    x.state_bytes = ((size_t)1 << n) * (x.f32 ? 8 : 16);
    x.states[0] = state;
    x.out_bits = out_bits;
    x.xmask = xmask;
    x.zmask = zmask;
    x.nterms = nterms;
    x.out_evs = out_evs;
    x.out_counts = out_counts;
    x.row = first_row;
    qt_seed(&x.rng, seed);
    rc = QS_OK;
    x.bits[0] = (uint8_t *)calloc((size_t)prog->nclbits + 1, 1);
    if (nterms == 0) {
        x.u = (double *)malloc(sizeof(double) * (size_t)(shots > 0 ? shots : 1));
        x.idx = (int64_t *)malloc(sizeof(int64_t) * (size_t)(shots > 0 ? shots : 1));
        if (x.u == NULL || x.idx == NULL) rc = QS_ERR_NOMEM;
    }
    if (x.bits[0] == NULL) rc = QS_ERR_NOMEM;
    if (rc == QS_OK && shots > 0) rc = qt_group(&x, 0, 0, shots);
    *ngroups = x.row - first_row;
    free(x.u);
    free(x.idx);
    for (d = 0; d < 66; ++d) {
        if (d > 0) free(x.raw[d]);
        free(x.bits[d]);
    }
    return rc;
}

int qt_run(const qt_program *prog, qs_dtype dtype, void *state, int n, int64_t shots,
           uint64_t seed, uint8_t *out_bits, const uint64_t *xmask, const uint64_t *zmask,
           int64_t nterms, double *out_evs, int64_t *out_counts, int64_t *ngroups)
{
    const int nb = qt_batches(n, shots);
    const size_t bytes = ((size_t)1 << n) * (dtype == QS_COMPLEX64 ? 8 : 16);
    void *states[QT_BATCHES] = {NULL}, *raw[QT_BATCHES] = {NULL};
    int rcs[QT_BATCHES] = {QS_OK};
    int64_t groups[QT_BATCHES] = {0};
    int b, rc = QS_OK, nt;
    states[0] = state;
    for (b = 1; b < nb; ++b) {
        states[b] = qs_aligned_malloc(bytes, &raw[b]);
        if (states[b] == NULL) rc = QS_ERR_NOMEM;
        else memcpy(states[b], state, bytes);
    }
    nt = nb > 1 ? qs_get_num_threads() : 1;
    if (nt > nb) nt = nb;
    if (rc == QS_OK) {
        if (nt > 1) qs_pool_started = 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
#endif
        for (b = 0; b < nb; ++b) {
            const int64_t lo = shots * b / nb, hi = shots * (b + 1) / nb;
            uint64_t s = seed ^ ((uint64_t)b * 0xd1b54a32d192ed03ULL);
            rcs[b] = qt_run_batch(prog, dtype, states[b], n, lo, hi - lo, qt_splitmix(&s),
                                  out_bits, xmask, zmask, nterms, out_evs, out_counts,
                                  &groups[b]);
        }
    }
    *ngroups = 0;
    for (b = 0; b < nb; ++b) {
        if (rc == QS_OK && rcs[b] != QS_OK) rc = rcs[b];
        *ngroups += groups[b];
        if (b > 0) free(raw[b]);
    }
    return rc;
}
