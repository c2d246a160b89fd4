/* idhash: being written. */
#include "config.h"
#include "idhash.h"
