/* src/rng.c: counter-based normal deviates keyed by (seed, stream, i, j), so any rank can
 * generate any entry and files do not depend on the number of ranks. */
#include <math.h>

#include "rng.h"

/* splitmix64's finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer. */
uint64_t rrr_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* splitmix64 (the finaliser after a Weyl step) passes BigCrush when applied to a counter;
 * chained over the key words it acts as a hash. */
static uint64_t mix(uint64_t z) { return rrr_mix64(z + 0x9e3779b97f4a7c15ULL); }

/* Uniform in (0, 1): 53 random bits, offset by half an ulp so log() never sees 0. */
static double uniform(uint64_t bits) { return ((double)(bits >> 11) + 0.5) * 0x1.0p-53; }

double rrr_rng_normal(uint64_t seed, uint64_t stream, uint64_t i, uint64_t j)
{
    uint64_t h = mix(mix(mix(mix(seed) ^ stream) ^ i) ^ j);
    double u1 = uniform(h), u2 = uniform(mix(h));
    /* Box-Muller, cosine branch only: one deviate per key keeps the counter map trivial. */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
