/*
 * NAME
 *	mload - milter load driver: speaks the MTA side of the milter protocol
 * SYNOPSIS
 *	mload -s unix:PATH|inet:PORT@HOST -c CONCURRENCY (-n MSGS | -t SECS)
 *	    [-m MSGS_PER_CONN] [-f FILE]... [-S SIZE] [-p PID] [-l LOGIN]
 *	    [-F FROM] [-r RCPT] [-N] [-q]
 * DESCRIPTION
 *	A benchmark, not a test: CONCURRENCY threads each open a connection
 *	to the milter and send it messages the way Postfix 3.7 does (Sendmail
 *	milter protocol version 6, as libmilter 8.17 implements it): option
 *	negotiation offering every action and every SMFIP_NO and SMFIP_NR
 *	bit, then CONNECT (127.0.0.1, family '4', port 25) and HELO, and for
 *	each message the macros and MAIL, RCPT, DATA, each header, EOH, the
 *	body in chunks of at most 65535 bytes and end of message, after which
 *	it reads replies up to the final one. Steps the milter asked to skip
 *	are not sent, and replies it said it will not send are not awaited.
 *	Like Postfix, commands are buffered and written when a reply is
 *	awaited or the buffer is full (4 KiB on a unix socket, 4 times the
 *	MSS on TCP, as Postfix's vstream_tweak_tcp() does).
 *
 *	Each -f FILE is an RFC 5322 message (LF or CRLF line ends); several
 *	are used round-robin. Without -f one message of SIZE bytes (default
 *	4096; K and M suffixes) is made up, From: FROM (default
 *	bench@acme.example, also the MAIL FROM), with a new Message-ID for
 *	each message. LOGIN (-l) is sent as {auth_authen}. After
 *	MSGS_PER_CONN messages a connection is closed with SMFIC_QUIT and a
 *	new one opened (default: one connection per thread for the run).
 *
 *	Measured: for each message the time from sending SMFIC_MAIL to the
 *	final reply (CLOCK_MONOTONIC), the outcomes, and the header
 *	insertions seen at end of message. With -p PID, the CPU time of that
 *	process (all its threads, from /proc/PID/stat) over the run. The last
 *	line of output is machine-readable:
 *
 *	msgs=N secs=S rate=R p50_ms=A p90_ms=B p99_ms=C max_ms=D
 *	cpu_ms_per_msg=E ok=N tempfail=N reject=N discard=N err=N
 *	inserts_per_msg=F conns=N thread_min=N thread_max=N
 *
 *	msgs counts messages that got a final reply; err those that did not
 *	(I/O error, 30 s timeout, protocol error): the connection is then
 *	dropped and a new one opened. thread_min and thread_max are the
 *	fewest and most messages one thread got through (a starved
 *	connection shows). -q prints only the last line.
 * OWNERSHIP
 *	Each worker thread owns its connection, its buffers and its latency
 *	samples; main() merges them after joining the threads. The messages
 *	are built before the threads start and only read by them.
 * DIAGNOSTICS
 *	Exit 0 after a run (whatever the outcomes), 1 when the milter cannot
 *	be reached or negotiated with at all, 2 on a usage error. The first
 *	few per-message errors are described on stderr.
 * SEE ALSO
 *	milter_bench.sh, /usr/include/libmilter/mfdef.h, Postfix milter8.c
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Protocol constants, as in libmilter's mfdef.h (not included: no libmilter) */
#define SMFI_PROT_VERSION	6
#define SMFI_CURR_ACTS		0x1FFUL
#define MILTER_CHUNK_SIZE	65535

#define SMFIC_ABORT	'A'
#define SMFIC_BODY	'B'
#define SMFIC_CONNECT	'C'
#define SMFIC_MACRO	'D'
#define SMFIC_BODYEOB	'E'
#define SMFIC_HELO	'H'
#define SMFIC_HEADER	'L'
#define SMFIC_MAIL	'M'
#define SMFIC_EOH	'N'
#define SMFIC_OPTNEG	'O'
#define SMFIC_QUIT	'Q'
#define SMFIC_RCPT	'R'
#define SMFIC_DATA	'T'

#define SMFIR_ADDHEADER	'h'
#define SMFIR_INSHEADER	'i'
#define SMFIR_ACCEPT	'a'
#define SMFIR_CONTINUE	'c'
#define SMFIR_DISCARD	'd'
#define SMFIR_PROGRESS	'p'
#define SMFIR_REJECT	'r'
#define SMFIR_SKIP	's'
#define SMFIR_TEMPFAIL	't'
#define SMFIR_REPLYCODE	'y'
#define SMFIR_SHUTDOWN	'4'
#define SMFIR_CONN_FAIL	'f'

#define SMFIP_NOCONNECT	0x00000001UL
#define SMFIP_NOHELO	0x00000002UL
#define SMFIP_NOMAIL	0x00000004UL
#define SMFIP_NORCPT	0x00000008UL
#define SMFIP_NOBODY	0x00000010UL
#define SMFIP_NOHDRS	0x00000020UL
#define SMFIP_NOEOH	0x00000040UL
#define SMFIP_NR_HDR	0x00000080UL
#define SMFIP_NODATA	0x00000200UL
#define SMFIP_NR_CONN	0x00001000UL
#define SMFIP_NR_HELO	0x00002000UL
#define SMFIP_NR_MAIL	0x00004000UL
#define SMFIP_NR_RCPT	0x00008000UL
#define SMFIP_NR_DATA	0x00010000UL
#define SMFIP_NR_EOH	0x00040000UL
#define SMFIP_NR_BODY	0x00080000UL
#define SMFIP_HDR_LEADSPC 0x00100000UL
/* What Postfix 3.7 offers for version 6: every bit up to HDR_LEADSPC. */
#define MLOAD_OFFER	0x001FFFFFUL

