/*
 * module.c -- CPython/NumPy glue for qsession_provider.sim._kernel.
 *
 * Every entry point: parse arguments, check arrays (dtype -> TypeError; shape, contiguity,
 * qubit indices, offsets, counts -> ValueError naming the argument), then call the kernel
 * (kernels.h) with the GIL released.  The kernels trust what they get, so the checks here are
 * the only line of defence, and they are written to hold for any value an int64 can take:
 *   - offsets and spans as qs_span_ok (off >= 0, off <= limit, size <= limit - off), never
 *     `off + size > limit`, which wraps near INT64_MAX;
 *   - differences of offsets only after both are known to lie in [0, limit];
 *   - shifts and products only of values already bounded (sizes of buffers: alloc_items);
 *   - Python integers through as_int64 (ValueError beyond int64, never a silent wrap).
 * Whatever the kernel reads after the GIL is released is either a private copy made here
 * (qubit lists, gate records, fuse_blocks code, Pauli masks) or array data whose values cannot
 * send it out of bounds (amplitudes, matrices, uniforms), so another thread changing an argument
 * while the kernel runs cannot turn a checked call into an out-of-bounds access.  Python code
 * that a check may run (__index__ of a qubit) runs before the arrays are examined.
 * Arguments are borrowed; the only new references are results and temporaries released on the
 * single `error:` path of each function.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdlib.h>

#include "kernels.h"

/* Release the GIL around a kernel only when its work (amplitudes touched, roughly) is worth
 * it: for a tiny state the release and the reacquisition cost more than the kernel, and
 * they let another Python thread (the store's writer, a user's thread) in at every call,
 * which a loop of tiny jobs then waits for. 2^15 amplitude-steps take ~10-30 us. */
#define QS_GIL_MIN_WORK ((int64_t)1 << 15)
#define QS_BEGIN_KERNEL(work) \
    {                         \
        PyThreadState *qs_save_ = (int64_t)(work) >= QS_GIL_MIN_WORK ? PyEval_SaveThread() : NULL;
#define QS_END_KERNEL                                          \
        if (qs_save_ != NULL) PyEval_RestoreThread(qs_save_); \
    }

/* count * 2**n amplitude-steps, saturating at INT64_MAX (only compared with QS_GIL_MIN_WORK). */
static int64_t kernel_work(int64_t count, int n)
{
    if (count <= 0) return 0;
    if (n >= 62 || count > (INT64_MAX >> n)) return INT64_MAX;
    return count << n;
}

/* A PyMem buffer of count items of size bytes (at least one item), or NULL with MemoryError;
 * the product is checked, not wrapped. */
static void *alloc_items(npy_intp count, size_t size)
{
    const size_t items = count > 0 ? (size_t)count : 1;
    void *buf;
    if (count < 0 || items > (size_t)PY_SSIZE_T_MAX / size) {
        PyErr_NoMemory();
        return NULL;
    }
    buf = PyMem_Malloc(items * size);
    if (buf == NULL) PyErr_NoMemory();
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Argument checks                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* A Python integer (anything with __index__) as a long long; huge values are a ValueError. */
static int as_int64(PyObject *obj, const char *what, long long *out)
{
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Format(PyExc_TypeError, "%s must be an integer, not %.100s", what,
                         Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    *out = PyLong_AsLongLong(index);
    Py_DECREF(index);
    if (*out == -1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Format(PyExc_ValueError, "%s is out of range", what);
        }
        return -1;
    }
    return 0;
}

/* The state: a 1-D, C-contiguous, aligned, native-order complex128/complex64 ndarray whose
 * length is a power of two.  Sets *n (number of qubits) and *dtype. */
static int check_state(PyObject *obj, int writeable, int *n, qs_dtype *dtype)
{
    PyArrayObject *arr;
    npy_intp len;
    int q;
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "state must be a numpy.ndarray, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    arr = (PyArrayObject *)obj;
    if (PyArray_TYPE(arr) == NPY_COMPLEX128) {
        *dtype = QS_COMPLEX128;
    } else if (PyArray_TYPE(arr) == NPY_COMPLEX64) {
        *dtype = QS_COMPLEX64;
    } else {
        PyErr_SetString(PyExc_TypeError, "state must have dtype complex128 or complex64");
        return -1;
    }
    if (!PyArray_ISNOTSWAPPED(arr)) {
        PyErr_SetString(PyExc_TypeError, "state must be in native byte order");
        return -1;
    }
    if (PyArray_NDIM(arr) != 1) {
        PyErr_Format(PyExc_ValueError, "state must be 1-D, got %d dimensions",
                     PyArray_NDIM(arr));
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr)) {
        PyErr_SetString(PyExc_ValueError, "state must be C-contiguous and aligned");
        return -1;
    }
    if (writeable && !PyArray_ISWRITEABLE(arr)) {
        PyErr_SetString(PyExc_ValueError, "state must be writeable (it is updated in place)");
        return -1;
    }
    len = PyArray_DIM(arr, 0);
    if (len < 1 || (len & (len - 1)) != 0) {
        PyErr_Format(PyExc_ValueError, "state length must be a power of two, got %zd",
                     (Py_ssize_t)len);
        return -1;
    }
    for (q = 0; ((npy_intp)1 << q) < len; ++q) {
    }
    if (q > QS_MAX_QUBITS) {
        PyErr_SetString(PyExc_ValueError, "state has too many qubits");
        return -1;
    }
    *n = q;
    return 0;
}

/* A 1-D (ndim 1) or square 2-D (ndim 2) aligned, C-contiguous, native-order array of the
 * given type.  len0 < 0 accepts any length; ndim 2 requires shape (len0, len0). */
