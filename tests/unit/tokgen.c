#include "tokgen.h"
