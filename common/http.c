/* http: being written. */
#include "config.h"
#include "http.h"
