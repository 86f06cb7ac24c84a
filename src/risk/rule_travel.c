/* rule_travel.c: impossible travel between two stores.
 *
 * A customer's completed payments and cash top-ups at stores leave their
 * last place and time (DIM_VEL_CUSTOMER).  The next one at a store farther than
 * travel_min_km away fires if getting there would have been faster than
 * travel_max_kmh (300 km/h: the Shinkansen), i.e. one of the two was not
 * the customer in person: a copied code, a stolen session.  Distances are
 * great-circle (haversine) between the stores' coordinates; near stores
 * never fire, whatever the clocks say.  A flight is faster than a train:
 * Tokyo to Sapporo in 90 minutes fires, and the challenge it brings is
 * one the real customer answers.  Reason value: km/h (capped); threshold:
 * travel_max_kmh.
 */
#include "risk/risk_internal.h"

#include <math.h>

#define EARTH_RADIUS_KM 6371.0
#define KMH_CAP 1000000 /* what two payments at the same instant show */

static double radians_e6(int64_t e6)
{
    return (double)e6 / 1e6 * (M_PI / 180.0);
}

/* Great-circle distance in km between two points in micro-degrees. */
static double haversine_km(int64_t lat1, int64_t lon1, int64_t lat2, int64_t lon2)
{
    double p1 = radians_e6(lat1), p2 = radians_e6(lat2);
    double dp = p2 - p1, dl = radians_e6(lon2) - radians_e6(lon1);
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    if (a > 1)
        a = 1;
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a));
}

#define KINDS (RISK_BIT(RISK_PAYMENT) | RISK_BIT(RISK_TOPUP))

static void read_last(const union risk_payload *p, void *ctx)
{
    *(struct risk_last *)ctx = p->counter.last;
}

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    if (!risk_kind_in(ev, KINDS) || !ev->has_location || ev->customer_id == 0 || cfg->travel_score == 0)
        return;
    struct risk_last last = {0};
    if (!risk_state_read(&c->r->state, DIM_VEL_CUSTOMER, ev->customer_id, read_last, &last) || last.loc_ms == 0)
        return;
    double km = haversine_km(last.lat_e6, last.lon_e6, ev->lat_e6, ev->lon_e6);
    if (km < (double)cfg->travel_min_km)
        return;
    int64_t dt = ev->at_ms > last.loc_ms ? ev->at_ms - last.loc_ms : last.loc_ms - ev->at_ms;
    double kmh = dt > 0 ? km / ((double)dt / 3600000.0) : KMH_CAP;
    if (kmh > KMH_CAP)
        kmh = KMH_CAP;
    if (kmh > (double)cfg->travel_max_kmh)
        risk_fire(c, "impossible_travel", (int64_t)kmh, cfg->travel_max_kmh, cfg->travel_score, false);
}

struct place {
    int64_t at, lat_e6, lon_e6;
};

static void note_place(union risk_payload *p, void *ctx)
{
    const struct place *x = ctx;
    if (x->at >= p->counter.last.loc_ms) {
        p->counter.last.loc_ms = x->at;
        p->counter.last.lat_e6 = x->lat_e6;
        p->counter.last.lon_e6 = x->lon_e6;
    }
}

static void observe(struct risk_call *c, enum risk_outcome outcome)
{
    const struct risk_event *ev = c->ev;
    if (!risk_kind_in(ev, KINDS) || outcome != RISK_DONE || !ev->has_location || ev->customer_id == 0)
        return;
    struct place x = {ev->at_ms, ev->lat_e6, ev->lon_e6};
    risk_state_update(&c->r->state, DIM_VEL_CUSTOMER, ev->customer_id, note_place, &x);
}

const struct risk_rule risk_rule_travel = {eval, observe, NULL};
