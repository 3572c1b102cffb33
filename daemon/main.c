// SPDX-License-Identifier: MIT
/*
 * ugpud: the daemon. Parses the command line and config file, opens the
 * device through the driver core, serves it through a FUSE mount or a
 * CUSE device on one libevent loop, talks to systemd (READY, STATUS,
 * WATCHDOG, STOPPING), reloads limits on SIGHUP and drains on SIGTERM.
 * Setup is checked step by step and torn down in reverse.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "front/front.h"
#include "gpu/gpu.h"

#define DEFAULT_MOUNT	"/run/ugpu"
#define DEFAULT_CUSE	"ugpu0"
#define DRAIN_SECONDS	5

enum { LOG_ERR_ = 3, LOG_WARNING_ = 4, LOG_INFO_ = 6, LOG_DEBUG_ = 7 };

struct daemon {
	struct event_base *base;
	struct gpu *gpu;
	struct front *front;
	struct event *ev_term, *ev_int, *ev_hup, *ev_watchdog, *ev_drain;
	struct gpu_config cfg;
	const char *mount;		/* FUSE mount point, or NULL */
	const char *cuse;		/* CUSE device name, or NULL */
	const char *config_file;	/* from argv */
	char backend_buf[256], mount_buf[PATH_MAX], cuse_buf[64];
	struct front_opts fopts;
	int log_level;
	bool journal;			/* stderr goes to the journal */
	int drain_ticks;
	unsigned int cli_limits;	/* bit n: max-* option n came from the command line */
	struct gpu_limits cli;		/* their values */
};

static struct daemon d = { .log_level = LOG_INFO_ };

static void logmsg(int level, const char *fmt, ...)
{
	static const char *const names[] = { [3] = "error", [4] = "warning",
					     [6] = "info", [7] = "debug" };
	char buf[512];
	va_list ap;

	if (level > d.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line; the journal reads "<N>" as the priority. */
	if (d.journal)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else
		fprintf(stderr, "ugpud: %s: %s\n", names[level], buf);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: ugpud [OPTION]...\n"
"Share one GPU between client processes (libugpu) through a device file.\n"
"\n"
"  --backend SPEC        device: sim (default, a software GPU); edu:<BDF>\n"
"                        (QEMU's edu PCI device through VFIO); vfio:<BDF>\n"
"                        picks the backend by the device's PCI id (edu only,\n"
"                        so far: no GPU family backend exists yet)\n"
"  --mount DIR           serve through a FUSE mount: DIR/card0 (default\n"
"                        " DEFAULT_MOUNT " unless /dev/cuse exists)\n"
"  --cuse NAME           serve through the CUSE device /dev/NAME (default\n"
"                        " DEFAULT_CUSE " when /dev/cuse exists)\n"
"  --foreground          run in the foreground; this is what ugpud always\n"
"                        does (it never forks: use systemd to background it)\n"
"  --log-level LEVEL     error, warning, info (default) or debug\n"
"  --config FILE         read `key = value` lines first (keys are these long\n"
"                        options without dashes; the command line wins);\n"
"                        SIGHUP rereads the max-* limits from it\n"
"  --group NAME          group owning the device file (default root)\n"
"  --mode OCTAL          permission bits of the device file (default 0666)\n"
"  --max-vms N           per-client quotas (0 = built-in default) ...\n"
"  --max-bos N\n"
"  --max-userptrs N\n"
"  --max-bound-bytes N   bytes bound (BOs and userptrs) per client\n"
"  --max-bo-bytes N      device-local BO memory per client\n"
"  --max-inflight N      jobs submitted and not completed per client\n"
"  --hang-timeout-ms N   a job running longer fails with -EIO (default 2000)\n"
"  -h, --help            show this help\n"
"\n"
"Signals: SIGTERM/SIGINT stop accepting work, wait up to %d s for jobs in\n"
"flight, cancel the rest, unmount and exit 0; SIGHUP reloads the limits.\n",
		DRAIN_SECONDS);
}

