#ifndef DNS_INT_H
#define DNS_INT_H

/*
 * Inside dns(3): the reply parser, for tests and the fuzz harness
 * (tests/fuzz/fuzz_dns.c). Nothing else in the milter calls it.
 */
#include "dns.h"

int	dns_parse_reply(const unsigned char *msg, int len, const char *key,
	    struct dns_answer *ans);

#endif
