/*
 * NAME
 *	log - logging to syslog (mail facility) or stderr
 * SYNOPSIS
 *	#include "log.h"
 *
 *	void	log_init(const char *ident, int foreground, int debug);
 *	void	log_set_debug(int debug);
 *	int	log_debug_enabled(void);
 *	void	log_info(const char *fmt, ...);
 *	void	log_warn(const char *fmt, ...);
 *	void	log_warnx(const char *fmt, ...);
 *	void	log_debug(const char *fmt, ...);
 *	void	log_fatal(const char *fmt, ...);
 *	void	log_fatalx(const char *fmt, ...);
 *	void	log_panic(const char *fmt, ...);
 *	void	log_prefixed(int prio, const char *prefix, const char *suffix,
 *		    const char *fmt, va_list ap);
 *	char   *log_escape(char *dst, size_t dstsize, const char *src,
 *		    size_t srclen);
 * DESCRIPTION
 *	The only module that calls syslog() or writes to stderr. In the
 *	foreground (-f) lines go to stderr, one write(2) per line, else to
 *	syslog with the mail facility. When stderr is journald's (systemd sets
 *	JOURNAL_STREAM), lines carry a "<priority>" prefix instead of the
 *	program name, so the journal keeps each line's severity; the unit
 *	file sets SyslogFacility=mail.
 *
 *	log_warn() and log_fatal() append strerror(errno); the *x variants do
 *	not. log_fatal*() are for startup and configuration only: they exit
 *	with status 1. log_panic() is for a broken invariant and aborts.
 *
 *	log_prefixed() writes "prefix: message suffix"; txn_log() builds on
 *	it so every per-message line starts with the queue id.
 *
 *	log_escape() copies untrusted text for logging: control characters,
 *	backslash, the double quote and 8-bit octets become \ooo (so a
 *	quoted field such as reason="..." cannot be closed from inside),
 *	and the result is cut to LOG_ESCAPE_MAX input octets with "..."
 *	appended. The result always fits dstsize, NUL included.
 * OWNERSHIP
 *	Nothing is allocated. log_escape() writes into the caller's buffer
 *	and returns it.
 * DIAGNOSTICS
 *	None; logging never fails visibly.
 * SEE ALSO
 *	syslog(3), txn(3)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int log_foreground;
static int log_debug_on;
static int log_journal;		/* stderr is connected to journald */
static const char *log_ident = "egress-milter";
static long log_pid;		/* foreground: no fork after log_init */

/* log_init - choose the destination once, at startup */

void
log_init(const char *ident, int foreground, int debug)
{
	log_ident = ident;
	log_foreground = foreground;
	log_debug_on = debug;
	log_journal = foreground && getenv("JOURNAL_STREAM") != NULL;
	log_pid = (long)getpid();
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_set_debug - change verbosity (config reload) */

void
log_set_debug(int debug)
{
	log_debug_on = debug;
}

/* log_debug_enabled - whether debug lines are written */

int
log_debug_enabled(void)
{
	return (log_debug_on);
}

/* log_emit - write one finished line */

static void
log_emit(int prio, const char *line)
{
	char	buf[2048];
	int	n;

	if (!log_foreground) {
		syslog(prio, "%s", line);
		return;
	}
	if (log_journal)	/* "<prio>" lets journald keep the severity */
		n = snprintf(buf, sizeof(buf), "<%d>%s\n", prio, line);
	else
		n = snprintf(buf, sizeof(buf), "%s[%ld]: %s\n", log_ident,
		    log_pid ? log_pid : (long)getpid(), line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1, buf[n - 1] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}

/* log_vlog - format and emit, optionally with strerror */

static void LOG_PRINTF(3, 0)
log_vlog(int prio, int with_errno, const char *fmt, va_list ap)
{
	char	line[1900];
	int	saved = errno;
	int	n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    strerror(saved));
	log_emit(prio, line);
	errno = saved;
}

#define LOG_BODY(prio, err) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vlog((prio), (err), fmt, ap);		\
	va_end(ap);					\
} while (0)

/* log_info - lifecycle events and the per-message summary */

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, 0);
}

/* log_warn - runtime problem, with errno */

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 1);
}

/* log_warnx - runtime problem */

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 0);
}

/* log_debug - verbose detail, when enabled */

void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on)
		return;
	LOG_BODY(LOG_DEBUG, 0);
}

/* log_fatal - startup failure with errno; exits */

void
log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, 1);
	exit(1);
}

/* log_fatalx - startup failure; exits */

void
log_fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, 0);
	exit(1);
}

/* log_panic - broken invariant; aborts for a core */

void
log_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	abort();
}

/* log_prefixed - one line with a prefix and suffix */

void
log_prefixed(int prio, const char *prefix, const char *suffix,
    const char *fmt, va_list ap)
{
	char	body[1700], line[1900];

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	if (vsnprintf(body, sizeof(body), fmt, ap) < 0)
		return;
	snprintf(line, sizeof(line), "%s: %s%s%s", prefix, body,
	    suffix[0] ? " " : "", suffix);
	log_emit(prio, line);
}

/* log_escape - make untrusted text safe and short for a log line */

char *
log_escape(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	size_t	i, o = 0, shown = 0;

	if (dstsize == 0)
		return (dst);
	for (i = 0; i < srclen && shown < LOG_ESCAPE_MAX; i++, shown++) {
		unsigned char ch = (unsigned char)src[i];

		if (o + 5 >= dstsize)
			break;
		if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '"') {
			snprintf(dst + o, dstsize - o, "\\%03o", ch);
			o += 4;
		} else
			dst[o++] = (char)ch;
	}
	if (i < srclen && o + 4 < dstsize) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return (dst);
}
