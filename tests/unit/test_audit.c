/* test_audit.c: the tamper-evident audit log (audit/audit.h,
 * docs/audit-log.md) on real SQLite stores.
 *
 * The chain holds while many threads and processes append at once; the
 * worked example of the document is what the code computes, byte for byte;
 * every kind of tampering (an edit, a removed entry, two swapped entries, an
 * entry forged with another key or written without a MAC, the newest
 * entries removed against an anchor, a rebuilt chain) is found and named;
 * a store written before migration 10 gets its entries chained once; no
 * entry is written without the key; the staff's CLI actions appear with
 * their actor; and `kessai audit verify` passes, then fails after the test
 * edits one row directly.  Searches filter by customer, actor, action and
 * time, newest first, in pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>

#include "api_client.h"
#include "audit/audit.h"
#include "auth/events.h"
#include "store/sqlite_internal.h"
#include "testutil.h"
#include "util/timeutil.h"

#define T0 1800000000000LL /* 2027-01-15T08:00:00Z */

/* ---- helpers ------------------------------------------------------------- */

struct fx {
    char *dir;
    struct store *st;
    uint8_t mk[MASTERKEY_BYTES];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    f->st = tu_open_store(f->dir);
    tu_master_key(f->dir, f->mk);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Run sql on dir/kessai.db through a connection of its own, as someone
 * with write access to the file (and no master key) would. */
static void tamper(const char *dir, const char *sql)
{
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* One entry about nothing in particular, number n. */
static void append(struct store *st, int n)
{
    assert_int_equal(audit_record(st, T0 + n, AUDIT_ACTOR_SYSTEM, 0, "test_entry", AUDIT_SUCCESS, "203.0.113.9", 0,
                                  json_pack("{s:i}", "n", n)),
                     ERR_OK);
}

/* audit_verify on f's store; its messages in msgs (NUL-terminated). */
static void verify(struct fx *f, const struct audit_anchor *anchor, struct audit_verify_report *rep, char *msgs,
                   size_t n)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&mem, &len);
    assert_non_null(out);
    assert_int_equal(audit_verify(f->st, f->mk, anchor, out, rep), ERR_OK);
    fclose(out);
    snprintf(msgs, n, "%s", mem ? mem : "");
    free(mem);
}

static void assert_clean(struct fx *f, size_t entries)
{
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    if (rep.violations)
        fail_msg("violations: %s", msgs);
    assert_int_equal(rep.entries, entries);
    assert_int_equal(rep.head_id, (int64_t)entries);
}

/* The one violation report expected: at entry `id`, with `what` in its text. */
static void assert_caught(struct fx *f, int64_t id, const char *what)
{
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    assert_true(rep.violations > 0);
    assert_int_equal(rep.first_bad_id, id);
    char want[256];
    snprintf(want, sizeof want, "entry %lld: %s", (long long)id, what);
    if (strstr(msgs, want) == NULL)
        fail_msg("expected \"%s\" in:\n%s", want, msgs);
}

/* verify's messages include text. */
static void assert_says(struct fx *f, const char *text)
{
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    if (strstr(msgs, text) == NULL)
        fail_msg("expected \"%s\" in:\n%s", text, msgs);
}

/* ---- the format ------------------------------------------------------------ */

/* docs/audit-log.md, "A worked example": the same key, messages and hashes. */
static void the_documents_worked_example(void **state)
{
    (void)state;
    uint8_t master[MASTERKEY_BYTES], key[AUDIT_KEY_BYTES], h1[AUDIT_MAC_BYTES], h2[AUDIT_MAC_BYTES];
    char hex[2 * AUDIT_MAC_BYTES + 1];
    for (int i = 0; i < MASTERKEY_BYTES; i++)
        master[i] = (uint8_t)i;
    audit_key_derive(master, key);
    assert_string_equal(sodium_bin2hex(hex, sizeof hex, key, sizeof key),
                        "51a8e6834dea12f2fbab3d4de22268239235bff889daff210ed6c1b574f12820");
    struct audit_mac_input e1 = {
        .id = 1,
        .at_ms = T0,
        .actor = audit_str("usr_0000000000001"),
        .customer_id = 1,
        .kind = audit_str("login_succeeded"),
        .outcome = audit_str("success"),
        .client_addr = audit_str("198.51.100.7"),
        .device_id = 1,
        .detail = audit_str("{}"),
    };
    audit_mac(key, &e1, h1);
    assert_string_equal(sodium_bin2hex(hex, sizeof hex, h1, sizeof h1),
                        "c94b94e29eb0b165f4061717acaad8f7e19a1272805d8132a135720fba54ab84");
    const char *detail2 = "{\"name\":\"topups\",\"reason\":\"fraud wave\",\"set_by\":\"cli:ana\"}";
    struct audit_mac_input e2 = {
        .prev_hash = {h1, sizeof h1},
        .id = 2,
        .at_ms = T0 + 60000,
        .actor = audit_str("admin-cli"),
        .kind = audit_str("killswitch_on"),
        .outcome = audit_str("success"),
        .client_addr = audit_str(""),
        .detail = audit_str(detail2),
    };
    audit_mac(key, &e2, h2);
    assert_string_equal(sodium_bin2hex(hex, sizeof hex, h2, sizeof h2),
                        "aa8f2923a74f7af63729ec7189afc0648a17a1fdc234545a38860d0522408ddb");

    /* The store computes the same (its SQL function) when it appends them. */
    char *dir = tu_tempdir();
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    assert_int_equal(audit_attach(st, master), ERR_OK);
    assert_int_equal(audit_record(st, T0, "usr_0000000000001", 1, "login_succeeded", AUDIT_SUCCESS, "198.51.100.7",
                                  1, json_object()),
                     ERR_OK);
    assert_int_equal(audit_record(st, T0 + 60000, AUDIT_ACTOR_ADMIN_CLI, 0, "killswitch_on", AUDIT_SUCCESS, NULL, 0,
                                  json_pack("{s:s, s:s, s:s}", "set_by", "cli:ana", "name", "topups", "reason",
                                            "fraud wave")),
                     ERR_OK);
    struct security_event ev[2];
    size_t n = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, 2, ev, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].prev_hash_len, 0);
    assert_int_equal(ev[0].hash_len, AUDIT_MAC_BYTES);
    assert_memory_equal(ev[0].hash, h1, AUDIT_MAC_BYTES);
    assert_string_equal(ev[1].detail, detail2); /* keys sorted, compact */
    assert_memory_equal(ev[1].prev_hash, h1, AUDIT_MAC_BYTES);
    assert_memory_equal(ev[1].hash, h2, AUDIT_MAC_BYTES);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