#define MLOAD_TIMEOUT	30		/* seconds for one read or write */
#define MLOAD_MAX_REPLY	(1 << 20)	/* longest reply packet accepted */
#define MLOAD_INBUF	65536
#define MLOAD_MAX_ERRS	5		/* errors described on stderr */

enum mload_out {
	MLOAD_OK, MLOAD_TEMPFAIL, MLOAD_REJECT, MLOAD_DISCARD, MLOAD_ERR,
	MLOAD_NOUT
};

/*
 * A step's result: go on, skip the rest of this kind (both negative), or
 * an outcome.
 */
#define MLOAD_GO	(-1)
#define MLOAD_SKIPPED	(-2)

struct mload_hdr {
	char   *h_name;
	char   *h_value;		/* after the colon; NULL: Message-ID */
};

struct mload_msg {
	struct mload_hdr *m_hdrs;
	size_t	m_nhdrs;
	char   *m_body;			/* CRLF line ends */
	size_t	m_blen;
};

struct mload_opts {
	const char *o_socket;
	int	o_conc;
	long	o_msgs;			/* -n, or 0 */
	double	o_secs;			/* -t, or 0 */
	long	o_per_conn;		/* 0: unlimited */
	char  **o_files;
	int	o_nfiles;
	size_t	o_size;
	long	o_pid;			/* 0: none */
	const char *o_login;
	const char *o_from;
	const char *o_rcpt;
	int	o_nodelay;
	int	o_quiet;
};

struct mload_run {
	struct mload_opts *r_opts;
	struct sockaddr_storage r_addr;
	socklen_t r_addrlen;
	struct mload_msg *r_msgs;
	size_t	r_nmsgs;
	const char *r_domain;		/* of FROM, for Message-IDs */
	long	r_stamp;		/* start time, for Message-IDs */
	double	r_deadline;		/* -t: monotonic end time */
	long	r_next;			/* -n: messages claimed (atomic) */
	int	r_nerrs;		/* errors described (atomic) */
	unsigned long r_pflags;		/* protocol bits, from the probe */
};

struct mload_conn {
	int	c_fd;
	unsigned long c_pflags;		/* protocol bits the milter chose */
	char   *c_out;
	size_t	c_outlen, c_outsize, c_flushat;
	unsigned char c_in[MLOAD_INBUF];
	size_t	c_inoff, c_inlen;
	char   *c_data;			/* the last reply's data */
	size_t	c_datalen, c_datasize;
};

struct mload_worker {
	struct mload_run *w_run;
	pthread_t w_tid;
	int	w_id;
	unsigned long w_seq;		/* messages begun */
	struct mload_conn w_conn;
	long	w_count[MLOAD_NOUT];
	long	w_inserts;
	long	w_conns;
	double *w_lat;			/* ms, one per final reply */
	size_t	w_nlat, w_latsize;
};

