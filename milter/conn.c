/*
 * NAME
 *	conn - one SMTP client connection as the milter sees it
 * SYNOPSIS
 *	#include "conn.h"
 *
 *	struct conn *conn_new(const struct sockaddr *sa);
 *	void	conn_set_addr(struct conn *c, const struct sockaddr *sa);
 *	void	conn_free(struct conn *c);
 *	const struct sockaddr *conn_sockaddr(const struct conn *c);
 * DESCRIPTION
 *	A conn lives from the milter connect callback to close. It holds a
 *	reference to the config snapshot current at connect (every message
 *	of the connection uses that snapshot), the client address and a
 *	connection number for log lines. sa may be NULL (local submission
 *	through sendmail(1)); conn_sockaddr() then returns NULL.
 *	conn_set_addr() records the address when the conn was made before
 *	it was known (at option negotiation).
 * OWNERSHIP
 *	conn_new() copies the address and takes a config reference;
 *	conn_free() frees a leftover txn, releases the reference and frees
 *	the conn. conn_free(NULL) does nothing.
 * DIAGNOSTICS
 *	conn_new() returns NULL when memory runs out or no configuration is
 *	installed. Nothing here logs.
 * SEE ALSO
 *	txn(3), cfg(3)
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "conn.h"
#include "txn.h"

static atomic_ulong conn_counter;

/* conn_new - a connection with a config reference */

struct conn *
conn_new(const struct sockaddr *sa)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	if ((c->c_cfg = cfg_acquire()) == NULL) {
		free(c);
		return (NULL);
	}
	c->c_id = atomic_fetch_add(&conn_counter, 1) + 1;
	conn_set_addr(c, sa);
	return (c);
}

/* conn_set_addr - copy the client address and its text form */

void
conn_set_addr(struct conn *c, const struct sockaddr *sa)
{
	c->c_has_addr = 0;
	strcpy(c->c_addrstr, "local");
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(&c->c_addr, sa, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    c->c_addrstr, sizeof(c->c_addrstr));
		c->c_has_addr = 1;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(&c->c_addr, sa, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    c->c_addrstr, sizeof(c->c_addrstr));
		c->c_has_addr = 1;
	}
}

/* conn_free - free a connection and whatever message it still holds */

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	txn_free(c->c_txn);
	cfg_release(c->c_cfg);
	free(c);
}

/* conn_sockaddr - the client address, or NULL for local submission */

const struct sockaddr *
conn_sockaddr(const struct conn *c)
{
	return (c->c_has_addr ? (const struct sockaddr *)&c->c_addr : NULL);
}