/* Moving bytes from one field into the next changes the MAC: the lengths
 * are part of the message. */
static void field_boundaries_are_part_of_the_mac(void **state)
{
    (void)state;
    uint8_t key[AUDIT_KEY_BYTES] = {7}, a[AUDIT_MAC_BYTES], b[AUDIT_MAC_BYTES];
    struct audit_mac_input x = {.id = 3, .kind = audit_str("login"), .outcome = audit_str("_failedsuccess")};
    struct audit_mac_input y = {.id = 3, .kind = audit_str("login_failed"), .outcome = audit_str("success")};
    audit_mac(key, &x, a);
    audit_mac(key, &y, b);
    assert_memory_not_equal(a, b, sizeof a);
    y = x;
    y.id = 4;
    audit_mac(key, &y, b);
    assert_memory_not_equal(a, b, sizeof a);
    key[0] = 8;
    audit_mac(key, &x, b);
    assert_memory_not_equal(a, b, sizeof a);
}

/* ---- appending ------------------------------------------------------------- */

#define WRITERS 4
#define PER_WRITER 40

struct writer_arg {
    const char *dir;
    int which;
    int failed;
};

/* Its own connection; half of its entries in explicit transactions (some
 * after a transaction that was rolled back), half one statement each.
 * Runs in threads and in a child process: no cmocka assertion here, the
 * number of failed calls is returned. */
static int write_some(const char *dir, int which)
{
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    uint8_t mk[MASTERKEY_BYTES];
    tu_path(path, sizeof path, dir, "master.key");
    if (masterkey_load_or_create(path, mk) != ERR_OK)
        return 1;
    tu_path(path, sizeof path, dir, "kessai.db");
    struct store *st = NULL;
    if (store_open_sqlite(path, &st) != ERR_OK)
        return 1;
    int bad = audit_attach(st, mk) != ERR_OK;
    for (int i = 0; i < PER_WRITER && !bad; i++) {
        int n = which * 1000 + i;
        json_t *d = json_pack("{s:i}", "n", n);
        if (i % 2 == 0) {
            bad += audit_record(st, T0 + n, AUDIT_ACTOR_SYSTEM, 0, "test_entry", AUDIT_SUCCESS, "", 0, d) != ERR_OK;
            continue;
        }
        bad += st->ops->begin(st) != ERR_OK;
        if (i % 5 == 1) { /* a transaction that fails leaves no entry and no gap */
            bad += audit_record(st, T0 + n, AUDIT_ACTOR_SYSTEM, 0, "test_entry", AUDIT_SUCCESS, "", 0,
                                json_pack("{s:i}", "n", -n)) != ERR_OK;
            bad += st->ops->rollback(st) != ERR_OK;
            bad += st->ops->begin(st) != ERR_OK;
        }
        bad += audit_record(st, T0 + n, AUDIT_ACTOR_SYSTEM, 0, "test_entry", AUDIT_SUCCESS, "", 0, d) != ERR_OK;
        bad += st->ops->commit(st) != ERR_OK;
    }
    store_close(st);
    return bad;
}

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    a->failed = write_some(a->dir, a->which);
    return NULL;
}

/* Threads with a connection each, and another process (a second kessaid
 * on the same file), append at once: one chain, no gap, nothing lost. */
static void concurrent_appends_form_one_chain(void **state)
{
    struct fx *f = *state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(write_some(f->dir, WRITERS) ? 1 : 0);
    pthread_t t[WRITERS];
    struct writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (struct writer_arg){f->dir, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_clean(f, (WRITERS + 1) * PER_WRITER);
    /* every writer's entries are there, once */
    struct security_event_filter q = {.kind = "test_entry"};
    struct security_event *ev = calloc((WRITERS + 1) * PER_WRITER + 1, sizeof *ev);
    size_t n = 0;
    assert_int_equal(f->st->ops->security_event_search(f->st, &q, 0, (WRITERS + 1) * PER_WRITER + 1, ev, &n), ERR_OK);
    assert_int_equal(n, (WRITERS + 1) * PER_WRITER);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(ev[i].detail, "-")); /* no rolled-back entry */
    free(ev);
}

/* A connection that was never given the key cannot append: a loud
 * ERR_INTERNAL, and nothing written, in a transaction or not. */
