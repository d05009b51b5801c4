/*
 * NAME
 *	metrics_http - serve /metrics over HTTP with libmicrohttpd
 * SYNOPSIS
 *	#include "metrics.h"
 *
 *	struct metrics_http *metrics_http_open(const char *listen,
 *		    int (*allow)(const struct sockaddr *), char *err,
 *		    size_t errlen);
 *	int	metrics_http_start(struct metrics_http *mh, char *err,
 *		    size_t errlen);
 *	void	metrics_http_stop(struct metrics_http *mh);
 * DESCRIPTION
 *	The only file that includes <microhttpd.h>. metrics_http_open()
 *	binds and listens on listen ("ADDRESS:PORT", IPv4 or [IPv6]);
 *	it is called before privileges are dropped, so a low port works
 *	too. metrics_http_start() then starts one libmicrohttpd polling
 *	thread on that socket, which answers GET /metrics with
 *	metrics_render(); anything else gets 404. A connection from an
 *	address allow() refuses is closed before a byte is read.
 *
 *	The two steps are apart because a thread does not survive fork():
 *	the daemon binds as root, drops privileges, detaches with
 *	daemon(3), and only then starts the thread. (Started before the
 *	fork, the thread stayed in the parent that exited, and the
 *	detached daemon held a listening socket nobody served.)
 * OWNERSHIP
 *	The caller owns the handle; metrics_http_stop() stops the thread
 *	(if started) and closes the socket.
 * DIAGNOSTICS
 *	metrics_http_open(): NULL with a reason in err when the address is
 *	bad or cannot be bound. metrics_http_start(): -1 with a reason.
 * SEE ALSO
 *	metrics(3)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"

struct metrics_http {
	struct MHD_Daemon *mh_daemon;	/* NULL until started */
	int	mh_fd;			/* listening; MHD's once started */
	int	mh_family;
	char	mh_listen[80];		/* for messages */
	int	(*mh_allow)(const struct sockaddr *);
};

/* metrics_http_answer - GET /metrics, else 404 */

static enum MHD_Result
metrics_http_answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	unsigned int status = MHD_HTTP_OK;
	char   *body;
	size_t	len = 0;

	(void)cls, (void)version, (void)upload, (void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0 ||
	    (body = metrics_render(&len)) == NULL) {
		body = strdup("not found\n");
		len = body ? strlen(body) : 0;
		status = MHD_HTTP_NOT_FOUND;
	}
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return (MHD_NO);
	}
	(void)MHD_add_response_header(r, "Content-Type",
	    "text/plain; version=0.0.4");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return (rc);
}

/* metrics_http_addr - "127.0.0.1:9465" or "[::1]:9465" */

static int
metrics_http_addr(const char *listen, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char	host[64];
	const char *colon = strrchr(listen, ':');
	long	port;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) ||
	    (port = strtol(colon + 1, NULL, 10)) < 1 || port > 65535)
		return (-1);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ?
		    0 : -1);
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	return (inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1);
}

/* metrics_http_policy - may this client connect (MHD's accept policy) */

static enum MHD_Result
metrics_http_policy(void *cls, const struct sockaddr *sa, socklen_t len)
{
	const struct metrics_http *mh = cls;

	(void)len;
	return (mh->mh_allow == NULL || mh->mh_allow(sa) ? MHD_YES : MHD_NO);
}

/* metrics_http_open - bind and listen (as root) */

struct metrics_http *
metrics_http_open(const char *addr, int (*allow)(const struct sockaddr *),
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics_http *mh;
	socklen_t len;
	int	on = 1, e;

	if (metrics_http_addr(addr, &ss) == -1) {
		snprintf(err, errlen, "metrics listen \"%s\" is not "
		    "ADDRESS:PORT", addr);
		return (NULL);
	}
	if ((mh = calloc(1, sizeof(*mh))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	mh->mh_allow = allow;
	mh->mh_family = ss.ss_family;
	snprintf(mh->mh_listen, sizeof(mh->mh_listen), "%s", addr);
	len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if ((mh->mh_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1 ||
	    setsockopt(mh->mh_fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 ||
	    (ss.ss_family == AF_INET6 && setsockopt(mh->mh_fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(mh->mh_fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(mh->mh_fd, 32) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot listen on %s for metrics: %s",
		    addr, strerror(e));
		if (mh->mh_fd != -1)
			(void)close(mh->mh_fd);
		free(mh);
		return (NULL);
	}
	return (mh);
}

/* metrics_http_start - serve the socket metrics_http_open() bound */

int
metrics_http_start(struct metrics_http *mh, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (mh->mh_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	mh->mh_daemon = MHD_start_daemon(flags, 0, metrics_http_policy, mh,
	    metrics_http_answer, NULL, MHD_OPTION_LISTEN_SOCKET, mh->mh_fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	if (mh->mh_daemon == NULL) {
		snprintf(err, errlen, "cannot serve metrics on %s",
		    mh->mh_listen);
		return (-1);
	}
	return (0);
}

/* metrics_http_stop - stop serving and close (NULL ok) */

void
metrics_http_stop(struct metrics_http *mh)
{
	if (mh == NULL)
		return;
	if (mh->mh_daemon != NULL)
		MHD_stop_daemon(mh->mh_daemon);	/* closes mh_fd */
	else
		(void)close(mh->mh_fd);
	free(mh);
}