static int check_array(PyObject *obj, const char *name, int typenum, const char *typename,
                       int ndim, npy_intp len0)
{
    PyArrayObject *arr;
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray of %s, not %.100s", name,
                     typename, Py_TYPE(obj)->tp_name);
        return -1;
    }
    arr = (PyArrayObject *)obj;
    if (PyArray_TYPE(arr) != typenum || !PyArray_ISNOTSWAPPED(arr)) {
        PyErr_Format(PyExc_TypeError, "%s must have dtype %s (native byte order)", name,
                     typename);
        return -1;
    }
    if (PyArray_NDIM(arr) != ndim ||
        (len0 >= 0 && PyArray_DIM(arr, 0) != len0) ||
        (ndim == 2 && PyArray_DIM(arr, 1) != PyArray_DIM(arr, 0))) {
        if (ndim == 2) {
            PyErr_Format(PyExc_ValueError, "%s must have shape (%zd, %zd)", name,
                         (Py_ssize_t)len0, (Py_ssize_t)len0);
        } else if (len0 >= 0) {
            PyErr_Format(PyExc_ValueError, "%s must have shape (%zd,)", name, (Py_ssize_t)len0);
        } else {
            PyErr_Format(PyExc_ValueError, "%s must be 1-D", name);
        }
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr)) {
        PyErr_Format(PyExc_ValueError, "%s must be C-contiguous and aligned", name);
        return -1;
    }
    return 0;
}

/* Up to maxcount integers from a sequence into vals[*count] (None: no entries).  The sequence
 * is copied into a tuple first: an item's __index__ may run Python code that changes the
 * sequence, which must not free the items still to be read. */
static int parse_ints(PyObject *seq, const char *name, int maxcount, long long *vals,
                      int *count)
{
    PyObject *items = NULL;
    Py_ssize_t i, len;
    int rc = -1;
    *count = 0;
    if (seq == NULL || seq == Py_None) return 0;
    items = PySequence_Tuple(seq);
    if (items == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Format(PyExc_TypeError, "%s must be a sequence of ints, not %.100s", name,
                         Py_TYPE(seq)->tp_name);
        }
        goto error;
    }
    len = PyTuple_GET_SIZE(items);
    if (len > maxcount) {
        PyErr_Format(PyExc_ValueError, "%s: at most %d qubits allowed, got %zd", name, maxcount,
                     len);
        goto error;
    }
    for (i = 0; i < len; ++i) {
        if (as_int64(PyTuple_GET_ITEM(items, i), name, &vals[i]) < 0) goto error;
    }
    *count = (int)len;
    rc = 0;
error:
    Py_XDECREF(items);
    return rc;
}

/* Qubit numbers vals[0..count) into out: each in [0, n) and not yet in *used. */
static int check_qubits(const long long *vals, int count, const char *name, int n, int *out,
                        uint64_t *used)
{
    int i;
    for (i = 0; i < count; ++i) {
        const long long q = vals[i];
        if (q < 0 || q >= n) {
            PyErr_Format(PyExc_ValueError, "%s: qubit %lld out of range for %d qubits", name, q,
                         n);
            return -1;
        }
        if (*used & ((uint64_t)1 << q)) {
            PyErr_Format(PyExc_ValueError, "%s: qubit %lld used more than once", name, q);
            return -1;
        }
        *used |= (uint64_t)1 << q;
        out[i] = (int)q;
    }
    return 0;
}

static int check_ctrl_state(long long ctrl_state, int nc, const char *where)
{
    if (ctrl_state != -1 && (ctrl_state < 0 || ctrl_state >= ((long long)1 << nc))) {
        PyErr_Format(PyExc_ValueError, "%sctrl_state %lld out of range for %d controls", where,
                     ctrl_state, nc);
        return -1;
    }
    return 0;
}

static PyObject *raise_kernel_error(int rc)
{
    switch (rc) {
    case QS_ERR_ZERO_NORM:
        PyErr_SetString(PyExc_ValueError, "state has zero (or non-finite) norm");
        break;
    case QS_ERR_ZERO_PROB:
        PyErr_SetString(PyExc_ValueError, "outcome has zero probability");
        break;
    default:
        PyErr_NoMemory();
        break;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Gates                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static PyObject *apply_common(PyObject *args, PyObject *kwds, int kind)
{
    static char *kw_matrix[] = {"state", "targets", "matrix", "controls", "ctrl_state", NULL};
    static char *kw_diag[] = {"state", "targets", "diag", "controls", "ctrl_state", NULL};
    PyObject *state, *targets, *data, *controls = NULL, *ctrl_obj = NULL;
    int tq[QS_MAX_TARGETS], cq[QS_MAX_QUBITS], k, nc, n, rc;
    long long tv[QS_MAX_TARGETS], cv[QS_MAX_QUBITS], ctrl_state = -1;
    uint64_t used = 0;
    qs_dtype dtype;
    qs_gate gate;
    const qs_ops *ops;
    const char *data_name = kind == QS_GATE_MATRIX ? "matrix" : "diag";

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|OO",
                                     kind == QS_GATE_MATRIX ? kw_matrix : kw_diag, &state,
                                     &targets, &data, &controls, &ctrl_obj)) {
        return NULL;
    }
    /* Integers first (their __index__ may run Python code), then the arrays. */
    if (parse_ints(targets, "targets", QS_MAX_TARGETS, tv, &k) < 0) return NULL;
    if (parse_ints(controls, "controls", QS_MAX_QUBITS, cv, &nc) < 0) return NULL;
    if (ctrl_obj != NULL && ctrl_obj != Py_None &&
        as_int64(ctrl_obj, "ctrl_state", &ctrl_state) < 0) {
        return NULL;
    }
    if (check_state(state, 1, &n, &dtype) < 0) return NULL;
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "targets: at least one qubit required");
        return NULL;
    }
    if (check_qubits(tv, k, "targets", n, tq, &used) < 0) return NULL;
    if (check_qubits(cv, nc, "controls", n, cq, &used) < 0) return NULL;
    if (check_ctrl_state(ctrl_state, nc, "") < 0) return NULL;
    if (check_array(data, data_name, NPY_COMPLEX128, "complex128",
                    kind == QS_GATE_MATRIX ? 2 : 1, (npy_intp)1 << k) < 0) {
        return NULL;
    }
    gate.kind = kind;
    gate.k = k;
    gate.nc = nc;
    gate.targets = tq;
    gate.controls = cq;
    gate.ctrl_state = ctrl_state;
    gate.data = (const double *)PyArray_DATA((PyArrayObject *)data);
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL((int64_t)1 << n)
    rc = ops->apply_gate(PyArray_DATA((PyArrayObject *)state), n, &gate);
    QS_END_KERNEL
    if (rc != QS_OK) return raise_kernel_error(rc);
    Py_RETURN_NONE;
}