static void no_entry_without_the_key(void **state)
{
    struct fx *f = *state;
    append(f->st, 1);
    char path[600];
    tu_path(path, sizeof path, f->dir, "kessai.db");
    struct store *bare = NULL;
    assert_int_equal(store_open_sqlite(path, &bare), ERR_OK);
    assert_int_equal(sec_event_record(bare, T0, 5, SEC_LOGIN_FAILED, SEC_FAILURE, "198.51.100.1", 0, NULL),
                     ERR_INTERNAL);
    assert_int_equal(bare->ops->begin(bare), ERR_OK);
    assert_int_equal(audit_record(bare, T0, AUDIT_ACTOR_SYSTEM, 0, "test_entry", AUDIT_SUCCESS, NULL, 0, NULL),
                     ERR_INTERNAL);
    assert_int_equal(bare->ops->rollback(bare), ERR_OK);
    /* and the SQL function refuses as well, should anything call it */
    sqlite3 *db = sq(bare)->db;
    assert_int_not_equal(sqlite3_exec(db, "SELECT kessai_audit_mac(NULL, 1, 1, 'a', 0, 'k', 'o', '', 0, '{}')", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
    store_close(bare);
    /* bad arguments are refused before anything is written */
    assert_int_equal(audit_record(f->st, T0, "", 0, "test_entry", AUDIT_SUCCESS, NULL, 0, NULL), ERR_INVALID_PARAM);
    assert_int_equal(audit_record(f->st, T0, NULL, 0, "test_entry", AUDIT_SUCCESS, NULL, 0, NULL), ERR_INVALID_PARAM);
    assert_int_equal(audit_record(f->st, T0, AUDIT_ACTOR_SYSTEM, 0, "", AUDIT_SUCCESS, NULL, 0, NULL),
                     ERR_INVALID_PARAM);
    assert_clean(f, 1);
}

/* Customer events name the customer as actor; events about no customer
 * name the system. */
static void security_events_get_their_actor(void **state)
{
    struct fx *f = *state;
    assert_int_equal(sec_event_record(f->st, T0, 42, SEC_LOGIN_FAILED, SEC_FAILURE, "198.51.100.1", 3,
                                      json_pack("{s:s}", "reason", "password")),
                     ERR_OK);
    assert_int_equal(sec_event_record(f->st, T0, 0, SEC_CREDENTIAL_STUFFING_BLOCKED, SEC_FAILURE, "198.51.100.1", 0,
                                      NULL),
                     ERR_OK);
    struct security_event ev[2];
    size_t n = 0;
    assert_int_equal(f->st->ops->security_event_list(f->st, 0, 0, 2, ev, &n), ERR_OK);
    assert_int_equal(n, 2);
    char id[IDS_BUF];
    assert_string_equal(ev[0].actor, ids_format(id, CUSTOMER_ID_PREFIX, 42));
    assert_string_equal(ev[0].kind, "login_failed");
    assert_string_equal(ev[0].outcome, "failure");
    assert_string_equal(ev[1].actor, "system");
    assert_clean(f, 2);
}

/* Whoever writes a free-text reason cannot blank their own entry with it:
 * 200 quotes double when escaped, past what an entry holds.  The text is
 * shortened (and marked), the ids and amounts stay. */
static void a_long_reason_cannot_blank_its_entry(void **state)
{
    struct fx *f = *state;
    char reason[201];
    memset(reason, '"', 200);
    reason[200] = '\0';
    assert_int_equal(audit_record(f->st, T0, "stf_0000000000001", 42, "reversal_requested", AUDIT_SUCCESS,
                                  "198.51.100.1", 0,
                                  json_pack("{s:s, s:I, s:s, s:s}", "payment", "pay_000000000004h", "amount",
                                            (json_int_t)48000, "reason", reason, "identity_check", reason)),
                     ERR_OK);
    struct security_event ev[1];
    size_t n = 0;
    assert_int_equal(f->st->ops->security_event_list(f->st, 0, 0, 1, ev, &n), ERR_OK);
    assert_int_equal(n, 1);
    json_t *d = json_loads(ev[0].detail, 0, NULL);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "payment")), "pay_000000000004h");
    assert_int_equal(json_integer_value(json_object_get(d, "amount")), 48000);
    assert_true(json_is_true(json_object_get(d, "truncated")));
    assert_true(json_string_length(json_object_get(d, "reason")) > 0);
    json_decref(d);
    assert_clean(f, 1);
}

/* ---- tampering ------------------------------------------------------------- */

static void an_edited_entry_is_named(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 6; i++)
        append(f->st, i);
    assert_clean(f, 6);
    tamper(f->dir, "UPDATE security_events SET detail = '{\"n\":33}' WHERE id = 3");
    assert_caught(f, 3, "MAC mismatch");
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    assert_int_equal(rep.violations, 1); /* the entries after it still link to its stored hash */
    /* every field is covered: each edit of entry 5 is caught, then undone */
    tamper(f->dir, "CREATE TABLE keep AS SELECT * FROM security_events WHERE id = 5");
    const char *edits[] = {
        "UPDATE security_events SET actor = 'usr_0000000000001' WHERE id = 5",
        "UPDATE security_events SET at_ms = at_ms + 1 WHERE id = 5",
        "UPDATE security_events SET outcome = 'failure' WHERE id = 5",
        "UPDATE security_events SET customer_id = 9 WHERE id = 5",
        "UPDATE security_events SET client_addr = '' WHERE id = 5",
        "UPDATE security_events SET device_id = 1 WHERE id = 5",
        "UPDATE security_events SET kind = 'login_succeeded' WHERE id = 5",
        "UPDATE security_events SET detail = detail || ' ' WHERE id = 5",
        /* a NUL byte after the text: searches by actor or action no longer
         * find it, while the text before the NUL is unchanged */
        "UPDATE security_events SET actor = actor || char(0) || 'x' WHERE id = 5",
        "UPDATE security_events SET kind = kind || char(0) WHERE id = 5",
        "UPDATE security_events SET detail = detail || char(0) WHERE id = 5",
        /* past what the field holds: the same text cut short reads back */
        "UPDATE security_events SET client_addr = client_addr || printf('%.200c', 'x') WHERE id = 5",
        /* retyped in place: the same bytes, the same integer read back, but
         * no search by action or customer finds the entry any more */
        "UPDATE security_events SET kind = CAST(kind AS BLOB) WHERE id = 5",
        "UPDATE security_events SET customer_id = customer_id + 0.25 WHERE id = 5",
        "UPDATE security_events SET device_id = device_id + 0.5 WHERE id = 5",
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        tamper(f->dir, edits[i]);
        verify(f, NULL, &rep, msgs, sizeof msgs);
        if (strstr(msgs, "entry 5: MAC mismatch") == NULL && strstr(msgs, "entry 5: a field") == NULL)
            fail_msg("not caught: %s", edits[i]);
        tamper(f->dir, "DELETE FROM security_events WHERE id = 5; INSERT INTO security_events SELECT * FROM keep");
        verify(f, NULL, &rep, msgs, sizeof msgs);
        assert_int_equal(rep.violations, 1);
    }
}

