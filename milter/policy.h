#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

#include "verdict.h"

struct txn;

#define POLICY_ROUTE_HEADER	"X-Egress-Route"
#define POLICY_NCONTROL		2	/* route and verdict headers */

extern const char *const policy_control_headers[POLICY_NCONTROL];

enum verdict policy_envfrom(struct txn *tx, const char *sender,
	    const char *login);
enum verdict policy_envrcpt(struct txn *tx, const char *rcpt);
enum verdict policy_header(struct txn *tx, const char *name,
	    const char *value);
enum verdict policy_eoh(struct txn *tx);
enum verdict policy_body(struct txn *tx, const unsigned char *buf,
	    size_t len);
enum verdict policy_eom(struct txn *tx);
void	policy_summary(const struct txn *tx);

#endif
