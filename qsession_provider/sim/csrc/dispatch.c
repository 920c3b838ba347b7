/*
 * dispatch.c -- which instruction set the kernels run on: qs_simd_init picks the tables of
 * the best one that __builtin_cpu_supports reports (x86-64 only; elsewhere just "generic"),
 * or the one QSESSION_SIMD names, once at import.
 */
#include "internal.h"

int qs_split_kernels = 1;

enum { QS_LEVEL_GENERIC = 0, QS_LEVEL_AVX2 = 1, QS_LEVEL_AVX512 = 2 };

static const char *const qs_level_names[] = {"generic", "avx2", "avx512f"};
static int qs_level = QS_LEVEL_GENERIC;
static const qs_ops *qs_active[2] = {&qs_ops_c128_generic, &qs_ops_c64_generic};

static int qs_cpu_best_level(void)
{
#if QS_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("popcnt")) {
        return __builtin_cpu_supports("avx512f") ? QS_LEVEL_AVX512 : QS_LEVEL_AVX2;
    }
#endif
    return QS_LEVEL_GENERIC;
}

int qs_simd_init(const char *level)
{
    const int best = qs_cpu_best_level();
    int want = best, i;
    if (level != NULL && level[0] != '\0') {
        want = -1;
        for (i = 0; i < 3; ++i) {
            if (strcmp(level, qs_level_names[i]) == 0) want = i;
        }
        if (want < 0) return -1;
        if (want > best) return -2;
    }
    qs_level = want;
    switch (want) {
#if QS_X86_DISPATCH
    case QS_LEVEL_AVX512:
        qs_active[QS_COMPLEX128] = &qs_ops_c128_avx512;
        qs_active[QS_COMPLEX64] = &qs_ops_c64_avx512;
        break;
    case QS_LEVEL_AVX2:
        qs_active[QS_COMPLEX128] = &qs_ops_c128_avx2;
        qs_active[QS_COMPLEX64] = &qs_ops_c64_avx2;
        break;
#endif
    default:
        qs_active[QS_COMPLEX128] = &qs_ops_c128_generic;
        qs_active[QS_COMPLEX64] = &qs_ops_c64_generic;
        break;
    }
    {
        const char *split = getenv("QSESSION_SPLIT");
        qs_split_kernels = !(split != NULL && split[0] == '0');
    }
    (void)qs_get_num_threads(); /* settle the default thread count once, at load time */
    qs_register_atfork();
    return 0;
}

const char *qs_simd_level(void)
{
    return qs_level_names[qs_level];
}

const qs_ops *qs_get_ops(qs_dtype dtype)
{
    return qs_active[dtype == QS_COMPLEX64 ? QS_COMPLEX64 : QS_COMPLEX128];
}
