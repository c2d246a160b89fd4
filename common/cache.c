/* Identity cache writer (see cache.h). Being written (issue 3). */
#include "config.h"
#include "cache.h"