/* Someone with write access to the file plants a trigger that throws
 * chosen entries away: the chain stays whole, so the entries themselves
 * show nothing.  An append the trigger drops fails (the change it records
 * does not commit), and verify names the trigger. */
static void a_planted_trigger_is_found_and_drops_nothing(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 3; i++)
        append(f->st, i);
    tamper(f->dir, "CREATE TRIGGER quiet BEFORE INSERT ON security_events WHEN NEW.kind = 'test_entry' "
                   "BEGIN SELECT RAISE(IGNORE); END;");
    assert_int_equal(audit_record(f->st, T0 + 4, AUDIT_ACTOR_SYSTEM, 0, "test_entry", AUDIT_SUCCESS, NULL, 0, NULL),
                     ERR_INTERNAL);
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    assert_int_equal(rep.violations, 1);
    assert_int_equal(rep.entries, 3);
    assert_non_null(strstr(msgs, "schema: 1 trigger(s) or view(s) kessai never made (first: quiet)"));
    tamper(f->dir, "DROP TRIGGER quiet; CREATE VIEW v AS SELECT * FROM security_events;");
    assert_says(f, "schema: 1 trigger(s) or view(s) kessai never made (first: v)");
    tamper(f->dir, "DROP VIEW v");
    append(f->st, 4);
    assert_clean(f, 4);
}

static void a_removed_entry_is_found(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 6; i++)
        append(f->st, i);
    tamper(f->dir, "DELETE FROM security_events WHERE id = 4");
    assert_caught(f, 5, "entry 4 is missing");
    assert_caught(f, 5, "prev_hash is not the hash of entry 3");
    /* the oldest ones too */
    tamper(f->dir, "DELETE FROM security_events WHERE id IN (1, 2)");
    assert_caught(f, 3, "entries 1 to 2 are missing");
    assert_caught(f, 3, "prev_hash set on the first entry");
}

static void swapped_entries_are_found(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 6; i++)
        append(f->st, i);
    tamper(f->dir, "UPDATE security_events SET id = -3 WHERE id = 3;"
                   "UPDATE security_events SET id = 3 WHERE id = 4;"
                   "UPDATE security_events SET id = 4 WHERE id = -3;");
    assert_caught(f, 3, "prev_hash is not the hash of entry 2");
    assert_caught(f, 3, "MAC mismatch");
    assert_says(f, "entry 4: prev_hash is not the hash of entry 3");
    assert_says(f, "entry 4: MAC mismatch");
    assert_says(f, "entry 5: prev_hash is not the hash of entry 4");
}

/* Someone with write access but another master key (or none) cannot add
 * an entry that verifies. */
static void forged_entries_are_found(void **state)
{
    struct fx *f = *state;
    append(f->st, 1);
    append(f->st, 2);
    /* a kessaid with another master key appends to the same file */
    char path[600];
    tu_path(path, sizeof path, f->dir, "kessai.db");
    struct store *other = NULL;
    assert_int_equal(store_open_sqlite(path, &other), ERR_OK);
    uint8_t wrong[MASTERKEY_BYTES];
    randombytes_buf(wrong, sizeof wrong);
    assert_int_equal(audit_attach(other, wrong), ERR_OK);
    append(other, 3);
    store_close(other);
    append(f->st, 4); /* chains onto the forged entry's hash */
    assert_caught(f, 3, "MAC mismatch");
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    assert_int_equal(rep.violations, 1);

    /* a row written by hand: no MAC, or a copied one */
    tamper(f->dir, "INSERT INTO security_events (id, at_ms, customer_id, kind, outcome, client_addr, device_id, "
                   "detail, actor, prev_hash) SELECT 5, at_ms, 0, 'test_entry', 'success', '', 0, '{}', 'system', "
                   "hash FROM security_events WHERE id = 4");
    assert_caught(f, 3, "MAC mismatch");
    assert_says(f, "entry 5: no MAC");
    tamper(f->dir, "UPDATE security_events SET hash = (SELECT hash FROM security_events WHERE id = 2) WHERE id = 5");
    assert_says(f, "entry 5: MAC mismatch");
    tamper(f->dir, "UPDATE security_events SET hash = x'0102' WHERE id = 5");
    assert_says(f, "entry 5: malformed hash");
}

/* Removing the newest entries leaves a whole chain: only an anchor, a head
 * recorded elsewhere, shows it. */
static void an_anchor_finds_the_newest_entries_removed(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 5; i++)
        append(f->st, i);
    struct audit_verify_report rep;
    char msgs[4096];
    verify(f, NULL, &rep, msgs, sizeof msgs);
    struct audit_anchor anchor = {.id = rep.head_id};
    memcpy(anchor.hash, rep.head_hash, sizeof anchor.hash);
    append(f->st, 6);
    verify(f, &anchor, &rep, msgs, sizeof msgs);
    assert_int_equal(rep.violations, 0); /* later entries are fine */

    tamper(f->dir, "DELETE FROM security_events WHERE id >= 5");
    verify(f, NULL, &rep, msgs, sizeof msgs);
    assert_int_equal(rep.violations, 0); /* undetectable without it... */
    verify(f, &anchor, &rep, msgs, sizeof msgs);
    assert_int_equal(rep.violations, 1); /* ...caught with it */
    assert_non_null(strstr(msgs, "entry 5: the anchor's entry is gone: the newest entries were removed"));
    /* and a new entry 5 in its place does not have the anchored hash */
    append(f->st, 50);
    verify(f, &anchor, &rep, msgs, sizeof msgs);
    assert_non_null(strstr(msgs, "entry 5: the anchor's hash differs"));
}

