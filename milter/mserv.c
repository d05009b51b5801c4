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
 *	mserv_start() starts the accepting thread, which has SIGTERM, SIGHUP
 *	and SIGINT blocked, as have the connection threads it starts (the
 *	main thread takes the signals). Each MTA connection is served by a
 *	thread of its own, from the first command to the last: it reads
 *	whatever has arrived (usually several commands at once), lets
 *	mp_input() decode and answer all of them, and writes every queued
 *	reply in one write() before it waits again. So a message costs a
 *	read and a write per round trip of the MTA, and no thread is held
 *	by a connection that does not have the CPU. When its connection
 *	ends, a thread waits up to MSERV_IDLE seconds to be given the next
 *	one (at most MSERV_IDLE_MAX threads wait); a new thread is started
 *	only when none waits. When a thread ends, malloc's free memory is
 *	given back to the system (malloc_trim(), at most once a second).
 *	Past max_conns() open connections (asked at each accept) a new one
 *	is closed at once and the MTA applies its milter_default_action;
 *	the event is logged at most once a minute.
 *
 *	mserv_stop() stops accepting, removes a unix socket file, wakes the
 *	connection threads (shutdown(2)) and the waiting ones, and waits up
 *	to wait_seconds for them all to end.
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
	struct mserv_conn *sc_handoff;	/* next waiting for a thread */
};

static int mserv_fd = -1;
static int mserv_tcp;
static char mserv_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int mserv_wake[2] = { -1, -1 };
static pthread_t mserv_thread;
static const struct mp_filter *mserv_filter;
static int (*mserv_max)(void);

static pthread_mutex_t mserv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mserv_gone = PTHREAD_COND_INITIALIZER;
static struct mserv_conn *mserv_conns;
static unsigned long mserv_nconns;
static pthread_cond_t mserv_handoff = PTHREAD_COND_INITIALIZER;
static struct mserv_conn *mserv_pending;	/* (lock) for an idle thread */
static unsigned long mserv_npending;	/* (lock) how many */
static unsigned long mserv_nidle;	/* (lock) threads waiting for one */
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
 * mserv_next - (lock held) after a connection: wait up to MSERV_IDLE
 * seconds for another one handed over by the accepting thread; NULL when
 * none came, when MSERV_IDLE_MAX threads wait already, or when stopping
 * (connections handed over before the stop are still served)
 */
