/* guess_pending.c: see guess_pending.h.  A plain array searched in full:
 * it holds only the terminals with a bad code in flight, a handful at
 * most outside an attack, and a few hundred during one. */
#include "wallet/guess_pending.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merchant/types.h"

struct entry {
    char key_id[TERMINAL_KEY_ID_MAX + 1];
    int n;
};

struct guess_pending {
    pthread_mutex_t mu;
    struct entry *e;
    size_t len, cap;
};

enum err guess_pending_new(struct guess_pending **out)
{
    struct guess_pending *g = calloc(1, sizeof *g);
    if (g == NULL)
        return ERR_NOMEM;
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return ERR_OK;
}

void guess_pending_free(struct guess_pending *g)
{
    if (g == NULL)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g->e);
    free(g);
}

/* Under g->mu: the entry of key_id, or NULL. */
static struct entry *find(struct guess_pending *g, const char *key_id)
{
    for (size_t i = 0; i < g->len; i++)
        if (strcmp(g->e[i].key_id, key_id) == 0)
            return &g->e[i];
    return NULL;
}

enum err guess_pending_inc(struct guess_pending *g, const char *key_id)
{
    enum err r = ERR_OK;
    pthread_mutex_lock(&g->mu);
    struct entry *x = find(g, key_id);
    if (x == NULL && g->len == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct entry *e = realloc(g->e, cap * sizeof *e);
        if (e == NULL)
            r = ERR_NOMEM;
        else {
            g->e = e;
            g->cap = cap;
        }
    }
    if (r == ERR_OK && x == NULL) {
        x = &g->e[g->len++];
        snprintf(x->key_id, sizeof x->key_id, "%s", key_id);
        x->n = 0;
    }
    if (r == ERR_OK)
        x->n++;
    pthread_mutex_unlock(&g->mu);
    return r;
}

void guess_pending_dec(struct guess_pending *g, const char *key_id)
{
    pthread_mutex_lock(&g->mu);
    struct entry *x = find(g, key_id);
    if (x != NULL && --x->n <= 0)
        *x = g->e[--g->len]; /* the last takes its place */
    pthread_mutex_unlock(&g->mu);
}

int guess_pending_count(struct guess_pending *g, const char *key_id)
{
    pthread_mutex_lock(&g->mu);
    const struct entry *x = find(g, key_id);
    int n = x ? x->n : 0;
    pthread_mutex_unlock(&g->mu);
    return n;
}
