#ifndef TENANT_H
#define TENANT_H

#include <sys/socket.h>

struct cfg;
struct cfg_domain;
struct cfg_tenant;

const struct cfg_tenant *tenant_by_login(const struct cfg *cf,
	    const char *login);
const struct cfg_tenant *tenant_by_addr(const struct cfg *cf,
	    const struct sockaddr *sa);
const struct cfg_domain *tenant_domain_owner(const struct cfg *cf,
	    const char *domain);

#endif
