// The flow hash is defined inline in flow_hash.h (see the measured reason there). This file
// compiles the header on its own, so the library build checks that it is self-contained.
#include "hashing/flow_hash.h"