/* ---- migration ------------------------------------------------------------- */

/* How many entries of the database at path have a MAC. */
static int hashed_entries(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM security_events WHERE hash IS NOT NULL", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* A store written at schema 9 (before the chain): its entries are chained
 * by the operator's backfill, once, with a trace, and never by merely
 * opening the database with the key. */
static void migration_chains_the_entries_written_before(void **state)
{
    (void)state;
    struct fx f = {.dir = tu_tempdir()};
    char path[600];
    tu_path(path, sizeof path, f.dir, "kessai.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE schema_version (version INTEGER NOT NULL)", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int v = 0; v < 9; v++)
        assert_int_equal(sqlite3_exec(db, sq_migrations[v], NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO schema_version VALUES (9);"
                                  "INSERT INTO security_events (at_ms, customer_id, kind, outcome, client_addr, "
                                  "device_id, detail) VALUES"
                                  " (1700000000000, 7, 'registered', 'success', '198.51.100.7', 0, '{}'),"
                                  " (1700000001000, 7, 'login_failed', 'failure', '198.51.100.7', 2, "
                                  "'{\"reason\":\"password\"}'),"
                                  " (1700000002000, 0, 'terminal_flagged', 'failure', '', 0, '{}');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    /* opened without the key: migrated, not yet chained, nothing refused */
    struct store *bare = NULL;
    assert_int_equal(store_open_sqlite(path, &bare), ERR_OK);
    /* given the key, as kessaid and the admin commands open it: refused
     * until the operator chains the old entries, and nothing is signed */
    tu_master_key(f.dir, f.mk);
    assert_int_equal(audit_attach(bare, f.mk), ERR_AUDIT_UNCHAINED);
    store_close(bare);
    assert_int_equal(hashed_entries(path), 0);
    assert_int_equal(store_open_sqlite(path, &bare), ERR_OK);
    int64_t legacy = -1;
    assert_int_equal(audit_backfill(bare, f.mk, &legacy), ERR_OK);
    assert_int_equal(legacy, 3);
    assert_int_equal(audit_backfill(bare, f.mk, &legacy), ERR_NOT_FOUND); /* once */
    store_close(bare);

    f.st = tu_open_store(f.dir);
    assert_clean(&f, 4);
    struct security_event ev[8];
    size_t n = 0;
    assert_int_equal(f.st->ops->security_event_list(f.st, 0, 0, 8, ev, &n), ERR_OK);
    assert_int_equal(n, 4);
    assert_string_equal(ev[0].actor, ""); /* not known then */
    assert_string_equal(ev[1].kind, "login_failed");
    assert_int_equal(ev[0].prev_hash_len, 0);
    assert_int_equal(ev[2].hash_len, AUDIT_MAC_BYTES);
    assert_string_equal(ev[3].kind, AUDIT_CHAIN_STARTED);
    assert_string_equal(ev[3].actor, "system");
    assert_string_equal(ev[3].detail, "{\"legacy_entries\":3}");
    append(f.st, 5);
    store_close(f.st);
    f.st = tu_open_store(f.dir);
    assert_clean(&f, 5);
    /* an old entry edited after the migration is caught like any other */
    tamper(f.dir, "UPDATE security_events SET detail = '{}' WHERE id = 2");
    assert_caught(&f, 2, "MAC mismatch");
    tamper(f.dir, "UPDATE security_events SET detail = '{\"reason\":\"password\"}' WHERE id = 2");
    assert_clean(&f, 5);

    /* Someone puts the marker back on the chained log: nothing opens with
     * the key until the operator looks, and the operator's backfill removes
     * the marker and signs nothing (the edit stays visible). */
    store_close(f.st);
    tamper(f.dir, "UPDATE security_events SET outcome = 'success' WHERE id = 2;"
                  "INSERT INTO audit_backfill VALUES (5);");
    assert_int_equal(store_open_sqlite(path, &bare), ERR_OK);
    assert_int_equal(audit_attach(bare, f.mk), ERR_AUDIT_UNCHAINED);
    store_close(bare);
    assert_int_equal(store_open_sqlite(path, &bare), ERR_OK);
    assert_int_equal(audit_backfill(bare, f.mk, &legacy), ERR_CONFLICT);
    store_close(bare);
    f.st = tu_open_store(f.dir);
    assert_caught(&f, 2, "MAC mismatch");

    /* The log rewritten to look older than the chain: every hash erased,
     * the chain's start removed, the marker back.  Opening it with the
     * key (kessaid starting) signs none of it. */
    store_close(f.st);
    tamper(f.dir, "UPDATE security_events SET prev_hash = NULL, hash = NULL;"
                  "DELETE FROM security_events WHERE kind = 'audit_chain_started';"
                  "INSERT INTO audit_backfill VALUES (5);");
    assert_int_equal(store_open_sqlite(path, &bare), ERR_OK);
    assert_int_equal(audit_attach(bare, f.mk), ERR_AUDIT_UNCHAINED);
    store_close(bare);
    assert_int_equal(hashed_entries(path), 0);
    f.st = NULL;
    store_close(f.st);
    tu_rmtree(f.dir);
    free(f.dir);
}

/* ---- search ---------------------------------------------------------------- */

static void searches_filter_and_page_newest_first(void **state)
{
    struct fx *f = *state;
    /* 1: usr 1 login_failed; 2: usr 2 login_failed; 3: usr 1 login_succeeded;
     * 4: admin-cli killswitch_on; 5: admin-cli account_frozen of usr 1;
     * 6: system terminal_flagged; 7: usr 2 new_device */
    assert_int_equal(sec_event_record(f->st, T0 + 1000, 1, SEC_LOGIN_FAILED, SEC_FAILURE, "a", 0, NULL), ERR_OK);
    assert_int_equal(sec_event_record(f->st, T0 + 2000, 2, SEC_LOGIN_FAILED, SEC_FAILURE, "b", 0, NULL), ERR_OK);
    assert_int_equal(sec_event_record(f->st, T0 + 3000, 1, SEC_LOGIN_SUCCEEDED, SEC_SUCCESS, "a", 0, NULL), ERR_OK);
    assert_int_equal(audit_record(f->st, T0 + 4000, AUDIT_ACTOR_ADMIN_CLI, 0, "killswitch_on", AUDIT_SUCCESS, NULL, 0,
                                  NULL),
                     ERR_OK);
    assert_int_equal(audit_record(f->st, T0 + 5000, AUDIT_ACTOR_ADMIN_CLI, 1, "account_frozen", AUDIT_SUCCESS, NULL,
                                  0, NULL),
                     ERR_OK);
    assert_int_equal(sec_event_record(f->st, T0 + 6000, 0, SEC_TERMINAL_FLAGGED, SEC_FAILURE, "", 0, NULL), ERR_OK);
    assert_int_equal(sec_event_record(f->st, T0 + 7000, 2, SEC_NEW_DEVICE, SEC_SUCCESS, "b", 0, NULL), ERR_OK);

    struct {
        struct security_event_filter q;
        const char *ids; /* expected, newest first */
    } cases[] = {
        {{0}, "7 6 5 4 3 2 1"},
        {{.customer_id = 1}, "5 3 1"},
        {{.actor = "usr_0000000000001"}, "3 1"},
        {{.actor = "admin-cli"}, "5 4"},
        {{.kind = "login_failed"}, "2 1"},
        {{.customer_id = 1, .actor = "admin-cli"}, "5"},
        {{.customer_id = 2, .kind = "login_failed"}, "2"},
        {{.since_ms = T0 + 3000}, "7 6 5 4 3"},
        {{.until_ms = T0 + 3000}, "2 1"},
        {{.since_ms = T0 + 2000, .until_ms = T0 + 6000}, "5 4 3 2"},
        {{.kind = "login_failed", .since_ms = T0 + 1500}, "2"},
        {{.actor = "system", .until_ms = T0 + 6000}, ""},
        {{.actor = "nobody"}, ""},
        {{.customer_id = 3}, ""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char got[64] = "";
        struct security_event ev[16];
        size_t n = 0;
        assert_int_equal(f->st->ops->security_event_search(f->st, &cases[c].q, 0, 16, ev, &n), ERR_OK);
        for (size_t i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? " " : "", (long long)ev[i].id);
        if (strcmp(got, cases[c].ids) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", c, got, cases[c].ids);
    }
    /* pages of two, each starting before the last id of the one before */
    struct security_event_filter all = {0};
    int64_t before = 0;
    char got[64] = "";
    for (;;) {
        struct security_event ev[2];
        size_t n = 0;
        assert_int_equal(f->st->ops->security_event_search(f->st, &all, before, 2, ev, &n), ERR_OK);
        for (size_t i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%lld,", (long long)ev[i].id);
        if (n < 2)
            break;
        before = ev[n - 1].id;
    }
    assert_string_equal(got, "7,6,5,4,3,2,1,");
    /* the public shape */
    struct security_event ev[1];
    size_t n = 0;
    struct security_event_filter frozen = {.kind = "account_frozen"};
    assert_int_equal(f->st->ops->security_event_search(f->st, &frozen, 0, 1, ev, &n), ERR_OK);
    json_t *j = audit_entry_json(&ev[0]);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "actor")), "admin-cli");
    assert_string_equal(json_string_value(json_object_get(j, "customer")), "usr_0000000000001");
    assert_string_equal(json_string_value(json_object_get(j, "at")), "2027-01-15T08:00:05.000Z");
    assert_true(json_is_null(json_object_get(j, "device")));
    assert_true(json_is_object(json_object_get(j, "detail")));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "hash"))), 64);
    json_decref(j);
}

