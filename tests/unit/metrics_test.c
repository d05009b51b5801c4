/* metrics_test - the registry: many label sets, exact counts, rendering */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

#define NTENANTS 10000		/* more label sets than the old cap of 4096 */

int
main(void)
{
	char	labels[128], line[256], *text;
	size_t	len, i;
	int	found = 0, bad = 0;

	for (i = 0; i < NTENANTS; i++) {
		snprintf(labels, sizeof(labels), "tenant=\"t%zu\",outcome="
		    "\"accept\"", i);
		metrics_inc(METRICS_MESSAGES, labels);
		if (i % 3 == 0)
			metrics_inc(METRICS_MESSAGES, labels);
	}
	metrics_inc(METRICS_SIGNATURES, "tenant=\"t1\",outcome=\"accept\"");
	if ((text = metrics_render(&len)) == NULL) {
		printf("Bail out! metrics_render\n");
		return (1);
	}
	for (i = 0; i < NTENANTS; i++) {
		snprintf(line, sizeof(line), "egress_messages_total{tenant="
		    "\"t%zu\",outcome=\"accept\"} %d\n", i, i % 3 == 0 ? 2 : 1);
		if (strstr(text, line) != NULL)
			found++;
		else if (bad++ < 3)
			printf("# missing: %s", line);
	}
	TAP_OK(found == NTENANTS, "%d label sets of one family, each counted "
	    "exactly (%d of %d)", NTENANTS, found, NTENANTS);
	TAP_OK(strstr(text, "egress_signatures_total{tenant=\"t1\",outcome="
	    "\"accept\"} 1\n") != NULL, "the same labels in another family "
	    "are a series of their own");
	TAP_OK(strstr(text, "# TYPE egress_messages_total counter\n") != NULL,
	    "families carry their TYPE line");
	free(text);
	return (tap_done());
}
