// SPDX-License-Identifier: MIT
/*
 * `ugpu-bench uffd`: what the userfaultfd watcher costs a client. A
 * forked client process times munmap of 4 KiB and 2 MiB anonymous ranges
 * (populated) that this process registered with a real uffd_watch on a
 * libevent loop thread (gate, notifier invalidation and all), the same
 * munmap of unregistered ranges, and a pipe ping-pong with the same loop
 * thread, all in the same run and placement: both processes on one CPU,
 * then (with two or more CPUs) on different CPUs. The goal:
 * registered munmap <= 2 x (unregistered munmap + one ping-pong).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "bench.h"
#include "core/notifier.h"
#include "mm/gate.h"
#include "mm/uffd_watch.h"

#define PG		4096ul
#define BATCH		64		/* ranges mapped, registered, unmapped at once */

enum { S_PING, S_UNREG_4K, S_REG_4K, S_UNREG_2M, S_REG_2M, S_REGISTER, NSERIES };

static const char *const series_name[NSERIES] = {
	[S_PING] = "pipe ping-pong",
	[S_UNREG_4K] = "munmap 4 KiB, unregistered",
	[S_REG_4K] = "munmap 4 KiB, registered",
	[S_UNREG_2M] = "munmap 2 MiB, unregistered",
	[S_REG_2M] = "munmap 2 MiB, registered",
	[S_REGISTER] = "uffd_watch_register (daemon)",
};

/* Shared between the two processes (MAP_SHARED anonymous). */
struct shared {
	uint64_t addr[BATCH];		/* the batch the client asks about */
	size_t nsamples[NSERIES];
	uint64_t *samples[NSERIES];	/* into the same shared mapping */
};

enum { OP_REGISTER = 1, OP_UNREGISTER, OP_DONE };

struct req {
	uint32_t op;
	uint32_t n;
	uint64_t len;
};

struct daemon_side {
	struct event_base *base;
	struct notifier_mm nmm;
	struct mm_gate gate;
	struct uffd_watch *w;
	pthread_t loop;
	struct event *echo_ev;
	int echo_in, echo_out;
	struct uffd_watch_reg reg[BATCH];
	struct notifier n[BATCH];
	bool inserted[BATCH];
	pthread_mutex_t user_lock;
};

static bool bench_invalidate(struct notifier *n, const struct notifier_range *r,
			     uint64_t cur_seq)
{
	struct daemon_side *d = container_of(n->mm, struct daemon_side, nmm);

	pthread_mutex_lock(&d->user_lock);
	notifier_set_seq(n, cur_seq);
	pthread_mutex_unlock(&d->user_lock);
	return true;
}

static const struct notifier_ops bench_nops = { .invalidate = bench_invalidate };

static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, (char *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		off += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
}

/* ---- client process ---------------------------------------------------- */

struct client_fds {
	int req_w, ack_r;		/* to / from the daemon's main thread */
	int ping_w, pong_r;		/* to / from the daemon's loop thread */
	int uffd_w;			/* the uffd number, once */
};

static int ask(const struct client_fds *c, uint32_t op, uint32_t n, uint64_t len)
{
	struct req r = { .op = op, .n = n, .len = len };
	char ack;

	if (write_full(c->req_w, &r, sizeof(r)) || read_full(c->ack_r, &ack, 1))
		return -EPIPE;
	return ack ? -EIO : 0;
}

static void add_sample(struct shared *sh, int s, uint64_t ns, size_t cap)
{
	if (sh->nsamples[s] < cap)
		sh->samples[s][sh->nsamples[s]++] = ns;
}

/*
 * One batch: map BATCH ranges of @len as separate VMAs (PROT_NONE
 * between them), touch them, optionally have the daemon register them,
 * then time each munmap.
 */
