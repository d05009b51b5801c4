/*
 * NAME
 *	main - egress-milter: start, check, drop privileges, serve
 * SYNOPSIS
 *	egress-milter [-fnVd] [-c FILE]
 * DESCRIPTION
 *	Loads and validates the configuration and every key (as root), opens
 *	the milter socket, drops to the configured unprivileged user (each
 *	set*id call checked, and checked again afterwards), detaches unless
 *	-f, and serves until SIGTERM or SIGINT, which let messages in flight
 *	finish (see mlfi_stop()). SIGHUP loads the configuration again and
 *	installs it only if it is valid; a bad file is logged with file:line
 *	and the running configuration stays. -n checks the configuration and
 *	keys and exits: 0 if usable, 1 with file:line and the setting.
 *
 *	Signals reach the main thread through a self-pipe: the handlers only
 *	write the signal number, and the main loop acts on it.
 * OWNERSHIP
 *	The loaded config becomes the current snapshot (cfg_install()).
 * DIAGNOSTICS
 *	Startup problems exit with status 1 and one line naming the cause.
 * SEE ALSO
 *	egress-milter(8), egress-milter.conf(5), cfg(3), mlfi(3)
 */
#include "config.h"

#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cidr.h"
#include "log.h"
#include "dns.h"
#include "metrics.h"
#include "sandbox.h"
#include "mlfi.h"
#include "rl.h"
#include "rl_mem.h"
#include "txn.h"

#define MAIN_DEFAULT_CONFIG SYSCONFDIR "/egress-milter/egress-milter.conf"

static void main_usage(void) __attribute__((noreturn));

static int main_sigpipe[2];
static struct rl *main_rl;		/* limiter counters: outlive reloads */
static struct metrics_http *main_metrics;

/* main_usage - the synopsis, on stderr */

static void
main_usage(void)
{
	fprintf(stderr, "usage: egress-milter [-fnVd] [-c FILE]\n"
	    "  -c FILE  configuration (default %s)\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -n       check the configuration and keys, then exit\n"
	    "  -d       log debug lines\n"
	    "  -V       print the version and exit\n", MAIN_DEFAULT_CONFIG);
	exit(2);
}

/* main_drop_privileges - become the configured user, for good */

static void
main_drop_privileges(const struct cfg *cf)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	if (geteuid() != 0) {
		log_info("not started as root: keeping uid %lu",
		    (unsigned long)geteuid());
		return;
	}
	if (cf->cf_uid == 0)
		log_fatalx("%s: milter.user \"%s\" is root: refusing to run as "
		    "root after setup", cf->cf_path, cf->cf_user);
	if (cf->cf_gid == 0)
		log_fatalx("%s: milter.user \"%s\" has group root (gid 0): "
		    "refusing to run with the root group after setup",
		    cf->cf_path, cf->cf_user);
	if (setgroups(1, &cf->cf_gid) == -1)
		log_fatal("setgroups");
	if (setresgid(cf->cf_gid, cf->cf_gid, cf->cf_gid) == -1)
		log_fatal("setresgid(%lu)", (unsigned long)cf->cf_gid);
	if (setresuid(cf->cf_uid, cf->cf_uid, cf->cf_uid) == -1)
		log_fatal("setresuid(%lu)", (unsigned long)cf->cf_uid);
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != cf->cf_uid || euid != cf->cf_uid || suid != cf->cf_uid ||
	    rgid != cf->cf_gid || egid != cf->cf_gid || sgid != cf->cf_gid)
		log_fatalx("privileges were not dropped completely");
	if (setuid(0) != -1)
		log_fatalx("could regain root after dropping privileges");
}

/* main_check_report - what -n found */

static void
main_check_report(const struct cfg *cf)
{
	size_t	i, j, ndom = 0, nkeys = 0;

	for (i = 0; i < cf->cf_tenants.n; i++) {
		const struct cfg_tenant *t = CFG_TENANT(cf, i);

		ndom += t->ct_domains.n;
		for (j = 0; j < t->ct_domains.n; j++)
			nkeys += CFG_DOMAIN(t, j)->cd_keys.n;
	}
	printf("%s: ok: %zu tenant(s), %zu domain(s), %zu key(s)%s\n",
	    cf->cf_path, cf->cf_tenants.n, ndom, nkeys,
	    cf->cf_provider.cd_name ? ", provider signature" : "");
}

/*
 * main_secret_exposed - warn when a config holding the Redis password is
 * readable by every local user (the packages install it 0640)
 */
static void
main_secret_exposed(const struct cfg *cf)
{
	struct stat st;

	if (cf->cf_redis_password == NULL || cf->cf_redis_password[0] == '\0' ||
	    stat(cf->cf_path, &st) == -1 || (st.st_mode & S_IROTH) == 0)
		return;
	log_warnx("%s has mode %04o and holds ratelimit.redis.password: every "
	    "local user can read it; make it 0640, group of milter.user",
	    cf->cf_path, (unsigned)(st.st_mode & 07777));
}

/* main_on_signal - async-signal-safe: hand the number to the main loop */

