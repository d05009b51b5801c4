/*
 * NAME
 *	mserv - the milter socket: one thread per MTA connection
 * SYNOPSIS
 *	#include "mserv.h"
 *
 *	int	mserv_open(const char *spec, uid_t uid, gid_t gid, int mode,
 *		    char *err, size_t errlen);
 *	int	mserv_start(const struct mp_filter *mf,
 *		    int (*max_conns)(void));
 *	void	mserv_stop(int wait_seconds);
 *	unsigned long mserv_connections(void);
 * DESCRIPTION
 *	mserv_open() listens on spec: unix:/PATH (or local:/PATH),
 *	inet:PORT[@HOST] or inet6:PORT[@HOST]. A unix socket is made with
 *	umask 0177, then given owner uid (when running as root), group gid
 *	and mode. A socket file left by a dead daemon is replaced; one that
 *	a live daemon answers on is not (error). TCP connections get
 *	TCP_NODELAY (replies leave at once) and TCP_QUICKACK before each
 *	wait (the MTA's commands are acknowledged at once, so an MTA with
 *	Nagle on sends the next without waiting). A socket open to every local
 *	user (mode o+rw) or beyond loopback is logged as a warning: whoever
 *	talks to it can claim any login.
 *
 *	mserv_start() starts the first connection thread, with SIGTERM,
 *	SIGHUP and SIGINT blocked, as have the threads it starts (the main
 *	thread takes the signals). Connection threads wait in accept()
 *	themselves, so a new connection wakes one thread, which serves it;
 *	one that accepts starts another when none is left waiting. Each MTA
 *	connection is served by one thread from the first command to the
 *	last: it reads whatever has arrived (usually several commands at
 *	once), lets mp_input() decode and answer all of them, and writes
 *	every queued reply in one write() before it waits again. So a
 *	message costs a read and a write per round trip of the MTA, and no
 *	thread is held by a connection that does not have the CPU. When its
 *	connection ends, a thread waits in accept() again, up to MSERV_IDLE
 *	seconds (at most MSERV_IDLE_MAX threads wait; the last one waits
 *	on). When a thread ends, malloc's free memory is given back to the
 *	system (malloc_trim(), at most once a second).
 *	Past max_conns() open connections (asked at each accept) a new one
 *	is closed at once and the MTA applies its milter_default_action;
 *	the event is logged at most once a minute. When accept() is short
 *	of descriptors or memory (EMFILE, ENFILE, ENOMEM, ENOBUFS), the
 *	connection waits in the backlog and the thread tries again after
 *	100 ms; that too is logged at most once a minute, with a count.
 *
 *	mserv_stop() stops accepting (shutdown(2) of the listening socket,
 *	which also wakes the threads in accept()), removes a unix socket
 *	file, shuts the open connections down, and waits up to wait_seconds
 *	for every thread to end.
 * DIAGNOSTICS
 *	mserv_open() returns -1 with a message in err.
 * SEE ALSO
 *	mproto(3), mlfi(3)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"
#include "mproto.h"
#include "mserv.h"

/*
 * The read buffer kept per connection: a whole body chunk (MTAs send at
 * most 65535 octets a chunk, 65540 with its packet header) and the small
 * commands after it, so that a message does not grow and shrink it.
 */
#define MSERV_BUF	(65536 + 1024)
#define MSERV_TIMEOUT	7210		/* seconds an MTA may stay silent */
#define MSERV_IDLE	60		/* seconds a thread waits for another */
#define MSERV_IDLE_MAX	64		/* threads that may wait at once */
#define MSERV_TRIM	1		/* seconds between two malloc_trim() */
/*
 * A connection thread's stack: address space, not memory (only the pages
 * touched count). Libraries below us (libspf2's include chains, glibc's
 * resolver, libopendmarc) keep buffers on the stack; 2 MiB is several
 * times what the e2e tests need. ASan's redzones need more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MSERV_STACK	(8 * 1024 * 1024)
#else
#define MSERV_STACK	(2 * 1024 * 1024)
#endif

struct mserv_conn {
	int	sc_fd;
	struct mserv_conn *sc_next;
	struct mserv_conn **sc_prevp;
};

static int mserv_fd = -1;
static int mserv_tcp;
static char mserv_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pthread_attr_t mserv_attr;	/* detached, MSERV_STACK */
static const struct mp_filter *mserv_filter;
static int (*mserv_max)(void);