static PyObject *py_apply_matrix(PyObject *self, PyObject *args, PyObject *kwds)
{
    (void)self;
    return apply_common(args, kwds, QS_GATE_MATRIX);
}

static PyObject *py_apply_diagonal(PyObject *self, PyObject *args, PyObject *kwds)
{
    (void)self;
    return apply_common(args, kwds, QS_GATE_DIAGONAL);
}

/* Typed views of the run_plan arrays, checked for dtype, shape and contiguity. */
static int plan_array(PyObject *obj, const char *name, int typenum, const char *typename,
                      npy_intp len, void **data, npy_intp *got_len)
{
    if (check_array(obj, name, typenum, typename, 1, len) < 0) return -1;
    *data = PyArray_DATA((PyArrayObject *)obj);
    if (got_len) *got_len = PyArray_DIM((PyArrayObject *)obj, 0);
    return 0;
}

/* The gate arrays shared by run_plan and run_tiled, checked and turned into qs_gate records.
 * limit[g] (or n when limit is NULL) bounds the qubit numbers of gate g; limit has nlimit
 * entries, which must be the number of gates.  On success *gates_out
 * and *qbuf_out are PyMem allocations the caller frees. */
typedef struct {
    PyObject *kinds, *qubits, *qoff, *mats, *moff, *cc, *cs;
} plan_objs;