static void
main_on_signal(int sig)
{
	unsigned char ch = (unsigned char)sig;
	int	saved = errno;

	(void)!write(main_sigpipe[1], &ch, 1);
	errno = saved;
}

/*
 * main_resolver_timeout - bound libspf2's lookups by the DNS budget
 *
 * libspf2 resolves through glibc with each thread's own resolver state,
 * made on first use from resolv.conf and RES_OPTIONS; without this a
 * silent server costs glibc's defaults (5 s times 2 attempts per server).
 * An admin's own RES_OPTIONS wins. Set before any thread resolves.
 */

static void
main_resolver_timeout(const struct cfg *cf)
{
	char	opts[64];

	snprintf(opts, sizeof(opts), "timeout:%d attempts:1",
	    (cf->cf_dns_timeout_ms + 999) / 1000);
	if (setenv("RES_OPTIONS", opts, 0) == -1)
		log_warn("setenv RES_OPTIONS");
}

/* main_signals - route SIGTERM, SIGINT and SIGHUP to the self-pipe */

static void
main_signals(void)
{
	struct sigaction sa;

	if (pipe2(main_sigpipe, O_CLOEXEC) == -1 ||
	    fcntl(main_sigpipe[1], F_SETFL, O_NONBLOCK) == -1)
		log_fatal("pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		log_fatal("sigaction");
	signal(SIGPIPE, SIG_IGN);
}

/* main_gauges - what the current snapshot says at scrape time */

static void
main_gauges(struct metrics_buf *b)
{
	struct cfg *cf = cfg_acquire();
	struct rl_mem_stats ms;
	unsigned long hits = 0, misses = 0;
	size_t	entries = 0;

	if (cf == NULL)
		return;
	if (cf->cf_dns != NULL)
		dns_cache_stats(cf->cf_dns, &hits, &misses, &entries);
	metrics_printf(b, "# HELP egress_dns_cache_lookups_total DNS lookups "
	    "by the TXT cache (since the last reload)\n# TYPE "
	    "egress_dns_cache_lookups_total counter\n"
	    "egress_dns_cache_lookups_total{result=\"hit\"} %lu\n"
	    "egress_dns_cache_lookups_total{result=\"miss\"} %lu\n"
	    "# HELP egress_dns_cache_entries DNS answers cached\n# TYPE "
	    "egress_dns_cache_entries gauge\negress_dns_cache_entries %zu\n",
	    hits, misses, entries);
	if (cf->cf_rl_shared != NULL)
		metrics_printf(b, "# HELP egress_redis_up 1 when the rate-limit "
		    "Redis answered last time\n# TYPE egress_redis_up gauge\n"
		    "egress_redis_up %d\n",
		    cf->cf_rl_shared->rb_up(cf->cf_rl_shared->rb_state));
	metrics_printf(b, "# HELP egress_messages_in_flight Messages between "
	    "MAIL FROM and their end\n# TYPE egress_messages_in_flight gauge\n"
	    "egress_messages_in_flight %lu\n", txn_active());
	rl_mem_stats(rl_local(main_rl), &ms);
	metrics_printf(b, "# HELP egress_ratelimit_keys Rate-limit buckets "
	    "held in memory (at most ratelimit.max_keys)\n# TYPE "
	    "egress_ratelimit_keys gauge\negress_ratelimit_keys %zu\n"
	    "# HELP egress_ratelimit_memory_bytes Memory of the rate-limit "
	    "tables\n# TYPE egress_ratelimit_memory_bytes gauge\n"
	    "egress_ratelimit_memory_bytes %zu\n"
	    "# HELP egress_ratelimit_evictions_total Buckets forgotten before "
	    "they were full, at ratelimit.max_keys (they come back full)\n"
	    "# TYPE egress_ratelimit_evictions_total counter\n"
	    "egress_ratelimit_evictions_total %llu\n", ms.ms_keys, ms.ms_bytes,
	    (unsigned long long)ms.ms_evicted);
	cfg_release(cf);
}

/* main_metrics_allow - may this address read /metrics (metrics.allow) */

static int
main_metrics_allow(const struct sockaddr *sa)
{
	struct cfg *cf = cfg_acquire();
	int	ok;

	if (cf == NULL)
		return (0);
	ok = cidr_match_list(cf->cf_metrics_allow.v, cf->cf_metrics_allow.n,
	    sa);
	cfg_release(cf);
	return (ok);
}

/* main_loopback_net - a network inside 127.0.0.0/8 or ::1 */

static int
main_loopback_net(const struct cidr *n)
{
	struct in6_addr a6;

	if (n->family == AF_INET)
		return (n->addr[0] == 127 && n->prefix >= 8);
	memcpy(&a6, n->addr, sizeof(a6));
	return (n->prefix == 128 && IN6_IS_ADDR_LOOPBACK(&a6));
}

/*
 * main_metrics_reach - warn when metrics.listen is not on loopback but
 * metrics.allow admits loopback clients only: every scrape is refused
 */
static void
main_metrics_reach(const struct cfg *cf)
{
	const char *l = cf->cf_metrics_listen;
	size_t	i;

	if (l == NULL || strncmp(l, "127.", 4) == 0 ||
	    strncmp(l, "[::1]:", 6) == 0)
		return;
	for (i = 0; i < cf->cf_metrics_allow.n; i++)
		if (!main_loopback_net(&cf->cf_metrics_allow.v[i]))
			return;
	log_warnx("metrics.listen %s is not a loopback address, but "
	    "metrics.allow admits loopback clients only: other scrapers are "
	    "refused (name them in metrics.allow)", l);
}

/* main_reload - a new snapshot if the file is valid, else keep the old */

static void
main_reload(const char *path)
{
	char	err[CFG_ERRLEN];
	struct cfg *cf, *old;

	if ((cf = cfg_load(path, CFG_LOAD_KEYS, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the running configuration: %s",
		    err);
		return;
	}
	main_secret_exposed(cf);
	main_metrics_reach(cf);
	old = cfg_acquire();
	if (old != NULL && (strcmp(old->cf_socket, cf->cf_socket) != 0 ||
	    strcmp(old->cf_user, cf->cf_user) != 0 ||
	    (old->cf_metrics_listen == NULL) != (cf->cf_metrics_listen == NULL) ||
	    (old->cf_metrics_listen && strcmp(old->cf_metrics_listen,
	    cf->cf_metrics_listen) != 0) ||
	    old->cf_rl_max_keys != cf->cf_rl_max_keys ||
	    old->cf_sandbox != cf->cf_sandbox))
		log_warnx("reload: milter.socket, milter.user, milter.sandbox, "
		    "metrics.listen and ratelimit.max_keys changes take effect "
		    "at the next restart");
	cfg_release(old);
	log_set_debug(cf->cf_debug);
	rl_attach(main_rl, cf);
	cfg_install(cf);
	log_info("reloaded %s: %zu tenant(s)", path, cf->cf_tenants.n);
}

/* main_loop - act on signals until told to stop */

static void
main_loop(const char *path)
{
	unsigned char sig;
	ssize_t	n;

	for (;;) {
		n = read(main_sigpipe[0], &sig, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n != 1 || sig != SIGHUP)
			return;
		main_reload(path);
	}
}

int
main(int argc, char **argv)
{
	const char *path = MAIN_DEFAULT_CONFIG;
	char	err[CFG_ERRLEN], ver[32];
	int	ch, foreground = 0, check = 0, debug = 0, timeout;
	struct cfg *cf;

	while ((ch = getopt(argc, argv, "c:dfnVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = foreground = 1;
			break;
		case 'V':
			printf("egress-milter %s (%s)\n",
			    PACKAGE_VERSION, mlfi_libversion(ver, sizeof(ver)));
			return (0);
		default:
			main_usage();
		}
	}
	if (optind != argc)
		main_usage();
	log_init("egress-milter", foreground, debug);
	if ((cf = cfg_load(path, CFG_LOAD_KEYS, err, sizeof(err))) == NULL)
		log_fatalx("%s", err);
	main_secret_exposed(cf);
	if (cf->cf_sandbox && sandbox_available() == SANDBOX_NONE)
		log_warnx("%s: milter.sandbox: this build has no libseccomp "
		    "(configured --without-seccomp): running without the "
		    "system call filter", cf->cf_path);
	main_metrics_reach(cf);
	if (check) {
		main_check_report(cf);
		cfg_free(cf);
		return (0);
	}
	log_set_debug(debug || cf->cf_debug);
	main_resolver_timeout(cf);
	if ((main_rl = rl_new((size_t)cf->cf_rl_max_keys)) == NULL)
		log_fatalx("out of memory for the rate limiter");
	rl_attach(main_rl, cf);
	cfg_install(cf);
	if (mlfi_open(cf, err, sizeof(err)) == -1)
		log_fatalx("%s", err);
	metrics_set_gauges(main_gauges);
	if (cf->cf_metrics_listen != NULL && (main_metrics =
	    metrics_http_open(cf->cf_metrics_listen, main_metrics_allow, err,
	    sizeof(err))) == NULL)
		log_fatalx("%s", err);
	main_drop_privileges(cf);
	if (!foreground && daemon(0, 0) == -1)
		log_fatal("daemon");
	if (cf->cf_sandbox && sandbox_available() != SANDBOX_NONE &&
	    sandbox_enter(err, sizeof(err)) == -1)
		log_fatalx("%s", err);
	/* threads only now: none would survive daemon()'s fork */
	if (main_metrics != NULL && metrics_http_start(main_metrics, err,
	    sizeof(err)) == -1)
		log_fatalx("%s", err);
	main_signals();
	if (mlfi_start() == -1)
		log_fatalx("cannot start the milter thread");
	log_info("started: %s, socket %s, %zu tenant(s)", cf->cf_path,
	    cf->cf_socket, cf->cf_tenants.n);
	main_loop(path);
	cf = cfg_acquire();
	timeout = cf->cf_shutdown_timeout;
	cfg_release(cf);
	timeout = mlfi_stop(timeout) == 0 ? 0 : 1;
	metrics_http_stop(main_metrics);
	return (timeout);
}
