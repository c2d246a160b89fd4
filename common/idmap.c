/* idmap: being written. */
#include "config.h"
#include "idmap.h"
