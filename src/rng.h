/* src/rng.h: counter-based random numbers keyed by (seed, stream, i, j) (serial). */
#ifndef RRR_RNG_H
#define RRR_RNG_H

#include <stdint.h>

/* Standard normal deviate that depends only on (seed, stream, i, j): the same on every
 * rank and for any number of ranks. */
double rrr_rng_normal(uint64_t seed, uint64_t stream, uint64_t i, uint64_t j);

/* The splitmix64 finaliser: a bijective 64-bit mixer (also the data checksum's hash). */
uint64_t rrr_mix64(uint64_t z);

/* Streams of the generator: rrr gen's matrices and the solvers' random starts. */
enum {
    RRR_STREAM_X = 0, RRR_STREAM_E = 1, RRR_STREAM_U = 2, RRR_STREAM_V = 3,
    RRR_STREAM_GD_START = 100, RRR_STREAM_GRADCHECK = 200,
    RRR_STREAM_ALS_START = 0x616c73 /* "als" */
};

#endif
