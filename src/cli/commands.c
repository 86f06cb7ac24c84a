/* commands.c: THE command table of the kessai CLI: every command's words,
 * options, help text and the function that runs it (declared in cli.h).
 * cli.c finds commands, parses their options and prints their help from
 * these rows alone, so adding a command means adding a row here and a
 * cli_run_* function in the file of its group. */
#include "cli/cli.h"

#define JSON_OPT {"--json", NULL, "print the result as one line of JSON", 0}
#define PAGE_OPTS(prefix)                                                                                   \
    {"--after", "ID", "start after this id (" prefix "_…), as printed by a previous page", 0},             \
        {"--limit", "N", "show at most N rows (1-10000) and the cursor of the next page", 0}

/* `admin create-staff` (the name a later issue uses) is the same command
 * as `admin staff create`, with the same options and help. */
#define STAFF_CREATE_DETAILS                                                          \
    "Create a staff account, pending its two-factor enrolment.  Roles: support,\n"    \
    "fraud_analyst, finance, administrator.\n"                                        \
    "\n"                                                                              \
    "The password is read from standard input: the first line, without its\n"         \
    "newline; on a terminal it is asked twice, without echo.  It must be 12 to 128\n" \
    "characters and not a common, guessable one (a weak password is refused with\n"   \
    "the reason, exit status 2).  It is never taken from the command line.\n"         \
    "\n"                                                                              \
    "Prints the account and its otpauth:// URI, which holds the TOTP secret: add\n"   \
    "it to the staff member's authenticator app now (paste it, or show it as a QR\n"  \
    "code).  It is shown this once: kessai keeps it only sealed with\n"               \
    "DIR/master.key (created, mode 0600, if missing).  The account stays inactive\n"  \
    "until\n"                                                                         \
    "  kessai admin staff confirm --email EMAIL --code CODE\n"                        \
    "is run with the first code the app shows.  With --json the URI is the\n"         \
    "\"otpauth_uri\" field."
#define STAFF_CREATE_OPTS                                                                                   \
    {{"--email", "EMAIL", "the staff member's e-mail address, their login", 1},                             \
     {"--role", "ROLE", "one of the roles above", 1},                                                        \
     JSON_OPT}

