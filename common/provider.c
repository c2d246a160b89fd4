/* provider: being written. */
#include "config.h"
#include "provider.h"
