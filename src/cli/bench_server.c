/* bench_server.c: a kessaid of the benchmark's own (bench.h): a temporary
 * data directory on a real disk, a free port of 127.0.0.1, its log in the
 * directory, stopped with SIGTERM (in-flight requests finish, the ledger
 * writer flushes) before the books are checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench.h"
#include "util/log.h"

extern char **environ;

enum err bench_server_mkdir(struct bench_server *s)
{
    memset(s, 0, sizeof *s);
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/var/tmp";
    int n = snprintf(s->dir, sizeof s->dir, "%s/kessai-bench-XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof s->dir || mkdtemp(s->dir) == NULL) {
        fprintf(stderr, "kessai: bench: cannot create a directory under %s: %s\n", base, strerror(errno));
        return ERR_INTERNAL;
    }
    snprintf(s->log, sizeof s->log, "%s/kessaid.log", s->dir);
    return ERR_OK;
}

/* kessaid next to this program (build/release/kessai -> build/release/kessaid). */
static int find_kessaid(char *buf, size_t n)
{
    const char *env = getenv("KESSAID");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0)
        return -1;
    self[k] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    int m = snprintf(buf, n, "%s/kessaid", self);
    return m > 0 && (size_t)m < n && access(buf, X_OK) == 0 ? 0 : -1;
}

/* A port nobody listens on right now (the kernel's choice). */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* This process's environment without KESSAI_*, then env. */
static char **child_env(const char *const *env)
{
    size_t n = 0, k = 0;
    for (char **e = environ; *e; e++)
        n++;
    for (const char *const *e = env; e && *e; e++)
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (out == NULL)
        return NULL;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "KESSAI_", 7) != 0)
            out[k++] = *e;
    for (const char *const *e = env; e && *e; e++)
        out[k++] = (char *)*e;
    return out;
}

enum err bench_server_start(struct bench_server *s, const char *const *env)
{
    char bin[PATH_MAX];
    if (find_kessaid(bin, sizeof bin) != 0) {
        fprintf(stderr, "kessai: bench: no kessaid next to this program; set KESSAID to its path\n");
        return ERR_INTERNAL;
    }
    s->port = free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)s->port);
    char **envp = child_env(env);
    int logfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->port == 0 || envp == NULL || logfd < 0) {
        free(envp);
        if (logfd >= 0)
            close(logfd);
        fprintf(stderr, "kessai: bench: cannot prepare kessaid (port, environment or log)\n");
        return ERR_INTERNAL;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* If this program dies (a crash, a kill) its kessaid must not run
         * on, holding a port and a data directory nobody will remove. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(logfd, 2);
        char *argv[] = {bin, "--data-dir", s->dir, "--listen", listen, NULL};
        execve(bin, argv, envp);
        _exit(127);
    }
    free(envp);
    close(logfd);
    if (pid < 0)
        return ERR_INTERNAL;
    s->pid = pid;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(s->port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < 300; i++) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            fprintf(stderr, "kessai: bench: kessaid exited at start-up; see %s\n", s->log);
            return ERR_INTERNAL;
        }
        if (bh_get_status(&addr, "/healthz", 1000) == 200)
            return ERR_OK;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    fprintf(stderr, "kessai: bench: kessaid did not answer /healthz within 30 s; see %s\n", s->log);
    bench_server_stop(s);
    return ERR_INTERNAL;
}

int bench_server_stop(struct bench_server *s)
{
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* The mkdtemp directory and what kessaid put in it; symbolic links are
 * removed, never followed. */
static void rm_tree(const char *dir)
{
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "kessai: bench: could not remove all of %s\n", dir);
}

void bench_server_keep_log(struct bench_server *s)
{
    if (s->dir[0] == '\0' || s->log[0] == '\0' || getenv("KESSAI_KEEP_BENCH_DIR"))
        return; /* nothing to keep, or kept with its directory */
    char kept[sizeof s->dir + 8];
    snprintf(kept, sizeof kept, "%s.log", s->dir); /* beside the directory, which goes */
    if (rename(s->log, kept) != 0) {
        fprintf(stderr, "kessai: bench: cannot keep kessaid's log as %s: %s\n", kept, strerror(errno));
        return;
    }
    fprintf(stderr, "kessai: bench: kessaid's log kept in %s\n", kept);
    snprintf(s->log, sizeof s->log, "%s", kept);
}

void bench_server_cleanup(struct bench_server *s)
{
    if (s->pid > 0)
        bench_server_stop(s);
    if (s->dir[0] == '\0')
        return;
    if (getenv("KESSAI_KEEP_BENCH_DIR"))
        fprintf(stderr, "kessai: bench: kept %s\n", s->dir);
    else
        rm_tree(s->dir);
    s->dir[0] = '\0';
}
