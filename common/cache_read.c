/* Identity cache reader for libnss_oidc (libc + tinycdb only). Being written (issue 3). */
#include "config.h"
#include "cache_read.h"