static int build_gates(const plan_objs *o, int n, const int *limit, npy_intp nlimit,
                       npy_intp *G_out, qs_gate **gates_out, int **qbuf_out)
{
    const npy_int32 *kinds, *qubits, *cc;
    const npy_int64 *qoff, *moff, *cs;
    const double *mats;
    void *ptr;
    npy_intp G, Q, M, g, i, q0, m0;
    qs_gate *gates = NULL;
    int *qbuf = NULL;

    *gates_out = NULL;
    *qbuf_out = NULL;
    if (plan_array(o->kinds, "kinds", NPY_INT32, "int32", limit ? nlimit : -1, &ptr, &G) < 0) {
        goto error;
    }
    kinds = (const npy_int32 *)ptr;
    if (plan_array(o->qubits, "qubits", NPY_INT32, "int32", -1, &ptr, &Q) < 0) goto error;
    qubits = (const npy_int32 *)ptr;
    if (plan_array(o->qoff, "qubit_offsets", NPY_INT64, "int64", G + 1, &ptr, NULL) < 0) goto error;
    qoff = (const npy_int64 *)ptr;
    if (plan_array(o->mats, "matrices", NPY_COMPLEX128, "complex128", -1, &ptr, &M) < 0) goto error;
    mats = (const double *)ptr;
    if (plan_array(o->moff, "matrix_offsets", NPY_INT64, "int64", G + 1, &ptr, NULL) < 0) goto error;
    moff = (const npy_int64 *)ptr;
    if (plan_array(o->cc, "ctrl_counts", NPY_INT32, "int32", G, &ptr, NULL) < 0) goto error;
    cc = (const npy_int32 *)ptr;
    if (plan_array(o->cs, "ctrl_states", NPY_INT64, "int64", G, &ptr, NULL) < 0) goto error;
    cs = (const npy_int64 *)ptr;

    if (qoff[0] != 0 || qoff[G] != Q) {
        PyErr_Format(PyExc_ValueError, "qubit_offsets must start at 0 and end at len(qubits)=%zd",
                     (Py_ssize_t)Q);
        goto error;
    }
    if (moff[0] != 0 || moff[G] != M) {
        PyErr_Format(PyExc_ValueError,
                     "matrix_offsets must start at 0 and end at len(matrices)=%zd", (Py_ssize_t)M);
        goto error;
    }
    gates = (qs_gate *)alloc_items(G, sizeof(qs_gate));
    qbuf = gates == NULL ? NULL : (int *)alloc_items(Q, sizeof(int));
    if (qbuf == NULL) goto error;
    /* Each array entry is read once into a local: the gate records hold exactly what was
     * checked.  q0 and m0 are in [0, Q] and [0, M] (qoff[0] = moff[0] = 0 at the start), and
     * q1, m1 are checked against them before any difference is taken. */
    q0 = 0;
    m0 = 0;
    for (g = 0; g < G; ++g) {
        const npy_int64 q1 = qoff[g + 1], m1 = moff[g + 1], ctrl_state = cs[g];
        const npy_int32 kind = kinds[g], nc = cc[g];
        const int lim = limit ? limit[g] : n;
        npy_int64 nq, nd, k, want;
        uint64_t used = 0;
        if (kind != QS_GATE_MATRIX && kind != QS_GATE_DIAGONAL) {
            PyErr_Format(PyExc_ValueError, "gate %zd: kind must be 0 (matrix) or 1 (diagonal), "
                         "got %d", (Py_ssize_t)g, (int)kind);
            goto error;
        }
        if (q1 < q0 || q1 > Q) {
            PyErr_Format(PyExc_ValueError, "gate %zd: qubit_offsets[%zd] = %lld: offsets must be "
                         "non-decreasing and at most len(qubits)=%zd", (Py_ssize_t)g,
                         (Py_ssize_t)(g + 1), (long long)q1, (Py_ssize_t)Q);
            goto error;
        }
        if (m1 < m0 || m1 > M) {
            PyErr_Format(PyExc_ValueError, "gate %zd: matrix_offsets[%zd] = %lld: offsets must "
                         "be non-decreasing and at most len(matrices)=%zd", (Py_ssize_t)g,
                         (Py_ssize_t)(g + 1), (long long)m1, (Py_ssize_t)M);
            goto error;
        }
        nq = q1 - q0;
        nd = m1 - m0;
        if (nc < 0 || nc >= nq || nq - nc > QS_MAX_TARGETS) {
            PyErr_Format(PyExc_ValueError, "gate %zd: %lld qubits with ctrl_counts %d leave "
                         "%lld targets (1..%d required)", (Py_ssize_t)g, (long long)nq, (int)nc,
                         (long long)(nq - nc), QS_MAX_TARGETS);
            goto error;
        }
        k = nq - nc;
        for (i = q0; i < q1; ++i) {
            const npy_int32 q = qubits[i];
            if (q < 0 || q >= lim) {
                PyErr_Format(PyExc_ValueError, "gate %zd: qubit %d out of range for %d qubits",
                             (Py_ssize_t)g, (int)q, lim);
                goto error;
            }
            if (used & ((uint64_t)1 << q)) {
                PyErr_Format(PyExc_ValueError, "gate %zd: qubit %d used more than once",
                             (Py_ssize_t)g, (int)q);
                goto error;
            }
            used |= (uint64_t)1 << q;
            qbuf[i] = (int)q;
        }
        want = kind == QS_GATE_MATRIX ? (npy_int64)1 << (2 * k) : (npy_int64)1 << k;
        if (nd != want) {
            PyErr_Format(PyExc_ValueError, "gate %zd: expected %lld matrix entries for %lld "
                         "targets, got %lld", (Py_ssize_t)g, (long long)want, (long long)k,
                         (long long)nd);
            goto error;
        }
        /* nc < nq <= lim <= 62 distinct qubits here, so the shift is defined. */
        if (ctrl_state != -1 && (ctrl_state < 0 || ctrl_state >= ((npy_int64)1 << nc))) {
            PyErr_Format(PyExc_ValueError, "gate %zd: ctrl_state %lld out of range for %d "
                         "controls", (Py_ssize_t)g, (long long)ctrl_state, (int)nc);
            goto error;
        }
        gates[g].kind = kind;
        gates[g].k = (int)k;
        gates[g].nc = nc;
        gates[g].controls = qbuf + q0;
        gates[g].targets = qbuf + q0 + nc;
        gates[g].ctrl_state = ctrl_state;
        gates[g].data = mats + 2 * m0;
        q0 = q1;
        m0 = m1;
    }
    if (q0 != Q || m0 != M) { /* only if another thread changed an offset array meanwhile */
        PyErr_SetString(PyExc_ValueError,
                        "qubit_offsets or matrix_offsets changed during the call");
        goto error;
    }
    *G_out = G;
    *gates_out = gates;
    *qbuf_out = qbuf;
    return 0;
error:
    PyMem_Free(gates);
    PyMem_Free(qbuf);
    return -1;
}

static PyObject *py_run_plan(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "kinds", "qubits", "qubit_offsets", "matrices",
                             "matrix_offsets", "ctrl_counts", "ctrl_states", NULL};
    PyObject *state;
    plan_objs o;
    npy_intp G;
    int n, rc;
    qs_dtype dtype;
    qs_gate *gates = NULL;
    int *qbuf = NULL;
    const qs_ops *ops;
    (void)self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOOOO", kwlist, &state, &o.kinds, &o.qubits,
                                     &o.qoff, &o.mats, &o.moff, &o.cc, &o.cs)) {
        return NULL;
    }
    if (check_state(state, 1, &n, &dtype) < 0) return NULL;
    if (build_gates(&o, n, NULL, 0, &G, &gates, &qbuf) < 0) return NULL;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL(kernel_work((int64_t)G, n))
    rc = ops->run_plan(PyArray_DATA((PyArrayObject *)state), n, gates, (int64_t)G);
    QS_END_KERNEL
    PyMem_Free(gates);
    PyMem_Free(qbuf);
    if (rc != QS_OK) return raise_kernel_error(rc);
    Py_RETURN_NONE;
}

