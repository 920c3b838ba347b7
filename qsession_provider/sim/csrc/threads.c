/*
 * threads.c -- OpenMP threads for the kernels: the thread count and the guard for forked
 * children (qs_parallel, which splits a range kernel's work over the threads, is in
 * internal.h).
 */
#include "internal.h"

#ifdef _OPENMP
#include <omp.h>
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define QS_ATFORK 1
#endif
#endif

static int qs_nthreads = 0; /* 0 until first use */

/* GNU libgomp cannot run a parallel region in a child forked after the parent started its
 * thread pool (the child hangs).  A child forked after our first parallel region therefore
 * stays single-threaded, which never enters OpenMP (see qs_parallel in internal.h). */
volatile int qs_pool_started = 0;
static volatile int qs_forked_child = 0;

#ifdef QS_ATFORK
static void qs_atfork_child(void)
{
    if (qs_pool_started) qs_forked_child = 1;
}
#endif

void qs_register_atfork(void)
{
#ifdef QS_ATFORK
    static int registered = 0;
    if (!registered) registered = pthread_atfork(NULL, NULL, qs_atfork_child) == 0;
#endif
}

int qs_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int qs_get_num_threads(void)
{
#ifdef _OPENMP
    if (qs_forked_child) return 1;
    if (qs_nthreads < 1) qs_nthreads = omp_get_max_threads();
    return qs_nthreads;
#else
    return 1;
#endif
}

void qs_set_num_threads(int nthreads)
{
    if (nthreads >= 1) qs_nthreads = nthreads;
}