static int client_batch(const struct client_fds *c, struct shared *sh, uint64_t len,
			bool registered, int series, size_t cap)
{
	uint64_t stride = 2 * len, t0;
	char *res, *base;
	int i, ret = 0;

	res = mmap(NULL, stride * (BATCH + 1), PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -errno;
	/* Align to @len so 2 MiB ranges can be huge pages where THP allows. */
	base = (char *)(((uintptr_t)res + len - 1) & ~(uintptr_t)(len - 1));
	for (i = 0; i < BATCH; i++) {
		char *p = mmap(base + (uint64_t)i * stride, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (p == MAP_FAILED) {
			ret = -errno;
			goto out;
		}
		if (len >= (2u << 20))
			madvise(p, len, MADV_HUGEPAGE);
		memset(p, 1, len);
		sh->addr[i] = (uintptr_t)p;
	}
	if (registered) {
		ret = ask(c, OP_REGISTER, BATCH, len);
		if (ret)
			goto out;
	}
	for (i = 0; i < BATCH; i++) {
		t0 = bench_now_ns();
		munmap((void *)(uintptr_t)sh->addr[i], len);
		add_sample(sh, series, bench_now_ns() - t0, cap);
	}
	if (registered)
		ret = ask(c, OP_UNREGISTER, BATCH, len);
out:
	munmap(res, stride * (BATCH + 1));
	return ret;
}

static int client_main(const struct client_fds *c, struct shared *sh, int cpu,
		       size_t n4k, size_t n2m)
{
	long fd;
	size_t i, done;
	char b = 0, go;
	uint64_t t0;
	int ret;

	if (pin(0, cpu))
		return 10;
	fd = syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 11;
	if (write_full(c->uffd_w, &(int){ (int)fd }, sizeof(int)) ||
	    read_full(c->ack_r, &go, 1) || go)
		return 12;
	close((int)fd);			/* as libugpu does once the daemon has it */

	for (i = 0; i < n4k + 100; i++) {
		t0 = bench_now_ns();
		if (write_full(c->ping_w, &b, 1) || read_full(c->pong_r, &b, 1))
			return 13;
		if (i >= 100)		/* warm-up first */
			add_sample(sh, S_PING, bench_now_ns() - t0, n4k);
	}
	/* Alternate unregistered and registered batches so drift hits both. */
	for (done = 0; done < n4k; done += BATCH) {
		ret = client_batch(c, sh, PG, false, S_UNREG_4K, n4k);
		ret = ret ?: client_batch(c, sh, PG, true, S_REG_4K, n4k);
		if (ret)
			return 14;
	}
	for (done = 0; done < n2m; done += BATCH) {
		ret = client_batch(c, sh, 2u << 20, false, S_UNREG_2M, n2m);
		ret = ret ?: client_batch(c, sh, 2u << 20, true, S_REG_2M, n2m);
		if (ret)
			return 15;
	}
	return ask(c, OP_DONE, 0, 0) ? 16 : 0;
}

/* ---- daemon side -------------------------------------------------------- */

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_side *d = arg;
	char b;

	if (read(d->echo_in, &b, 1) == 1 && write(d->echo_out, &b, 1) != 1)
		event_base_loopbreak(d->base);
}

static void *loop_main(void *arg)
{
	struct daemon_side *d = arg;

	event_base_loop(d->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void drop(struct daemon_side *d, int i)
{
	if (d->inserted[i])
		notifier_remove(&d->n[i]);
	d->inserted[i] = false;
	uffd_watch_unregister(d->w, &d->reg[i]);
}

static int serve(struct daemon_side *d, struct shared *sh, int req_r, int ack_w,
		 size_t cap)
{
	struct req r;
	uint32_t i;
	char ack;

	for (;;) {
		if (read_full(req_r, &r, sizeof(r)))
			return -EPIPE;
		ack = 0;
		if (r.op == OP_DONE)
			return write_full(ack_w, &ack, 1);
		for (i = 0; i < r.n && i < BATCH; i++) {
			if (r.op == OP_REGISTER) {
				uint64_t t0 = bench_now_ns();

				uffd_watch_reg_init(&d->reg[i]);
				if (uffd_watch_register(d->w, &d->reg[i], sh->addr[i], r.len))
					ack = 1;
				add_sample(sh, S_REGISTER, bench_now_ns() - t0, cap);
				if (notifier_insert(&d->n[i], &d->nmm, sh->addr[i], r.len,
						    &bench_nops))
					ack = 1;
				else
					d->inserted[i] = true;
			} else {
				drop(d, i);
			}
		}
		if (write_full(ack_w, &ack, 1))
			return -EPIPE;
	}
}

struct result {
	uint64_t p50[NSERIES], p99[NSERIES];
	size_t n[NSERIES];
	struct uffd_watch_stats st;
};

static int run_placement(int dcpu, int ccpu, size_t n4k, size_t n2m, struct result *res)
{
	int req[2], ack[2], ping[2], pong[2], ufd[2];
	struct client_fds c;
	struct daemon_side d;
	struct shared *sh;
	size_t shsize, caps[NSERIES], off;
	int s, status = 0, uffd_no, ret = -EIO;
	pid_t pid;
	char go = 0;

	memset(&d, 0, sizeof(d));
	caps[S_PING] = n4k;
	caps[S_UNREG_4K] = caps[S_REG_4K] = n4k;
	caps[S_UNREG_2M] = caps[S_REG_2M] = n2m;
	caps[S_REGISTER] = n4k + n2m + 2 * BATCH;
	shsize = sizeof(*sh);
	for (s = 0; s < NSERIES; s++)
		shsize += caps[s] * sizeof(uint64_t);
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	memset(sh, 0, sizeof(*sh));
	off = sizeof(*sh);
	for (s = 0; s < NSERIES; s++) {
		sh->samples[s] = (uint64_t *)((char *)sh + off);
		off += caps[s] * sizeof(uint64_t);
	}

	if (pin(0, dcpu) || pipe(req) || pipe(ack) || pipe(ping) || pipe(pong) || pipe(ufd))
		goto out_shm;
	pid = fork();
	if (pid < 0)
		goto out_shm;
	if (pid == 0) {
		c = (struct client_fds){ req[1], ack[0], ping[1], pong[0], ufd[1] };
		_exit(client_main(&c, sh, ccpu, n4k, n2m));
	}

	/* Daemon side: the watcher on a loop thread pinned like this thread. */
	if (read_full(ufd[0], &uffd_no, sizeof(uffd_no)))
		goto out_child;
	d.base = event_base_new();
	if (!d.base || notifier_mm_init(&d.nmm))
		goto out_child;
	if (gate_init(&d.gate))
		goto out_nmm;
	pthread_mutex_init(&d.user_lock, NULL);
	ret = uffd_watch_open(d.base, pid, uffd_no, &d.nmm, &d.gate, NULL, NULL, &d.w);
	if (ret) {
		fprintf(stderr, "ugpu-bench uffd: uffd_watch_open: %s\n", strerror(-ret));
		goto out_gate;
	}
	ret = -EIO;
	d.echo_in = ping[0];
	d.echo_out = pong[1];
	d.echo_ev = event_new(d.base, ping[0], EV_READ | EV_PERSIST, on_ping, &d);
	if (!d.echo_ev || event_add(d.echo_ev, NULL) ||
	    pthread_create(&d.loop, NULL, loop_main, &d))
		goto out_watch;
	if (write_full(ack[1], &go, 1) == 0 && serve(&d, sh, req[0], ack[1], caps[S_REGISTER]) == 0)
		ret = 0;

	/* The client is done with the loop: stop it (it is surely running). */
	if (waitpid(pid, &status, 0) == pid)
		pid = 0;
	if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		fprintf(stderr, "ugpu-bench uffd: client failed (status %d)\n", status);
		ret = -EIO;
	}
	event_base_loopbreak(d.base);
	pthread_join(d.loop, NULL);
	uffd_watch_get_stats(d.w, &res->st);
	for (s = 0; s < NSERIES; s++) {
		res->n[s] = sh->nsamples[s];
		res->p50[s] = bench_percentile(sh->samples[s], sh->nsamples[s], 50);
		res->p99[s] = bench_percentile(sh->samples[s], sh->nsamples[s], 99);
	}
out_watch:
	for (s = 0; s < BATCH; s++)
		drop(&d, s);
	if (d.echo_ev)
		event_free(d.echo_ev);
	uffd_watch_close(d.w);
out_gate:
	pthread_mutex_destroy(&d.user_lock);
	gate_destroy(&d.gate);
out_nmm:
	notifier_mm_destroy(&d.nmm);
out_child:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (d.base)
		event_base_free(d.base);
	close(req[0]); close(req[1]); close(ack[0]); close(ack[1]);
	close(ping[0]); close(ping[1]); close(pong[0]); close(pong[1]);
	close(ufd[0]); close(ufd[1]);
out_shm:
	munmap(sh, shsize);
	return ret;
}

static void print_result(const char *title, const struct result *r)
{
	double goal4k, goal2m;
	int s;

	printf("\n%s\n", title);
	printf("  %-32s %8s %10s %10s\n", "", "n", "p50 us", "p99 us");
	for (s = 0; s < NSERIES; s++)
		printf("  %-32s %8zu %10.2f %10.2f\n", series_name[s], r->n[s],
		       r->p50[s] / 1e3, r->p99[s] / 1e3);
	goal4k = (double)r->p50[S_REG_4K] /
		 (double)(r->p50[S_UNREG_4K] + r->p50[S_PING] ?: 1);
	goal2m = (double)r->p50[S_REG_2M] /
		 (double)(r->p50[S_UNREG_2M] + r->p50[S_PING] ?: 1);
	printf("  registered / unregistered (p50):   4 KiB %.2fx   2 MiB %.2fx\n",
	       (double)r->p50[S_REG_4K] / (double)(r->p50[S_UNREG_4K] ?: 1),
	       (double)r->p50[S_REG_2M] / (double)(r->p50[S_UNREG_2M] ?: 1));
	printf("  registered / (unregistered + ping-pong), p50: 4 KiB %.2f  2 MiB %.2f"
	       "  (goal <= 2: %s)\n", goal4k, goal2m,
	       goal4k <= 2 && goal2m <= 2 ? "met" : "NOT met");
	printf("  watcher: %" PRIu64 " wakeups, %" PRIu64 " UNMAP events, %" PRIu64
	       " invalidations, %" PRIu64 " register ioctls\n", r->st.wakeups,
	       r->st.ev_unmap, r->st.invalidations, r->st.register_ioctls);
}

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: ugpu-bench uffd [-n N] [--n2m N]\n"
		"  -n N      4 KiB munmaps and ping-pongs timed per kind (default 4096)\n"
		"  --n2m N   2 MiB munmaps timed per kind (default 512)\n"
		"Needs pidfd_getfd rights over its own child (root or the same user).\n");
	return status;
}