/* ---- the CLI ---------------------------------------------------------------- */

/* `kessai ARGS` with stdout into a file; its exit status and output. */
static int cli_capture(struct ac_server *s, const char *args, bool with_stderr, char *out, size_t n)
{
    char path[700], cmd[1400];
    tu_path(path, sizeof path, s->root, "cli.out");
    snprintf(cmd, sizeof cmd, "%s >'%s'%s", args, path, with_stderr ? " 2>&1" : "");
    int rc = ac_cli(s, cmd);
    char *text = tu_slurp(path, NULL);
    snprintf(out, n, "%s", text ? text : "");
    free(text);
    return rc;
}

/* A data directory with its database, as kessaid or a first admin
 * command leaves it (the commands that change something need one). */
static void data_dir_with_store(struct ac_server *s)
{
    assert_int_equal(mkdir(s->data, 0700), 0);
    store_close(tu_open_store(s->data));
}

/* What the command printed on standard output. */
static int cli_out(struct ac_server *s, const char *args, char *out, size_t n)
{
    return cli_capture(s, args, false, out, n);
}

/* ... and on standard error too (refusals). */
static int cli_all(struct ac_server *s, const char *args, char *out, size_t n)
{
    return cli_capture(s, args, true, out, n);
}

/* The staff's admin commands are entries with the actor admin-cli; `kessai
 * audit verify` passes, then fails after the test edits one row directly,
 * naming it. */