static PyObject *py_run_tiled(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "kinds", "qubits", "qubit_offsets", "matrices",
                             "matrix_offsets", "ctrl_counts", "ctrl_states", "tile_offsets",
                             "tile_qubits", "tile_qubit_offsets", NULL};
    PyObject *state, *toff_o, *tq_o, *tqoff_o, *result = NULL;
    plan_objs o;
    const npy_int64 *toff, *tqoff;
    const npy_int32 *tq;
    void *ptr;
    npy_intp G = 0, G0, T, TQ, t, g, i, g0, l0;
    int n, rc;
    qs_dtype dtype;
    qs_gate *gates = NULL;
    qs_tile *tiles = NULL;
    int *qbuf = NULL, *limit = NULL, *local = NULL;
    const qs_ops *ops;
    (void)self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOOOOOOO", kwlist, &state, &o.kinds,
                                     &o.qubits, &o.qoff, &o.mats, &o.moff, &o.cc, &o.cs, &toff_o,
                                     &tq_o, &tqoff_o)) {
        return NULL;
    }
    if (check_state(state, 1, &n, &dtype) < 0) return NULL;
    if (plan_array(o.kinds, "kinds", NPY_INT32, "int32", -1, &ptr, &G0) < 0) return NULL;
    if (plan_array(toff_o, "tile_offsets", NPY_INT64, "int64", -1, &ptr, &T) < 0) return NULL;
    toff = (const npy_int64 *)ptr;
    if (T < 1) {
        PyErr_SetString(PyExc_ValueError, "tile_offsets must have at least one entry");
        return NULL;
    }
    T -= 1;
    if (plan_array(tq_o, "tile_qubits", NPY_INT32, "int32", -1, &ptr, &TQ) < 0) return NULL;
    tq = (const npy_int32 *)ptr;
    if (plan_array(tqoff_o, "tile_qubit_offsets", NPY_INT64, "int64", T + 1, &ptr, NULL) < 0) {
        return NULL;
    }
    tqoff = (const npy_int64 *)ptr;
    if (toff[0] != 0 || toff[T] != G0) {
        PyErr_Format(PyExc_ValueError, "tile_offsets must start at 0 and end at len(kinds)=%zd",
                     (Py_ssize_t)G0);
        return NULL;
    }
    if (tqoff[0] != 0 || tqoff[T] != TQ) {
        PyErr_Format(PyExc_ValueError,
                     "tile_qubit_offsets must start at 0 and end at len(tile_qubits)=%zd",
                     (Py_ssize_t)TQ);
        return NULL;
    }
    tiles = (qs_tile *)alloc_items(T, sizeof(qs_tile));
    limit = tiles == NULL ? NULL : (int *)alloc_items(G0, sizeof(int));
    local = limit == NULL ? NULL : (int *)alloc_items(TQ, sizeof(int));
    if (local == NULL) goto error;
    /* As in build_gates: entries read once; g0 in [0, G0] and l0 in [0, TQ] by induction from
     * toff[0] = tqoff[0] = 0, so differences are taken only of checked values. */
    g0 = 0;
    l0 = 0;
    for (t = 0; t < T; ++t) {
        const npy_int64 g1 = toff[t + 1], l1 = tqoff[t + 1];
        npy_int64 nl;
        if (g1 < g0 || g1 > G0) {
            PyErr_Format(PyExc_ValueError, "tile %zd: tile_offsets[%zd] = %lld: offsets must be "
                         "non-decreasing and at most len(kinds)=%zd", (Py_ssize_t)t,
                         (Py_ssize_t)(t + 1), (long long)g1, (Py_ssize_t)G0);
            goto error;
        }
        if (l1 < l0 || l1 > TQ) {
            PyErr_Format(PyExc_ValueError, "tile %zd: tile_qubit_offsets[%zd] = %lld: offsets "
                         "must be non-decreasing and at most len(tile_qubits)=%zd",
                         (Py_ssize_t)t, (Py_ssize_t)(t + 1), (long long)l1, (Py_ssize_t)TQ);
            goto error;
        }
        nl = l1 - l0;
        if (nl > n) {
            PyErr_Format(PyExc_ValueError, "tile %zd: %lld local qubits for a %d-qubit state",
                         (Py_ssize_t)t, (long long)nl, n);
            goto error;
        }
        for (i = l0; i < l1; ++i) {
            const npy_int32 q = tq[i];
            if (q < 0 || q >= n || (i > l0 && q <= local[i - 1])) {
                PyErr_Format(PyExc_ValueError, "tile %zd: local qubits must be ascending, "
                             "distinct and below %d", (Py_ssize_t)t, n);
                goto error;
            }
            local[i] = (int)q;
        }
        tiles[t].nlocal = (int)nl;
        tiles[t].local = local + l0;
        tiles[t].g0 = g0;
        tiles[t].g1 = g1;
        for (g = g0; g < g1; ++g) limit[g] = nl > 0 ? (int)nl : n;
        g0 = g1;
        l0 = l1;
    }
    if (g0 != G0 || l0 != TQ) { /* only if another thread changed an offset array meanwhile */
        PyErr_SetString(PyExc_ValueError,
                        "tile_offsets or tile_qubit_offsets changed during the call");
        goto error;
    }
    if (build_gates(&o, n, limit, G0, &G, &gates, &qbuf) < 0) goto error;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL(kernel_work((int64_t)G + (int64_t)T, n))
    rc = ops->run_tiled(PyArray_DATA((PyArrayObject *)state), n, gates, tiles, (int64_t)T);
    QS_END_KERNEL
    if (rc != QS_OK) {
        raise_kernel_error(rc);
        goto error;
    }
    Py_INCREF(Py_None);
    result = Py_None;
error:
    PyMem_Free(gates);
    PyMem_Free(qbuf);
    PyMem_Free(tiles);
    PyMem_Free(limit);
    PyMem_Free(local);
    return result;
}

