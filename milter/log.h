#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

#define LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))

void	log_init(const char *ident, int foreground, int debug);
void	log_set_debug(int debug);
int	log_debug_enabled(void);
void	log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void	log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void	log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void	log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void	log_fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void	log_fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void	log_panic(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void	log_prefixed(int prio, const char *prefix, const char *suffix,
	    const char *fmt, va_list ap) LOG_PRINTF(4, 0);
char   *log_escape(char *dst, size_t dstsize, const char *src, size_t srclen);

#define LOG_ESCAPE_MAX	200	/* longest untrusted string we log */

#endif
