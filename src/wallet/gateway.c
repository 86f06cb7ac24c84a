/* gateway.c: what every card gateway shares (gateway.h). */
#include <stddef.h>

#include "wallet/gateway.h"

void gateway_close(struct gateway *g)
{
    if (g != NULL)
        g->ops->close(g);
}
