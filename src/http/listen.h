/* listen.h: open the listening socket ourselves, so that a bind failure
 * ("address already in use", an unknown host) reaches the operator as one
 * clear sentence instead of a NULL from MHD_start_daemon. */
#ifndef KESSAI_HTTP_LISTEN_H
#define KESSAI_HTTP_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Bind host:port (host may be a name, an IPv4 or IPv6 literal, the latter
 * optionally in brackets; port 0 picks a free one), listen, and return the
 * non-blocking, close-on-exec socket in *fd, the bound port in *bound and
 * its address family (AF_INET, AF_INET6) in *family.
 * ERR_IO with a message like "cannot listen on 127.0.0.1:8080: Address
 * already in use" in errbuf (errlen bytes). */
enum err http_listen(const char *host, uint16_t port, int *fd, uint16_t *bound, int *family, char *errbuf,
                     size_t errlen);

#endif
