/*
 * NAME
 *	sandbox - a system call filter for the running daemon (seccomp)
 * SYNOPSIS
 *	#include "sandbox.h"
 *
 *	int	sandbox_enter(char *err, size_t errlen);
 *	int	sandbox_available(void);
 * DESCRIPTION
 *	sandbox_enter() installs a seccomp filter on every thread of the
 *	process and sets no_new_privs. It is called once, after the sockets
 *	are open, the privileges dropped and the process detached, before
 *	the connection threads start; a filter cannot be removed, so it
 *	holds until the process ends, across reloads.
 *
 *	It is a deny list, not an allow list: the daemon's own calls and
 *	those of the libraries it loads (OpenSSL, libopendkim, libspf2,
 *	libopendmarc, hiredis, libmicrohttpd, glibc's resolver and NSS) are
 *	left alone, and what it never does once serving is refused:
 *
 *	  - running programs: execve, execveat;
 *	  - new processes: fork, vfork, and clone without CLONE_THREAD
 *	    (threads are still made); clone3, whose flags a filter cannot
 *	    read, gets ENOSYS, and glibc then makes threads with clone;
 *	  - other processes: ptrace, process_vm_readv/writev;
 *	  - identities: the set*id calls, setgroups, capset;
 *	  - writing the file system: open, openat and creat with O_WRONLY,
 *	    O_RDWR, O_CREAT or O_TRUNC (EACCES), openat2 (ENOSYS), chmod,
 *	    chown, link, symlink, rename, mkdir, rmdir, mknod and truncate in
 *	    all their forms (unlink stays: the socket is removed at stop);
 *	  - sockets other than AF_UNIX, AF_INET and AF_INET6 (EAFNOSUPPORT,
 *	    as the systemd unit's RestrictAddressFamilies);
 *	  - the system: mount and the new mount API, chroot, pivot_root,
 *	    unshare, setns, modules, kexec, reboot, swap, acct, clocks,
 *	    host and domain names, iopl/ioperm, bpf, perf_event_open,
 *	    userfaultfd, the key ring, io_uring, open_by_handle_at.
 *
 *	Refused calls fail with EPERM unless said otherwise; nothing is
 *	killed, so a library that tries one of them gets an error it
 *	handles, and the message its outcome under on_error. System calls
 *	of another ABI (i386 through int 0x80, x32) kill the process: they
 *	would go around the filter.
 *
 *	In a build with AddressSanitizer (the test build), execve, fork,
 *	clone, ptrace and writing opens stay allowed: LeakSanitizer stops
 *	the threads from a ptrace()ing clone at exit, and the sanitizers
 *	may run a symbolizer or write their log to a file.
 *
 *	sandbox_available() says what this build installs: SANDBOX_FULL,
 *	SANDBOX_LENIENT (the AddressSanitizer build) or SANDBOX_NONE (no
 *	libseccomp).
 * DIAGNOSTICS
 *	sandbox_enter() returns -1 with a reason in err: libseccomp
 *	refused a rule, the kernel refused the filter (no seccomp), or the
 *	build has no libseccomp.
 * SEE ALSO
 *	seccomp(2), seccomp_rule_add(3), prctl(2) PR_SET_NO_NEW_PRIVS,
 *	systemd.exec(5) SystemCallFilter (the unit's own filter, applied
 *	too)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

#ifdef HAVE_SECCOMP

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>

#include <seccomp.h>

/* clone's flags are its first argument everywhere but on s390 and CRIS */
#if defined(__s390__) || defined(__CRIS__)
#define SANDBOX_CLONE_ARG	1
#else
#define SANDBOX_CLONE_ARG	0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN	1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN	0
#endif

/* refused with EPERM, whatever their arguments */
static const char *const sandbox_eperm[] = {
	"fork", "vfork", "execve", "execveat",
	"ptrace", "process_vm_readv", "process_vm_writev",
	"setuid", "setgid", "setreuid", "setregid", "setresuid",
	"setresgid", "setfsuid", "setfsgid", "setgroups", "capset",
	"chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
	"fchownat", "link", "linkat", "symlink", "symlinkat", "rename",
	"renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "mknod",
	"mknodat", "truncate", "creat",
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr",
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "reboot", "swapon", "swapoff", "acct",
	"sethostname", "setdomainname", "settimeofday", "clock_settime",
	"adjtimex", "clock_adjtime", "iopl", "ioperm",
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
	"request_key", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "open_by_handle_at", "name_to_handle_at",
};

/* what the sanitizers of the test build need (see DESCRIPTION) */
static const char *const sandbox_sanitizer[] = {
	"fork", "vfork", "execve", "execveat", "ptrace",
	"process_vm_readv", "process_vm_writev", "creat",
};

static int
sandbox_needed_by_sanitizers(const char *name)
{
	size_t	i;

	if (!SANDBOX_ASAN)
		return (0);
	for (i = 0; i < sizeof(sandbox_sanitizer) /
	    sizeof(sandbox_sanitizer[0]); i++)
		if (strcmp(sandbox_sanitizer[i], name) == 0)
			return (1);
	return (0);
}

