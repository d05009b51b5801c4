/*
 * sandbox_test - the seccomp filter of sandbox.c, entered by this process
 *
 * Each refused call is made where it would succeed, or fail with another
 * error, without the filter, so that a missing rule shows: fork() would
 * make a child, setuid() to our own uid and unshare(0) succeed, mount()
 * on a missing directory fails with ENOENT for root, clone3 with a size
 * of 0 fails with EINVAL, an open for writing of our own file succeeds.
 * What the daemon needs still works: threads, reading files, AF_UNIX,
 * AF_INET and AF_INET6 sockets, unlink. A child enters the filter first
 * and makes an i386 system call, which must kill it (SIGSYS).
 *
 * The checks run in a child, so that this process can remove the files
 * afterwards (the filter refuses rmdir).
 *
 * In the AddressSanitizer build (SANDBOX_LENIENT) fork, execve, ptrace
 * and writing opens are allowed (see sandbox.c); those checks are skipped
 * there, the rest are made.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "sandbox.h"
#include "tap.h"

/* status_field - the number after NAME: in a /proc status file, or -1 */
static long
status_field(const char *path, const char *name)
{
	char	line[256];
	size_t	n = strlen(name);
	long	v = -1;
	FILE   *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return (v);
}

static void *
thread_main(void *arg)
{
	*(long *)arg = status_field("/proc/thread-self/status", "Seccomp");
	return (NULL);
}

/* refused - the call returned -1 with errno want */
static int
refused(long rc, int want)
{
	return (rc == -1 && errno == want);
}

static void
i386_call_kills(void)
{
#if defined(__x86_64__)
	char	err[256];
	pid_t	pid;
	int	st = 0;

	if ((pid = fork()) == 0) {
		long	ret;

		if (sandbox_enter(err, sizeof(err)) == -1)
			_exit(3);
		/* i386 getpid (20) through the 32-bit entry */
		__asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L) :
		    "memory");
		_exit(ret > 0 ? 0 : 4);
	}
	(void)waitpid(pid, &st, 0);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		TAP_OK(1, "# SKIP no i386 emulation in this kernel");
	else
		TAP_OK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		    "an i386 system call kills the process (SIGSYS; status "
		    "%#x)", st);
#else
	TAP_OK(1, "# SKIP the i386 check is for x86_64");
#endif
}

