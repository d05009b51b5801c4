#ifndef PREFLIGHT_H
#define PREFLIGHT_H

#include <stddef.h>

#include "verdict.h"

struct txn;

#define PREFLIGHT_HEADER	"X-Egress-DMARC"

enum verdict preflight_check(struct txn *tx);
void	preflight_p_value(const char *txt, char *out, size_t size);

#endif