static PyObject *py_fuse_blocks(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"code", "components", "out", NULL};
    PyObject *code_o, *comp_o, *out_o;
    const char *problem;
    npy_intp ncode, ncomp, nout;
    int64_t *code = NULL, where = 0;
    void *ptr, *comp, *out;
    int rc;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO", kwlist, &code_o, &comp_o, &out_o)) {
        return NULL;
    }
    if (plan_array(code_o, "code", NPY_INT64, "int64", -1, &ptr, &ncode) < 0) return NULL;
    if (plan_array(comp_o, "components", NPY_COMPLEX128, "complex128", -1, &comp, &ncomp) < 0) {
        return NULL;
    }
    if (plan_array(out_o, "out", NPY_COMPLEX128, "complex128", -1, &out, &nout) < 0) return NULL;
    if (!PyArray_ISWRITEABLE((PyArrayObject *)out_o)) {
        PyErr_SetString(PyExc_ValueError, "out must be writeable");
        return NULL;
    }
    /* The kernel follows the code's offsets without checks, so it gets a private copy: the
     * one checked here, which neither `out` (it may share memory with code) nor another
     * thread can change while the kernel runs. */
    code = (int64_t *)alloc_items(ncode, sizeof(int64_t));
    if (code == NULL) return NULL;
    if (ncode > 0) memcpy(code, ptr, (size_t)ncode * sizeof(int64_t));
    problem = qs_fuse_check(code, (int64_t)ncode, (int64_t)ncomp, (int64_t)nout, &where);
    if (problem != NULL) {
        if (where < ncode) {
            PyErr_Format(PyExc_ValueError, "fuse_blocks: code[%lld] = %lld: %s (components has "
                         "%zd entries, out %zd)", (long long)where, (long long)code[where],
                         problem, (Py_ssize_t)ncomp, (Py_ssize_t)nout);
        } else {
            PyErr_Format(PyExc_ValueError, "fuse_blocks: %s (code has %zd entries)", problem,
                         (Py_ssize_t)ncode);
        }
        PyMem_Free(code);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = qs_fuse_blocks(code, (int64_t)ncode, (const double *)comp, (double *)out);
    Py_END_ALLOW_THREADS
    PyMem_Free(code);
    if (rc != QS_OK) return raise_kernel_error(rc);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------ */
/* Probabilities, sampling, expectation values, measurement                                    */
/* ------------------------------------------------------------------------------------------ */

static PyObject *py_probabilities(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", NULL};
    PyObject *state, *out;
    npy_intp len;
    int n;
    qs_dtype dtype;
    const qs_ops *ops;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &state)) return NULL;
    if (check_state(state, 0, &n, &dtype) < 0) return NULL;
    len = (npy_intp)1 << n;
    out = PyArray_SimpleNew(1, &len, NPY_FLOAT64);
    if (out == NULL) return NULL;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL((int64_t)1 << n)
    ops->probabilities(PyArray_DATA((PyArrayObject *)state), n,
                       (double *)PyArray_DATA((PyArrayObject *)out));
    QS_END_KERNEL
    return out;
}

static PyObject *py_norm_squared(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", NULL};
    PyObject *state;
    int n;
    qs_dtype dtype;
    double value;
    const qs_ops *ops;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &state)) return NULL;
    if (check_state(state, 0, &n, &dtype) < 0) return NULL;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL((int64_t)1 << n)
    value = ops->norm_squared(PyArray_DATA((PyArrayObject *)state), n);
    QS_END_KERNEL
    return PyFloat_FromDouble(value);
}

static PyObject *py_sample(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "uniforms", NULL};
    PyObject *state, *uniforms, *out = NULL;
    const double *u;
    npy_intp S, j;
    int n, rc;
    qs_dtype dtype;
    const qs_ops *ops;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO", kwlist, &state, &uniforms)) return NULL;
    if (check_state(state, 0, &n, &dtype) < 0) goto error;
    if (check_array(uniforms, "uniforms", NPY_FLOAT64, "float64", 1, -1) < 0) goto error;
    u = (const double *)PyArray_DATA((PyArrayObject *)uniforms);
    S = PyArray_DIM((PyArrayObject *)uniforms, 0);
    for (j = 0; j < S; ++j) {
        if (!(u[j] >= 0.0 && u[j] < 1.0)) {
            PyErr_Format(PyExc_ValueError, "uniforms[%zd] is not in [0, 1)", (Py_ssize_t)j);
            goto error;
        }
        if (j > 0 && u[j] < u[j - 1]) {
            PyErr_Format(PyExc_ValueError, "uniforms must be sorted ascending (index %zd)",
                         (Py_ssize_t)j);
            goto error;
        }
    }
    out = PyArray_SimpleNew(1, &S, NPY_INT64);
    if (out == NULL) goto error;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL(kernel_work(1, n) + (int64_t)S) /* both < 2**62: no overflow */
    rc = ops->sample(PyArray_DATA((PyArrayObject *)state), n, u, (int64_t)S,
                     (int64_t *)PyArray_DATA((PyArrayObject *)out));
    QS_END_KERNEL
    if (rc != QS_OK) {
        raise_kernel_error(rc);
        goto error;
    }
    return out;
error:
    Py_XDECREF(out);
    return NULL;
}

