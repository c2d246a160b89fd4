/* jwt: being written. */
#include "config.h"
#include "jwt.h"