/* checks - enter the filter and try; the exit status for the child */
static int
checks(const char *dir, const char *path, const char *gone,
    const char *other)
{
	char	err[256] = "";
	char   *argv[] = { "/bin/true", NULL }, *envp[] = { NULL };
	pthread_t th;
	long	thread_seccomp = -1;
	int	fd, full = sandbox_available() == SANDBOX_FULL;
	pid_t	pid;

	i386_call_kills();

	TAP_OK(status_field("/proc/self/status", "Seccomp") == 0,
	    "no filter before sandbox_enter()");
	TAP_OK(sandbox_enter(err, sizeof(err)) == 0, "sandbox_enter()%s%s",
	    err[0] ? ": " : "", err);
	TAP_OK(status_field("/proc/self/status", "Seccomp") == 2,
	    "Seccomp: 2 (filter mode)");
	TAP_OK(status_field("/proc/self/status", "NoNewPrivs") == 1,
	    "NoNewPrivs: 1");

	/* what the daemon does */
	fd = pthread_create(&th, NULL, thread_main, &thread_seccomp) == 0 &&
	    pthread_join(th, NULL) == 0;
	TAP_OK(fd && thread_seccomp == 2, "threads are made, and filtered "
	    "too (Seccomp: %ld)", thread_seccomp);
	fd = open(path, O_RDONLY);
	TAP_OK(fd >= 0, "open for reading works");
	if (fd >= 0)
		close(fd);
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	TAP_OK(fd >= 0, "openat for reading works");
	if (fd >= 0)
		close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	TAP_OK(fd >= 0, "AF_UNIX socket");
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	TAP_OK(fd >= 0, "AF_INET socket");
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	TAP_OK(fd >= 0 || errno == EAFNOSUPPORT, "AF_INET6 socket (or no "
	    "IPv6 in this kernel)");
	if (fd >= 0)
		close(fd);
	TAP_OK(unlink(gone) == 0, "unlink works (the socket at stop)");

	/* refused in every build */
	TAP_OK(refused(socket(AF_NETLINK, SOCK_RAW, 0), EAFNOSUPPORT),
	    "AF_NETLINK socket refused (EAFNOSUPPORT)");
	TAP_OK(refused(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT),
	    "AF_PACKET socket refused");
	TAP_OK(refused(socket(AF_UNSPEC, SOCK_STREAM, 0), EAFNOSUPPORT),
	    "AF_UNSPEC socket refused");
	TAP_OK(refused(setuid(getuid()), EPERM), "setuid refused, even to "
	    "our own uid");
	TAP_OK(refused(syscall(SYS_setresgid, -1, -1, -1), EPERM),
	    "setresgid refused");
	TAP_OK(refused(unshare(0), EPERM), "unshare refused");
	TAP_OK(refused(mount("none", "/nonexistent-sandbox-test", "tmpfs", 0,
	    NULL), EPERM), "mount refused (EPERM, not ENOENT)");
	TAP_OK(refused(chroot("/"), EPERM), "chroot refused");
	TAP_OK(refused(syscall(SYS_clone3, NULL, 0), ENOSYS),
	    "clone3 gets ENOSYS (glibc then uses clone)");
	TAP_OK(refused(syscall(SYS_openat2, AT_FDCWD, path, NULL, 0), ENOSYS),
	    "openat2 gets ENOSYS");
	TAP_OK(refused(mkdir(other, 0700), EPERM), "mkdir refused");
	TAP_OK(refused(rmdir(dir), EPERM), "rmdir refused");
	TAP_OK(refused(rename(path, other), EPERM), "rename refused");
	TAP_OK(refused(link(path, other), EPERM), "link refused");
	TAP_OK(refused(symlink(path, other), EPERM), "symlink refused");
	TAP_OK(refused(chmod(path, 0644), EPERM), "chmod refused");
	TAP_OK(refused(chown(path, getuid(), getgid()), EPERM),
	    "chown refused");
	TAP_OK(refused(truncate(path, 0), EPERM), "truncate refused");
	TAP_OK(refused(mknod(other, S_IFIFO | 0600, 0), EPERM),
	    "mknod refused");
	TAP_OK(refused(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0),
	    EPERM), "perf_event_open refused");
	TAP_OK(refused(syscall(SYS_bpf, 0, NULL, 0), EPERM), "bpf refused");
	TAP_OK(refused(syscall(SYS_io_uring_setup, 1, NULL), EPERM),
	    "io_uring_setup refused");

	/* refused in the full filter, allowed for the sanitizers */
	if (full) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		TAP_OK(refused(pid, EPERM), "fork refused (clone without "
		    "CLONE_THREAD)");
		pid = (pid_t)syscall(SYS_fork);
		if (pid == 0)
			_exit(0);
		TAP_OK(refused(pid, EPERM), "fork system call refused");
		TAP_OK(refused(execve(argv[0], argv, envp), EPERM),
		    "execve refused");
		TAP_OK(refused(ptrace(PTRACE_ATTACH, 0x7ffffff0, NULL, NULL),
		    EPERM), "ptrace refused (EPERM, not ESRCH)");
		TAP_OK(refused(open(path, O_WRONLY), EACCES),
		    "open O_WRONLY refused (EACCES)");
		TAP_OK(refused(open(path, O_RDWR), EACCES),
		    "open O_RDWR refused");
		TAP_OK(refused(open(path, O_RDONLY | O_TRUNC), EACCES),
		    "open O_TRUNC refused");
		TAP_OK(refused(open(other, O_RDONLY | O_CREAT, 0600), EACCES),
		    "open O_CREAT refused");
		TAP_OK(refused(openat(AT_FDCWD, path, O_WRONLY | O_APPEND),
		    EACCES), "openat O_WRONLY refused");
		TAP_OK(fopen(path, "a") == NULL && errno == EACCES,
		    "fopen \"a\" refused");
		TAP_OK(refused(creat(other, 0600), EPERM), "creat refused");
	} else {
		TAP_OK(1, "# SKIP fork, execve, ptrace and writing opens are "
		    "allowed in the AddressSanitizer build");
	}
	TAP_OK(access(other, F_OK) == -1 && errno == ENOENT,
	    "nothing was created");
	return (tap_done());
}

int
main(void)
{
	char	dir[] = "/tmp/sandbox_test.XXXXXX", path[300], gone[300],
		    other[300];
	int	fd, st = 0;
	pid_t	pid;

	if (sandbox_available() == SANDBOX_NONE) {
		printf("1..0 # SKIP built without libseccomp\n");
		return (0);
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(gone, sizeof(gone), "%s/gone", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, "x\n", 2) != 2 || close(fd) == -1 ||
	    (fd = open(gone, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    close(fd) == -1) {
		perror(path);
		return (1);
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		st = checks(dir, path, gone, other);
		fflush(stdout);
		_exit(st);
	}
	if (pid == -1 || waitpid(pid, &st, 0) == -1) {
		perror("fork");
		st = 1 << 8;
	}
	(void)unlink(path);
	(void)unlink(gone);
	(void)unlink(other);
	(void)rmdir(dir);
	if (WIFSIGNALED(st)) {
		printf("Bail out! the checks died of signal %d\n",
		    WTERMSIG(st));
		return (1);
	}
	return (WEXITSTATUS(st));
}
