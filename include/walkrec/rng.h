/* rng.h - xoshiro256** seeded through splitmix64: every random choice of walkrec flows from
 * one of these, so a seed and one thread make a run repeatable. Not for cryptography.
 * A generator is a plain value: one per thread, never shared. */
#ifndef WALKREC_RNG_H
#define WALKREC_RNG_H

#include <stdint.h>

typedef struct wr_rng {
    uint64_t s[4];
} wr_rng;

void rng_seed(wr_rng *r, uint64_t seed);

static inline uint64_t rng_next(wr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t res = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return res;
}
/* Uniform in [0, 1). */
static inline double rng_double(wr_rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static inline float rng_float(wr_rng *r) { return (float)(rng_next(r) >> 40) * 0x1.0p-24f; }
/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32). */
static inline uint32_t rng_below(wr_rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A 64-bit mix of x (splitmix64's finaliser): for hashing seeds and ids. */
uint64_t rng_mix(uint64_t x);

#endif