/* sandbox_rule - one rule; a call this architecture lacks is skipped */

static int
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned int argc, const struct scmp_arg_cmp *args, char *err,
    size_t errlen)
{
	int	nr, rc;

	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return (0);
	if ((rc = seccomp_rule_add_array(ctx, action, nr, argc, args)) < 0) {
		snprintf(err, errlen, "sandbox: cannot add the rule for "
		    "%s: %s", name, strerror(-rc));
		return (-1);
	}
	return (0);
}

/* sandbox_open_rules - NAME may not open for writing; flags in arg IDX */

static int
sandbox_open_rules(scmp_filter_ctx ctx, const char *name, unsigned int idx,
    char *err, size_t errlen)
{
	static const int bits[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC };
	struct scmp_arg_cmp cmp;
	size_t	i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		cmp = SCMP_CMP(idx, SCMP_CMP_MASKED_EQ, (scmp_datum_t)bits[i],
		    (scmp_datum_t)bits[i]);
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EACCES), name, 1, &cmp,
		    err, errlen) == -1)
			return (-1);
	}
	return (0);
}

/* sandbox_socket_rules - no address family but AF_UNIX, INET, INET6 */

static int
sandbox_socket_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	struct scmp_arg_cmp cmp;
	scmp_datum_t af;

	/* AF_UNIX 1, AF_INET 2, AF_INET6 10: refuse 0, 3-9 and above 10 */
	for (af = 0; af < AF_INET6; af++) {
		if (af == AF_UNIX || af == AF_INET)
			continue;
		cmp = SCMP_CMP(0, SCMP_CMP_EQ, af, 0);
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket",
		    1, &cmp, err, errlen) == -1)
			return (-1);
	}
	cmp = SCMP_CMP(0, SCMP_CMP_GT, (scmp_datum_t)AF_INET6, 0);
	return (sandbox_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1,
	    &cmp, err, errlen));
}

/* sandbox_rules - every rule of the filter */

static int
sandbox_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	struct scmp_arg_cmp cmp;
	size_t	i;

	for (i = 0; i < sizeof(sandbox_eperm) / sizeof(sandbox_eperm[0]); i++)
		if (!sandbox_needed_by_sanitizers(sandbox_eperm[i]) &&
		    sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), sandbox_eperm[i],
		    0, NULL, err, errlen) == -1)
			return (-1);
	if (sandbox_socket_rules(ctx, err, errlen) == -1 ||
	    sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err,
	    errlen) == -1 ||
	    sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, NULL, err,
	    errlen) == -1)
		return (-1);
	if (SANDBOX_ASAN)
		return (0);
	/* clone(flags, ...) with no CLONE_THREAD: a process, not a thread */
	cmp = SCMP_CMP(SANDBOX_CLONE_ARG, SCMP_CMP_MASKED_EQ,
	    (scmp_datum_t)CLONE_THREAD, 0);
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &cmp, err,
	    errlen) == -1)
		return (-1);
	return (sandbox_open_rules(ctx, "open", 1, err, errlen) == -1 ||
	    sandbox_open_rules(ctx, "openat", 2, err, errlen) == -1 ? -1 : 0);
}

/* sandbox_threads - threads in this process (Threads: of status), or -1 */

static long
sandbox_threads(void)
{
	char	line[128];
	long	n = -1;
	FILE   *fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "Threads:", 8) == 0) {
			n = strtol(line + 8, NULL, 10);
			break;
		}
	fclose(fp);
	return (n);
}

/* sandbox_enter - install the filter on all threads */

int
sandbox_enter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int	rc;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(err, errlen, "sandbox: seccomp_init failed");
		return (-1);
	}
	/* the whole process, where the kernel can (else the thread) */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS);
	/*
	 * Without seccomp(2) (valgrind has no wrapper for it, kernels
	 * before 3.17) libseccomp loads with prctl(), which filters the
	 * calling thread only: enough before the first thread, not after.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 &&
	    (rc != -EOPNOTSUPP || sandbox_threads() != 1))
		snprintf(err, errlen, "sandbox: cannot filter every thread: "
		    "%s", strerror(-rc));
	else if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0)
		snprintf(err, errlen, "sandbox: %s", strerror(-rc));
	else if ((rc = sandbox_rules(ctx, err, errlen)) == 0 &&
	    (rc = seccomp_load(ctx)) < 0)
		snprintf(err, errlen, "sandbox: the kernel refused the system "
		    "call filter: %s (set milter.sandbox = false to run "
		    "without it)", strerror(-rc));
	seccomp_release(ctx);
	return (rc < 0 ? -1 : 0);
}

int
sandbox_available(void)
{
	return (SANDBOX_ASAN ? SANDBOX_LENIENT : SANDBOX_FULL);
}

#else /* !HAVE_SECCOMP */

int
sandbox_enter(char *err, size_t errlen)
{
	snprintf(err, errlen, "sandbox: this build has no libseccomp");
	return (-1);
}

int
sandbox_available(void)
{
	return (SANDBOX_NONE);
}

#endif
