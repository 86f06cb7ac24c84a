/* report_html.c: the report as one self-contained HTML page (sim.h):
 * inline CSS and SVG bar charts, no script, no external reference, so it
 * can be mailed or archived as one file.  Every text from the report is
 * escaped. */
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Horizontal bars: label -> value, scaled to the largest. */
static void bars(FILE *f, const char *title, json_t *m, const char *field, const char *unit)
{
    size_t n = json_object_size(m);
    if (n == 0)
        return;
    double max = 0;
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        json_t *x = field ? json_object_get(v, field) : v;
        double d = json_number_value(x);
        if (d > max)
            max = d;
    }
    int rowh = 22, labelw = 260, barw = 420, h = (int)n * rowh + 30;
    fprintf(f, "<h3>");
    esc(f, title);
    fprintf(f, "</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">\n",
            labelw + barw + 120, h);
    int y = 10;
    json_object_foreach(m, k, v) {
        json_t *x = field ? json_object_get(v, field) : v;
        double d = json_number_value(x);
        int w = max > 0 ? (int)(d / max * barw) : 0;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"12\">", labelw - 6, y + 14);
        esc(f, k);
        fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#3b6ea5\"/>"
                   "<text x=\"%d\" y=\"%d\" font-size=\"12\">%.6g%s</text>\n",
                labelw, y + 2, w > 0 ? w : 1, rowh - 6, labelw + (w > 0 ? w : 1) + 6, y + 14, d, unit);
        y += rowh;
    }
    fprintf(f, "</svg>\n");
}

int sim_report_html(json_t *rep, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kessai simulate: ");
    esc(f, json_string_value(json_object_get(rep, "scenario")));
    fprintf(f, "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
               "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}"
               "th:first-child,td:first-child{text-align:left}.bad{color:#b00020;font-weight:bold}"
               ".ok{color:#1b5e20;font-weight:bold}</style></head><body>\n");
    fprintf(f, "<h1>kessai simulate: ");
    esc(f, json_string_value(json_object_get(rep, "scenario")));
    fprintf(f, "</h1>\n<p>%lld customers, %lld stores, %lld simulated minutes, seed %lld, %lld requests, %.1f s.</p>\n",
            (long long)json_integer_value(json_object_get(rep, "customers")),
            (long long)json_integer_value(json_object_get(rep, "stores")),
            (long long)json_integer_value(json_object_get(rep, "minutes")),
            (long long)json_integer_value(json_object_get(rep, "seed")),
            (long long)json_integer_value(json_object_get(rep, "requests")),
            json_real_value(json_object_get(json_object_get(rep, "timing"), "wall_seconds")));
    bool met = json_is_true(json_object_get(rep, "targets_met"));
    fprintf(f, "<p>Targets: <span class=\"%s\">%s</span>; ledger verify: ", met ? "ok" : "bad", met ? "met" : "NOT MET");
    esc(f, json_string_value(json_object_get(rep, "ledger_verify")));
    fprintf(f, "; audit verify: ");
    esc(f, json_string_value(json_object_get(rep, "audit_verify")));
    fprintf(f, "; legitimate operations refused %.3f%%, challenged %.3f%%.</p>\n",
            100 * json_real_value(json_object_get(rep, "legit_refused_rate")),
            100 * json_real_value(json_object_get(rep, "legit_challenged_rate")));
    fprintf(f, "<table><tr><th>scenario</th><th>attacker gain (yen)</th><th>attempts</th><th>legit ops</th>"
               "<th>refused</th><th>challenged</th><th>notifications</th></tr>\n");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rep, "scenarios"), i, s) {
        long long gain = (long long)json_integer_value(json_object_get(s, "attacker_gain_yen"));
        fprintf(f, "<tr><td>");
        esc(f, json_string_value(json_object_get(s, "name")));
        fprintf(f, "</td><td class=\"%s\">%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td></tr>\n",
                gain ? "bad" : "ok", gain, (long long)json_integer_value(json_object_get(s, "attack_attempts")),
                (long long)json_integer_value(json_object_get(s, "legit_operations")),
                (long long)json_integer_value(json_object_get(s, "legit_refused")),
                (long long)json_integer_value(json_object_get(s, "legit_challenged")),
                (long long)json_integer_value(json_object_get(s, "notifications")));
    }
    fprintf(f, "</table>\n");
    json_array_foreach(json_object_get(rep, "scenarios"), i, s) {
        char title[160];
        fprintf(f, "<h2>");
        esc(f, json_string_value(json_object_get(s, "name")));
        fprintf(f, "</h2>\n<p>");
        esc(f, json_string_value(json_object_get(s, "summary")));
        fprintf(f, "</p>\n");
        snprintf(title, sizeof title, "How far the attacks got");
        bars(f, title, json_object_get(s, "reached"), NULL, "");
        snprintf(title, sizeof title, "What stopped them (API error code, or code:param)");
        bars(f, title, json_object_get(s, "stopped_by"), NULL, "");
        bars(f, "Legitimate operations refused", json_object_get(s, "legit_refusals"), NULL, "");
    }
    json_t *lat = json_object_get(json_object_get(rep, "timing"), "latency_ms");
    fprintf(f, "<h2>Latency</h2>\n");
    bars(f, "p50 per operation", lat, "p50_ms", " ms");
    bars(f, "p99 per operation", lat, "p99_ms", " ms");
    fprintf(f, "</body></html>\n");
    return fclose(f) == 0 ? 0 : -1;
}
