/* report.c: the run's figures (sim.h): per scenario what the attackers
 * tried, how far they got, what stopped them and what they gained; what
 * the legitimate customers did, and how often they were refused or
 * challenged; latency per operation; the books' checks.  JSON is the
 * source of the text and HTML forms.  Latencies and wall time are under
 * "timing", the only part that differs between two runs of one seed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define TARGET_REFUSED 0.005
#define TARGET_CHALLENGED 0.02

void sim_stats_init(struct sim_stats *s, const char *name)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->stopped_by = json_object();
    s->reached = json_object();
    s->legit_refusals = json_object();
}

void sim_stats_free(struct sim_stats *s)
{
    json_decref(s->stopped_by);
    json_decref(s->reached);
    json_decref(s->legit_refusals);
    s->stopped_by = s->reached = s->legit_refusals = NULL;
}

void sim_lat_add(struct sim_world *w, const char *op, uint32_t us)
{
    struct sim_lat *l = NULL;
    for (size_t i = 0; i < w->nlat && l == NULL; i++)
        if (strcmp(w->lat[i].op, op) == 0)
            l = &w->lat[i];
    if (l == NULL) {
        if (w->nlat == SIM_MAX_OPS)
            return;
        l = &w->lat[w->nlat++];
        snprintf(l->op, sizeof l->op, "%s", op);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        uint32_t *p = realloc(l->us, cap * sizeof *p);
        if (p == NULL)
            return;
        l->us = p;
        l->cap = cap;
    }
    l->us[l->n++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[k] / 1000.0;
}

static json_t *latency(const struct sim_world *w)
{
    json_t *o = json_object();
    for (size_t i = 0; i < w->nlat; i++) {
        const struct sim_lat *l = &w->lat[i];
        qsort(l->us, l->n, sizeof *l->us, cmp_u32);
        json_object_set_new(o, l->op,
                            json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)l->n, "p50_ms",
                                      pct(l->us, l->n, 0.5), "p90_ms", pct(l->us, l->n, 0.9), "p99_ms",
                                      pct(l->us, l->n, 0.99), "max_ms", l->n ? (double)l->us[l->n - 1] / 1000.0 : 0.0));
    }
    return o;
}

static json_t *entry(const struct sim_stats *s, const char *summary)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:O, s:O, s:I, s:I, s:I, s:O, s:I, s:I, s:I}", "name", s->name, "summary",
                     summary, "attacker_gain_yen", (json_int_t)s->gain, "attack_attempts", (json_int_t)s->attempts,
                     "stopped_by", s->stopped_by, "reached", s->reached, "legit_operations", (json_int_t)s->legit_ops,
                     "legit_refused", (json_int_t)s->legit_refused, "legit_challenged",
                     (json_int_t)s->legit_challenged, "legit_refusals", s->legit_refusals, "notifications",
                     (json_int_t)s->notifications, "legit_moved_yen", (json_int_t)s->legit_moved, "attack_moved_yen",
                     (json_int_t)s->attack_moved);
}

json_t *sim_report_json(const struct sim_world *w)
{
    json_t *scn = json_array();
    /* The run's own entry first: its legitimate traffic, and its attack
     * figures (summed over the attacks for mix). */
    struct sim_stats run = w->legit;
    run.stopped_by = json_object();
    run.reached = json_object();
    const char *summary = "legitimate traffic only";
    for (size_t i = 0; i < w->natk; i++) {
        const struct sim_stats *a = &w->atk[i].st;
        run.gain += a->gain;
        run.attempts += a->attempts;
        run.attack_moved += a->attack_moved;
        const char *k;
        json_t *v;
        json_object_foreach(a->stopped_by, k, v) sim_count(run.stopped_by, k, (uint64_t)json_integer_value(v));
        json_object_foreach(a->reached, k, v) sim_count(run.reached, k, (uint64_t)json_integer_value(v));
        if (w->natk == 1)
            summary = w->atk[i].ops->summary;
    }
    if (w->natk > 1)
        summary = "every attack, mixed into the legitimate traffic";
    json_t *first = entry(&run, summary);
    json_decref(run.stopped_by);
    json_decref(run.reached);
    json_array_append_new(scn, first);
    if (w->natk > 1)
        for (size_t i = 0; i < w->natk; i++)
            json_array_append_new(scn, entry(&w->atk[i].st, w->atk[i].ops->summary));

    uint64_t ops = w->legit.legit_ops;
    double refused = ops ? (double)w->legit.legit_refused / (double)ops : 0;
    double challenged = ops ? (double)w->legit.legit_challenged / (double)ops : 0;
    int64_t gain = (int64_t)json_integer_value(json_object_get(first, "attacker_gain_yen"));
    bool ledger_ok = strcmp(w->ledger_verify, "ok") == 0 || strcmp(w->ledger_verify, "skipped") == 0;
    bool audit_ok = strcmp(w->audit_verify, "ok") == 0 || strcmp(w->audit_verify, "skipped") == 0;
    bool rec_ok = json_integer_value(json_object_get(w->reconcile, "mismatches")) == 0;
    json_t *targets = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", "attacker_gain_zero", gain == 0, "legit_refused_max_0_5pct",
                                refused <= TARGET_REFUSED, "legit_challenged_max_2pct", challenged <= TARGET_CHALLENGED,
                                "ledger_verify_ok", ledger_ok, "audit_verify_ok", audit_ok, "reconcile_ok", rec_ok);
    bool met = gain == 0 && refused <= TARGET_REFUSED && challenged <= TARGET_CHALLENGED && ledger_ok && audit_ok && rec_ok;
    json_t *lat = latency(w);
    size_t all_day = 0;
    for (size_t i = 0; i < w->ns; i++)
        all_day += w->s[i].open_min == 0 && w->s[i].close_min == 24 * 60;
    char start[8];
    snprintf(start, sizeof start, "%02d:00", (int)w->o->start_hour);
    json_t *extra = json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:s, s:I, s:I}}", "offline_payments", "attempts",
        (json_int_t)w->offline.attempts, "paid", (json_int_t)w->offline.paid, "challenged",
        (json_int_t)w->offline.challenged, "refused", (json_int_t)w->offline.refused, "paid_yen",
        (json_int_t)w->offline.yen, "store_hours", "clock_start", start, "stores_open_all_day", (json_int_t)all_day,
        "visits_to_closed_stores", (json_int_t)w->closed_skips);
    json_t *rep = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f, s:f, s:s, s:s, s:O, s:o, s:b, s:{s:f, s:o}}",
                     "scenario", w->o->scenario, "seed", (json_int_t)w->o->seed, "customers",
                     (json_int_t)w->o->customers, "stores", (json_int_t)w->o->stores, "minutes",
                     (json_int_t)w->o->minutes, "accounts", (json_int_t)w->nc, "requests", (json_int_t)w->requests,
                     "scenarios", scn, "legit_refused_rate", refused, "legit_challenged_rate", challenged,
                     "ledger_verify", w->ledger_verify, "audit_verify", w->audit_verify, "reconcile", w->reconcile,
                     "targets", targets, "targets_met", met, "timing", "wall_seconds", w->wall_s, "latency_ms", lat);
    json_object_update(rep, extra);
    json_decref(extra);
    return rep;
}

