/* src/scan.c: one pass over a block of row-major values: are they all finite, how large
 * is the largest, and (optionally) the column sums and sums of squares. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "scan.h"

/* Written for 8-wide vectors (GCC/Clang vector extensions: plain -O2 does not vectorise
 * loops of unknown length) and compiled for AVX-512 and AVX2 as well, chosen when the
 * program starts (GCC's function multi-versioning). As scalar loops the scan and the
 * moments ran at 2-4 GB/s: a tenth of exact's time on the tall and the many-outputs bench
 * problems, and of gd's (which reads its rows into memory) on the tall one. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEC_CLONES
#endif
typedef int64_t v8i __attribute__((vector_size(64)));
typedef double v8d __attribute__((vector_size(64)));

/* Local. The largest |a_k| over the m x c row-major values a, as bits: |x| as an integer
 * is monotone in |x|, and Inf and NaN are the patterns from 0x7ff0... up; magnitudes are
 * below 2^63, so the signed max is the unsigned one. With sum and sq (c each), also
 * sum += a's rows and sq += their squares, in the same pass over a. */
VEC_CLONES static int64_t max_bits(const double *restrict a, size_t m, size_t c,
                                   double *restrict sum, double *restrict sq)
{
    enum { W = 8 };
    const v8i mag = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX,
                      INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX };
    v8i vm = { 0 };
    int64_t mx = 0;
    for (size_t r = 0; r < m; r++) {
        const double *restrict row = a + r * c;
        size_t j = 0;
        for (; j + W <= c; j += W) {
            v8d x;
            v8i b;
            memcpy(&x, row + j, sizeof x);
            memcpy(&b, row + j, sizeof b);
            b &= mag;
            const v8i gt = b > vm;
            vm = (b & gt) | (vm & ~gt);
            if (sum != NULL) {
                v8d s1, s2;
                memcpy(&s1, sum + j, sizeof s1);
                memcpy(&s2, sq + j, sizeof s2);
                s1 += x;
                s2 += x * x;
                memcpy(sum + j, &s1, sizeof s1);
                memcpy(sq + j, &s2, sizeof s2);
            }
        }
        for (; j < c; j++) {
            int64_t b;
            memcpy(&b, row + j, sizeof b);
            b &= INT64_MAX;
            mx = b > mx ? b : mx;
            if (sum != NULL) {
                sum[j] += row[j];
                sq[j] += row[j] * row[j];
            }
        }
    }
    for (int l = 0; l < W; l++)
        mx = vm[l] > mx ? vm[l] : mx;
    return mx;
}

size_t rrr_scan(const double *a, size_t m, size_t c, double *sum, double *sq, double *amax)
{
    const int64_t inf = 0x7ff0000000000000LL, m0 = max_bits(a, m, c, sum, sq);
    const size_t count = m * c;
    size_t k;
    if (m0 < inf) {
        double v;
        memcpy(&v, &m0, sizeof v);
        *amax = fmax(*amax, v);
        return count;
    }
    for (k = 0; k < count; k++) /* rare: find the first, and the largest finite one */
        if (!isfinite(a[k]))
            break;
    for (size_t i = 0; i < count; i++)
        if (isfinite(a[i]))
            *amax = fmax(*amax, fabs(a[i]));
    return k;
}