static void mload_usage(void);
static double mload_now(void);
static void mload_err(struct mload_run *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void *mload_xalloc(void *, size_t);
static char *mload_xstrdup(const char *);
static size_t mload_size(const char *);
static void mload_parse_args(struct mload_opts *, int, char **);
static int mload_addr(struct mload_run *, const char *);
static void mload_hdr_add(struct mload_msg *, const char *, const char *);
static int mload_msg_load(struct mload_msg *, const char *);
static void mload_msg_make(struct mload_msg *, const struct mload_opts *);
static int mload_flush(struct mload_conn *);
static int mload_put(struct mload_conn *, int, const void *, size_t);
static int mload_put_macros(struct mload_conn *, int, const char **);
static int mload_read(struct mload_conn *, void *, size_t);
static int mload_reply(struct mload_conn *);
static int mload_final(struct mload_conn *, int);
static int mload_step(struct mload_conn *, int, const void *, size_t,
    unsigned long, unsigned long);
static int mload_conn_tcp(struct mload_run *, struct mload_conn *, char *,
    size_t);
static int mload_negotiate(struct mload_conn *, char *, size_t);
static int mload_conn_open(struct mload_run *, struct mload_conn *,
    char *, size_t);
static void mload_conn_close(struct mload_conn *, int);
static int mload_headers(struct mload_worker *, const struct mload_msg *);
static int mload_body(struct mload_conn *, const struct mload_msg *);
static int mload_eom(struct mload_worker *, const char *);
static int mload_send(struct mload_worker *, const struct mload_msg *);
static int mload_claim(struct mload_run *);
static void mload_record(struct mload_worker *, int, double);
static void *mload_worker_main(void *);
static int mload_cpu_ticks(long, long *);
static int mload_cmp(const void *, const void *);
static double mload_pct(const double *, size_t, double);
static void mload_setup(struct mload_run *, struct mload_opts *, int,
    char **);
static void mload_report(const struct mload_run *, struct mload_worker *,
    double, double);
static void mload_cleanup(struct mload_run *, struct mload_worker *);

/* mload_usage - say how to call us, and exit 2 */

static void
mload_usage(void)
{
	fprintf(stderr, "usage: mload -s unix:PATH|inet:PORT@HOST "
	    "-c CONCURRENCY (-n MESSAGES | -t SECONDS)\n"
	    "\t[-m MSGS_PER_CONN] [-f FILE]... [-S SIZE] [-p PID] "
	    "[-l LOGIN]\n\t[-F FROM] [-r RCPT] [-N] [-q]\n");
	exit(2);
}

/* mload_now - monotonic time in seconds */

static double
mload_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* mload_err - describe one of the first few errors on stderr */

static void
mload_err(struct mload_run *run, const char *fmt, ...)
{
	va_list	ap;

	if (__atomic_fetch_add(&run->r_nerrs, 1, __ATOMIC_RELAXED) >=
	    MLOAD_MAX_ERRS)
		return;
	fprintf(stderr, "mload: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* mload_xalloc - realloc() or exit */

static void *
mload_xalloc(void *p, size_t size)
{
	if ((p = realloc(p, size == 0 ? 1 : size)) == NULL) {
		perror("mload: realloc");
		exit(1);
	}
	return (p);
}

/* mload_xstrdup - strdup() or exit */

static char *
mload_xstrdup(const char *str)
{
	size_t	len = strlen(str) + 1;

	return (memcpy(mload_xalloc(NULL, len), str, len));
}

/* mload_size - a byte count with an optional K or M suffix, or 0 */

static size_t
mload_size(const char *s)
{
	char   *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s)
		return (0);
	if (*end == 'k' || *end == 'K')
		v *= 1024, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1024 * 1024, end++;
	return (*end == '\0' ? v : 0);
}

/* mload_parse_args - the command line into opts; usage() if it is wrong */

static void
mload_parse_args(struct mload_opts *o, int argc, char **argv)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	o->o_conc = 1;
	o->o_size = 4096;
	o->o_from = "bench@acme.example";
	o->o_rcpt = "rcpt@example.net";
	o->o_files = mload_xalloc(NULL, sizeof(char *) * (size_t)argc);
	while ((ch = getopt(argc, argv, "c:F:f:l:m:Nn:p:qr:S:s:t:")) != -1) {
		switch (ch) {
		case 'c':
			o->o_conc = atoi(optarg);
			break;
		case 'F':
			o->o_from = optarg;
			break;
		case 'f':
			o->o_files[o->o_nfiles++] = optarg;
			break;
		case 'l':
			o->o_login = optarg;
			break;
		case 'm':
			o->o_per_conn = atol(optarg);
			break;
		case 'N':
			o->o_nodelay = 1;
			break;
		case 'n':
			o->o_msgs = atol(optarg);
			break;
		case 'p':
			o->o_pid = atol(optarg);
			break;
		case 'q':
			o->o_quiet = 1;
			break;
		case 'r':
			o->o_rcpt = optarg;
			break;
		case 'S':
			o->o_size = mload_size(optarg);
			break;
		case 's':
			o->o_socket = optarg;
			break;
		case 't':
			o->o_secs = atof(optarg);
			break;
		default:
			mload_usage();
		}
	}
	if (optind != argc || o->o_socket == NULL || o->o_conc < 1 ||
	    o->o_conc > 4096 || (o->o_msgs > 0) == (o->o_secs > 0) ||
	    o->o_msgs < 0 || o->o_secs < 0 || o->o_per_conn < 0 ||
	    o->o_size == 0 || strchr(o->o_from, '@') == NULL)
		mload_usage();
}

/* mload_addr - resolve unix:PATH, local:PATH or inet[6]:PORT@HOST */

static int
mload_addr(struct mload_run *run, const char *spec)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&run->r_addr;
	struct addrinfo hints, *res;
	char	port[32];
	const char *path, *at;
	int	rc;

	memset(&run->r_addr, 0, sizeof(run->r_addr));
	if ((path = strchr(spec, ':')) != NULL &&
	    (strncmp(spec, "unix:", 5) == 0 ||
	    strncmp(spec, "local:", 6) == 0)) {
		if (strlen(++path) >= sizeof(sun->sun_path))
			return (-1);
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		run->r_addrlen = sizeof(*sun);
		return (0);
	}
	if (path == NULL || strncmp(spec, "inet", 4) != 0 ||
	    (at = strchr(path, '@')) == NULL ||
	    (size_t)(at - path - 1) >= sizeof(port))
		return (-1);
	snprintf(port, sizeof(port), "%.*s", (int)(at - path - 1), path + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 :
	    AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(at + 1, port, &hints, &res)) != 0) {
		fprintf(stderr, "mload: %s: %s\n", spec, gai_strerror(rc));
		return (-1);
	}
	memcpy(&run->r_addr, res->ai_addr, res->ai_addrlen);
	run->r_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/* mload_hdr_add - append a header (value as after the colon) */

static void
mload_hdr_add(struct mload_msg *m, const char *name, const char *value)
{
	m->m_hdrs = mload_xalloc(m->m_hdrs, (m->m_nhdrs + 1) *
	    sizeof(*m->m_hdrs));
	m->m_hdrs[m->m_nhdrs].h_name = mload_xstrdup(name);
	m->m_hdrs[m->m_nhdrs].h_value = value ? mload_xstrdup(value) : NULL;
	m->m_nhdrs++;
}

/* mload_msg_load - read an RFC 5322 message from a file */

