/*
 * NAME
 *	metrics - counters and a latency histogram, in Prometheus text format
 * SYNOPSIS
 *	#include "metrics.h"
 *
 *	void	metrics_inc(int family, const char *labels);
 *	void	metrics_observe(double seconds);
 *	char   *metrics_render(size_t *len);
 *	void	metrics_set_gauges(void (*fn)(struct metrics_buf *));
 *	void	metrics_printf(struct metrics_buf *b, const char *fmt, ...);
 * DESCRIPTION
 *	The process's metrics: counters of the families in metrics.h, each
 *	split by a label set given as text (name="value",...), and one
 *	histogram of the time from MAIL FROM to the end of a message.
 *	metrics_render() writes them all in the Prometheus text exposition
 *	format (0.0.4), families with their HELP and TYPE lines, then what
 *	the gauge callback adds (DNS cache, Redis state: read from the
 *	current config at scrape time).
 *
 *	Label values come from configuration names and message data; they
 *	are escaped (backslash, double quote, newline) and cut at 128 bytes
 *	by metrics_label().
 *	At most 65536 label sets are kept (found by hash); further new
 *	ones are dropped.
 * OWNERSHIP
 *	A process-wide registry behind one mutex (a scrape or a message end
 *	holds it for microseconds). metrics_render() returns a malloc()ed
 *	buffer the caller frees.
 * DIAGNOSTICS
 *	When memory runs out a sample is dropped; nothing here fails loudly.
 * SEE ALSO
 *	metrics_http(3), egress-milter(8)
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define METRICS_MAX_SERIES	65536	/* label sets kept, in all */
#define METRICS_HASH		(2 * METRICS_MAX_SERIES)	/* power of 2 */
#define METRICS_NONE		UINT32_MAX

struct metrics_series {
	int	s_family;
	char	*s_labels;
	uint64_t s_value;
	uint32_t s_next;		/* same hash chain, or METRICS_NONE */
};

static const struct {
	const char *name;
	const char *help;
} metrics_families[METRICS_NFAMILIES] = {
	{"egress_messages_total", "Messages by tenant and outcome"},
	{"egress_routes_total", "Messages by pool and egress"},
	{"egress_signatures_total", "DKIM signatures added, by algorithm"},
	{"egress_dmarc_verdicts_total", "DMARC preflight verdicts"},
	{"egress_ratelimit_hits_total",
	    "Recipients or messages refused by a rate limit"},
};

static const double metrics_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};
#define METRICS_NBOUNDS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_series *metrics_series;
static size_t metrics_nseries, metrics_cap;
static uint32_t *metrics_hash;		/* chain heads, by hash */
static uint64_t metrics_buckets[METRICS_NBOUNDS + 1];
static double metrics_sum;
static void (*metrics_gauges)(struct metrics_buf *);

/* metrics_fnv - FNV-1a of a family and its label set */

static uint32_t
metrics_fnv(int family, const char *labels)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;

	for (; *labels != '\0'; labels++)
		h = (h ^ (unsigned char)*labels) * 16777619u;
	return (h & (METRICS_HASH - 1));
}

/*
 * metrics_inc - add one to a family's counter for a label set: found by
 * a hash, so thousands of tenants cost no more than one
 */
void
metrics_inc(int family, const char *labels)
{
	struct metrics_series *s;
	uint32_t h = metrics_fnv(family, labels), i;
	size_t	cap;

	pthread_mutex_lock(&metrics_lock);
	if (metrics_hash == NULL) {
		if ((metrics_hash = malloc(METRICS_HASH *
		    sizeof(*metrics_hash))) == NULL)
			goto out;
		for (i = 0; i < METRICS_HASH; i++)
			metrics_hash[i] = METRICS_NONE;
	}
	for (i = metrics_hash[h]; i != METRICS_NONE; i = s->s_next) {
		s = &metrics_series[i];
		if (s->s_family == family && strcmp(s->s_labels, labels) == 0) {
			s->s_value++;
			goto out;
		}
	}
	if (metrics_nseries == METRICS_MAX_SERIES)
		goto out;		/* dropped: the registry is full */
	if (metrics_nseries == metrics_cap) {
		cap = metrics_cap ? metrics_cap * 2 : 64;
		if ((s = reallocarray(metrics_series, cap, sizeof(*s))) ==
		    NULL)
			goto out;
		metrics_series = s;
		metrics_cap = cap;
	}
	s = &metrics_series[metrics_nseries];
	if ((s->s_labels = strdup(labels)) != NULL) {
		s->s_family = family;
		s->s_value = 1;
		s->s_next = metrics_hash[h];
		metrics_hash[h] = (uint32_t)metrics_nseries++;
	}
out:
	pthread_mutex_unlock(&metrics_lock);
}

