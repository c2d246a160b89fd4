/* Claims-based authorization (see policy.h). Being written (issue 4). */
#include "config.h"
#include "policy.h"
