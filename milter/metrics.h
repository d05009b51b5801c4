#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

enum metrics_family {
	METRICS_MESSAGES,		/* tenant, outcome */
	METRICS_ROUTES,			/* pool, egress */
	METRICS_SIGNATURES,		/* alg */
	METRICS_DMARC,			/* verdict */
	METRICS_RATELIMIT,		/* limit */
	METRICS_NFAMILIES
};

struct metrics_buf {
	char	*mb_s;
	size_t	mb_len;
	size_t	mb_cap;
	int	mb_oom;
};

void	metrics_inc(int family, const char *labels);
void	metrics_observe(double seconds);
void	metrics_label(char *buf, size_t size, const char *name,
	    const char *value);
char   *metrics_render(size_t *len);
void	metrics_set_gauges(void (*fn)(struct metrics_buf *));
void	metrics_printf(struct metrics_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

struct metrics_http;
struct sockaddr;
struct metrics_http *metrics_http_open(const char *listen,
	    int (*allow)(const struct sockaddr *), char *err, size_t errlen);
int	metrics_http_start(struct metrics_http *mh, char *err, size_t errlen);
void	metrics_http_stop(struct metrics_http *mh);

#endif
