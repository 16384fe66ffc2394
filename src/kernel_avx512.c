/* src/kernel_avx512.c: the fused sweep (kernels.h rrr_sweep) in AVX-512F intrinsics. Only
 * these functions carry the target attribute, so the rest of rrr runs on any x86-64 CPU;
 * kernels.c calls them only when the CPU has AVX-512F (rrr_kernel_get). */
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KFN __attribute__((target("avx512f,avx2,fma")))
#define VL 8
#define VT __m512d
#define VZERO() _mm512_setzero_pd()
#define VBCAST(x) _mm512_set1_pd(x)
#define VLOAD(p) _mm512_loadu_pd(p)
#define VLOADN(p, n) _mm512_maskz_loadu_pd((__mmask8)((1u << (n)) - 1u), (p))
#define VSTORE(p, v) _mm512_storeu_pd((p), (v))
#define VSTOREN(p, v, n) _mm512_mask_storeu_pd((p), (__mmask8)((1u << (n)) - 1u), (v))
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define VHSUM(v) hsum(v)
#define SWEEP rrr_sweep_avx512
#define P1_R 4
#define P1_J 5
#define P2_I 4
#define P2_J 6

/* ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)) */
KFN static inline double hsum(__m512d v)
{
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

#include "kernel_simd.h"

int rrr_sweep_avx512_built(void)
{
    return 1;
}

#else

void rrr_sweep_avx512(const rrr_sweep *s)
{
    (void)s;
}

int rrr_sweep_avx512_built(void)
{
    return 0;
}

#endif
