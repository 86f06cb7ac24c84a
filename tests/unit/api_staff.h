/* api_staff.h: what the admin API tests share on top of api_client.h:
 * staff members made with the CLI as an operator would and signed in over
 * HTTP, the audit entries and balances of a server, and money put into a
 * wallet without going through a card.  Every helper fails the current
 * test on anything unexpected; names start with ac_ like api_client's. */
#ifndef KESSAI_TESTS_API_STAFF_H
#define KESSAI_TESTS_API_STAFF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api_client.h"
#include "auth/events.h"

#define AC_STAFF_PASSWORD "copper meadow lantern violet"

struct ac_staffer {
    struct ac_user u; /* email, seed and last TOTP step; u.who.token is the staff token once signed in */
    char id[32];      /* stf_… */
    char token[64];
};

/* A confirmed staff member with role, password AC_STAFF_PASSWORD, made
 * with `kessai admin staff create` and `confirm`; not signed in. */
void ac_staffer_new(struct ac_server *s, struct ac_staffer *m, const char *email, const char *role);
/* POST /admin/v1/sessions with these credentials, from m's own address. */
struct ac_resp ac_staff_sign_in(struct ac_server *s, struct ac_staffer *m, const char *password, const char *code);
/* Sign in with the password and the next TOTP code (201 expected); the
 * token is remembered as a secret and used by m->u.who from then on. */
void ac_staff_sign_in_ok(struct ac_server *s, struct ac_staffer *m);

/* The status of method path (body stolen); with want_code, the error code
 * must be it. */
long ac_call_status(struct ac_server *s, const struct ac_who *w, const char *method, const char *path, json_t *body,
                    const char *want_code);
/* The audit entries of the (stopped) server's store, oldest first: up to
 * max into ev; how many. */
size_t ac_load_events(const struct ac_server *s, struct security_event *ev, size_t max);
/* amount yen into c's wallet, written straight into the ledger (the test's
 * own writer on kessaid's database) as a card top-up would. */
void ac_fund(const struct ac_server *s, const struct ac_user *c, int64_t amount);
/* A merchant with one store (Ginza, convenience), made with `kessai admin`:
 * the store's QR payload (the caller frees it); its id in store_id. */
char *ac_shop(struct ac_server *s, char store_id[64]);
/* GET /v1/balance as c. */
int64_t ac_balance(struct ac_server *s, const struct ac_user *c);

#endif
