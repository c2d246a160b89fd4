/* jwk: being written. */
#include "config.h"
#include "jwk.h"
