/* Replay protection (see replay.h). Being written (issue 4). */
#include "config.h"
#include "replay.h"