static void cli_actions_are_logged_and_verify_catches_an_edit(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    data_dir_with_store(&s);
    char out[8192], path[700], args[900];
    assert_int_equal(ac_cli(&s, "admin killswitch on topups --reason 'fraud wave' >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "admin killswitch off topups >/dev/null"), 0);
    tu_path(path, sizeof path, s.root, "pw");
    FILE *pw = fopen(path, "w");
    fputs(AC_PASSWORD "\n", pw);
    fclose(pw);
    snprintf(args, sizeof args, "admin staff create --email ana@kessai.example --role fraud_analyst <'%s' "
                                ">/dev/null 2>&1",
             path);
    assert_int_equal(ac_cli(&s, args), 0);
    assert_int_equal(ac_cli(&s, "admin staff confirm --email ana@kessai.example --code 000000 >/dev/null 2>&1"), 1);
    assert_int_equal(ac_cli(&s, "admin staff disable ana@kessai.example >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "admin staff enable ana@kessai.example >/dev/null"), 0);
    /* a customer to freeze, as registration leaves one */
    struct store *st = tu_open_store(s.data);
    struct customer c = {0};
    snprintf(c.email, sizeof c.email, "aiko@example.com");
    snprintf(c.password_hash, sizeof c.password_hash, "x");
    c.created_ms = T0;
    assert_int_equal(st->ops->customer_insert(st, &c), ERR_OK);
    store_close(st);
    assert_int_equal(ac_cli(&s, "admin customer freeze aiko@example.com --reason 'fraud case 17' >/dev/null"), 0);
    assert_int_equal(ac_cli(&s, "admin customer unfreeze aiko@example.com --reason 'owner verified' >/dev/null"), 0);
    /* merchants, stores and terminals */
    json_t *j = ac_cli_json(&s, "admin merchant create --name 'Kessai Mart'");
    char merchant[40], store[40], terminal[40];
    snprintf(merchant, sizeof merchant, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(args, sizeof args, "admin store create --merchant %s --name Umeda --address 'Umeda 1-1, Osaka' "
                                "--lat 34.702485 --lon 135.495951 --category convenience",
             merchant);
    j = ac_cli_json(&s, args);
    snprintf(store, sizeof store, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(args, sizeof args, "admin terminal create --store %s", store);
    j = ac_cli_json(&s, args);
    snprintf(terminal, sizeof terminal, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    snprintf(args, sizeof args, "admin terminal revoke %s >/dev/null", terminal);
    assert_int_equal(ac_cli(&s, args), 0);
    snprintf(args, sizeof args, "admin store deactivate %s >/dev/null", store);
    assert_int_equal(ac_cli(&s, args), 0);
    /* a change refused is no entry */
    assert_int_equal(ac_cli(&s, "admin terminal revoke trm_0000000000077 >/dev/null 2>&1"), 1);

    j = ac_cli_json(&s, "audit search --actor admin-cli");
    json_t *entries = json_object_get(j, "entries");
    const char *want[] = {"store_deactivated", "terminal_revoked", "terminal_created", "store_created",
                          "merchant_created", "account_unfrozen", "account_frozen", "staff_enabled", "staff_disabled",
                          "staff_confirm_failed", "staff_created", "killswitch_off", "killswitch_on"};
    assert_int_equal(json_array_size(entries), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *e = json_array_get(entries, i);
        assert_string_equal(json_string_value(json_object_get(e, "action")), want[i]);
        assert_string_equal(json_string_value(json_object_get(e, "actor")), "admin-cli");
    }
    json_t *created = json_array_get(entries, 10);
    assert_string_equal(json_string_value(json_object_get(json_object_get(created, "detail"), "role")),
                        "fraud_analyst");
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 9), "outcome")), "failure");
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 6), "customer")),
                        "usr_0000000000001");
    json_t *revoked = json_object_get(json_array_get(entries, 1), "detail");
    assert_string_equal(json_string_value(json_object_get(revoked, "terminal")), terminal);
    assert_non_null(json_string_value(json_object_get(revoked, "operator")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(entries, 3), "detail"),
                                                          "store")),
                        store);
    json_decref(j);
    /* searched by the customer's address, and by time */
    j = ac_cli_json(&s, "audit search --customer aiko@example.com --action account_frozen");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
    json_decref(j);
    j = ac_cli_json(&s, "audit search --since 2000-01-01 --limit 3");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "next_before")), 11);
    json_decref(j);
    j = ac_cli_json(&s, "audit search --since 2000-01-01 --limit 3 --before 11");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "entries"), 0), "id")), 10);
    json_decref(j);
    j = ac_cli_json(&s, "audit search --until 2000-01-01T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 0);
    json_decref(j);
    assert_int_equal(ac_cli(&s, "audit search --since yesterday 2>/dev/null"), 2);
    assert_int_equal(ac_cli(&s, "audit search --customer usr_x 2>/dev/null"), 2);

    assert_int_equal(cli_out(&s, "audit verify", out, sizeof out), 0);
    assert_non_null(strstr(out, "audit verify: ok (13 entries)"));
    char head[100] = "";
    const char *h = strstr(out, "audit verify: head ");
    assert_non_null(h);
    sscanf(h, "audit verify: head %99s", head);

    /* one row edited directly: verify fails and names it */
    tamper(s.data, "UPDATE security_events SET detail = '{\"name\":\"payments\",\"reason\":\"\",\"set_by\":\"cli:ana\"}' "
                   "WHERE id = 2");
    assert_int_equal(cli_out(&s, "audit verify", out, sizeof out), 1);
    assert_non_null(strstr(out, "entry 2: MAC mismatch"));
    assert_non_null(strstr(out, "audit verify: FAILED: 1 violation (13 entries; the first at entry 2)"));
    j = NULL;
    assert_int_equal(cli_out(&s, "audit verify --json", out, sizeof out), 1);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_false(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "first_bad_id")), 2);
    json_decref(j);

    /* the newest entry removed: only the anchor shows it */
    tamper(s.data, "DELETE FROM security_events WHERE id = 13");
    snprintf(args, sizeof args, "audit verify --anchor %s", head);
    assert_int_equal(cli_out(&s, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "entry 13: the anchor's entry is gone"));
    assert_int_equal(ac_cli(&s, "audit verify --anchor 8:abc 2>/dev/null"), 2);

    /* Someone with write access (no key) rewrites the log, drops every
     * MAC, removes the chain's start and puts back the marker of a
     * database from before the chain: verify reports it, and neither
     * verify nor an admin command given the key signs it (the rows stay
     * without MACs); the admin command is refused and says why. */
    tamper(s.data, "DELETE FROM security_events WHERE id = 3;"
                   "UPDATE security_events SET id = id - 1 WHERE id > 3;"
                   "UPDATE security_events SET prev_hash = NULL, hash = NULL;"
                   "DELETE FROM security_events WHERE kind = 'audit_chain_started';"
                   "INSERT INTO audit_backfill SELECT max(id) FROM security_events");
    assert_int_equal(cli_out(&s, "audit verify", out, sizeof out), 1);
    assert_non_null(strstr(out, "audit verify: FAILED"));
    assert_int_equal(cli_all(&s, "admin killswitch on topups --reason x", out, sizeof out), 1);
    assert_non_null(strstr(out, "kessai audit backfill"));
    tu_path(path, sizeof path, s.data, "kessai.db");
    assert_int_equal(hashed_entries(path), 0);
    /* the operator, having looked, chains it: once */
    assert_int_equal(cli_out(&s, "audit backfill", out, sizeof out), 0);
    assert_non_null(strstr(out, "entries chained"));
    assert_int_equal(cli_out(&s, "audit backfill", out, sizeof out), 0);
    assert_non_null(strstr(out, "nothing to chain"));
    assert_int_equal(ac_cli(&s, "admin killswitch on topups --reason x >/dev/null"), 0);
    /* the marker put back on a chained log: refused again until the
     * operator's backfill removes it, which signs nothing and says so */
    tamper(s.data, "INSERT INTO audit_backfill VALUES (1)");
    assert_int_equal(ac_cli(&s, "admin killswitch off topups >/dev/null 2>&1"), 1);
    assert_int_equal(cli_all(&s, "audit backfill", out, sizeof out), 1);
    assert_non_null(strstr(out, "already chained"));
    assert_int_equal(cli_out(&s, "audit verify", out, sizeof out), 0);
    assert_int_equal(ac_cli(&s, "admin killswitch off topups >/dev/null"), 0);
    ac_server_cleanup(&s);
}

