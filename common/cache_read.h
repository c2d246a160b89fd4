/* Identity cache reader for libnss_oidc (libc + tinycdb only). Being written (issue 3). */
#ifndef OIDC_CACHE_READ_H
#define OIDC_CACHE_READ_H

#include "cache_rec.h"

#endif