static int
mload_msg_load(struct mload_msg *m, const char *path)
{
	FILE   *fp;
	char   *line = NULL, *colon;
	size_t	cap = 0, n;
	ssize_t	len;
	int	inbody = 0;

	memset(m, 0, sizeof(*m));
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	while ((len = getline(&line, &cap, fp)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (inbody) {
			m->m_body = mload_xalloc(m->m_body,
			    m->m_blen + (size_t)len + 3);
			memcpy(m->m_body + m->m_blen, line, (size_t)len);
			memcpy(m->m_body + m->m_blen + len, "\r\n", 3);
			m->m_blen += (size_t)len + 2;
		} else if (len == 0) {
			inbody = 1;
		} else if ((line[0] == ' ' || line[0] == '\t') && m->m_nhdrs) {
			/* Folded: Postfix joins the lines with a bare LF. */
			char  **v = &m->m_hdrs[m->m_nhdrs - 1].h_value;

			n = strlen(*v);
			*v = mload_xalloc(*v, n + (size_t)len + 2);
			(*v)[n] = '\n';
			memcpy(*v + n + 1, line, (size_t)len + 1);
		} else if ((colon = strchr(line, ':')) != NULL) {
			*colon = '\0';
			mload_hdr_add(m, line, colon + 1);
		}
	}
	free(line);
	fclose(fp);
	return (m->m_nhdrs > 0 ? 0 : -1);
}

/* mload_msg_make - a message of about o_size bytes, From: o_from */

static void
mload_msg_make(struct mload_msg *m, const struct mload_opts *o)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789 .,-";
	char	buf[512], date[64];
	time_t	now = time(NULL);
	size_t	i, hlen = 2 + 50, want, line;	/* blank line, Message-ID */

	memset(m, 0, sizeof(*m));
	strftime(date, sizeof(date), " %a, %d %b %Y %H:%M:%S +0000",
	    gmtime(&now));
	snprintf(buf, sizeof(buf), " Bench Sender <%s>", o->o_from);
	mload_hdr_add(m, "From", buf);
	snprintf(buf, sizeof(buf), " <%s>", o->o_rcpt);
	mload_hdr_add(m, "To", buf);
	mload_hdr_add(m, "Subject", " mload benchmark message");
	mload_hdr_add(m, "Date", date);
	mload_hdr_add(m, "Message-ID", NULL);
	mload_hdr_add(m, "MIME-Version", " 1.0");
	mload_hdr_add(m, "Content-Type", " text/plain; charset=us-ascii");
	mload_hdr_add(m, "Content-Transfer-Encoding", " 7bit");
	for (i = 0; i < m->m_nhdrs; i++)
		if (m->m_hdrs[i].h_value != NULL)
			hlen += strlen(m->m_hdrs[i].h_name) + 3 +
			    strlen(m->m_hdrs[i].h_value);
	want = o->o_size > hlen + 2 ? o->o_size - hlen : 2;
	m->m_body = mload_xalloc(NULL, want + 1);
	for (line = 0; m->m_blen + 2 < want; line++) {
		for (i = 0; i < 76 && m->m_blen + 2 < want; i++)
			m->m_body[m->m_blen++] =
			    alpha[(line * 7 + i) % (sizeof(alpha) - 1)];
		if (m->m_body[m->m_blen - 1] == ' ')
			m->m_body[m->m_blen - 1] = '.';
		m->m_body[m->m_blen++] = '\r';
		m->m_body[m->m_blen++] = '\n';
	}
	if (m->m_blen == 0) {
		memcpy(m->m_body, "\r\n", 2);
		m->m_blen = 2;
	}
}

/* mload_flush - write what is buffered */

static int
mload_flush(struct mload_conn *c)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < c->c_outlen) {
		n = send(c->c_fd, c->c_out + off, c->c_outlen - off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		off += (size_t)n;
	}
	c->c_outlen = 0;
	return (0);
}

/* mload_put - buffer one command packet, writing when the buffer is full */

static int
mload_put(struct mload_conn *c, int cmd, const void *data, size_t len)
{
	uint32_t nlen = htonl((uint32_t)len + 1);

	if (c->c_outlen > 0 && c->c_outlen + len + 5 > c->c_flushat &&
	    mload_flush(c) == -1)
		return (-1);
	if (c->c_outlen + len + 5 > c->c_outsize) {
		c->c_outsize = c->c_outlen + len + 5;
		c->c_out = mload_xalloc(c->c_out, c->c_outsize);
	}
	memcpy(c->c_out + c->c_outlen, &nlen, 4);
	c->c_out[c->c_outlen + 4] = (char)cmd;
	if (len > 0)
		memcpy(c->c_out + c->c_outlen + 5, data, len);
	c->c_outlen += len + 5;
	return (c->c_outlen >= c->c_flushat ? mload_flush(c) : 0);
}

/* mload_put_macros - buffer SMFIC_MACRO for a stage: NULL-ended name/value */

static int
mload_put_macros(struct mload_conn *c, int stage, const char **kv)
{
	char	buf[2048];
	size_t	len = 1, n;

	buf[0] = (char)stage;
	for (; kv[0] != NULL; kv += 2) {
		if (kv[1] == NULL)
			continue;
		n = strlen(kv[0]) + strlen(kv[1]) + 2;
		if (len + n > sizeof(buf))
			return (-1);
		memcpy(buf + len, kv[0], strlen(kv[0]) + 1);
		memcpy(buf + len + strlen(kv[0]) + 1, kv[1], strlen(kv[1]) + 1);
		len += n;
	}
	return (mload_put(c, SMFIC_MACRO, buf, len));
}

/* mload_read - read exactly len bytes through the input buffer */

static int
mload_read(struct mload_conn *c, void *dst, size_t len)
{
	unsigned char *p = dst;
	struct pollfd pfd;
	size_t	n;
	ssize_t	got;

	while (len > 0) {
		if (c->c_inoff == c->c_inlen) {
			/*
			 * Wait in poll() like Postfix: a reader blocked in
			 * recv() is also woken whenever the milter takes a
			 * command off the socket (write space), for nothing.
			 */
			pfd.fd = c->c_fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, -1) == -1) {
				if (errno == EINTR)
					continue;
				return (-1);
			}
			got = recv(c->c_fd, c->c_in, sizeof(c->c_in), 0);
			if (got == -1 && errno == EINTR)
				continue;
			if (got <= 0)
				return (-1);
			c->c_inoff = 0;
			c->c_inlen = (size_t)got;
		}
		n = c->c_inlen - c->c_inoff;
		n = n < len ? n : len;
		memcpy(p, c->c_in + c->c_inoff, n);
		c->c_inoff += n, p += n, len -= n;
	}
	return (0);
}

/* mload_reply - flush, then read one reply packet: its command, or -1 */

