// SPDX-License-Identifier: MIT
/*
 * `ugpuctl top`: the device counters and the clients table, redrawn every
 * interval, with per-second rates of jobs, invalidations and retries
 * computed from the previous frame. A frame is composed in memory and
 * written at once, after a clear-screen code only when stdout is a
 * terminal, so a pipe or a log gets plain frames one after another.
 * Frames are paced on absolute CLOCK_MONOTONIC deadlines: a slow read
 * does not make the view drift.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "json.h"
#include "show.h"
#include "ugpuctl.h"

struct sample {
	struct json_obj st;
	struct timespec t;
	bool valid;
};

static double secs_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* " label value" for integer field @key, "-" when the daemon lacks it. */
static void item(FILE *f, const struct json_obj *st, const char *key, const char *label)
{
	char buf[32];
	uint64_t v;

	if (json_get_u64(st, key, &v))
		fprintf(f, "  %s -", label);
	else if (strstr(key, "bytes"))
		fprintf(f, "  %s %s", label, show_bytes(v, buf, sizeof(buf)));
	else
		fprintf(f, "  %s %" PRIu64, label, v);
}

/* " (N.N/s)" for @key between the previous sample and this one. */
static void rate(FILE *f, const struct sample *prev, const struct sample *cur,
		 const char *key)
{
	uint64_t a, b;
	double dt;

	if (!prev->valid || json_get_u64(&prev->st, key, &a) ||
	    json_get_u64(&cur->st, key, &b) || b < a)
		return;
	dt = secs_between(&prev->t, &cur->t);
	if (dt > 0)
		fprintf(f, " (%.1f/s)", (double)(b - a) / dt);
}

static void compose(FILE *f, const struct ctl_dev *d, unsigned int interval_ms,
		    const struct sample *prev, const struct sample *cur,
		    const struct ctl_clients *c)
{
	const char *backend = json_get_str(&cur->st, "backend");
	char when[16];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	fprintf(f, "ugpuctl top - %s", d->path);
	if (backend)
		fprintf(f, " - backend %s", backend);
	fprintf(f, " - every %u ms - %s\n", interval_ms, when);
	fprintf(f, "objects ");
	item(f, &cur->st, "clients", "clients");
	item(f, &cur->st, "vms", "VMs");
	item(f, &cur->st, "bos", "BOs");
	item(f, &cur->st, "userptrs", "userptrs");
	item(f, &cur->st, "bound_bytes", "bound");
	fprintf(f, "\njobs    ");
	item(f, &cur->st, "jobs_submitted", "submitted");
	rate(f, prev, cur, "jobs_submitted");
	item(f, &cur->st, "jobs_completed", "completed");
	rate(f, prev, cur, "jobs_completed");
	item(f, &cur->st, "jobs_failed", "failed");
	if (json_find(&cur->st, "jobs_running"))
		item(f, &cur->st, "jobs_running", "running");
	fprintf(f, "\nuserptr ");
	item(f, &cur->st, "invalidations", "invalidations");
	rate(f, prev, cur, "invalidations");
	item(f, &cur->st, "exec_retries", "exec retries");
	rate(f, prev, cur, "exec_retries");
	if (json_find(&cur->st, "gpu_faults")) {
		fprintf(f, "\ndevice  ");
		item(f, &cur->st, "gpu_faults", "GPU page faults");
		item(f, &cur->st, "gpu_hangs", "hangs");
		item(f, &cur->st, "engine_resets", "resets");
	}
	fprintf(f, "\n\n");
	if (c)
		show_clients(f, c);
	else
		fprintf(f, "(per-client data needs the FUSE mount: %s is not a FUSE "
			"card0 with the daemon's files beside it)\n", d->path);
}

static void sleep_until(const struct timespec *t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

static void add_ms(struct timespec *t, unsigned int ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Read the daemon and print one frame. Return: an exit code. */
static int frame(const struct ctl_dev *d, unsigned int interval_ms, bool tty, bool first,
		 struct sample *prev, struct sample *cur)
{
	struct ctl_clients c = { 0 };
	const char *how;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &cur->t);
	ret = ctl_read_stats(d, &cur->st, &how);
	if (ret)
		return ctl_report(d, "stats", ret);
	cur->valid = true;
	if (d->fuse) {
		ret = ctl_read_clients(d, &c);
		if (ret)
			return ctl_report(d, "clients", ret);
	}
	mem = open_memstream(&text, &len);
	if (!mem) {
		ctl_clients_free(&c);
		fprintf(stderr, "ugpuctl: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	compose(mem, d, interval_ms, prev, cur, d->fuse ? &c : NULL);
	ctl_clients_free(&c);
	if (fclose(mem)) {
		free(text);
		fprintf(stderr, "ugpuctl: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	if (tty)
		fputs("\033[H\033[2J", stdout);	/* home, clear screen */
	else if (!first)
		fputc('\n', stdout);
	fwrite(text, 1, len, stdout);
	free(text);
	if (fflush(stdout)) {
		fprintf(stderr, "ugpuctl: writing the output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_top(const struct ctl_dev *d, unsigned int interval_ms, unsigned long count)
{
	/* Two samples of ~6 KiB each: keep them off the stack. */
	struct sample *s = calloc(2, sizeof(*s));
	bool tty = isatty(STDOUT_FILENO);
	struct timespec next;
	unsigned long n;
	int ret = EXIT_OK;

	if (!s) {
		fprintf(stderr, "ugpuctl: out of memory\n");
		return EXIT_FAIL;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (n = 0; !count || n < count; n++) {
		struct sample *cur = &s[n & 1], *prev = &s[!(n & 1)];

		if (n) {
			struct timespec now;

			add_ms(&next, interval_ms);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (secs_between(&next, &now) > 0)
				next = now;	/* fell behind: no burst of frames */
			else
				sleep_until(&next);
		}
		ret = frame(d, interval_ms, tty, n == 0, prev, cur);
		if (ret)
			break;
	}
	free(s);
	return ret;
}
