/* device: being written. */
#include "config.h"
#include "device.h"