static pthread_mutex_t mserv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mserv_gone = PTHREAD_COND_INITIALIZER;
static struct mserv_conn *mserv_conns;
static unsigned long mserv_nconns;
static unsigned long mserv_nidle;	/* (lock) threads in accept() */
static unsigned long mserv_nthreads;	/* (lock) connection threads */
static int mserv_stopping;		/* (lock) */

/* mserv_unix - listen on a unix socket path; fd or -1 */

static int
mserv_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t	old;
	int	fd, probe, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    path);
			return (-1);
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) !=
		    -1) {
			rc = connect(probe, (struct sockaddr *)&sun,
			    sizeof(sun));
			close(probe);
			if (rc == 0) {
				snprintf(err, errlen, "another daemon listens "
				    "on %s", path);
				return (-1);
			}
		}
		(void)unlink(path);	/* left by a daemon that died */
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s (does its "
		    "directory exist?)", path, strerror(errno));
		close(fd);
		return (-1);
	}
	memcpy(mserv_path, path, strlen(path) + 1);
	return (fd);
}

/* mserv_inet - listen on PORT[@HOST] of one family; fd or -1 */

static int
mserv_inet(const char *spec, int family, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char	port[16], host[256];
	const char *at;
	size_t	hl;
	int	fd = -1, on = 1, rc;

	at = strchr(spec, '@');
	hl = at ? strlen(at + 1) : 0;
	if ((at ? (size_t)(at - spec) : strlen(spec)) >= sizeof(port) ||
	    hl >= sizeof(host)) {
		snprintf(err, errlen, "bad socket address %s", spec);
		return (-1);
	}
	snprintf(port, sizeof(port), "%.*s", at ? (int)(at - spec) :
	    (int)strlen(spec), spec);
	if (at && at[1] == '[' && at[hl] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)hl - 2, at + 2);
	else if (at)
		snprintf(host, sizeof(host), "%s", at + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(at ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "socket address %s: %s", spec,
		    gai_strerror(rc));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1 && ai == NULL && err[0] == '\0')
		snprintf(err, errlen, "cannot listen on %s", spec);
	mserv_tcp = 1;
	return (fd);
}

/*
 * mserv_exposed - warn when the socket is open to more than the MTA:
 * whoever can talk to it can claim any SASL login, so any tenant's
 * signatures, routes and budgets
 */
static void
mserv_exposed(const char *path, int mode)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);

	if (path != NULL) {
		if (mode & 007)
			log_warnx("milter socket %s has mode %04o: every local "
			    "user can speak to it and claim any login", path,
			    (unsigned)mode);
		return;
	}
	if (getsockname(mserv_fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if ((ss.ss_family == AF_INET &&
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127) ||
	    (ss.ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)))
		log_warnx("milter socket listens beyond loopback: every host "
		    "that reaches it can claim any login; firewall it to the "
		    "MTA");
}

int
mserv_open(const char *spec, uid_t uid, gid_t gid, int mode, char *err,
    size_t errlen)
{
	const char *path = NULL;

	err[0] = '\0';
	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		path = spec + 6;
	else if (spec[0] == '/')
		path = spec;
	if (path != NULL)
		mserv_fd = mserv_unix(path, err, errlen);
	else if (strncmp(spec, "inet:", 5) == 0)
		mserv_fd = mserv_inet(spec + 5, AF_INET, err, errlen);
	else if (strncmp(spec, "inet6:", 6) == 0)
		mserv_fd = mserv_inet(spec + 6, AF_INET6, err, errlen);
	else
		snprintf(err, errlen, "bad socket %s", spec);
	if (mserv_fd == -1)
		return (-1);
	if (path != NULL && (chown(path, geteuid() == 0 ? uid : (uid_t)-1,
	    gid) == -1 || chmod(path, (mode_t)mode) == -1)) {
		snprintf(err, errlen, "socket %s: cannot set owner or mode: %s",
		    path, strerror(errno));
		return (-1);
	}
	mserv_exposed(path, mode);
	return (0);
}

