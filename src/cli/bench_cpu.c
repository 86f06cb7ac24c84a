/* bench_cpu.c: see bench.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bench.h"

/* The name and user + system clock ticks of one thread, from its stat line:
 * "TID (NAME) STATE PPID … UTIME STIME …".  The name may hold spaces and
 * parentheses, so the fields are counted from the last ')'. */
static bool parse_stat(const char *line, char name[16], unsigned long long *ticks)
{
    const char *open = strchr(line, '('), *close = strrchr(line, ')');
    if (open == NULL || close == NULL || close < open)
        return false;
    snprintf(name, 16, "%.*s", (int)(close - open - 1), open + 1);
    unsigned long long utime = 0, stime = 0;
    /* after ')': state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return false;
    *ticks = utime + stime;
    return true;
}

static void add(struct bench_cpu *c, const char *name, double seconds)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->by_name[i].name, name) == 0) {
            c->by_name[i].seconds += seconds;
            return;
        }
    }
    if (c->n == BENCH_CPU_NAMES)
        return; /* more names than a kessaid has: the rest are not shown */
    snprintf(c->by_name[c->n].name, sizeof c->by_name[c->n].name, "%s", name);
    c->by_name[c->n++].seconds = seconds;
}

enum err bench_cpu_read(pid_t pid, struct bench_cpu *out)
{
    memset(out, 0, sizeof *out);
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return ERR_NOT_FOUND;
    double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char stat[96], line[512];
        snprintf(stat, sizeof stat, "%s/%.20s/stat", path, e->d_name);
        FILE *f = fopen(stat, "r");
        if (f == NULL)
            continue; /* the thread has just ended */
        char name[16];
        unsigned long long ticks;
        if (fgets(line, sizeof line, f) && parse_stat(line, name, &ticks))
            add(out, name, (double)ticks * tick);
        fclose(f);
    }
    closedir(d);
    return ERR_OK;
}

static int by_seconds_desc(const void *a, const void *b)
{
    double x = ((const struct bench_cpu_name *)a)->seconds, y = ((const struct bench_cpu_name *)b)->seconds;
    return x < y ? 1 : x > y ? -1 : 0;
}

void bench_cpu_diff(const struct bench_cpu *before, const struct bench_cpu *after, struct bench_cpu *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < after->n; i++) {
        double s = after->by_name[i].seconds;
        for (size_t j = 0; j < before->n; j++)
            if (strcmp(before->by_name[j].name, after->by_name[i].name) == 0)
                s -= before->by_name[j].seconds;
        add(out, after->by_name[i].name, s > 0 ? s : 0);
    }
    qsort(out->by_name, out->n, sizeof out->by_name[0], by_seconds_desc);
}

double bench_cpu_total(const struct bench_cpu *c)
{
    double t = 0;
    for (size_t i = 0; i < c->n; i++)
        t += c->by_name[i].seconds;
    return t;
}
