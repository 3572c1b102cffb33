// SPDX-License-Identifier: MIT
/*
 * ugpuctl: what an operator asks ugpud first — who is using the GPU, how
 * much memory, how many jobs, invalidations and retries. Parses the
 * command line (global options, a command, its options), runs the
 * one-shot commands (status, clients, vms) and hands `top` to top.c.
 * Exit status: 0 done, 1 the daemon could not be read, 2 bad usage.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "json.h"
#include "show.h"
#include "ugpuctl.h"

#define DEFAULT_INTERVAL_MS	1000
#define MAX_INTERVAL_MS		3600000

struct opts {
	const char *device;
	const char *cmd;
	bool json;
	unsigned int interval_ms;
	unsigned long count;		/* top: 0 = no end */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: ugpuctl [--device PATH] COMMAND [OPTION]...\n"
"Show what ugpud is doing: who uses the GPU, how much memory is bound,\n"
"jobs, invalidations and exec retries.\n"
"\n"
"Commands:\n"
"  status [--json]   device-wide counters. --json prints one JSON object\n"
"                    with every field the daemon gives (at least clients,\n"
"                    vms, bos, userptrs, bound_bytes, jobs_submitted,\n"
"                    jobs_completed, jobs_failed, invalidations,\n"
"                    exec_retries). Read from the mount's `stats` file when\n"
"                    the device is a FUSE card0 (more fields), else through\n"
"                    the STATS ioctl. ugpuctl never counts as a client.\n"
"  clients [--json]  one row per open of the device: pid, uid, VMs, BOs,\n"
"                    userptrs, bound bytes, jobs submitted/completed/\n"
"                    failed/in flight, invalidations, retries. Read from\n"
"                    DIR/clients/ of the FUSE mount, so it needs one (a\n"
"                    CUSE device has no per-client data). A client's file\n"
"                    is readable by its owner and root: other users'\n"
"                    clients are counted as not shown. --json prints\n"
"                    {\"clients\":[...],\"not_shown\":N}, each client the\n"
"                    daemon's object plus \"file\" (its name in clients/).\n"
"  vms [--json]      VMs per client (the `vms` field of each client's\n"
"                    file) and the device total. ugpud does not publish\n"
"                    per-VM details (sizes, mappings) yet. FUSE mount only.\n"
"                    --json prints {\"vms\":N,\"clients\":[{\"file\",\"pid\",\n"
"                    \"uid\",\"vms\"}...],\"not_shown\":N}.\n"
"  top [--interval MS] [--count N]\n"
"                    status and clients, redrawn every MS milliseconds\n"
"                    (default %d), with rates; stops after N frames when\n"
"                    --count is given. When stdout is not a terminal the\n"
"                    frames are printed one after another, without\n"
"                    clear-screen codes.\n"
"  help              this text\n"
"\n"
"Options:\n"
"  --device PATH     the device: a FUSE card0 (or the directory it is\n"
"                    mounted on) or a CUSE node. Default: $UGPU_DEVICE,\n"
"                    else /dev/ugpu0 if it exists, else /run/ugpu/card0\n"
"                    (the same search as libugpu). Also accepted after\n"
"                    the command.\n"
"  -h, --help        this text\n"
"\n"
"Exit status: 0 success, 1 ugpud could not be reached or read, 2 bad usage.\n",
		DEFAULT_INTERVAL_MS);
}