/* mserv_write - all of buf; 0 or -1 */

static int
mserv_write(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* mserv_session - read, decode, answer, until the MTA is done */

static void
mserv_session(int fd, struct mp_ctx *ctx)
{
	const unsigned char *out;
	unsigned char *buf, *nbuf;
	struct pollfd pfd;
	size_t	size = MSERV_BUF, have = 0, need, outlen;
	ssize_t	n;
	long	used;
	int	rc, on = 1;

	if ((buf = malloc(size)) == NULL) {
		log_warnx("NOQUEUE: out of memory for a milter connection");
		return;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		/*
		 * TCP: acknowledge what arrives at once. The MTA sends the
		 * commands we do not answer back to back, and one that does
		 * not set TCP_NODELAY (Postfix) holds each until the last is
		 * acknowledged: 40 ms of delayed ACK a command otherwise.
		 * Linux leaves quick-ACK mode by itself: set before each wait.
		 */
		if (mserv_tcp)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on,
			    sizeof(on));
		/*
		 * Wait in poll(), not in read(): a reader blocked in read()
		 * on a unix socket is also woken each time the MTA takes a
		 * reply off our socket (write space), for nothing; poll()
		 * waits for input only. A context switch saved per round trip.
		 */
		if ((rc = poll(&pfd, 1, MSERV_TIMEOUT * 1000)) == -1 &&
		    errno == EINTR)
			continue;
		if (rc <= 0)
			break;		/* timed out */
		if ((n = read(fd, buf + have, size - have)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* the MTA went away */
		have += (size_t)n;
		used = mp_input(ctx, buf, have, &need);
		if (mp_output(ctx, &out, &outlen)) {
			if (mserv_write(fd, out, outlen) == -1)
				break;
			mp_output_done(ctx);
		}
		if (used < 0)
			break;
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
		if (need > size || (size > MSERV_BUF && need <= MSERV_BUF &&
		    have <= MSERV_BUF)) {
			size = need > MSERV_BUF ? need : MSERV_BUF;
			if ((nbuf = realloc(buf, size)) == NULL) {
				log_warnx("NOQUEUE: out of memory for a "
				    "milter command of %zu octets", need);
				break;
			}
			buf = nbuf;
		}
	}
	free(buf);
}

/*
 * mserv_trim - a connection thread ends, so a burst of connections is
 * over: give the free memory of every malloc arena back to the system.
 * glibc keeps it otherwise (an arena per thread that ran, up to 8 per
 * core), and the daemon's RSS stays at the burst's peak. At most once
 * every MSERV_TRIM seconds: past MSERV_IDLE_MAX waiting threads, one
 * ends after each connection.
 */
static void
mserv_trim(void)
{
#ifdef HAVE_MALLOC_TRIM
	static time_t last;		/* (lock) */
	time_t	now = time(NULL);
	int	trim;

	pthread_mutex_lock(&mserv_lock);
	if ((trim = now - last >= MSERV_TRIM))
		last = now;
	pthread_mutex_unlock(&mserv_lock);
	if (trim)
		(void)malloc_trim(0);
#endif
}

/*
 * mserv_shortage - accept() is short of descriptors or memory: count it;
 * the count to report, at most once a minute, else 0 (mserv_lock held)
 */
static unsigned long
mserv_shortage(void)
{
	static time_t last;
	static unsigned long n;
	unsigned long said;
	time_t	now = time(NULL);

	n++;
	if (now - last < 60)
		return (0);
	last = now;
	said = n;
	n = 0;
	return (said);
}

/* mserv_refuse - over the connection limit: close, say so now and then */

static void
mserv_refuse(int fd, unsigned long open, int max)
{
	static time_t last;
	time_t	now = time(NULL);

	close(fd);
	if (now - last >= 60) {
		last = now;
		log_warnx("NOQUEUE: %lu milter connections open, the limit "
		    "(milter.max_connections) is %d: new ones are closed and "
		    "the MTA applies its milter_default_action", open, max);
	}
}

/*
 * mserv_take - a connection accepted: refused past max (closed, NULL),
 * else listed (lock held)
 */
static struct mserv_conn *
mserv_take(int fd, int max)
{
	struct mserv_conn *sc;
	int	on = 1;

	if (max > 0 && mserv_nconns >= (unsigned long)max) {
		mserv_refuse(fd, mserv_nconns, max);
		return (NULL);
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		close(fd);
		log_warnx("NOQUEUE: out of memory for a milter connection");
		return (NULL);
	}
	if (mserv_tcp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	sc->sc_fd = fd;
	if ((sc->sc_next = mserv_conns) != NULL)
		mserv_conns->sc_prevp = &sc->sc_next;
	sc->sc_prevp = &mserv_conns;
	mserv_conns = sc;
	mserv_nconns++;
	return (sc);
}

/*
 * mserv_serve - one connection, to its end; then unlisted and closed,
 * and the lock is held on return
 */
static void
mserv_serve(struct mserv_conn *sc)
{
	struct mp_ctx *ctx;

	if ((ctx = mp_ctx_new(mserv_filter)) == NULL)
		log_warnx("NOQUEUE: out of memory for a milter connection");
	else {
		mserv_session(sc->sc_fd, ctx);
		mp_end(ctx);
		mp_ctx_free(ctx);
	}
	pthread_mutex_lock(&mserv_lock);
	if ((*sc->sc_prevp = sc->sc_next) != NULL)
		sc->sc_next->sc_prevp = sc->sc_prevp;
	mserv_nconns--;
	close(sc->sc_fd);
	pthread_cond_broadcast(&mserv_gone);
	free(sc);
}

/*
 * mserv_conn - a connection thread. It waits in accept() itself: an MTA
 * opens a milter connection for each SMTP session, and a thread that
 * accepts serves at once, where an accepting thread would have to wake
 * a second one (a context switch a connection). The kernel wakes one
 * waiter of accept() per connection. A thread that accepted starts
 * another when none waits (so one always does), serves its connection,
 * then waits again, up to MSERV_IDLE seconds (SO_RCVTIMEO on the socket)
 * unless MSERV_IDLE_MAX wait already; the last one waits on. A thread
 * made again for each connection would also rebuild its stack, its
 * malloc cache and OpenSSL's per-thread random generator.
 */
static void *
mserv_conn(void *arg)
{
	struct mserv_conn *sc;
	pthread_t th;
	unsigned long say;
	int	fd, err, max, shortage;

	(void)arg;
	for (;;) {
		fd = accept4(mserv_fd, NULL, NULL, SOCK_CLOEXEC);
		err = errno;
		max = fd != -1 && mserv_max ? mserv_max() : 0;
		pthread_mutex_lock(&mserv_lock);
		mserv_nidle--;
		if (mserv_stopping) {
			if (fd != -1)
				close(fd);
			break;
		}
		if (fd == -1) {
			if ((err == EAGAIN || err == EWOULDBLOCK) &&
			    mserv_nidle > 0)
				break;		/* idle long enough */
			mserv_nidle++;
			shortage = err == EMFILE || err == ENFILE ||
			    err == ENOMEM || err == ENOBUFS;
			say = shortage ? mserv_shortage() : 0;
			pthread_mutex_unlock(&mserv_lock);
			if (say > 0) {
				errno = err;
				log_warn("accept on the milter socket (%lu "
				    "time(s) since the last report; the MTA's "
				    "connection waits in the backlog)", say);
			}
			if (shortage)
				usleep(100000);
			continue;
		}
		if ((sc = mserv_take(fd, max)) == NULL) {
			mserv_nidle++;
			pthread_mutex_unlock(&mserv_lock);
			continue;
		}
		if (mserv_nidle == 0) {
			if (pthread_create(&th, &mserv_attr, mserv_conn,
			    NULL) == 0) {
				mserv_nthreads++;
				mserv_nidle++;
			} else
				log_warnx("cannot start a milter connection "
				    "thread: new connections wait for this "
				    "one to end");
		}
		pthread_mutex_unlock(&mserv_lock);
		mserv_serve(sc);
		if (mserv_stopping || mserv_nidle >= MSERV_IDLE_MAX)
			break;
		mserv_nidle++;
		pthread_mutex_unlock(&mserv_lock);
	}
	pthread_mutex_unlock(&mserv_lock);
	/* Before mserv_stop() can see us gone and let main() exit. */
	keys_thread_end();
	mserv_trim();
	pthread_mutex_lock(&mserv_lock);
	mserv_nthreads--;
	pthread_cond_broadcast(&mserv_gone);
	pthread_mutex_unlock(&mserv_lock);
	return (NULL);
}

int
mserv_start(const struct mp_filter *mf, int (*max_conns)(void))
{
	struct timeval idle = { MSERV_IDLE, 0 };
	sigset_t set, old;
	pthread_t th;
	int	rc;

	/*
	 * The accept() timeout. Accepted sockets inherit it, harmlessly:
	 * mserv_session() reads only what poll() found.
	 */
	if (mserv_fd == -1 || setsockopt(mserv_fd, SOL_SOCKET, SO_RCVTIMEO,
	    &idle, sizeof(idle)) == -1)
		return (-1);
	mserv_filter = mf;
	mserv_max = max_conns;
	pthread_attr_init(&mserv_attr);
	pthread_attr_setdetachstate(&mserv_attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&mserv_attr, MSERV_STACK);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_mutex_lock(&mserv_lock);
	if ((rc = pthread_create(&th, &mserv_attr, mserv_conn, NULL)) == 0) {
		mserv_nthreads++;
		mserv_nidle++;
	}
	pthread_mutex_unlock(&mserv_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (rc == 0 ? 0 : -1);
}

void
mserv_stop(int wait_seconds)
{
	struct mserv_conn *sc;
	struct timespec until;

	/*
	 * shutdown() of the listening socket wakes every thread in accept()
	 * (EINVAL) and refuses new connections; the socket is closed once
	 * no thread can still be in accept() on it.
	 */
	pthread_mutex_lock(&mserv_lock);
	mserv_stopping = 1;
	pthread_mutex_unlock(&mserv_lock);
	if (mserv_fd != -1)
		(void)shutdown(mserv_fd, SHUT_RDWR);
	if (mserv_path[0] != '\0')
		(void)unlink(mserv_path);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_seconds;
	pthread_mutex_lock(&mserv_lock);
	for (sc = mserv_conns; sc != NULL; sc = sc->sc_next)
		(void)shutdown(sc->sc_fd, SHUT_RDWR);
	while ((mserv_nconns > 0 || mserv_nthreads > 0) &&
	    pthread_cond_timedwait(&mserv_gone, &mserv_lock, &until) == 0)
		;
	if (mserv_nthreads == 0 && mserv_fd != -1) {
		close(mserv_fd);
		mserv_fd = -1;
	}
	pthread_mutex_unlock(&mserv_lock);
}

unsigned long
mserv_connections(void)
{
	unsigned long n;

	pthread_mutex_lock(&mserv_lock);
	n = mserv_nconns;
	pthread_mutex_unlock(&mserv_lock);
	return (n);
}