static PyObject *py_expectation_paulis(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "x_masks", "z_masks", NULL};
    PyObject *state, *x_o, *z_o, *out = NULL;
    uint64_t *x = NULL, *z;
    npy_intp T, t;
    int n, rc;
    uint64_t limit;
    qs_dtype dtype;
    const qs_ops *ops;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO", kwlist, &state, &x_o, &z_o)) return NULL;
    if (check_state(state, 0, &n, &dtype) < 0) goto error;
    if (check_array(x_o, "x_masks", NPY_UINT64, "uint64", 1, -1) < 0) goto error;
    T = PyArray_DIM((PyArrayObject *)x_o, 0);
    if (check_array(z_o, "z_masks", NPY_UINT64, "uint64", 1, T) < 0) goto error;
    /* Checked private copies: a mask changed by another thread while the kernel runs (it
     * indexes the state with them) cannot reach beyond the state. */
    x = (uint64_t *)alloc_items(2 * T, sizeof(uint64_t));
    if (x == NULL) goto error;
    z = x + T;
    if (T > 0) {
        memcpy(x, PyArray_DATA((PyArrayObject *)x_o), (size_t)T * sizeof(uint64_t));
        memcpy(z, PyArray_DATA((PyArrayObject *)z_o), (size_t)T * sizeof(uint64_t));
    }
    limit = (uint64_t)1 << n;
    for (t = 0; t < T; ++t) {
        if (x[t] >= limit || z[t] >= limit) {
            PyErr_Format(PyExc_ValueError, "Pauli term %zd: %s = %llu acts on qubits beyond the "
                         "%d of the state", (Py_ssize_t)t, x[t] >= limit ? "x_masks" : "z_masks",
                         (unsigned long long)(x[t] >= limit ? x[t] : z[t]), n);
            goto error;
        }
    }
    out = PyArray_SimpleNew(1, &T, NPY_FLOAT64);
    if (out == NULL) goto error;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL(kernel_work((int64_t)T, n))
    rc = ops->expectation_paulis(PyArray_DATA((PyArrayObject *)state), n, x, z, (int64_t)T,
                                 (double *)PyArray_DATA((PyArrayObject *)out));
    QS_END_KERNEL
    if (rc != QS_OK) {
        raise_kernel_error(rc);
        goto error;
    }
    PyMem_Free(x);
    return out;
error:
    PyMem_Free(x);
    Py_XDECREF(out);
    return NULL;
}

/* A qubit number q (already converted by as_int64) in [0, n). */
static int check_one_qubit(long long q, int n, int *qubit)
{
    if (q < 0 || q >= n) {
        PyErr_Format(PyExc_ValueError, "qubit %lld out of range for %d qubits", q, n);
        return -1;
    }
    *qubit = (int)q;
    return 0;
}

static PyObject *py_measure_probability(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "qubit", NULL};
    PyObject *state, *qubit_o;
    int n, qubit, rc;
    long long q;
    double p1 = 0.0;
    qs_dtype dtype;
    const qs_ops *ops;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO", kwlist, &state, &qubit_o)) return NULL;
    if (as_int64(qubit_o, "qubit", &q) < 0) return NULL;
    if (check_state(state, 0, &n, &dtype) < 0) return NULL;
    if (check_one_qubit(q, n, &qubit) < 0) return NULL;
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL((int64_t)1 << n)
    rc = ops->measure_probability(PyArray_DATA((PyArrayObject *)state), n, qubit, &p1);
    QS_END_KERNEL
    if (rc != QS_OK) return raise_kernel_error(rc);
    return PyFloat_FromDouble(p1);
}

static PyObject *py_collapse(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "qubit", "outcome", "renormalize", NULL};
    PyObject *state, *qubit_o, *outcome_o;
    int n, qubit, rc, renormalize = 1;
    long long q, outcome;
    qs_dtype dtype;
    const qs_ops *ops;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|p", kwlist, &state, &qubit_o, &outcome_o,
                                     &renormalize)) {
        return NULL;
    }
    if (as_int64(qubit_o, "qubit", &q) < 0) return NULL;
    if (as_int64(outcome_o, "outcome", &outcome) < 0) return NULL;
    if (check_state(state, 1, &n, &dtype) < 0) return NULL;
    if (check_one_qubit(q, n, &qubit) < 0) return NULL;
    if (outcome != 0 && outcome != 1) {
        PyErr_Format(PyExc_ValueError, "outcome must be 0 or 1, got %lld", outcome);
        return NULL;
    }
    ops = qs_get_ops(dtype);
    QS_BEGIN_KERNEL((int64_t)1 << n)
    rc = ops->collapse(PyArray_DATA((PyArrayObject *)state), n, qubit, (int)outcome,
                       renormalize);
    QS_END_KERNEL
    if (rc != QS_OK) return raise_kernel_error(rc);
    Py_RETURN_NONE;
}

static PyObject *py_permute_qubits(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"state", "source", NULL};
    PyObject *state, *source;
    int src[QS_MAX_QUBITS], n, count, rc;
    long long vals[QS_MAX_QUBITS];
    uint64_t used = 0;
    qs_dtype dtype;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO", kwlist, &state, &source)) return NULL;
    if (parse_ints(source, "source", QS_MAX_QUBITS, vals, &count) < 0) return NULL;
    if (check_state(state, 1, &n, &dtype) < 0) return NULL;
    if (check_qubits(vals, count, "source", n, src, &used) < 0) return NULL;
    if (count != n) {
        PyErr_Format(PyExc_ValueError, "source must list all %d qubits once, got %d", n, count);
        return NULL;
    }
    QS_BEGIN_KERNEL((int64_t)1 << n)
    rc = qs_permute_qubits(PyArray_DATA((PyArrayObject *)state), n,
                           dtype == QS_COMPLEX64 ? 8 : 16, src);
    QS_END_KERNEL
    if (rc != QS_OK) return raise_kernel_error(rc);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------ */
/* Threads and dispatch                                                                        */
/* ------------------------------------------------------------------------------------------ */

static PyObject *py_set_num_threads(PyObject *self, PyObject *arg)
{
    long long nt;
    (void)self;
    if (as_int64(arg, "n", &nt) < 0) return NULL;
    if (nt < 1 || nt > 4096) {
        PyErr_Format(PyExc_ValueError, "number of threads must be in 1..4096, got %lld", nt);
        return NULL;
    }
    qs_set_num_threads((int)nt);
    Py_RETURN_NONE;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(qs_get_num_threads());
}

