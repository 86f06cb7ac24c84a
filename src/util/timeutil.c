#include "util/timeutil.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The clock file's mapping, set once at start-up before any thread exists
 * and never changed after (state the process owns from start-up): NULL
 * means the real clock. */
static const _Atomic int64_t *clock_file;

static int64_t clock_file_ms(void)
{
    return (int64_t)le64toh((uint64_t)atomic_load_explicit(clock_file, memory_order_acquire));
}

int64_t time_now_ms(void)
{
    if (clock_file)
        return clock_file_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct timespec time_mono_after_ms(int64_t ms)
{
    int64_t ns = time_mono_ns() + ms * 1000000;
    return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

void time_mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

int64_t time_window_ms(void) { return clock_file ? clock_file_ms() : time_mono_ns() / 1000000; }

enum err time_clock_file_use(const char *path, char *why, size_t why_n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, why_n, "cannot open clock file %s: %s", path, strerror(errno));
        return ERR_INVALID_PARAM;
    }
    struct stat st;
    const char *bad = NULL;
    if (fstat(fd, &st) != 0)
        bad = "cannot be examined";
    else if (!S_ISREG(st.st_mode))
        bad = "is not a regular file";
    else if (st.st_size != (off_t)sizeof(int64_t))
        bad = "is not 8 bytes (a little-endian int64 of Unix milliseconds)";
    else if (st.st_uid != geteuid())
        bad = "is not owned by this user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        bad = "is writable by group or others";
    if (bad) {
        close(fd);
        snprintf(why, why_n, "clock file %s %s", path, bad);
        return ERR_INVALID_PARAM;
    }
    void *m = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED) {
        snprintf(why, why_n, "cannot map clock file %s: %s", path, strerror(errno));
        return ERR_INVALID_PARAM;
    }
    clock_file = m;
    return ERR_OK;
}

char *time_iso8601(char buf[TIME_ISO_BUF], int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (milli < 0) {
        milli += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(buf, TIME_ISO_BUF, "1970-01-01T00:00:00.000Z");
        return buf;
    }
    snprintf(buf, TIME_ISO_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
    return buf;
}

/* n decimal digits at s into *v. */
static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no time zone, no libc. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

enum err time_parse_iso8601(const char *s, int64_t *ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t len = s ? strlen(s) : 0;
    int y, mo, d, h = 0, mi = 0, sec = 0, milli = 0;
    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return ERR_INVALID_PARAM;
    if (len > 10) {
        if (len != 20 && len != 24)
            return ERR_INVALID_PARAM;
        if (s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
            !digits(s + 17, 2, &sec) || s[len - 1] != 'Z')
            return ERR_INVALID_PARAM;
        if (len == 24 && (s[19] != '.' || !digits(s + 20, 3, &milli)))
            return ERR_INVALID_PARAM;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 ||
        sec > 59)
        return ERR_INVALID_PARAM;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * INT64_C(60000) + sec * INT64_C(1000) + milli;
    return ERR_OK;
}