static void short_usage(FILE *f)
{
	fprintf(f,
"Usage: ugpuctl [--device PATH] status [--json]\n"
"       ugpuctl [--device PATH] clients [--json]\n"
"       ugpuctl [--device PATH] vms [--json]\n"
"       ugpuctl [--device PATH] top [--interval MS] [--count N]\n"
"       ugpuctl --help\n");
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ugpuctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	short_usage(stderr);
	return EXIT_USAGE;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
		       unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v < min || *v > max)
		return -EINVAL;
	return 0;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]; NULL if not @name. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t n = strlen(name);

	*missing = false;
	if (strncmp(argv[*i], name, n))
		return NULL;
	if (argv[*i][n] == '=') {
		*missing = !argv[*i][n + 1];
		return *missing ? NULL : argv[*i] + n + 1;
	}
	if (argv[*i][n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* Options after the command, from argv[i]. Return: -1 or an exit code. */
static int parse_cmd_opts(int argc, char **argv, int i, struct opts *o)
{
	bool top = !strcmp(o->cmd, "top"), missing;
	unsigned long v;
	const char *val;

	for (; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (!top && !strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		val = opt_value(argc, argv, &i, "--device", &missing);
		if (missing)
			return bad_usage("--device needs a PATH");
		if (val) {
			o->device = val;
			continue;
		}
		if (top) {
			val = opt_value(argc, argv, &i, "--interval", &missing);
			if (missing || (val && parse_ulong(val, 1, MAX_INTERVAL_MS, &v)))
				return bad_usage("--interval takes milliseconds, 1 to %d",
						 MAX_INTERVAL_MS);
			if (val) {
				o->interval_ms = (unsigned int)v;
				continue;
			}
			val = opt_value(argc, argv, &i, "--count", &missing);
			if (missing || (val && parse_ulong(val, 1, ULONG_MAX, &v)))
				return bad_usage("--count takes a number of frames, 1 or more");
			if (val) {
				o->count = v;
				continue;
			}
		}
		if (a[0] == '-')
			return bad_usage("%s: unknown option '%s'", o->cmd, a);
		return bad_usage("%s: unexpected argument '%s'", o->cmd, a);
	}
	return -1;
}

/* Return: -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *val;
	bool missing;
	int i;

	o->interval_ms = DEFAULT_INTERVAL_MS;
	for (i = 1; i < argc && !o->cmd; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if ((val = opt_value(argc, argv, &i, "--device", &missing)))
			o->device = val;
		else if (missing)
			return bad_usage("--device needs a PATH");
		else if (argv[i][0] == '-')
			return bad_usage("unknown option '%s'", argv[i]);
		else
			o->cmd = argv[i];
	}
	if (!o->cmd)
		return bad_usage("no command given");
	if (!strcmp(o->cmd, "help")) {
		if (i < argc)
			return bad_usage("help takes no arguments");
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(o->cmd, "status") && strcmp(o->cmd, "clients") &&
	    strcmp(o->cmd, "vms") && strcmp(o->cmd, "top"))
		return bad_usage("unknown command '%s'", o->cmd);
	return parse_cmd_opts(argc, argv, i, o);
}

/* A second line saying what to do about @err, where there is one. */
static void hint(int err)
{
	switch (err) {
	case -ENOENT:
		fprintf(stderr, "ugpuctl: is ugpud running? Choose the device with "
			"--device PATH or UGPU_DEVICE.\n");
		break;
	case -ENOTCONN:
	case -ECONNABORTED:
		fprintf(stderr, "ugpuctl: ugpud is gone and left its mount behind; "
			"unmount it (fusermount3 -u) and restart ugpud.\n");
		break;
	case -ENODEV:
		fprintf(stderr, "ugpuctl: ugpud is gone or shutting down.\n");
		break;
	}
}

int ctl_report(const struct ctl_dev *d, const char *what, int err)
{
	fprintf(stderr, "ugpuctl: cannot read %s from ugpud at %s: %s\n", what, d->path,
		strerror(-err));
	hint(err);
	switch (err) {
	case -ENOTTY:
		fprintf(stderr, "ugpuctl: %s does not answer the ugpu STATS ioctl: "
			"not a ugpu device?\n", d->path);
		break;
	case -EINVAL:
	case -ERANGE:
	case -E2BIG:
	case -EFBIG:
		fprintf(stderr, "ugpuctl: the daemon's %s is not a flat JSON object of "
			"integers, strings and booleans.\n", what);
		break;
	}
	return EXIT_FAIL;
}

static int finish_output(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "ugpuctl: writing the output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int read_checked_stats(const struct ctl_dev *d, struct json_obj *st, const char **how)
{
	const char *field;
	int ret = ctl_read_stats(d, st, how);

	if (ret)
		return ctl_report(d, "stats", ret);
	if (ctl_check_stats(st, &field)) {
		fprintf(stderr, "ugpuctl: the stats of ugpud at %s lack the integer "
			"field '%s'\n", d->path, field);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_status(const struct ctl_dev *d, const struct opts *o)
{
	static struct json_obj st;
	const char *how;
	int ret = read_checked_stats(d, &st, &how);

	if (ret)
		return ret;
	if (o->json) {
		json_write(stdout, &st);
		fputc('\n', stdout);
	} else {
		show_status(stdout, d, how, &st);
	}
	return finish_output();
}

static int need_fuse(const struct ctl_dev *d, const char *cmd)
{
	if (d->fuse)
		return EXIT_OK;
	fprintf(stderr, "ugpuctl: %s: per-client data needs the FUSE mount "
		"(ugpud --mount DIR, then --device DIR/card0); %s is not a FUSE "
		"card0 with the daemon's files beside it (a CUSE device has none). "
		"`ugpuctl status` works on any device.\n", cmd, d->path);
	return EXIT_FAIL;
}

static int cmd_clients(const struct ctl_dev *d, const struct opts *o)
{
	struct ctl_clients c;
	int ret = need_fuse(d, "clients");

	if (ret)
		return ret;
	ret = ctl_read_clients(d, &c);
	if (ret)
		return ctl_report(d, "clients", ret);
	if (o->json)
		show_clients_json(stdout, &c);
	else
		show_clients(stdout, &c);
	ctl_clients_free(&c);
	return finish_output();
}

static int cmd_vms(const struct ctl_dev *d, const struct opts *o)
{
	static struct json_obj st;
	struct ctl_clients c;
	const char *how;
	int ret = need_fuse(d, "vms");

	ret = ret ?: read_checked_stats(d, &st, &how);
	if (ret)
		return ret;
	ret = ctl_read_clients(d, &c);
	if (ret)
		return ctl_report(d, "clients", ret);
	if (o->json)
		show_vms_json(stdout, &st, &c);
	else
		show_vms(stdout, &st, &c);
	ctl_clients_free(&c);
	return finish_output();
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctl_dev d;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret == EXIT_OK ? finish_output() : ret;
	ret = ctl_dev_resolve(o.device, &d);
	if (ret) {
		fprintf(stderr, "ugpuctl: cannot reach ugpud at %s: %s\n", d.path,
			strerror(-ret));
		hint(ret);
		return EXIT_FAIL;
	}
	if (!strcmp(o.cmd, "status"))
		return cmd_status(&d, &o);
	if (!strcmp(o.cmd, "clients"))
		return cmd_clients(&d, &o);
	if (!strcmp(o.cmd, "vms"))
		return cmd_vms(&d, &o);
	return ctl_top(&d, o.interval_ms, o.count);
}