/* Without the master key there is nothing to check against: a failure,
 * and no key is conjured up. */
static void verify_needs_the_master_key(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    data_dir_with_store(&s);
    assert_int_equal(ac_cli(&s, "admin killswitch on topups --reason x >/dev/null"), 0);
    char key[700];
    tu_path(key, sizeof key, s.data, "master.key");
    assert_int_equal(remove(key), 0);
    assert_int_equal(ac_cli(&s, "audit verify >/dev/null 2>&1"), 1);
    assert_int_not_equal(access(key, F_OK), 0);
    ac_server_cleanup(&s);
}

/* The commands that only read (ledger verify, audit verify, audit search)
 * open the database read-only: one an older kessai wrote, perhaps a copy
 * kept as evidence, is refused with the reason and left byte for byte as
 * it was, never upgraded under whoever else uses it.  A command that
 * changes something upgrades it; then the reads work. */
static void read_only_commands_leave_an_old_database_as_it_was(void **state)
{
    (void)state;
    struct ac_server s;
    ac_server_init(&s);
    assert_int_equal(mkdir(s.data, 0700), 0);
    char path[700], out[4096], sql[64];
    tu_path(path, sizeof path, s.data, "kessai.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE schema_version (version INTEGER NOT NULL)", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int v = 0; v < sq_schema_version - 1; v++)
        assert_int_equal(sqlite3_exec(db, sq_migrations[v], NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d)", sq_schema_version - 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    size_t len0 = 0, len1 = 0;
    char *before = tu_slurp(path, &len0);
    assert_non_null(before);

    assert_int_equal(cli_all(&s, "ledger verify", out, sizeof out), 1);
    assert_non_null(strstr(out, "older than this kessai's"));
    assert_int_equal(cli_all(&s, "audit verify", out, sizeof out), 1);
    assert_non_null(strstr(out, "older than this kessai's"));
    assert_int_equal(cli_all(&s, "audit search --limit 5", out, sizeof out), 1);
    assert_non_null(strstr(out, "older than this kessai's"));
    char *after = tu_slurp(path, &len1);
    assert_non_null(after);
    assert_int_equal(len1, len0);
    assert_memory_equal(after, before, len0);
    free(before);
    free(after);

    assert_int_equal(cli_out(&s, "admin killswitch list", out, sizeof out), 0); /* opens to write: upgrades */
    assert_int_equal(cli_out(&s, "ledger verify", out, sizeof out), 0);
    assert_non_null(strstr(out, "ledger verify: ok"));
    assert_int_equal(cli_out(&s, "audit search --limit 5", out, sizeof out), 0);
    ac_server_cleanup(&s);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_documents_worked_example),
        cmocka_unit_test(field_boundaries_are_part_of_the_mac),
        cmocka_unit_test_setup_teardown(concurrent_appends_form_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(no_entry_without_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(security_events_get_their_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(a_long_reason_cannot_blank_its_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(an_edited_entry_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(a_planted_trigger_is_found_and_drops_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_removed_entry_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(swapped_entries_are_found, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_entries_are_found, setup, teardown),
        cmocka_unit_test_setup_teardown(an_anchor_finds_the_newest_entries_removed, setup, teardown),
        cmocka_unit_test(migration_chains_the_entries_written_before),
        cmocka_unit_test_setup_teardown(searches_filter_and_page_newest_first, setup, teardown),
        cmocka_unit_test(cli_actions_are_logged_and_verify_catches_an_edit),
        cmocka_unit_test(read_only_commands_leave_an_old_database_as_it_was),
        cmocka_unit_test(verify_needs_the_master_key),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    oath_done();
    return rc;
}
