/*
 * trajectories.h -- noisy circuits by quantum trajectories, with shots grouped (no Python).
 *
 * A program is a flat int64 code of operation records and a float64 data array (matrices as
 * interleaved complex128, probabilities).  Every record starts with a header
 *     opcode, ncond, cond_offset, cond_value
 * (the operation runs only where the ncond classical bits cond_bits[cond_offset..] read, bit i
 * of the integer being bit i, the value cond_value; ncond 0 = always), then:
 *     QT_GATE     k, nc, ctrl_state, kind (qs_gate_kind), data_offset, targets[k], controls[nc]
 *     QT_MIXED    k, nbranch, prob_offset, data_offset, targets[k]
 *                 branch b (chosen with a fixed probability: a mixture of Pauli strings and
 *                 resets) is data[prob_offset + 4b ..] = (probability, has_unitary, reset
 *                 mask, reset values) over the k targets, and its unitary (the Pauli part,
 *                 applied first) is data[data_offset + b * 2 * 4**k ...]
 *     QT_KRAUS    k, nkraus, data_offset, targets[k]   (general Kraus operators)
 *     QT_MEASURE  qubit, clbit
 *     QT_RESET    qubit
 *     QT_READOUT  clbit, prob_offset   (data: P(read 1 | 0), P(read 0 | 1))
 *
 * Shots travel in groups that share one state and one set of classical bits.  At each random
 * event (a channel, a measurement, a readout error) a group's shots draw their branch; the
 * branch most of them took continues in place, each other branch on a copy of the state
 * (depth-first), so a branch never holds more than half its parent's shots and at most
 * floor(log2(shots)) + 2 states are alive.  Operations before the first random event run once
 * for all shots.  From `terminal` on the program holds only unconditional measurements and
 * readout errors: each group then samples its shots from its state in one pass.  All draws
 * come from a xoshiro256** generator seeded by the caller (reproducible, independent of the
 * thread count).
 */
#ifndef QSESSION_TRAJECTORIES_H
#define QSESSION_TRAJECTORIES_H

#include <stdint.h>

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { QT_GATE = 0, QT_MIXED = 1, QT_KRAUS = 2, QT_MEASURE = 3, QT_RESET = 4, QT_READOUT = 5 };

#define QT_HEADER 4     /* opcode, ncond, cond_offset, cond_value */
#define QT_MAX_BRANCH 256 /* branches (Kraus operators, mixture branches) of one channel */

typedef struct qt_program {
    const int64_t *code;
    int64_t ncode;
    const double *data;
    int64_t ndata;
    const int64_t *cond_bits;
    int64_t ncond_bits;
    int64_t nclbits;
    int64_t terminal; /* code offset where the terminal measurements start (ncode: none) */
} qt_program;

/* Check a program against n qubits: NULL if every record is well formed and in bounds,
 * otherwise a message (static storage) naming the problem, with *where the code offset. */
const char *qt_check(const qt_program *prog, int n, int64_t *where);

/* Run `shots` shots from `state` (2**n amplitudes of dtype, normalised; overwritten).
 * Sampler mode (nterms == 0): out_bits receives shots x nclbits bytes (0/1), groups in
 * sequence.  Estimator mode (nterms > 0): the measurements do not record (no terminal
 * sampling); a group whose first shot is row r writes its final state's Re <P_t> for the
 * Pauli masks (x[t], z[t]) into out_evs[r * nterms + t] and its shot count into
 * out_counts[r] (the caller zeroes out_counts: rows no group starts at stay 0); *ngroups
 * receives the number of shots run.  Small states run in
 * a fixed number of batches, in parallel (see qt_batches in trajectories.c).
 * Returns QS_OK, QS_ERR_NOMEM or QS_ERR_ZERO_PROB. */
int qt_run(const qt_program *prog, qs_dtype dtype, void *state, int n, int64_t shots,
           uint64_t seed, uint8_t *out_bits, const uint64_t *xmask, const uint64_t *zmask,
           int64_t nterms, double *out_evs, int64_t *out_counts, int64_t *ngroups);

#ifdef __cplusplus
}
#endif

#endif /* QSESSION_TRAJECTORIES_H */