static int
mload_reply(struct mload_conn *c)
{
	uint32_t nlen;
	unsigned char cmd;
	size_t	len;

	if (mload_flush(c) == -1 || mload_read(c, &nlen, 4) == -1)
		return (-1);
	len = ntohl(nlen);
	if (len < 1 || len > MLOAD_MAX_REPLY || mload_read(c, &cmd, 1) == -1)
		return (-1);
	c->c_datalen = len - 1;
	if (c->c_datalen + 1 > c->c_datasize) {
		c->c_datasize = c->c_datalen + 1;
		c->c_data = mload_xalloc(c->c_data, c->c_datasize);
	}
	if (mload_read(c, c->c_data, c->c_datalen) == -1)
		return (-1);
	c->c_data[c->c_datalen] = '\0';
	return (cmd);
}

/* mload_final - the outcome a final reply stands for, or MLOAD_GO */

static int
mload_final(struct mload_conn *c, int cmd)
{
	switch (cmd) {
	case SMFIR_ACCEPT:
	case SMFIR_CONTINUE:
		return (MLOAD_OK);
	case SMFIR_DISCARD:
		return (MLOAD_DISCARD);
	case SMFIR_TEMPFAIL:
		return (MLOAD_TEMPFAIL);
	case SMFIR_REJECT:
		return (MLOAD_REJECT);
	case SMFIR_REPLYCODE:
		return (c->c_data[0] == '4' ? MLOAD_TEMPFAIL : MLOAD_REJECT);
	default:
		return (MLOAD_GO);
	}
}

/*
 * mload_step - send one command (unless the milter skips it) and await
 * its reply (unless the milter said it sends none): MLOAD_GO to go on,
 * MLOAD_SKIPPED after SMFIR_SKIP, or the outcome of a final reply.
 */

static int
mload_step(struct mload_conn *c, int cmd, const void *data, size_t len,
    unsigned long noflag, unsigned long nrflag)
{
	int	r;

	if (c->c_pflags & noflag)
		return (MLOAD_GO);
	if (mload_put(c, cmd, data, len) == -1)
		return (MLOAD_ERR);
	if (c->c_pflags & nrflag)
		return (MLOAD_GO);
	while ((r = mload_reply(c)) == SMFIR_PROGRESS)
		;
	if (r == SMFIR_CONTINUE)
		return (MLOAD_GO);
	if (r == SMFIR_SKIP)
		return (MLOAD_SKIPPED);
	if (r == -1 || (r = mload_final(c, r)) == MLOAD_GO)
		return (MLOAD_ERR);
	return (r);
}

/* mload_conn_tcp - TCP socket options, and the write buffer's size */