static void print_map(FILE *out, const char *label, json_t *m)
{
    if (json_object_size(m) == 0)
        return;
    fprintf(out, "    %-14s", label);
    const char *k;
    json_t *v;
    int col = 0;
    json_object_foreach(m, k, v) {
        fprintf(out, "%s%s %" JSON_INTEGER_FORMAT, col++ ? ", " : "", k, json_integer_value(v));
    }
    fputc('\n', out);
}

void sim_report_text(const struct sim_world *w, json_t *rep, FILE *out)
{
    (void)w;
    fprintf(out, "kessai simulate --scenario %s: %" JSON_INTEGER_FORMAT " customers, %" JSON_INTEGER_FORMAT
                 " stores, %" JSON_INTEGER_FORMAT " simulated minutes, seed %" JSON_INTEGER_FORMAT "\n",
            json_string_value(json_object_get(rep, "scenario")), json_integer_value(json_object_get(rep, "customers")),
            json_integer_value(json_object_get(rep, "stores")), json_integer_value(json_object_get(rep, "minutes")),
            json_integer_value(json_object_get(rep, "seed")));
    fprintf(out, "\n%-22s %12s %9s %9s %9s %9s %7s\n", "scenario", "gain (yen)", "attempts", "legit ops", "refused",
            "challngd", "mails");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rep, "scenarios"), i, s) {
        fprintf(out, "%-22s %12" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT
                     " %9" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT "\n",
                json_string_value(json_object_get(s, "name")), json_integer_value(json_object_get(s, "attacker_gain_yen")),
                json_integer_value(json_object_get(s, "attack_attempts")),
                json_integer_value(json_object_get(s, "legit_operations")),
                json_integer_value(json_object_get(s, "legit_refused")),
                json_integer_value(json_object_get(s, "legit_challenged")),
                json_integer_value(json_object_get(s, "notifications")));
    }
    json_array_foreach(json_object_get(rep, "scenarios"), i, s) {
        if (json_object_size(json_object_get(s, "stopped_by")) == 0 && json_object_size(json_object_get(s, "legit_refusals")) == 0)
            continue;
        fprintf(out, "\n  %s\n", json_string_value(json_object_get(s, "name")));
        print_map(out, "reached:", json_object_get(s, "reached"));
        print_map(out, "stopped by:", json_object_get(s, "stopped_by"));
        print_map(out, "legit refused:", json_object_get(s, "legit_refusals"));
    }
    fprintf(out, "\nlegitimate operations refused %.3f%% (target <= 0.5%%), challenged %.3f%% (target <= 2%%)\n",
            100 * json_real_value(json_object_get(rep, "legit_refused_rate")),
            100 * json_real_value(json_object_get(rep, "legit_challenged_rate")));
    json_t *lat = json_object_get(json_object_get(rep, "timing"), "latency_ms");
    fprintf(out, "\n%-18s %8s %9s %9s %9s\n", "operation", "count", "p50 ms", "p90 ms", "p99 ms");
    const char *k;
    json_t *v;
    json_object_foreach(lat, k, v) {
        fprintf(out, "%-18s %8" JSON_INTEGER_FORMAT " %9.2f %9.2f %9.2f\n", k, json_integer_value(json_object_get(v, "count")),
                json_real_value(json_object_get(v, "p50_ms")), json_real_value(json_object_get(v, "p90_ms")),
                json_real_value(json_object_get(v, "p99_ms")));
    }
    json_t *off = json_object_get(rep, "offline_payments"), *hours = json_object_get(rep, "store_hours");
    fprintf(out, "\noffline payments: %" JSON_INTEGER_FORMAT " tried, %" JSON_INTEGER_FORMAT " paid (%" JSON_INTEGER_FORMAT
                 " yen), %" JSON_INTEGER_FORMAT " challenged, %" JSON_INTEGER_FORMAT " refused\n",
            json_integer_value(json_object_get(off, "attempts")), json_integer_value(json_object_get(off, "paid")),
            json_integer_value(json_object_get(off, "paid_yen")), json_integer_value(json_object_get(off, "challenged")),
            json_integer_value(json_object_get(off, "refused")));
    fprintf(out, "store hours: clock from %s, %" JSON_INTEGER_FORMAT " stores open all day, %" JSON_INTEGER_FORMAT
                 " visits found the stores closed\n",
            json_string_value(json_object_get(hours, "clock_start")),
            json_integer_value(json_object_get(hours, "stores_open_all_day")),
            json_integer_value(json_object_get(hours, "visits_to_closed_stores")));
    json_t *rec = json_object_get(rep, "reconcile");
    fprintf(out, "\nwallets reconciled: %" JSON_INTEGER_FORMAT " checked, %" JSON_INTEGER_FORMAT
                 " mismatches (expected %" JSON_INTEGER_FORMAT " yen, server %" JSON_INTEGER_FORMAT " yen)\n",
            json_integer_value(json_object_get(rec, "wallets_checked")), json_integer_value(json_object_get(rec, "mismatches")),
            json_integer_value(json_object_get(rec, "expected_total_yen")),
            json_integer_value(json_object_get(rec, "server_total_yen")));
    fprintf(out, "ledger verify: %s\naudit verify: %s\n", json_string_value(json_object_get(rep, "ledger_verify")),
            json_string_value(json_object_get(rep, "audit_verify")));
    fprintf(out, "%" JSON_INTEGER_FORMAT " requests in %.1f s; targets %s\n", json_integer_value(json_object_get(rep, "requests")),
            json_real_value(json_object_get(json_object_get(rep, "timing"), "wall_seconds")),
            json_is_true(json_object_get(rep, "targets_met")) ? "met" : "NOT MET");
}
