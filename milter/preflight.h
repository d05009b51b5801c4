#ifndef PREFLIGHT_H
#define PREFLIGHT_H

#include "verdict.h"

struct txn;

#define PREFLIGHT_HEADER	"X-Egress-DMARC"

enum verdict preflight_check(struct txn *tx);

#endif
