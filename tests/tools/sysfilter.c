/*
 * sysfilter - run a command under an allow-list system call filter, the
 * way systemd applies a unit's SystemCallFilter=
 *
 *	sysfilter NAMES-FILE COMMAND [ARG]...
 *
 * NAMES-FILE lists the allowed system calls, separated by white space
 * ("#" to the end of a line is a comment; groups must be expanded by the
 * caller, see tests/cli/sysfilter.sh). Every other call of the native
 * ABI kills the process (SIGSYS), as does any call of another ABI
 * (SystemCallArchitectures=native); no_new_privs is set, as
 * NoNewPrivileges=yes does. Names this architecture lacks are skipped.
 * Then COMMAND is executed. A test tool: tests/cli/sysfilter.sh runs the
 * daemon under the filter its systemd unit declares, which the test
 * machine (no systemd as PID 1) cannot apply itself.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

int
main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	char	line[4096], *p, *name;
	FILE   *fp;
	int	nr, n = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: sysfilter NAMES-FILE COMMAND [ARG]...\n");
		return (2);
	}
	if ((fp = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return (2);
	}
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0) {
		fprintf(stderr, "sysfilter: seccomp_init failed\n");
		return (2);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; (name = strtok(p, " \t\r\n")) != NULL; p = NULL) {
			if ((nr = seccomp_syscall_resolve_name(name)) ==
			    __NR_SCMP_ERROR)
				continue;
			if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
				fprintf(stderr, "sysfilter: cannot allow %s\n",
				    name);
				return (2);
			}
			n++;
		}
	}
	fclose(fp);
	if (n == 0) {
		fprintf(stderr, "sysfilter: %s allows nothing\n", argv[1]);
		return (2);
	}
	if (seccomp_load(ctx) < 0) {
		fprintf(stderr, "sysfilter: the kernel refused the filter\n");
		return (2);
	}
	seccomp_release(ctx);
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return (127);
}