static int bench_uffd(int argc, char **argv)
{
	size_t n4k = 4096, n2m = 512;
	struct result r;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t old;
	int i, ret;

	for (i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, 0);
		if ((!strcmp(argv[i], "-n") || !strcmp(argv[i], "--n2m")) && i + 1 < argc) {
			unsigned long v = strtoul(argv[i + 1], &end, 0);

			if (*end || v == 0 || v > (1ul << 22))
				return usage(stderr, 2);
			if (!strcmp(argv[i], "-n"))
				n4k = v;
			else
				n2m = v;
			i++;
		} else {
			fprintf(stderr, "ugpu-bench uffd: bad argument '%s'\n", argv[i]);
			return usage(stderr, 2);
		}
	}
	evthread_use_pthreads();
	sched_getaffinity(0, sizeof(old), &old);

	printf("userfaultfd watcher cost to the client: munmap of populated anonymous\n"
	       "ranges registered with uffd_watch (real watcher, libevent loop thread,\n"
	       "gate + notifier invalidation) vs not registered, and a pipe ping-pong\n"
	       "with the same loop thread. Times measured in the client process.\n");

	memset(&r, 0, sizeof(r));
	ret = run_placement(0, 0, n4k, n2m, &r);
	if (ret) {
		fprintf(stderr, "ugpu-bench uffd: same-CPU run failed: %s\n", strerror(-ret));
		return 1;
	}
	print_result("both processes on CPU 0:", &r);

	if (ncpu >= 2) {
		memset(&r, 0, sizeof(r));
		ret = run_placement(0, 1, n4k, n2m, &r);
		if (ret) {
			fprintf(stderr, "ugpu-bench uffd: cross-CPU run failed: %s\n",
				strerror(-ret));
			return 1;
		}
		print_result("daemon on CPU 0, client on CPU 1:", &r);
	}
	sched_setaffinity(0, sizeof(old), &old);
	return 0;
}

static struct bench_cmd uffd_cmd = {
	.name = "uffd",
	.help = "munmap cost of uffd-registered memory vs unregistered + ping-pong",
	.run = bench_uffd,
};
BENCH_REGISTER(uffd_cmd)
