#ifndef CONN_H
#define CONN_H

#include <netinet/in.h>
#include <sys/socket.h>

struct cfg;
struct txn;

struct conn {
	unsigned long c_id;
	struct cfg *c_cfg;		/* reference held until conn_free */
	struct sockaddr_storage c_addr;
	int	c_has_addr;		/* 0: local submission, no address */
	char	c_addrstr[INET6_ADDRSTRLEN + 1];
	int	c_leadspc;		/* header values keep their space */
	int	c_noreply;		/* no replies to headers and body */
	int	c_noreply_eoh;		/* no reply to end of headers */
	int	c_noreply_conn;		/* no reply to connect */
	int	c_noreply_rcpt;		/* no reply to RCPT */
	int	c_noreply_mail;		/* no reply to MAIL */
	unsigned long c_msgs;
	struct txn *c_txn;		/* current message, or NULL */
};

struct conn *conn_new(const struct sockaddr *sa);
void	conn_set_addr(struct conn *c, const struct sockaddr *sa);
void	conn_free(struct conn *c);
const struct sockaddr *conn_sockaddr(const struct conn *c);

#endif