static const struct option long_opts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "mount", required_argument, NULL, 'm' },
	{ "cuse", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "config", required_argument, NULL, 'C' },
	{ "group", required_argument, NULL, 'g' },
	{ "mode", required_argument, NULL, 'M' },
	{ "max-vms", required_argument, NULL, 1 },
	{ "max-bos", required_argument, NULL, 2 },
	{ "max-userptrs", required_argument, NULL, 3 },
	{ "max-bound-bytes", required_argument, NULL, 4 },
	{ "max-bo-bytes", required_argument, NULL, 5 },
	{ "max-inflight", required_argument, NULL, 6 },
	{ "hang-timeout-ms", required_argument, NULL, 7 },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		return -EINVAL;
	return 0;
}

/* Keep a copy of @val (config lines are not kept) in @buf; *@ptr = it. */
static int set_str(char *buf, size_t len, const char **ptr, const char *val)
{
	if (strlen(val) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, val);
	*ptr = buf;
	return 0;
}

/* Apply one option; from the command line or a config file line. */
static int apply_opt(int id, const char *val, bool limits_only)
{
	struct gpu_limits *l = &d.cfg.limits;
	uint64_t v = 0;

	if (id >= 1 && id <= 7 && parse_u64(val, &v))
		return -EINVAL;
	if (limits_only && !(id >= 1 && id <= 6))
		return 0;
	switch (id) {
	case 'b': return set_str(d.backend_buf, sizeof(d.backend_buf), &d.cfg.backend, val);
	/* The last of --mount / --cuse given wins (the command line comes last). */
	case 'm':
		d.cuse = NULL;
		return set_str(d.mount_buf, sizeof(d.mount_buf), &d.mount, val);
	case 'c':
		d.mount = NULL;
		return set_str(d.cuse_buf, sizeof(d.cuse_buf), &d.cuse, val);
	case 'f': break;
	case 'l':
		if (!strcmp(val, "error")) d.log_level = LOG_ERR_;
		else if (!strcmp(val, "warning")) d.log_level = LOG_WARNING_;
		else if (!strcmp(val, "info")) d.log_level = LOG_INFO_;
		else if (!strcmp(val, "debug")) d.log_level = LOG_DEBUG_;
		else return -EINVAL;
		break;
	case 'g': {
		struct group *gr = getgrnam(val);

		if (!gr)
			return -ENOENT;
		d.fopts.gid = gr->gr_gid;
		break;
	}
	case 'M': {
		char *end;
		unsigned long m = strtoul(val, &end, 8);

		if (*end || m > 07777)
			return -EINVAL;
		d.fopts.mode = m;
		break;
	}
	case 1: l->max_vms = v; break;
	case 2: l->max_bos = v; break;
	case 3: l->max_userptrs = v; break;
	case 4: l->max_bound_bytes = v; break;
	case 5: l->max_bo_bytes = v; break;
	case 6: l->max_inflight = v; break;
	case 7: d.cfg.hang_timeout_ns = v * 1000000ull; break;
	default: return -EINVAL;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int read_config(const char *path, bool limits_only)
{
	char line[512];
	int lineno = 0, ret = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		logmsg(LOG_ERR_, "config %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key = trim(line), *val = strchr(key, '=');
		const struct option *o;

		lineno++;
		if (!*key || *key == '#')
			continue;
		if (!val) {
			logmsg(LOG_ERR_, "%s:%d: expected key = value", path, lineno);
			ret = -EINVAL;
			continue;
		}
		*val++ = '\0';
		key = trim(key);
		val = trim(val);
		for (o = long_opts; o->name && strcmp(o->name, key); o++)
			;
		if (!o->name || o->val == 'C' || o->val == 'h' ||
		    apply_opt(o->val, val, limits_only)) {
			logmsg(LOG_ERR_, "%s:%d: bad setting '%s'", path, lineno, key);
			ret = -EINVAL;
		}
	}
	fclose(f);
	return ret;
}

static void notify_status(void)
{
	struct ugpu_stats st;

	gpu_get_stats(d.gpu, &st);
	sd_notifyf(0, "STATUS=%llu clients, %llu jobs submitted, %llu invalidations",
		   (unsigned long long)st.clients, (unsigned long long)st.jobs_submitted,
		   (unsigned long long)st.invalidations);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
	notify_status();
}

static void finish(void)
{
	logmsg(LOG_INFO_, "stopping");
	event_base_loopexit(d.base, NULL);
}

/*
 * SIGTERM: every 100 ms, see whether the jobs in flight are done. After
 * DRAIN_SECONDS cancel what is left, and give the device a second more
 * to report the cancellations, so that waiting clients get a result
 * (-ECANCELED) rather than a vanished device.
 */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	d.drain_ticks++;
	if (gpu_busy_jobs(d.gpu) && d.drain_ticks == DRAIN_SECONDS * 10) {
		logmsg(LOG_WARNING_, "cancelling %llu jobs still in flight",
		       (unsigned long long)gpu_busy_jobs(d.gpu));
		gpu_cancel_all(d.gpu);
	}
	if (gpu_busy_jobs(d.gpu) && d.drain_ticks < (DRAIN_SECONDS + 1) * 10)
		return;
	event_del(d.ev_drain);
	finish();
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tick = { 0, 100000 };

	if (d.ev_drain) {
		finish();	/* a second signal: stop now */
		return;
	}
	sd_notify(0, "STOPPING=1");
	logmsg(LOG_INFO_, "signal %d: draining", (int)sig);
	gpu_stop_accepting(d.gpu);
	d.ev_drain = event_new(d.base, -1, EV_PERSIST, on_drain, NULL);
	if (!d.ev_drain || event_add(d.ev_drain, &tick))
		finish();
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gpu_limits old;

	if (!d.config_file) {
		logmsg(LOG_INFO_, "SIGHUP: no --config file, limits unchanged");
		return;
	}
	old = d.cfg.limits;
	memset(&d.cfg.limits, 0, sizeof(d.cfg.limits));
	if (read_config(d.config_file, true)) {
		d.cfg.limits = old;
		logmsg(LOG_WARNING_, "SIGHUP: config has errors, limits unchanged");
		return;
	}
	/* The command line still wins over the file. */
	if (d.cli_limits & (1u << 1)) d.cfg.limits.max_vms = d.cli.max_vms;
	if (d.cli_limits & (1u << 2)) d.cfg.limits.max_bos = d.cli.max_bos;
	if (d.cli_limits & (1u << 3)) d.cfg.limits.max_userptrs = d.cli.max_userptrs;
	if (d.cli_limits & (1u << 4)) d.cfg.limits.max_bound_bytes = d.cli.max_bound_bytes;
	if (d.cli_limits & (1u << 5)) d.cfg.limits.max_bo_bytes = d.cli.max_bo_bytes;
	if (d.cli_limits & (1u << 6)) d.cfg.limits.max_inflight = d.cli.max_inflight;
	gpu_set_limits(d.gpu, &d.cfg.limits);
	logmsg(LOG_INFO_, "SIGHUP: limits reloaded");
}

static void on_ended(void *core)
{
	logmsg(LOG_WARNING_, "the kernel ended the FUSE session");
	finish();
}

static int start_front(void)
{
	static struct front_ops ops;
	int ret;

	ops = gpu_front_ops;
	ops.ended = on_ended;
	if (!d.mount && !d.cuse) {
		if (access("/dev/cuse", F_OK) == 0)
			d.cuse = DEFAULT_CUSE;
		else
			d.mount = DEFAULT_MOUNT;
	}
	if (d.cuse) {
		ret = front_cuse_start(d.base, d.cuse, &d.fopts, &ops, d.gpu, &d.front);
		if (ret)
			logmsg(LOG_ERR_, "cuse /dev/%s: %s", d.cuse, strerror(-ret));
		else
			logmsg(LOG_INFO_, "serving /dev/%s", d.cuse);
		return ret;
	}
	if (mkdir(d.mount, 0755) < 0 && errno != EEXIST) {
		logmsg(LOG_ERR_, "mkdir %s: %s", d.mount, strerror(errno));
		return -errno;
	}
	ret = front_fuse_start(d.base, d.mount, &d.fopts, &ops, d.gpu, &d.front);
	if (ret)
		logmsg(LOG_ERR_, "mount %s: %s", d.mount, strerror(-ret));
	else
		logmsg(LOG_INFO_, "serving %s/card0", d.mount);
	return ret;
}

static struct event *add_signal(int sig, event_callback_fn fn)
{
	struct event *ev = evsignal_new(d.base, sig, fn, NULL);

	if (ev && event_add(ev, NULL)) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

/* --config FILE or --config=FILE on the command line, or NULL. */
static const char *find_config(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

/* The config file first, then the command line, which overrides it. */
static int parse_args(int argc, char **argv)
{
	int c, ret, transports = 0;

	d.config_file = find_config(argc, argv);
	if (d.config_file && read_config(d.config_file, false))
		return -EINVAL;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?') {
			usage(stderr);
			return -EINVAL;
		}
		if (c == 'C')
			continue;	/* read above */
		transports += c == 'm' || c == 'c';
		ret = apply_opt(c, optarg, false);
		if (!ret && c >= 1 && c <= 6)
			d.cli_limits |= 1u << c;
		if (ret) {
			fprintf(stderr, "ugpud: bad value for an option: '%s'\n", optarg);
			return ret;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ugpud: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (transports > 1) {
		fprintf(stderr, "ugpud: --mount and --cuse exclude each other\n");
		return -EINVAL;
	}
	d.cli = d.cfg.limits;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t wd_usec = 0;
	int ret = 1;

	d.journal = getenv("JOURNAL_STREAM") != NULL;
	if (parse_args(argc, argv))
		return 2;
	signal(SIGPIPE, SIG_IGN);

	d.base = event_base_new();
	if (!d.base) {
		logmsg(LOG_ERR_, "cannot create the event loop");
		return 1;
	}
	d.ev_term = add_signal(SIGTERM, on_term);
	d.ev_int = add_signal(SIGINT, on_term);
	d.ev_hup = add_signal(SIGHUP, on_hup);
	if (!d.ev_term || !d.ev_int || !d.ev_hup)
		goto err_signals;

	ret = gpu_create(d.base, &d.cfg, &d.gpu);
	if (ret) {
		logmsg(LOG_ERR_, "device %s: %s", d.cfg.backend ? d.cfg.backend : "sim",
		       strerror(-ret));
		ret = 1;
		goto err_signals;
	}
	if (start_front()) {
		ret = 1;
		goto err_gpu;
	}
	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		struct timeval tv = { wd_usec / 2000000, (wd_usec / 2) % 1000000 };

		d.ev_watchdog = event_new(d.base, -1, EV_PERSIST, on_watchdog, NULL);
		if (d.ev_watchdog)
			event_add(d.ev_watchdog, &tv);
	}
	sd_notify(0, "READY=1");
	notify_status();

	event_base_dispatch(d.base);
	ret = 0;

	if (d.ev_watchdog)
		event_free(d.ev_watchdog);
	if (d.ev_drain)
		event_free(d.ev_drain);
	front_stop(d.front);
err_gpu:
	gpu_destroy(d.gpu);
err_signals:
	if (d.ev_hup)
		event_free(d.ev_hup);
	if (d.ev_int)
		event_free(d.ev_int);
	if (d.ev_term)
		event_free(d.ev_term);
	event_base_free(d.base);
	return ret;
}