static int
mload_conn_tcp(struct mload_run *run, struct mload_conn *c, char *why,
    size_t whylen)
{
	socklen_t sl;
	int	one = 1, mss = 0;

	/*
	 * Postfix does not set TCP_NODELAY on a milter socket (read in its
	 * src/util/vstream_tweak.c, Postfix 3.5 and later, so 3.7): after
	 * connecting, milter8_connect() calls vstream_tweak_tcp(), which
	 * grows the stream buffer to 4 x TCP_MAXSEG when the MSS is larger
	 * than a quarter of the buffer; its TCP_NODELAY branch is compiled
	 * only in old versions without CA_VSTREAM_CTL_BUFSIZE. We do the
	 * same; -N sets TCP_NODELAY all the same.
	 */
	sl = sizeof(mss);
	if (getsockopt(c->c_fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &sl) == 0 &&
	    mss > 4096 / 4)
		c->c_flushat = (size_t)mss * 4;
	if (run->r_opts->o_nodelay && setsockopt(c->c_fd, IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one)) == -1) {
		snprintf(why, whylen, "TCP_NODELAY: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* mload_negotiate - SMFIC_OPTNEG: offer what Postfix 3.7 offers */

static int
mload_negotiate(struct mload_conn *c, char *why, size_t whylen)
{
	uint32_t neg[3];

	neg[0] = htonl(SMFI_PROT_VERSION);
	neg[1] = htonl(SMFI_CURR_ACTS);
	neg[2] = htonl(MLOAD_OFFER);
	c->c_pflags = 0;
	if (mload_put(c, SMFIC_OPTNEG, neg, sizeof(neg)) == -1 ||
	    mload_reply(c) != SMFIC_OPTNEG || c->c_datalen < 12) {
		snprintf(why, whylen, "option negotiation failed");
		return (-1);
	}
	/* Macro lists (SMFIF_SETSYMLIST) may follow: we send ours anyway. */
	memcpy(neg, c->c_data, sizeof(neg));
	c->c_pflags = ntohl(neg[2]);
	if (ntohl(neg[0]) < 2 || ntohl(neg[0]) > SMFI_PROT_VERSION ||
	    (ntohl(neg[1]) & ~SMFI_CURR_ACTS) != 0 ||
	    (c->c_pflags & ~MLOAD_OFFER) != 0) {
		snprintf(why, whylen, "milter asks for version %lu, actions "
		    "0x%lx, protocol 0x%lx: not what was offered",
		    (unsigned long)ntohl(neg[0]), (unsigned long)ntohl(neg[1]),
		    c->c_pflags);
		return (-1);
	}
	return (0);
}

/* mload_conn_open - connect, negotiate, send CONNECT and HELO */

static int
mload_conn_open(struct mload_run *run, struct mload_conn *c, char *why,
    size_t whylen)
{
	struct timeval tv = { MLOAD_TIMEOUT, 0 };
	const char *cmac[] = { "j", "mload.example", "{daemon_name}", "mload",
	    "v", "Postfix 3.7 (mload)", NULL };
	/* host, family '4', port 25 (network order), address */
	static const char conn[] = "localhost\0" "4\0\031" "127.0.0.1";

	c->c_outlen = c->c_inoff = c->c_inlen = 0;
	c->c_flushat = 4096;		/* Postfix's VSTREAM_BUFSIZE */
	if ((c->c_fd = socket(run->r_addr.ss_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(c->c_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(c->c_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(c->c_fd, (struct sockaddr *)&run->r_addr,
	    run->r_addrlen) == -1) {
		snprintf(why, whylen, "connect %s: %s", run->r_opts->o_socket,
		    strerror(errno));
		goto fail;
	}
	if ((run->r_addr.ss_family != AF_UNIX &&
	    mload_conn_tcp(run, c, why, whylen) == -1) ||
	    mload_negotiate(c, why, whylen) == -1)
		goto fail;
	if (mload_put_macros(c, SMFIC_CONNECT, cmac) == -1 ||
	    mload_step(c, SMFIC_CONNECT, conn, sizeof(conn), SMFIP_NOCONNECT,
	    SMFIP_NR_CONN) != MLOAD_GO ||
	    mload_step(c, SMFIC_HELO, "mload.example", 14, SMFIP_NOHELO,
	    SMFIP_NR_HELO) != MLOAD_GO) {
		snprintf(why, whylen, "CONNECT or HELO not continued");
		goto fail;
	}
	return (0);
fail:
	mload_conn_close(c, 0);
	return (-1);
}

/* mload_conn_close - end a connection, with SMFIC_QUIT when it is sane */

static void
mload_conn_close(struct mload_conn *c, int quit)
{
	if (c->c_fd == -1)
		return;
	if (quit && mload_put(c, SMFIC_QUIT, NULL, 0) == 0)
		(void)mload_flush(c);
	close(c->c_fd);
	c->c_fd = -1;
	c->c_outlen = c->c_inoff = c->c_inlen = 0;
}

/* mload_headers - send each header, then EOH */

static int
mload_headers(struct mload_worker *w, const struct mload_msg *m)
{
	struct mload_conn *c = &w->w_conn;
	char	buf[8192], msgid[256];
	const char *v;
	size_t	i, nl, vl;
	int	r = MLOAD_GO;

	snprintf(msgid, sizeof(msgid), " <mload.%ld.%ld.%d.%lu@%s>",
	    w->w_run->r_stamp, (long)getpid(), w->w_id, w->w_seq,
	    w->w_run->r_domain);
	for (i = 0; i < m->m_nhdrs && r == MLOAD_GO; i++) {
		v = m->m_hdrs[i].h_value ? m->m_hdrs[i].h_value : msgid;
		if ((c->c_pflags & SMFIP_HDR_LEADSPC) == 0)
			v += strspn(v, " \t");
		nl = strlen(m->m_hdrs[i].h_name) + 1;
		vl = strlen(v) + 1;
		if (nl + vl > sizeof(buf))
			return (MLOAD_ERR);
		memcpy(buf, m->m_hdrs[i].h_name, nl);
		memcpy(buf + nl, v, vl);
		r = mload_step(c, SMFIC_HEADER, buf, nl + vl, SMFIP_NOHDRS,
		    SMFIP_NR_HDR);
	}
	if (r == MLOAD_SKIPPED)
		r = MLOAD_GO;
	if (r == MLOAD_GO)
		r = mload_step(c, SMFIC_EOH, NULL, 0, SMFIP_NOEOH,
		    SMFIP_NR_EOH);
	return (r);
}

/* mload_body - send the body in chunks of at most 65535 bytes */

static int
mload_body(struct mload_conn *c, const struct mload_msg *m)
{
	size_t	off, n;
	int	r = MLOAD_GO;

	for (off = 0; off < m->m_blen && r == MLOAD_GO; off += n) {
		n = m->m_blen - off;
		n = n > MILTER_CHUNK_SIZE ? MILTER_CHUNK_SIZE : n;
		r = mload_step(c, SMFIC_BODY, m->m_body + off, n, SMFIP_NOBODY,
		    SMFIP_NR_BODY);
	}
	return (r == MLOAD_SKIPPED ? MLOAD_GO : r);
}

/* mload_eom - end of message: count modifications up to the final reply */

static int
mload_eom(struct mload_worker *w, const char *qid)
{
	struct mload_conn *c = &w->w_conn;
	const char *mac[] = { "i", qid, NULL };
	int	r, out;

	if (mload_put_macros(c, SMFIC_BODYEOB, mac) == -1 ||
	    mload_put(c, SMFIC_BODYEOB, NULL, 0) == -1)
		return (MLOAD_ERR);
	for (;;) {
		if ((r = mload_reply(c)) == -1 || r == SMFIR_SHUTDOWN ||
		    r == SMFIR_CONN_FAIL || r == SMFIR_SKIP)
			return (MLOAD_ERR);
		if ((out = mload_final(c, r)) != MLOAD_GO)
			return (out);
		if (r == SMFIR_INSHEADER || r == SMFIR_ADDHEADER)
			w->w_inserts++;
	}
}

/* mload_send - one message, MAIL to end of message: its outcome */

static int
mload_send(struct mload_worker *w, const struct mload_msg *m)
{
	struct mload_conn *c = &w->w_conn;
	const struct mload_opts *o = w->w_run->r_opts;
	char	qid[32], from[512], rcpt[512];
	const char *mmac[] = { "i", qid, "{mail_addr}", o->o_from,
	    "{auth_type}", o->o_login ? "PLAIN" : NULL,
	    "{auth_authen}", o->o_login, NULL };
	const char *rmac[] = { "i", qid, "{rcpt_addr}", o->o_rcpt, NULL };
	int	r;

	snprintf(qid, sizeof(qid), "%03X%07lX", (unsigned)w->w_id, w->w_seq);
	snprintf(from, sizeof(from), "<%s>", o->o_from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", o->o_rcpt);
	if (mload_put_macros(c, SMFIC_MAIL, mmac) == -1)
		return (MLOAD_ERR);
	r = mload_step(c, SMFIC_MAIL, from, strlen(from) + 1, SMFIP_NOMAIL,
	    SMFIP_NR_MAIL);
	if (r < 0 && mload_put_macros(c, SMFIC_RCPT, rmac) == -1)
		r = MLOAD_ERR;
	if (r < 0)
		r = mload_step(c, SMFIC_RCPT, rcpt, strlen(rcpt) + 1,
		    SMFIP_NORCPT, SMFIP_NR_RCPT);
	if (r < 0)
		r = mload_step(c, SMFIC_DATA, NULL, 0, SMFIP_NODATA,
		    SMFIP_NR_DATA);
	if (r < 0)
		r = mload_headers(w, m);
	if (r < 0)
		r = mload_body(c, m);
	if (r < 0)
		return (mload_eom(w, qid));
	/* Decided before the end: the MTA aborts the transaction. */
	if (r != MLOAD_ERR && mload_put(c, SMFIC_ABORT, NULL, 0) == -1)
		r = MLOAD_ERR;
	return (r);
}

/* mload_claim - may one more message be sent? */

static int
mload_claim(struct mload_run *run)
{
	if (run->r_opts->o_msgs > 0)
		return (__atomic_fetch_add(&run->r_next, 1, __ATOMIC_RELAXED) <
		    run->r_opts->o_msgs);
	return (mload_now() < run->r_deadline);
}

/* mload_record - count an outcome, keep its latency */

static void
mload_record(struct mload_worker *w, int out, double ms)
{
	w->w_count[out]++;
	if (out == MLOAD_ERR)
		return;
	if (w->w_nlat == w->w_latsize) {
		w->w_latsize = w->w_latsize ? w->w_latsize * 2 : 4096;
		w->w_lat = mload_xalloc(w->w_lat, w->w_latsize *
		    sizeof(*w->w_lat));
	}
	w->w_lat[w->w_nlat++] = ms;
}

/* mload_worker_main - one connection's loop: messages until told to stop */

static void *
mload_worker_main(void *arg)
{
	struct mload_worker *w = arg;
	struct mload_run *run = w->w_run;
	struct mload_conn *c = &w->w_conn;
	long	onconn = 0;
	char	why[256];
	double	t0;
	int	out;

	c->c_fd = -1;
	while (mload_claim(run)) {
		if (c->c_fd == -1) {
			if (mload_conn_open(run, c, why, sizeof(why)) == -1) {
				mload_err(run, "thread %d: %s", w->w_id, why);
				w->w_count[MLOAD_ERR]++;
				usleep(100000);
				continue;
			}
			w->w_conns++;
			onconn = 0;
		}
		t0 = mload_now();
		errno = 0;
		out = mload_send(w, &run->r_msgs[w->w_seq % run->r_nmsgs]);
		mload_record(w, out, (mload_now() - t0) * 1e3);
		w->w_seq++;
		if (out == MLOAD_ERR) {
			mload_err(run, "thread %d: message %lu: %s", w->w_id,
			    w->w_seq, errno == EAGAIN ? "timeout" : errno ?
			    strerror(errno) : "connection closed or protocol "
			    "error");
			mload_conn_close(c, 0);
		} else if (run->r_opts->o_per_conn > 0 &&
		    ++onconn >= run->r_opts->o_per_conn)
			mload_conn_close(c, 1);
	}
	mload_conn_close(c, 1);
	return (NULL);
}

/* mload_cpu_ticks - utime + stime of a process (all its threads) */

static int
mload_cpu_ticks(long pid, long *ticks)
{
	char	path[64], buf[2048], *p;
	unsigned long ut, st;
	size_t	n;
	FILE   *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* After "pid (comm)": state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return (-1);
	*ticks = (long)(ut + st);
	return (0);
}

/* mload_cmp - qsort() order of latencies */

static int
mload_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* mload_pct - the q-th quantile (nearest rank) of sorted samples */

static double
mload_pct(const double *v, size_t n, double q)
{
	size_t	i;

	if (n == 0)
		return (0);
	i = (size_t)(q * (double)n + 0.999999);
	return (v[i == 0 ? 0 : i - 1 < n ? i - 1 : n - 1]);
}

/* mload_setup - options, address, messages; probe the milter once */

static void
mload_setup(struct mload_run *run, struct mload_opts *o, int argc,
    char **argv)
{
	struct mload_conn probe;
	char	why[256];
	int	j;

	mload_parse_args(o, argc, argv);
	memset(run, 0, sizeof(*run));
	run->r_opts = o;
	run->r_domain = strchr(o->o_from, '@') + 1;
	run->r_stamp = (long)time(NULL);
	if (mload_addr(run, o->o_socket) == -1) {
		fprintf(stderr, "mload: bad socket \"%s\"\n", o->o_socket);
		exit(2);
	}
	run->r_nmsgs = o->o_nfiles > 0 ? (size_t)o->o_nfiles : 1;
	run->r_msgs = mload_xalloc(NULL, run->r_nmsgs * sizeof(*run->r_msgs));
	for (j = 0; j < o->o_nfiles; j++)
		if (mload_msg_load(&run->r_msgs[j], o->o_files[j]) == -1) {
			fprintf(stderr, "mload: %s: cannot read a message\n",
			    o->o_files[j]);
			exit(1);
		}
	if (o->o_nfiles == 0)
		mload_msg_make(&run->r_msgs[0], o);
	signal(SIGPIPE, SIG_IGN);
	memset(&probe, 0, sizeof(probe));
	if (mload_conn_open(run, &probe, why, sizeof(why)) == -1) {
		fprintf(stderr, "mload: %s\n", why);
		exit(1);
	}
	run->r_pflags = probe.c_pflags;
	mload_conn_close(&probe, 1);
	free(probe.c_out);
	free(probe.c_data);
}

/* mload_report - merge the workers' figures and print them */

static void
mload_report(const struct mload_run *run, struct mload_worker *w,
    double secs, double cpu_ms)
{
	const struct mload_opts *o = run->r_opts;
	long	cnt[MLOAD_NOUT] = { 0 }, ins = 0, conns = 0;
	double *lat, rate, ipm, p50, p90, p99, max;
	size_t	n = 0, i, tmin = SIZE_MAX, tmax = 0;
	char	cpu[32];
	int	j, k;

	for (j = 0; j < o->o_conc; j++)
		n += w[j].w_nlat;
	lat = mload_xalloc(NULL, n * sizeof(*lat));
	for (n = 0, j = 0; j < o->o_conc; j++) {
		for (k = 0; k < MLOAD_NOUT; k++)
			cnt[k] += w[j].w_count[k];
		ins += w[j].w_inserts;
		conns += w[j].w_conns;
		tmin = w[j].w_nlat < tmin ? w[j].w_nlat : tmin;
		tmax = w[j].w_nlat > tmax ? w[j].w_nlat : tmax;
		for (i = 0; i < w[j].w_nlat; i++)
			lat[n++] = w[j].w_lat[i];
	}
	qsort(lat, n, sizeof(*lat), mload_cmp);
	rate = (double)n / secs;
	ipm = n ? (double)ins / (double)n : 0.0;
	p50 = mload_pct(lat, n, 0.5);
	p90 = mload_pct(lat, n, 0.9);
	p99 = mload_pct(lat, n, 0.99);
	max = n ? lat[n - 1] : 0.0;
	if (cpu_ms >= 0 && n > 0)
		snprintf(cpu, sizeof(cpu), "%.3f", cpu_ms / (double)n);
	else
		snprintf(cpu, sizeof(cpu), "-");
	if (!o->o_quiet)
		printf("mload: %zu messages in %.2f s (%.1f/s) to %s, %d at a "
		    "time on %ld connection(s), protocol 0x%05lx; latency ms "
		    "p50 %.2f p99 %.2f max %.2f; %zu to %zu messages per "
		    "thread; milter CPU %s ms/msg; %.2f header insertions per "
		    "message; %ld error(s)\n", n, secs, rate, o->o_socket,
		    o->o_conc, conns, run->r_pflags, p50, p99, max, tmin, tmax,
		    cpu, ipm, cnt[MLOAD_ERR]);
	printf("msgs=%zu secs=%.2f rate=%.1f p50_ms=%.2f p90_ms=%.2f "
	    "p99_ms=%.2f max_ms=%.2f cpu_ms_per_msg=%s ok=%ld tempfail=%ld "
	    "reject=%ld discard=%ld err=%ld inserts_per_msg=%.2f conns=%ld "
	    "thread_min=%zu thread_max=%zu\n", n, secs, rate, p50, p90, p99,
	    max, cpu, cnt[MLOAD_OK], cnt[MLOAD_TEMPFAIL], cnt[MLOAD_REJECT],
	    cnt[MLOAD_DISCARD], cnt[MLOAD_ERR], ipm, conns, tmin, tmax);
	free(lat);
}

/* mload_cleanup - free the workers, the messages and the options */

static void
mload_cleanup(struct mload_run *run, struct mload_worker *w)
{
	struct mload_msg *m;
	size_t	i, k;
	int	j;

	for (j = 0; j < run->r_opts->o_conc; j++) {
		free(w[j].w_conn.c_out);
		free(w[j].w_conn.c_data);
		free(w[j].w_lat);
	}
	free(w);
	for (i = 0; i < run->r_nmsgs; i++) {
		m = &run->r_msgs[i];
		for (k = 0; k < m->m_nhdrs; k++) {
			free(m->m_hdrs[k].h_name);
			free(m->m_hdrs[k].h_value);
		}
		free(m->m_hdrs);
		free(m->m_body);
	}
	free(run->r_msgs);
	free(run->r_opts->o_files);
}

/* main - probe, run the workers, then report */

int
main(int argc, char **argv)
{
	struct mload_opts o;
	struct mload_run run;
	struct mload_worker *w;
	long	t0 = 0, t1 = 0;
	double	start, secs, cpu_ms = -1;
	int	j;

	mload_setup(&run, &o, argc, argv);
	if (o.o_pid > 0 && mload_cpu_ticks(o.o_pid, &t0) == -1) {
		fprintf(stderr, "mload: /proc/%ld/stat: cannot read\n",
		    o.o_pid);
		return (1);
	}
	if ((w = calloc((size_t)o.o_conc, sizeof(*w))) == NULL)
		return (1);
	start = mload_now();
	run.r_deadline = start + o.o_secs;
	for (j = 0; j < o.o_conc; j++) {
		w[j].w_run = &run;
		w[j].w_id = j;
		if (pthread_create(&w[j].w_tid, NULL, mload_worker_main,
		    &w[j]) != 0) {
			fprintf(stderr, "mload: pthread_create failed\n");
			return (1);
		}
	}
	for (j = 0; j < o.o_conc; j++)
		pthread_join(w[j].w_tid, NULL);
	secs = mload_now() - start;
	if (o.o_pid > 0 && mload_cpu_ticks(o.o_pid, &t1) == 0)
		cpu_ms = (double)(t1 - t0) * 1e3 /
		    (double)sysconf(_SC_CLK_TCK);
	mload_report(&run, w, secs, cpu_ms);
	mload_cleanup(&run, w);
	return (0);
}
