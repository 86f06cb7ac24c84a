#include "store/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    size_t n, nfree;
    struct store **all;
    struct store **free_list; /* stack of nfree connections */
};

enum err store_pool_open_sqlite(const char *path, size_t n, const uint8_t *audit_key, struct store_memory *mem,
                                struct store_pool **out)
{
    if (n == 0)
        return ERR_INVALID_PARAM;
    struct store_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ERR_NOMEM;
    p->all = calloc(n, sizeof *p->all);
    p->free_list = calloc(n, sizeof *p->free_list);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    enum err e = p->all && p->free_list ? ERR_OK : ERR_NOMEM;
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        e = store_open_sqlite_audited(path, audit_key, mem, &p->all[i]);
        if (e == ERR_OK) {
            p->free_list[i] = p->all[i];
            p->n = p->nfree = i + 1;
        }
    }
    if (e != ERR_OK) {
        store_pool_close(p);
        return e;
    }
    *out = p;
    return ERR_OK;
}

struct store *store_pool_acquire(struct store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->freed, &p->mu);
    struct store *st = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return st;
}

void store_pool_release(struct store_pool *p, struct store *st)
{
    st->ops->snapshot_end(st); /* the next request must not read an old snapshot */
    pthread_mutex_lock(&p->mu);
    p->free_list[p->nfree++] = st;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

void store_pool_close(struct store_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_close(p->all[i]);
    free(p->all);
    free(p->free_list);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