static struct mserv_conn *
mserv_next(void)
{
	struct mserv_conn *sc;
	struct timespec until;

	if (mserv_pending == NULL &&
	    (mserv_stopping || mserv_nidle >= MSERV_IDLE_MAX))
		return (NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += MSERV_IDLE;
	mserv_nidle++;
	while (mserv_pending == NULL && !mserv_stopping &&
	    pthread_cond_timedwait(&mserv_handoff, &mserv_lock, &until) == 0)
		;
	mserv_nidle--;
	if ((sc = mserv_pending) != NULL) {
		mserv_pending = sc->sc_handoff;
		mserv_npending--;
	}
	return (sc);
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
 * mserv_conn - a connection thread: it serves one connection, then waits
 * a while to serve the next. An MTA opens a milter connection for each
 * SMTP session, and a new thread for each would make its stack, its
 * malloc cache and OpenSSL's per-thread random generator (every RSA
 * signature needs it) again each time.
 */
static void *
mserv_conn(void *arg)
{
	struct mserv_conn *sc = arg;
	struct mp_ctx *ctx;

	while (sc != NULL) {
		if ((ctx = mp_ctx_new(mserv_filter)) == NULL)
			log_warnx("NOQUEUE: out of memory for a milter "
			    "connection");
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
		sc = mserv_next();
		pthread_mutex_unlock(&mserv_lock);
	}
	/* Before mserv_stop() can see us gone and let main() exit. */
	keys_thread_end();
	mserv_trim();
	pthread_mutex_lock(&mserv_lock);
	mserv_nthreads--;
	pthread_cond_broadcast(&mserv_gone);
	pthread_mutex_unlock(&mserv_lock);
	return (NULL);
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

/* mserv_spawn - a thread for an accepted connection */

static void
mserv_spawn(int fd, pthread_attr_t *attr)
{
	struct mserv_conn *sc;
	pthread_t th;
	int	on = 1, max = mserv_max ? mserv_max() : 0;

	pthread_mutex_lock(&mserv_lock);
	if (max > 0 && mserv_nconns >= (unsigned long)max) {
		pthread_mutex_unlock(&mserv_lock);
		mserv_refuse(fd, mserv_nconns, max);
		return;
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		pthread_mutex_unlock(&mserv_lock);
		close(fd);
		log_warnx("NOQUEUE: out of memory for a milter connection");
		return;
	}
	if (mserv_tcp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	sc->sc_fd = fd;
	if ((sc->sc_next = mserv_conns) != NULL)
		mserv_conns->sc_prevp = &sc->sc_next;
	sc->sc_prevp = &mserv_conns;
	mserv_conns = sc;
	mserv_nconns++;
	/*
	 * A thread waits that no connection handed over before has claimed
	 * (a woken thread counts as waiting until it has run): it takes it.
	 */
	if (mserv_nidle > mserv_npending) {
		struct mserv_conn **pp = &mserv_pending;

		while (*pp != NULL)
			pp = &(*pp)->sc_handoff;
		*pp = sc;
		mserv_npending++;
		/*
		 * Signalled after the unlock: a thread woken under the lock
		 * finds it held and sleeps again, on the mutex (mload, a
		 * connection per message: 4.8 context switches a message
		 * became 4.1).
		 */
		pthread_mutex_unlock(&mserv_lock);
		pthread_cond_signal(&mserv_handoff);
		return;
	}
	if (pthread_create(&th, attr, mserv_conn, sc) != 0) {
		mserv_conns = sc->sc_next;
		if (sc->sc_next != NULL)
			sc->sc_next->sc_prevp = &mserv_conns;
		mserv_nconns--;
		pthread_mutex_unlock(&mserv_lock);
		close(fd);
		free(sc);
		log_warnx("NOQUEUE: cannot start a thread for a milter "
		    "connection: closed");
		return;
	}
	mserv_nthreads++;
	pthread_mutex_unlock(&mserv_lock);
}

/* mserv_accept - the accepting thread */

static void *
mserv_accept(void *arg)
{
	struct pollfd pfd[2];
	pthread_attr_t attr;
	int	fd;

	(void)arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, MSERV_STACK);
	pfd[0].fd = mserv_fd;
	pfd[1].fd = mserv_wake[0];
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll on the milter socket");
			break;
		}
		if (pfd[1].revents)
			break;
		if ((fd = accept4(mserv_fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOMEM || errno == ENOBUFS) {
				log_warn("accept on the milter socket");
				usleep(100000);
			}
			continue;
		}
		mserv_spawn(fd, &attr);
	}
	pthread_attr_destroy(&attr);
	return (NULL);
}

int
mserv_start(const struct mp_filter *mf, int (*max_conns)(void))
{
	sigset_t set, old;
	int	rc;

	if (mserv_fd == -1 || pipe2(mserv_wake, O_CLOEXEC) == -1)
		return (-1);
	mserv_filter = mf;
	mserv_max = max_conns;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&mserv_thread, NULL, mserv_accept, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (rc == 0 ? 0 : -1);
}

void
mserv_stop(int wait_seconds)
{
	struct mserv_conn *sc;
	struct timespec until;

	if (mserv_wake[1] != -1) {
		while (write(mserv_wake[1], "x", 1) == -1 && errno == EINTR)
			;
		pthread_join(mserv_thread, NULL);
	}
	if (mserv_fd != -1)
		close(mserv_fd);
	mserv_fd = -1;
	if (mserv_path[0] != '\0')
		(void)unlink(mserv_path);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_seconds;
	pthread_mutex_lock(&mserv_lock);
	mserv_stopping = 1;		/* idle threads end */
	pthread_cond_broadcast(&mserv_handoff);
	for (sc = mserv_conns; sc != NULL; sc = sc->sc_next)
		(void)shutdown(sc->sc_fd, SHUT_RDWR);
	while ((mserv_nconns > 0 || mserv_nthreads > 0) &&
	    pthread_cond_timedwait(&mserv_gone, &mserv_lock, &until) == 0)
		;
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
