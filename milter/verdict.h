#ifndef VERDICT_H
#define VERDICT_H

/*
 * What a module decided about the current message. mlfi.c is the one
 * place that maps a verdict (and the reply text kept in the txn) to a
 * libmilter status.
 */
enum verdict {
	VERDICT_CONTINUE = 0,	/* go on with the next step */
	VERDICT_PASS,		/* not ours (inbound): accept untouched */
	VERDICT_TEMPFAIL,	/* 4xx: the client keeps it and retries */
	VERDICT_REJECT		/* 5xx with a reason */
};

#endif
