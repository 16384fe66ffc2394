/* src/kernel_avx2.c: the fused sweep (kernels.h rrr_sweep) in AVX2 + FMA intrinsics. Only
 * these functions carry the target attribute, so the rest of rrr runs on any x86-64 CPU;
 * kernels.c calls them only when the CPU has AVX2 and FMA (rrr_kernel_get). */
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KFN __attribute__((target("avx2,fma")))
#define VL 4
#define VT __m256d
#define VZERO() _mm256_setzero_pd()
#define VBCAST(x) _mm256_set1_pd(x)
#define VLOAD(p) _mm256_loadu_pd(p)
#define VLOADN(p, n) _mm256_maskload_pd((p), lanes(n))
#define VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define VSTOREN(p, v, n) _mm256_maskstore_pd((p), lanes(n), (v))
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VHSUM(v) hsum(v)
#define SWEEP rrr_sweep_avx2
#define P1_R 2
#define P1_J 4
#define P2_I 2
#define P2_J 5

/* the mask of the first n lanes (vmaskmovpd neither reads nor faults on the others) */
KFN static inline __m256i lanes(size_t n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)n), _mm256_setr_epi64x(0, 1, 2, 3));
}

/* (l0 + l2) + (l1 + l3) */
KFN static inline double hsum(__m256d v)
{
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

#include "kernel_simd.h"

int rrr_sweep_avx2_built(void)
{
    return 1;
}

#else

void rrr_sweep_avx2(const rrr_sweep *s)
{
    (void)s;
}

int rrr_sweep_avx2_built(void)
{
    return 0;
}

#endif
