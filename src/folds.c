/* src/folds.c: a seeded bijection of [0, n) for random folds: a balanced 4-round Feistel
 * network on [0, 4^h), 4^h the smallest power of 4 >= n, with splitmix64 round functions,
 * and cycle walking (Black & Rogaway, "Ciphers with arbitrary finite domains", 2002): from
 * i < n, apply the permutation until the value falls in [0, n) again; a permutation of a
 * finite set restricted this way is a permutation of the subset. Fewer than 4 rounds
 * through the network per row on average (4^h < 4 n). */
#include "folds.h"
#include "rng.h"

static uint64_t feistel(uint64_t x, int h, uint64_t seed)
{
    const uint64_t mask = ((uint64_t)1 << h) - 1;
    uint64_t L = x >> h, R = x & mask;
    for (uint64_t r = 0; r < 4; r++) {
        uint64_t t = L ^ (rrr_mix64(R ^ rrr_mix64(seed + 0x9e3779b97f4a7c15ULL * (r + 1))) & mask);
        L = R;
        R = t;
    }
    return (L << h) | R;
}

int rrr_fold_of(uint64_t i, uint64_t n, int K, uint64_t seed)
{
    if (n <= 1)
        return 0;
    int h = 1;
    while (h < 31 && ((uint64_t)1 << (2 * h)) < n)
        h++;
    uint64_t x = i;
    do
        x = feistel(x, h, seed);
    while (x >= n);
    return (int)(x % (uint64_t)K);
}
