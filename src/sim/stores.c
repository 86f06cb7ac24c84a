/* stores.c: the chain's merchants, stores and registers (sim.h).
 *
 * They are made with `kessai admin merchant|store|terminal create` and
 * `kessai admin store qr`, the documented way to open a store (the CLI is
 * one of kessai's interfaces; the simulator never writes into the store
 * itself).  Stores are spread over the cities of a map of Japan, a few
 * kilometres around each city's centre; customers live in a city and pay
 * near home.  Registers sign their requests as docs/pos-signing.md says.
 * Most stores open 7:00 to 23:00, one in five round the clock; a closed
 * store's register takes no payment and gives no refund, so nobody pays there
 * (the simulated clock starts at --start-hour local time, 10:00 by default).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pos/sign.h"
#include "sim/sim.h"

const struct sim_city sim_cities[] = {
    {"Tokyo", 35.681236, 139.767125},   {"Yokohama", 35.465798, 139.622314}, {"Osaka", 34.702485, 135.495951},
    {"Nagoya", 35.170915, 136.881537},  {"Sapporo", 43.068625, 141.350801},  {"Fukuoka", 33.590355, 130.420681},
    {"Kobe", 34.690083, 135.195511},    {"Kyoto", 34.985849, 135.758767},    {"Sendai", 38.260132, 140.882438},
    {"Hiroshima", 34.397667, 132.475379}, {"Niigata", 37.911929, 139.061347}, {"Kanazawa", 36.578057, 136.647968},
    {"Okayama", 34.665212, 133.918127}, {"Kumamoto", 32.789827, 130.741667}, {"Kagoshima", 31.583998, 130.541466},
    {"Naha", 26.212401, 127.679149},    {"Matsuyama", 33.839157, 132.765575}, {"Aomori", 40.828448, 140.734344},
};
const size_t sim_ncities = sizeof sim_cities / sizeof sim_cities[0];

double sim_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0, d = M_PI / 180.0;
    double a = sin((lat2 - lat1) * d / 2), b = sin((lon2 - lon1) * d / 2);
    double h = a * a + cos(lat1 * d) * cos(lat2 * d) * b * b;
    return 2 * r * asin(sqrt(h));
}

static const char *const categories[] = {"convenience", "convenience", "convenience", "supermarket", "drugstore",
                                         "restaurant",  "electronics", "tobacco",     "giftcards"};

static const char *str_of(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

bool sim_stores_create(struct sim_world *w)
{
    char name[64], mer[32];
    snprintf(name, sizeof name, "Simulated Chain %s", w->tag);
    json_t *j = sim_admin(w, (const char *[]){"admin", "merchant", "create", "--name", name, NULL});
    if (j == NULL)
        return false;
    snprintf(mer, sizeof mer, "%s", str_of(j, "id"));
    json_decref(j);
    w->s = calloc((size_t)w->o->stores, sizeof *w->s);
    if (w->s == NULL)
        return false;
    for (size_t i = 0; i < (size_t)w->o->stores; i++) {
        struct sim_store *s = &w->s[i];
        /* Every city gets stores in turn, so each has a few of each kind. */
        s->city = (int)(i % sim_ncities);
        const struct sim_city *c = &sim_cities[s->city];
        /* Up to ~5 km from the centre: any two stores of a city are closer
         * than the 30 km the impossible-travel rule starts at. */
        s->lat = c->lat + (double)sim_rng_range(&w->rng, -40000, 40000) / 1e6;
        s->lon = c->lon + (double)sim_rng_range(&w->rng, -40000, 40000) / 1e6;
        snprintf(s->category, sizeof s->category, "%s",
                 i < sim_ncities ? "convenience" : categories[sim_rng_below(&w->rng, sizeof categories / sizeof *categories)]);
        snprintf(s->name, sizeof s->name, "%s %s %zu", c->name, s->category, i / sim_ncities + 1);
        bool all_day = sim_rng_chance(&w->rng, 0.2);
        s->open_min = all_day ? 0 : 7 * 60;
        s->close_min = all_day ? 24 * 60 : 23 * 60;
        char lat[32], lon[32], addr[96];
        snprintf(lat, sizeof lat, "%.6f", s->lat);
        snprintf(lon, sizeof lon, "%.6f", s->lon);
        snprintf(addr, sizeof addr, "%zu-%d Chuo, %s", i + 1, (int)sim_rng_range(&w->rng, 1, 30), c->name);
        j = sim_admin(w, (const char *[]){"admin", "store", "create", "--merchant", mer, "--name", s->name, "--address",
                                          addr, "--lat", lat, "--lon", lon, "--category", s->category, NULL});
        if (j == NULL)
            return false;
        snprintf(s->id, sizeof s->id, "%s", str_of(j, "id"));
        json_decref(j);
        j = sim_admin(w, (const char *[]){"admin", "terminal", "create", "--store", s->id, NULL});
        if (j == NULL)
            return false;
        snprintf(s->term_id, sizeof s->term_id, "%s", str_of(j, "id"));
        snprintf(s->key_id, sizeof s->key_id, "%s", str_of(j, "key_id"));
        const char *hex = str_of(j, "secret");
        size_t n = 0;
        int rc = sodium_hex2bin(s->secret, sizeof s->secret, hex, strlen(hex), NULL, &n, NULL);
        json_decref(j);
        if (rc != 0 || n != sizeof s->secret)
            return false;
        j = sim_admin(w, (const char *[]){"admin", "store", "qr", s->id, NULL});
        if (j == NULL)
            return false;
        s->qr = strdup(str_of(j, "payload"));
        json_decref(j);
        sim_new_src(w, s->src);
        w->ns++;
        if (w->o->progress)
            fprintf(stderr, "\rstores: %zu/%" PRId64 "   ", w->ns, w->o->stores);
    }
    return true;
}