static PyObject *py_simd_level(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(qs_simd_level());
}

static PyObject *py_has_openmp(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(qs_has_openmp());
}

/* ------------------------------------------------------------------------------------------ */
/* Module                                                                                      */
/* ------------------------------------------------------------------------------------------ */

#define KW (PyCFunction)(void (*)(void))

#include "trajectories_module.inc" /* run_trajectories (trajectories.c) */

static PyMethodDef kernel_methods[] = {
    {"apply_matrix", KW py_apply_matrix, METH_VARARGS | METH_KEYWORDS,
     "apply_matrix(state, targets, matrix, controls=(), ctrl_state=-1)\n--\n\n"
     "Apply a dense (2**k, 2**k) complex128 matrix on `targets` in place."},
    {"apply_diagonal", KW py_apply_diagonal, METH_VARARGS | METH_KEYWORDS,
     "apply_diagonal(state, targets, diag, controls=(), ctrl_state=-1)\n--\n\n"
     "Multiply amplitudes by diag[bits of targets] in place."},
    {"run_plan", KW py_run_plan, METH_VARARGS | METH_KEYWORDS,
     "run_plan(state, kinds, qubits, qubit_offsets, matrices, matrix_offsets, ctrl_counts, "
     "ctrl_states)\n--\n\nApply a list of gates in one call, with the GIL released once."},
    {"run_tiled", KW py_run_tiled, METH_VARARGS | METH_KEYWORDS,
     "run_tiled(state, kinds, qubits, qubit_offsets, matrices, matrix_offsets, ctrl_counts, "
     "ctrl_states, tile_offsets, tile_qubits, tile_qubit_offsets)\n--\n\n"
     "Apply gates tile by tile: each tile's gates in one pass over the state (see _kernel.pyi)."},
    {"fuse_blocks", KW py_fuse_blocks, METH_VARARGS | METH_KEYWORDS,
     "fuse_blocks(code, components, out)\n--\n\n"
     "Multiply component gates into fused block matrices or diagonals, written into out."},
    {"probabilities", KW py_probabilities, METH_VARARGS | METH_KEYWORDS,
     "probabilities(state)\n--\n\nReturn |state|**2 as a new float64 array."},
    {"norm_squared", KW py_norm_squared, METH_VARARGS | METH_KEYWORDS,
     "norm_squared(state)\n--\n\nReturn the sum of |state|**2."},
    {"sample", KW py_sample, METH_VARARGS | METH_KEYWORDS,
     "sample(state, uniforms)\n--\n\n"
     "Map sorted uniforms in [0, 1) to basis-state indices in one pass over the state."},
    {"expectation_paulis", KW py_expectation_paulis, METH_VARARGS | METH_KEYWORDS,
     "expectation_paulis(state, x_masks, z_masks)\n--\n\n"
     "Return Re <psi|P|psi> for each Pauli string given by its x and z bit masks."},
    {"measure_probability", KW py_measure_probability, METH_VARARGS | METH_KEYWORDS,
     "measure_probability(state, qubit)\n--\n\nReturn the probability that `qubit` reads 1."},
    {"collapse", KW py_collapse, METH_VARARGS | METH_KEYWORDS,
     "collapse(state, qubit, outcome, renormalize=True)\n--\n\n"
     "Project onto qubit == outcome in place, rescaling to unit norm if renormalize."},
    {"permute_qubits", KW py_permute_qubits, METH_VARARGS | METH_KEYWORDS,
     "permute_qubits(state, source)\n--\n\n"
     "Move bit source[q] of every amplitude index to bit q, in place."},
    {"set_num_threads", py_set_num_threads, METH_O,
     "set_num_threads(n, /)\n--\n\nSet the OpenMP thread count used for large states."},
    {"get_num_threads", py_get_num_threads, METH_NOARGS,
     "get_num_threads()\n--\n\nReturn the OpenMP thread count (1 without OpenMP)."},
    {"simd_level", py_simd_level, METH_NOARGS,
     "simd_level()\n--\n\nReturn the code path in use: 'avx512f', 'avx2' or 'generic'."},
    {"run_trajectories", KW py_run_trajectories, METH_VARARGS | METH_KEYWORDS,
     "run_trajectories(state, code, data, cond_bits, nclbits, terminal, shots, seed, "
     "out_bits=None, x_masks=None, z_masks=None, out_evs=None, out_counts=None)\n--\n\n"
     "Run a noisy program by grouped quantum trajectories (see trajectories.h)."},
    {"has_openmp", py_has_openmp, METH_NOARGS,
     "has_openmp()\n--\n\nReturn True if the extension was built with OpenMP."},
    {NULL, NULL, 0, NULL},
};

#undef KW

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT,
    "_kernel",
    "Compiled statevector kernels (see _kernel.pyi).  The environment variable QSESSION_SIMD\n"
    "(avx512f | avx2 | generic) forces a code path at import, for testing.",
    -1,
    kernel_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__kernel(void)
{
    const char *level = getenv("QSESSION_SIMD");
    int rc;
    import_array();
    rc = qs_simd_init(level);
    if (rc == -1) {
        PyErr_Format(PyExc_ImportError,
                     "QSESSION_SIMD=%.50s: expected 'avx512f', 'avx2' or 'generic'", level);
        return NULL;
    }
    if (rc == -2) {
        PyErr_Format(PyExc_ImportError, "QSESSION_SIMD=%.50s: not supported by this CPU or build",
                     level);
        return NULL;
    }
    return PyModule_Create(&kernel_module);
}
