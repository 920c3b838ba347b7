/*
 * Statevector kernels: C (GNU C99 with vector extensions), no Python.  This header is their
 * interface to module.c; internal.h says which file holds what.
 *
 * A state is an interleaved array of 2**n complex amplitudes (re, im, re, im, ...), either
 * double (complex128) or float (complex64).  Qubit q is bit q of the amplitude index.  For a
 * k-qubit gate on targets (t0, ..., t_{k-1}), bit j of the matrix row/column index belongs to
 * targets[j].  Matrices and diagonals are always interleaved complex128, whatever the state's
 * precision.
 *
 * The kernels trust their arguments: module.c checks every shape, index and dtype before the
 * call.  All entry points are reached through a per-dtype table of function pointers
 * (qs_get_ops) whose entries were compiled for the best instruction set this CPU supports
 * (qs_simd_init).
 */
#ifndef QSESSION_KERNELS_H
#define QSESSION_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QS_MAX_TARGETS 6  /* dense and diagonal gates act on 1..QS_MAX_TARGETS qubits */
#define QS_MAX_QUBITS 62  /* indices are uint64; 2**62 amplitudes is far beyond any memory */

/* Return codes of the kernels. */
enum {
    QS_OK = 0,
    QS_ERR_NOMEM = -1,     /* a scratch allocation failed */
    QS_ERR_ZERO_NORM = -2, /* the state has zero norm (sample, measure_probability) */
    QS_ERR_ZERO_PROB = -3  /* collapse onto an outcome of zero probability */
};

typedef enum { QS_COMPLEX128 = 0, QS_COMPLEX64 = 1 } qs_dtype;

typedef enum { QS_GATE_MATRIX = 0, QS_GATE_DIAGONAL = 1 } qs_gate_kind;

/* One gate.  targets/controls must be distinct and < n; 1 <= k <= QS_MAX_TARGETS. */
typedef struct qs_gate {
    int kind;             /* qs_gate_kind */
    int k;                /* number of targets */
    int nc;               /* number of controls */
    const int *targets;   /* k entries; targets[j] is bit j of the matrix index */
    const int *controls;  /* nc entries */
    int64_t ctrl_state;   /* bit i = required value of controls[i]; -1 = all ones */
    const double *data;   /* kind MATRIX: row-major (2**k, 2**k); DIAGONAL: 2**k entries */
} qs_gate;

/* A tile of run_tiled: gates [g0, g1) applied chunk by chunk to the 2**nlocal amplitudes that
 * share the values of all other qubits (gathered into a cache-resident buffer unless local[] is
 * 0..nlocal-1).  The tile's gates use local qubit numbers: local qubit j is global qubit
 * local[j] (ascending).  nlocal == 0: the gates use global numbers and run one by one. */
typedef struct qs_tile {
    int nlocal;
    const int *local;
    int64_t g0, g1;
} qs_tile;

/* Per-dtype operations.  `state` points at 2**n interleaved amplitudes of the table's dtype. */
typedef struct qs_ops {
    /* Apply one gate in place.  Returns QS_OK or QS_ERR_NOMEM. */
    int (*apply_gate)(void *state, int n, const qs_gate *gate);
    /* Apply gates[0..ngates) in order.  Returns QS_OK or QS_ERR_NOMEM (state partly updated). */
    int (*run_plan)(void *state, int n, const qs_gate *gates, int64_t ngates);
    /* out[i] = |state[i]|**2 for all 2**n amplitudes. */
    void (*probabilities)(const void *state, int n, double *out);
    /* Sum of |state[i]|**2. */
    double (*norm_squared)(const void *state, int n);
    /* One pass over the cumulative distribution for sorted uniforms u[0..nshots) in [0, 1).
     * Returns QS_OK or QS_ERR_ZERO_NORM. */
    int (*sample)(const void *state, int n, const double *u, int64_t nshots, int64_t *out);
    /* out[t] = Re <psi| P_t |psi> for the Pauli strings (x[t], z[t]); masks < 2**n.
     * Returns QS_OK or QS_ERR_NOMEM. */
    int (*expectation_paulis)(const void *state, int n, const uint64_t *x, const uint64_t *z,
                              int64_t nterms, double *out);
    /* *p1 = probability that `qubit` reads 1 (relative to the norm).  QS_ERR_ZERO_NORM if 0. */
    int (*measure_probability)(const void *state, int n, int qubit, double *p1);
    /* Project onto qubit == outcome; if renormalize, scale to unit norm.
     * Returns QS_OK or QS_ERR_ZERO_PROB (state untouched). */
    int (*collapse)(void *state, int n, int qubit, int outcome, int renormalize);
    /* apply_gate with at most nthreads OpenMP threads (1: serial, for use inside a region). */
    int (*apply_gate_nt)(void *state, int n, const qs_gate *gate, int nthreads);
    /* Run tiles[0..ntiles) in order (see qs_tile).  Returns QS_OK or QS_ERR_NOMEM. */
    int (*run_tiled)(void *state, int n, const qs_gate *gates, const qs_tile *tiles,
                     int64_t ntiles);
} qs_ops;

/* True if [off, off + size) lies inside [0, limit): overflow-safe for any int64 off, given
 * 0 <= size and 0 <= limit.  Every check of a caller-supplied offset uses this form. */
static inline int qs_span_ok(int64_t off, int64_t size, int64_t limit)
{
    return off >= 0 && off <= limit && size <= limit - off;
}

/* Fused gate matrices, complex128.  code describes the blocks (see fusion.c);
 * comp holds the component gates' data, out receives each block's matrix or diagonal.
 * qs_fuse_check validates code against the array lengths first (overflow-safe for any int64
 * values): NULL if fine, otherwise a message (static storage) naming the problem, with *where
 * the index of the offending code entry (ncode if the code ends too early there).
 * qs_fuse_blocks trusts code: only pass code that qs_fuse_check accepted, unchanged since. */
const char *qs_fuse_check(const int64_t *code, int64_t ncode, int64_t ncomp, int64_t nout,
                          int64_t *where);
int qs_fuse_blocks(const int64_t *code, int64_t ncode, const double *comp, double *out);

/* Permute the qubits of a state in place (itemsize 16: complex128, 8: complex64): bit source[q]
 * of every amplitude index becomes bit q; source is a permutation of 0..n-1.  At most two
 * passes over the state.  Returns QS_OK or QS_ERR_NOMEM. */
int qs_permute_qubits(void *state, int n, size_t itemsize, const int *source);

/* Pick the code path: level NULL or "" = best the CPU supports; otherwise "avx512f", "avx2"
 * or "generic".  Returns 0, -1 for an unknown name, -2 if the CPU (or build) lacks it. */
int qs_simd_init(const char *level);
/* The code path in use: "avx512f", "avx2" or "generic". */
const char *qs_simd_level(void);
/* The operations for a dtype, compiled for the selected code path. */
const qs_ops *qs_get_ops(qs_dtype dtype);

/* OpenMP threads used for states of at least 2**QS_PARALLEL_MIN_QUBITS amplitudes. */
#define QS_PARALLEL_MIN_QUBITS 14
void qs_set_num_threads(int nthreads); /* nthreads >= 1; ignored without OpenMP */
/* 1 without OpenMP, and in a process forked after this one ran a parallel region (GNU libgomp
 * would hang there). */
int qs_get_num_threads(void);
int qs_has_openmp(void);

#ifdef __cplusplus
}
#endif

#endif /* QSESSION_KERNELS_H */