void sim_pos_headers(struct sim_world *w, const struct sim_store *s, const char *method, const char *path,
                     const char *body, const char *idem, char *out, size_t n)
{
    char nonce[40], sig[POS_SIG_HEX_LEN + 1];
    snprintf(nonce, sizeof nonce, "sim%s%016llx", w->tag, (unsigned long long)++w->nonce);
    int64_t ts = sim_clock_ms(w) / 1000; /* the server's clock: a register's is set by it */
    size_t pl = strcspn(path, "?");
    char bare[256];
    snprintf(bare, sizeof bare, "%.*s", (int)pl, path);
    pos_sign(s->secret, method, bare, ts, nonce, body ? body : "", body ? strlen(body) : 0, sig);
    int k = snprintf(out, n, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s\r\n", s->key_id,
                     (long long)ts, nonce, sig);
    if (idem && k > 0 && (size_t)k < n)
        snprintf(out + k, n - (size_t)k, "Idempotency-Key: %s\r\n", idem);
}

void sim_pos_call(struct sim_world *w, const char *op, const struct sim_store *s, const char *method,
                  const char *path, json_t *body, const char *idem, struct sim_resp *out)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char headers[512];
    sim_pos_headers(w, s, method, path, text, idem, headers, sizeof headers);
    sim_call_raw(w, op, s->src, method, path, headers, text, out);
    free(text);
}

bool sim_terminal_create(struct sim_world *w, const struct sim_store *at, struct sim_store *out)
{
    *out = *at;
    out->qr = NULL;
    json_t *j = sim_admin(w, (const char *[]){"admin", "terminal", "create", "--store", at->id, NULL});
    if (j == NULL)
        return false;
    snprintf(out->term_id, sizeof out->term_id, "%s", str_of(j, "id"));
    snprintf(out->key_id, sizeof out->key_id, "%s", str_of(j, "key_id"));
    const char *hex = str_of(j, "secret");
    size_t n = 0;
    int rc = sodium_hex2bin(out->secret, sizeof out->secret, hex, strlen(hex), NULL, &n, NULL);
    json_decref(j);
    sim_new_src(w, out->src);
    return rc == 0 && n == sizeof out->secret;
}

bool sim_store_open(const struct sim_world *w, const struct sim_store *s)
{
    int64_t minute = (w->o->start_hour * 60 + (int64_t)(w->now / 60)) % (24 * 60);
    return minute >= s->open_min && minute < s->close_min;
}

int sim_store_pick(struct sim_world *w, int city, bool far, const char *const *cats)
{
    /* Walk from a random start: the first store that fits. */
    size_t start = (size_t)sim_rng_below(&w->rng, w->ns);
    for (size_t k = 0; k < w->ns; k++) {
        const struct sim_store *s = &w->s[(start + k) % w->ns];
        const struct sim_city *home = &sim_cities[city];
        bool ok = far ? sim_km(home->lat, home->lon, s->lat, s->lon) >= 300 : s->city == city;
        ok = ok && sim_store_open(w, s);
        if (ok && cats) {
            ok = false;
            for (const char *const *c = cats; *c; c++)
                ok |= strcmp(*c, s->category) == 0;
        }
        if (ok)
            return (int)((start + k) % w->ns);
    }
    return -1;
}