const struct cli_cmd cli_commands[] = {
    {
        .words = {"ledger", "verify"},
        .summary = "recompute every balance from the transfers and check the invariants",
        .details = "Recompute every account's totals from the transfers alone, inside one read\n"
                   "snapshot (so it can run while kessaid is serving), and check the ledger's\n"
                   "invariants: balances sum to zero, stored totals match, no restricted account\n"
                   "is negative, pending transfers resolved at most once, reversals within their\n"
                   "original.  Prints each violation, then\n"
                   "  ledger verify: ok (N accounts, M transfers)\n"
                   "and exits 0, or a FAILED line and exits 1.",
        .run = cli_run_ledger_verify,
    },
    {
        .words = {"audit", "verify"},
        .summary = "check the audit log's MAC chain: finds edited, removed, inserted or moved entries",
        .details = "Walk every entry of the audit log in order, inside one read snapshot (so it can\n"
                   "run while kessaid is serving), and recompute each entry's MAC with the key\n"
                   "derived from DIR/master.key (which must exist): an edited entry fails its MAC,\n"
                   "a removed, inserted or moved one breaks the chain of previous hashes or the\n"
                   "numbering (docs/audit-log.md).  Prints each violation (the first 10), then the\n"
                   "head, the last entry's id and hash:\n"
                   "  audit verify: head 1234:9f86d081…\n"
                   "Record the head somewhere the database's writers cannot reach (a ticket, an\n"
                   "e-mail, another machine): removing the newest entries leaves a shorter chain\n"
                   "that is still whole, and only --anchor with a recorded head shows it.  Ends\n"
                   "with\n"
                   "  audit verify: ok (N entries)\n"
                   "and exit status 0, or a FAILED line and exit status 1.",
        .opts = {{"--anchor", "ID:HASH", "a head recorded earlier: check that entry still has that hash", 0},
                 JSON_OPT},
        .run = cli_run_audit_verify,
    },
    {
        .words = {"audit", "backfill"},
        .summary = "chain the audit entries written before the chain existed (an older database)",
        .details = "A database written by a kessai older than the chain (schema 9 or older) has\n"
                   "security events without MACs.  Until they are chained, kessaid and the admin\n"
                   "commands refuse to open it (audit_unchained), so nothing is added after them\n"
                   "and nothing is signed behind the operator's back: chaining signs the entries\n"
                   "as they read now.  Look at them first (audit search); a database that had a\n"
                   "chain before and shows none now was rewritten.  Then this command chains them\n"
                   "in one transaction, appends an audit_chain_started entry and prints\n"
                   "  audit backfill: N entries chained\n"
                   "If entries are already chained, the marker was put back by hand: it is\n"
                   "removed, nothing is signed, and the command exits 1 (run audit verify).",
        .run = cli_run_audit_backfill,
    },
    {
        .words = {"audit", "search"},
        .summary = "search the audit log by customer, actor, action and time, newest first",
        .details = "Print the audit log's entries that match every option given, newest first:\n"
                   "id, time, actor, customer, action, outcome, client address and detail.\n"
                   "Actors: usr_… (a customer), stf_… (a staff member), admin-cli (these admin\n"
                   "commands; the operator's login name is in the detail), system (kessaid).\n"
                   "Actions: login_failed, account_locked, new_device, reset_completed,\n"
                   "totp_enrolled, card_linked, account_frozen, killswitch_on, staff_created, …\n"
                   "(docs/audit-log.md lists them).  Times are UTC: 2027-01-15,\n"
                   "2027-01-15T09:30:00Z or milliseconds since 1970; --since is inclusive,\n"
                   "--until exclusive.  With --limit, a next page starts --before the last id shown.",
        .opts = {{"--customer", "ID", "the customer (usr_… or their e-mail address)", 0},
                 {"--actor", "ACTOR", "who acted: usr_…, stf_…, admin-cli, system", 0},
                 {"--action", "NAME", "what happened, e.g. login_failed", 0},
                 {"--since", "TIME", "at or after this time", 0},
                 {"--until", "TIME", "before this time", 0},
                 {"--before", "ID", "only entries older than this id (the next page's cursor)", 0},
                 {"--limit", "N", "show at most N entries (1-10000) and the cursor of the next page", 0},
                 JSON_OPT},
        .run = cli_run_audit_search,
    },
    {
        .words = {"admin", "merchant", "create"},
        .summary = "create a merchant",
        .details = "Create a merchant, the company that owns stores.",
        .opts = {{"--name", "NAME", "the merchant's name (1-127 bytes of UTF-8)", 1}, JSON_OPT},
        .run = cli_run_merchant_create,
    },
    {
        .words = {"admin", "merchant", "list"},
        .summary = "list merchants",
        .details = "List merchants in id order.",
        .opts = {PAGE_OPTS("mer"), JSON_OPT},
        .run = cli_run_merchant_list,
    },
    {
        .words = {"admin", "store", "create"},
        .summary = "create a store and its ledger account",
        .details = "Create an active store of a merchant together with its merchant_payable\n"
                   "ledger account (owner: the store's id), in one transaction.\n"
                   "Coordinates are decimal degrees, kept exactly as micro-degrees: at most six\n"
                   "decimals, no exponent.  Categories: convenience, supermarket, drugstore,\n"
                   "restaurant, electronics, tobacco, giftcards, other.",
        .opts = {{"--merchant", "ID", "the merchant (mer_…)", 1},
                 {"--name", "NAME", "the store's name (1-127 bytes of UTF-8)", 1},
                 {"--address", "TEXT", "postal address (1-255 bytes of UTF-8)", 1},
                 {"--lat", "DEG", "latitude, -90 to 90, e.g. 35.681236", 1},
                 {"--lon", "DEG", "longitude, -180 to 180, e.g. 139.767125", 1},
                 {"--category", "CAT", "one of the categories above", 1},
                 JSON_OPT},
        .run = cli_run_store_create,
    },
    {
        .words = {"admin", "store", "list"},
        .summary = "list stores",
        .details = "List stores in id order (ids are random, so not in order of creation), of\n"
                   "one merchant or of all.",
        .opts = {{"--merchant", "ID", "only the stores of this merchant (mer_…)", 0}, PAGE_OPTS("str"), JSON_OPT},
        .run = cli_run_store_list,
    },
    {
        .words = {"admin", "store", "activate"},
        .positional = "STORE_ID",
        .summary = "let a store take payments again",
        .details = "Mark a store active: it takes payments again.",
        .opts = {JSON_OPT},
        .run = cli_run_store_activate,
    },
    {
        .words = {"admin", "store", "deactivate"},
        .positional = "STORE_ID",
        .summary = "stop a store taking payments",
        .details = "Mark a store inactive: it takes no payments until activated again.  Its\n"
                   "terminals and its ledger account are kept.",
        .opts = {JSON_OPT},
        .run = cli_run_store_deactivate,
    },
    {
        .words = {"admin", "store", "qr"},
        .positional = "STORE_ID",
        .summary = "print a store's QR payload (and draw it as SVG) for customers to scan",
        .details = "Print the store's static EMVCo merchant-presented QR payload on one line:\n"
                   "kessai's id (jp.kessai), the store's id, its category code, name and city,\n"
                   "and a CRC (docs/store-qr.md).  Customers scan it in the wallet app, type the\n"
                   "amount and pay the store.  With --svg FILE the QR code is also drawn as an\n"
                   "SVG image, ready to print.  The payload holds nothing secret.  An inactive\n"
                   "store's QR is printed too, with a note: payments by it are refused until the\n"
                   "store is activated.",
        .opts = {{"--svg", "FILE", "also write the QR code as an SVG image to FILE", 0}, JSON_OPT},
        .run = cli_run_store_qr,
    },
    {
        .words = {"admin", "terminal", "create"},
        .summary = "create a POS terminal; shows its secret once",
        .details = "Create a POS terminal for a store.  Prints the terminal's id, its key id and\n"
                   "its HMAC signing secret (64 hex digits).  The secret is shown this once:\n"
                   "kessai stores it only sealed with DIR/master.key (created, mode 0600, if\n"
                   "missing) and can never show it again.  With --json the secret is the\n"
                   "\"secret\" field.",
        .opts = {{"--store", "ID", "the store (str_…)", 1}, JSON_OPT},
        .run = cli_run_terminal_create,
    },
    {
        .words = {"admin", "terminal", "list"},
        .summary = "list POS terminals (never their secrets)",
        .details = "List terminals in id order, of one store or of all.  Secrets are never shown.",
        .opts = {{"--store", "ID", "only the terminals of this store (str_…)", 0}, PAGE_OPTS("trm"), JSON_OPT},
        .run = cli_run_terminal_list,
    },
    {
        .words = {"admin", "terminal", "revoke"},
        .positional = "TERMINAL_ID",
        .summary = "revoke a POS terminal for good",
        .details = "Revoke a terminal: its signed requests are refused from now on, on every\n"
                   "node.  This cannot be undone; create a new terminal instead.",
        .opts = {JSON_OPT},
        .run = cli_run_terminal_revoke,
    },
    {
        .words = {"admin", "webhook", "add"},
        .summary = "add a merchant's webhook endpoint; shows its signing secret once",
        .details = "Register an endpoint that receives the merchant's events as signed POSTs\n"
                   "(docs/webhooks.md).  --events is a comma-separated list of\n"
                   "payment.succeeded, refund.succeeded and charge.voided.  The URL must be\n"
                   "https://, or http:// to 127.0.0.1, [::1] or localhost (tests, demos).  Prints\n"
                   "the webhook's id and its signing secret (whsec_ + 64 hex digits), shown this\n"
                   "once: kessai stores it only sealed with DIR/master.key.  With --json the\n"
                   "secret is the \"secret\" field.",
        .opts = {{"--merchant", "ID", "the merchant (mer_…)", 1},
                 {"--url", "URL", "where events are POSTed", 1},
                 {"--events", "LIST", "the event types to send, comma-separated", 1},
                 JSON_OPT},
        .run = cli_run_webhook_add,
    },
    {
        .words = {"admin", "webhook", "list"},
        .summary = "list webhook endpoints (never their secrets)",
        .details = "List webhook endpoints in id order, of one merchant or of all, removed ones\n"
                   "included.  Secrets are never shown.",
        .opts = {{"--merchant", "ID", "only the webhooks of this merchant (mer_…)", 0}, PAGE_OPTS("whk"), JSON_OPT},
        .run = cli_run_webhook_list,
    },
    {
        .words = {"admin", "webhook", "remove"},
        .positional = "WEBHOOK_ID",
        .summary = "remove a webhook endpoint for good",
        .details = "Remove a webhook endpoint: nothing more is sent to it, and deliveries still\n"
                   "queued for it are given up.  This cannot be undone; add a new one instead.",
        .opts = {JSON_OPT},
        .run = cli_run_webhook_remove,
    },
    {
        .words = {"admin", "staff", "create"},
        .summary = "create a staff account; shows its TOTP enrolment URI once",
        .details = STAFF_CREATE_DETAILS,
        .opts = STAFF_CREATE_OPTS,
        .run = cli_run_staff_create,
    },
    {
        .words = {"admin", "staff", "confirm"},
        .summary = "activate a staff account with its first TOTP code",
        .details = "Confirm a new staff account's two-factor enrolment with the first code its\n"
                   "authenticator app shows: the account becomes active (or stays disabled, if\n"
                   "it was disabled meanwhile).  A wrong code, or one already used, fails with\n"
                   "exit status 1 and changes nothing.",
        .opts = {{"--email", "EMAIL", "the staff member's e-mail address", 1},
                 {"--code", "CODE", "the 6 digits the authenticator app shows now", 1},
                 JSON_OPT},
        .run = cli_run_staff_confirm,
    },
    {
        .words = {"admin", "staff", "list"},
        .summary = "list staff accounts (never passwords or TOTP secrets)",
        .details = "List staff accounts in id order (which is the order of creation): e-mail\n"
                   "address, role, status (pending_2fa, active or disabled) and creation time.\n"
                   "Password hashes and TOTP secrets are never shown.",
        .opts = {PAGE_OPTS("stf"), JSON_OPT},
        .run = cli_run_staff_list,
    },
    {
        .words = {"admin", "staff", "disable"},
        .positional = "EMAIL",
        .summary = "stop a staff account signing in",
        .details = "Disable a staff account: it can no longer sign in, whatever its password\n"
                   "and second factor.  Nothing is deleted; 'staff enable' undoes it.",
        .opts = {JSON_OPT},
        .run = cli_run_staff_disable,
    },
    {
        .words = {"admin", "staff", "enable"},
        .positional = "EMAIL",
        .summary = "let a disabled staff account sign in again",
        .details = "Enable a disabled staff account again.  It returns to the status it had:\n"
                   "active, or pending_2fa if its TOTP enrolment was never confirmed.",
        .opts = {JSON_OPT},
        .run = cli_run_staff_enable,
    },
    {
        .words = {"admin", "killswitch", "on"},
        .positional = "NAME",
        .summary = "stop one kind of operation at once, on every node",
        .details = "Turn a kill switch on: from the next request, on every kessaid node, the\n"
                   "operation it names is refused with 503 service_suspended and the reason\n"
                   "(shown to clients: write it for customers and clerks, e.g. \"card fraud\n"
                   "wave, back at 18:00\").  Everything else keeps working.  Switches:\n"
                   "  topups       every top-up, card and cash\n"
                   "  card_topups  top-ups from cards only (cash at the register goes on)\n"
                   "  payments     paying at stores (codes at the register and store QR);\n"
                   "               with --merchant or --store only there\n"
                   "  p2p          sending money to another customer\n"
                   "Who switched (cli:$USER) and when is recorded.",
        .opts = {{"--reason", "TEXT", "why, for clients (1-200 bytes of UTF-8, no control characters)", 1},
                 {"--merchant", "MER_ID", "payments only: switch for this merchant's stores alone", 0},
                 {"--store", "STR_ID", "payments only: switch for this store alone", 0},
                 JSON_OPT},
        .run = cli_run_killswitch_on,
    },
    {
        .words = {"admin", "killswitch", "off"},
        .positional = "NAME",
        .summary = "let a switched-off operation work again",
        .details = "Turn a kill switch off: the operation works again from the next request, on\n"
                   "every node.  A switch set with --merchant or --store is turned off with the\n"
                   "same option (the global switch and the other scopes stay as they are).",
        .opts = {{"--merchant", "MER_ID", "payments only: the merchant's switch", 0},
                 {"--store", "STR_ID", "payments only: the store's switch", 0},
                 JSON_OPT},
        .run = cli_run_killswitch_off,
    },
    {
        .words = {"admin", "killswitch", "list"},
        .summary = "show every kill switch, on or off",
        .details = "Show every kill switch this version knows, on or off, with its reason and\n"
                   "who set it last and when (\"-\" for one never set).",
        .opts = {JSON_OPT},
        .run = cli_run_killswitch_list,
    },
    {
        .words = {"admin", "customer", "freeze"},
        .positional = "EMAIL",
        .summary = "freeze a customer's account: no paying, topping up or sending money",
        .details = "Freeze the account with this e-mail address: from the next request, on every\n"
                   "node, it cannot pay, top up or send money (403 account_frozen); it can still\n"
                   "sign in, read its history and receive refunds.  Every session is ended.  The\n"
                   "customer is mailed; who froze it (cli:$USER) and why is recorded.  An account\n"
                   "already frozen stays frozen as it was.",
        .opts = {{"--reason", "TEXT", "why, for the record and the customer (1-200 bytes of UTF-8)", 1}, JSON_OPT},
        .run = cli_run_customer_freeze,
    },
    {
        .words = {"admin", "customer", "unfreeze"},
        .positional = "EMAIL",
        .summary = "unfreeze a customer's account",
        .details = "Unfreeze the account with this e-mail address: it can pay, top up and send\n"
                   "money again from the next request.  Only staff can unfreeze, also an account\n"
                   "the customer froze from the app.  The customer is mailed; who and why is\n"
                   "recorded.  Unfreezing an account that is not frozen changes nothing.",
        .opts = {{"--reason", "TEXT", "why, for the record (1-200 bytes of UTF-8)", 1}, JSON_OPT},
        .run = cli_run_customer_unfreeze,
    },
    {
        .words = {"bench", "charges"},
        .summary = "load generator: durable charges per second at the register, over HTTP",
        .details = "Issue payment codes for many customers (POST /v1/paycodes) and charge them at\n"
                   "signed registers (POST /pos/v1/charges) over keep-alive connections, for\n"
                   "--seconds; print charges/s and latency percentiles (p50, p99, p99.9), then\n"
                   "check that every acknowledged charge is in the ledger under its transfer key\n"
                   "and run ledger verify.  Exit status 1 if the check fails or no charge was\n"
                   "acknowledged.  Also printed: the CPU time per acknowledged charge of this\n"
                   "generator and, for its own kessaid, of kessaid by thread (MHD-worker: HTTP;\n"
                   "ledger-writer; ledger-done: its completer), over the window, and how the\n"
                   "ledger writer grouped the load into commits (from kessaid's GET /metrics).\n"
                   "\n"
                   "With --codes-ahead N the N codes are issued first, and the window then only\n"
                   "charges them, in turn: it measures the register's charges alone (the codes'\n"
                   "own rate is reported beside).  A code lives 60 s, so --seconds is at most 20;\n"
                   "if the codes run out before the window ends, the report says when.\n"
                   "\n"
                   "Without --url it seeds a temporary data directory under $TMPDIR (else\n"
                   "/var/tmp) with customers, sessions, funded wallets and terminals, written\n"
                   "straight into the store, and starts its own kessaid there (the one next to\n"
                   "this program, or $KESSAID) on a free port of 127.0.0.1, with the daily and\n"
                   "monthly payment limits lifted and log level warn; the directory is removed\n"
                   "afterwards (kept if KESSAI_KEEP_BENCH_DIR is set; after a run with errors\n"
                   "or a failed kessaid, kessaid's log is kept beside it, DIR.log).\n"
                   "\n"
                   "With --url it loads a kessaid that is already running on this machine: DIR\n"
                   "(--data-dir) must be that kessaid's data directory, which is seeded the same\n"
                   "way while it serves (new customers and one new merchant each run).  Its\n"
                   "payment limits apply as configured.  See bench/README.md.",
        .opts = {{"--url", "URL", "a running kessaid, e.g. http://127.0.0.1:8080 (same machine, --data-dir)", 0},
                 {"--seconds", "S", "how long to charge (1-3600, default 10)", 0},
                 {"--connections", "C", "keep-alive connections, one request each in flight (default 64)", 0},
                 {"--customers", "N", "customers, used in turn (default 1000)", 0},
                 {"--terminals", "T", "POS terminals signing the charges (default min(C, 64))", 0},
                 {"--codes-ahead", "N", "issue N codes first; the window then charges them alone (--seconds <= 20)", 0},
                 {"--set", "SETTINGS", "own kessaid: more settings, e.g. \"KESSAI_WALLET_WORKERS=8 KESSAI_THREADS=2\"", 0},
                 JSON_OPT},
        .run = cli_run_bench_charges,
    },
    {
        .words = {"simulate"},
        .summary = "replay a retail chain's customers and attackers over the HTTP APIs; report the money",
        .details = "Drive kessai the way a chain's customers, stores and attackers would, over the\n"
                   "real HTTP APIs only: customers sign up (e-mail code, TOTP), link test cards\n"
                   "with 3-D Secure, top up, pay near home at open stores with one-time codes,\n"
                   "offline codes (no signal) and store QR codes, send money to friends, get refunds, change phones and reset passwords, while\n"
                   "the scenario's attackers do their worst.  Stores, registers and store QR codes\n"
                   "are made with the `kessai admin` commands.  Then every wallet is compared with\n"
                   "what the simulation expects, and (own kessaid) ledger verify and audit verify\n"
                   "run on the data directory.  Prints the report; --json and --html write it too.\n"
                   "Exit status 0 when every target held (attackers gained nothing, at most 0.5%\n"
                   "of legitimate operations refused and 2% challenged, the books check out), 1\n"
                   "otherwise.  Scenarios: legit, credential-stuffing, session-theft,\n"
                   "paycode-theft, reset-hijack, card-testing, mules, insider-refunds, mix (every\n"
                   "attack at once).\n"
                   "\n"
                   "Without --url it starts its own kessaid on a temporary data directory under\n"
                   "$TMPDIR (else /var/tmp) and a free port, and removes both afterwards (kept if\n"
                   "KESSAI_KEEP_BENCH_DIR is set).  With --url it drives a kessaid already running\n"
                   "on this machine whose data directory is DIR (--data-dir): the customers' mail\n"
                   "is read from DIR/mail and the stores are made there; verification is skipped.\n"
                   "The same --seed gives the same report, latencies apart.  See docs/simulate.md.",
        .opts = {{"--scenario", "NAME", "legit, mix or one attack (see above)", 1},
                 {"--customers", "N", "legitimate customers (default 2000)", 0},
                 {"--stores", "M", "stores, each with one register (default 200)", 0},
                 {"--minutes", "T", "simulated minutes of everyday traffic (default 10)", 0},
                 {"--seed", "S", "the run's random seed (default 1)", 0},
                 {"--offline-share", "PCT", "percent of customers who sometimes pay offline (default 25)", 0},
                 {"--start-hour", "H", "local hour the simulated clock starts at (default 10)", 0},
                 {"--url", "URL", "a running kessaid, e.g. http://127.0.0.1:8080 (same machine, --data-dir)", 0},
                 {"--json", "FILE", "also write the report as JSON to FILE", 0},
                 {"--html", "FILE", "also write the report as one self-contained HTML page to FILE", 0}},
        .run = cli_run_simulate,
    },
    {
        .words = {"admin", "create-staff"},
        .summary = "the same as 'admin staff create'",
        .details = STAFF_CREATE_DETAILS,
        .opts = STAFF_CREATE_OPTS,
        .run = cli_run_staff_create,
    },
};

const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

const struct cli_group cli_groups[] = {
    {
        .words = {"audit"},
        .details = "The audit log: every security event (logins, failures, lock-outs, new\n"
                   "devices, resets, second-factor changes, card links, freezes) and every change\n"
                   "made with 'kessai admin', each entry chained to the one before by a MAC keyed\n"
                   "with a subkey of DIR/master.key (docs/audit-log.md).",
    },
    {
        .words = {"admin", "staff"},
        .details = "Staff accounts are for the people who run kessai: support, fraud_analyst,\n"
                   "finance and administrator roles, each with its own login (the e-mail\n"
                   "address), password and a mandatory TOTP second factor.\n"
                   "\n"
                   "  staff create --> pending_2fa --staff confirm--> active\n"
                   "                        |                           |\n"
                   "                        +------ staff disable ------+--> disabled\n"
                   "\n"
                   "'staff enable' returns a disabled account to the status it had.  Only\n"
                   "active accounts can sign in.",
    },
};

const size_t cli_ngroups = sizeof cli_groups / sizeof cli_groups[0];
