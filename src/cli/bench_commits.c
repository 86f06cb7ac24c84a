/* bench_commits.c: the ledger writer's commits, from kessaid's own
 * counters (GET /metrics, docs/operations.md), see bench.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/bench.h"

#define METRICS_MAX (256 * 1024) /* the page is a few KB; anything larger is not kessaid's */

struct page {
    char *text;
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct page *pg = ud;
    size_t add = size * n;
    if (pg->len + add > METRICS_MAX)
        return 0;
    char *grown = realloc(pg->text, pg->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + pg->len, p, add);
    pg->len += add;
    grown[pg->len] = '\0';
    pg->text = grown;
    return add;
}

/* The value of the sample line "name value" (no labels); false if absent. */
static bool sample(const char *text, const char *name, double *out)
{
    size_t n = strlen(name);
    for (const char *line = text; line != NULL;) {
        if (strncmp(line, name, n) == 0 && line[n] == ' ') {
            char *end;
            *out = strtod(line + n + 1, &end);
            return end != line + n + 1;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

enum err bench_commits_read(const struct sockaddr_in *addr, struct bench_commits *out)
{
    char url[64];
    snprintf(url, sizeof url, "http://%s:%u/metrics", inet_ntoa(addr->sin_addr), (unsigned)ntohs(addr->sin_port));
    CURL *c = curl_easy_init();
    if (c == NULL)
        return ERR_NOMEM;
    struct page pg = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &pg);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    enum err e = ERR_NOT_FOUND;
    if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status == 200 && pg.text != NULL &&
        sample(pg.text, "kessai_ledger_commit_batch_transfers_count", &out->commits) &&
        sample(pg.text, "kessai_ledger_commit_batch_transfers_sum", &out->transfers) &&
        sample(pg.text, "kessai_ledger_commit_groups_total", &out->groups) &&
        sample(pg.text, "kessai_ledger_commit_duration_seconds_sum", &out->seconds))
        e = ERR_OK;
    curl_easy_cleanup(c);
    free(pg.text);
    return e;
}

void bench_commits_diff(const struct bench_commits *before, const struct bench_commits *after,
                        struct bench_commits *out)
{
    *out = (struct bench_commits){.commits = after->commits - before->commits,
                                  .groups = after->groups - before->groups,
                                  .transfers = after->transfers - before->transfers,
                                  .seconds = after->seconds - before->seconds};
}
