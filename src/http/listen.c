#include "http/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "[::1]" -> "::1": the form URLs use for IPv6 literals. */
static void strip_brackets(const char *host, char *out, size_t n)
{
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        snprintf(out, n, "%.*s", (int)(len - 2), host + 1);
    else
        snprintf(out, n, "%s", host);
}

static uint16_t socket_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

enum err http_listen(const char *host, uint16_t port, int *fd, uint16_t *bound, int *family, char *errbuf,
                     size_t errlen)
{
    char name[256], service[8];
    strip_brackets(host, name, sizeof name);
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(name, service, &hints, &res);
    if (gai != 0) {
        snprintf(errbuf, errlen, "cannot listen on %s:%u: %s", host, (unsigned)port, gai_strerror(gai));
        return ERR_IO;
    }
    int first_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0) {
            first_errno = first_errno ? first_errno : errno;
            continue;
        }
        /* Lets a restarted server bind while old connections sit in
         * TIME_WAIT; on Linux it never lets two servers share a port. */
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, SOMAXCONN) == 0) {
            *fd = s;
            *bound = socket_port(s);
            *family = ai->ai_family;
            freeaddrinfo(res);
            return ERR_OK;
        }
        first_errno = first_errno ? first_errno : errno;
        close(s);
    }
    freeaddrinfo(res);
    snprintf(errbuf, errlen, "cannot listen on %s:%u: %s", host, (unsigned)port, strerror(first_errno));
    return ERR_IO;
}