/* metrics_observe - one message's duration into the histogram */

void
metrics_observe(double seconds)
{
	size_t	i;

	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < METRICS_NBOUNDS && seconds > metrics_bounds[i]; i++)
		;
	metrics_buckets[i]++;
	metrics_sum += seconds;
	pthread_mutex_unlock(&metrics_lock);
}

/* metrics_label - name="value" with the value escaped and cut */

void
metrics_label(char *buf, size_t size, const char *name, const char *value)
{
	size_t	o, n = 0;

	o = (size_t)snprintf(buf, size, "%s=\"", name);
	for (; value && *value && o + 3 < size && n < 128; value++, n++) {
		if (*value == '\\' || *value == '"' || *value == '\n') {
			buf[o++] = '\\';
			buf[o++] = *value == '\n' ? 'n' : *value;
		} else if ((unsigned char)*value >= ' ')
			buf[o++] = *value;
	}
	if (o + 1 < size)
		buf[o++] = '"';
	buf[o < size ? o : size - 1] = '\0';
}

/* metrics_printf - append to a render buffer */

void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list	ap;
	char   *p;
	int	n;

	if (b->mb_oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->mb_s + b->mb_len, b->mb_cap - b->mb_len, fmt,
		    ap);
		va_end(ap);
		if (n < 0) {
			b->mb_oom = 1;
			return;
		}
		if ((size_t)n < b->mb_cap - b->mb_len)
			break;
		if ((p = realloc(b->mb_s, b->mb_cap * 2 + (size_t)n)) == NULL) {
			b->mb_oom = 1;
			return;
		}
		b->mb_s = p;
		b->mb_cap = b->mb_cap * 2 + (size_t)n;
	}
	b->mb_len += (size_t)n;
}

/* metrics_set_gauges - who adds the gauges at scrape time */

void
metrics_set_gauges(void (*fn)(struct metrics_buf *))
{
	metrics_gauges = fn;
}

/* metrics_render_histogram - the message duration histogram */

static void
metrics_render_histogram(struct metrics_buf *b)
{
	uint64_t cum = 0;
	size_t	i;

	metrics_printf(b, "# HELP egress_message_seconds Time from MAIL FROM "
	    "to the end of a message\n# TYPE egress_message_seconds "
	    "histogram\n");
	for (i = 0; i < METRICS_NBOUNDS; i++) {
		cum += metrics_buckets[i];
		metrics_printf(b, "egress_message_seconds_bucket{le=\"%g\"} "
		    "%llu\n", metrics_bounds[i], (unsigned long long)cum);
	}
	cum += metrics_buckets[METRICS_NBOUNDS];
	metrics_printf(b, "egress_message_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "egress_message_seconds_sum %.6f\negress_message_seconds_count "
	    "%llu\n", (unsigned long long)cum, metrics_sum,
	    (unsigned long long)cum);
}

/* metrics_render - every metric, Prometheus text format */

char *
metrics_render(size_t *len)
{
	struct metrics_buf b;
	size_t	i;
	int	f;

	memset(&b, 0, sizeof(b));
	if ((b.mb_s = malloc(b.mb_cap = 8192)) == NULL)
		return (NULL);
	b.mb_s[0] = '\0';
	pthread_mutex_lock(&metrics_lock);
	for (f = 0; f < METRICS_NFAMILIES; f++) {
		metrics_printf(&b, "# HELP %s %s\n# TYPE %s counter\n",
		    metrics_families[f].name, metrics_families[f].help,
		    metrics_families[f].name);
		for (i = 0; i < metrics_nseries; i++)
			if (metrics_series[i].s_family == f)
				metrics_printf(&b, "%s{%s} %llu\n",
				    metrics_families[f].name,
				    metrics_series[i].s_labels,
				    (unsigned long long)metrics_series[i].s_value);
	}
	metrics_render_histogram(&b);
	pthread_mutex_unlock(&metrics_lock);
	if (metrics_gauges != NULL)
		metrics_gauges(&b);
	if (b.mb_oom) {
		free(b.mb_s);
		return (NULL);
	}
	*len = b.mb_len;
	return (b.mb_s);
}
