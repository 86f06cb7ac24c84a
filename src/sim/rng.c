/* rng.c: the run's PRNG (sim.h): xoshiro256** seeded through splitmix64,
 * so that one 64-bit seed gives the same run on every machine.  Not for
 * secrets: device keys and passwords of simulated people come from it so
 * that runs repeat; they protect nothing real. */
#include "sim/sim.h"

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    /* Rejection keeps it uniform. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = sim_rng_next(r);
    while (x >= lim);
    return x % n;
}

int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)sim_rng_below(r, (uint64_t)(hi - lo) + 1);
}

bool sim_rng_chance(struct sim_rng *r, double p)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53 < p;
}

void sim_rng_bytes(struct sim_rng *r, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            uint64_t x = sim_rng_next(r);
            for (size_t k = 0; k < 8 && i + k < n; k++)
                out[i + k] = (uint8_t)(x >> (8 * k));
        }
    }
}
