// SPDX-License-Identifier: MIT
/*
 * gpu_race: a client of ugpud that races the driver core's userptr
 * invalidation (tests/integration/gpu_test.c runs it): a thread
 * replaces, unmaps, zaps and swaps to shared memory the pages of a bound
 * range while the GPU fills it, and no job may write memory mapped after
 * its exec or shared memory after it was unmapped (invalidate-race); a
 * thread that maps, protects and unmaps memory nothing is bound to
 * disturbs no bind, exec or wait (unrelated-mm). Each runs for
 * STRESS_MS; the checks compare values, never times. Usage
 * `gpu_race <scenario> <device>` ($GPU_CLIENT_RACE_OPS narrows the race
 * down); output and exit status as tests/helpers/lib/client_common.h
 * says.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define STRESS_MS	2000		/* how long the churn scenarios run */

/* ---- 3. invalidate race ----------------------------------------------- */

/*
 * Thread A (the racer) replaces, unmaps and re-maps, zaps and swaps to
 * shared memory the pages of a bound 64 KiB range while the main thread
 * fills the range from the GPU, two jobs in flight. Job i fills with the
 * value i + 1, so the racer can tell which job wrote a dword: a job whose
 * exec returned before a page was replaced was checked against the old
 * page and must never write the new one (it faults instead), and no job
 * may write a shared page after the call that unmapped it returned. Both
 * are checked by value, with no timing involved.
 */
#define RACE_PAGES	16u
#define RACE_BYTES	(RACE_PAGES * PAGE)
#define RACE_MARK	0xffffffffu	/* the racer's own fill of a new page */
#define RACE_GENS	4096u		/* shared pages the racer hands out */

struct old_page {
	uint64_t off;			/* in the racer's memfd */
	uint64_t hash;			/* contents right after it was unmapped */
};

struct racer {
	uint8_t *range;
	int memfd;
	uint64_t next_off;
	int64_t backing[RACE_PAGES];	/* memfd offset, or -1: private */
	uint32_t min_ok[RACE_PAGES];	/* values <= this: jobs older than the page */
	uint32_t committed;		/* execs returned so far (main thread) */
	int stop;
	int error;			/* errno of a failed mm call */
	const char *what;
	unsigned long ops[5];
	unsigned long stale_writes;	/* an old job wrote a new page */
	char stale_first[128];
	struct old_page *old;
	unsigned int nold;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* No job committed before page @pg became what it is may have written it. */
static void racer_check_page(struct racer *r, unsigned int pg)
{
	const volatile uint32_t *p = (const volatile uint32_t *)(r->range + pg * PAGE);

	for (unsigned int i = 0; i < PAGE / 4; i++) {
		uint32_t v = p[i];

		if (v && v != RACE_MARK && v <= r->min_ok[pg]) {
			if (!r->stale_writes++)
				snprintf(r->stale_first, sizeof(r->stale_first),
					 "page %u dword %u holds job %u's value, but jobs 0..%u "
					 "had returned from exec before the page was replaced",
					 pg, i, v - 1, r->min_ok[pg] - 1);
			return;
		}
	}
}

static void racer_fail(struct racer *r, const char *what)
{
	if (!r->error) {
		r->error = errno ? errno : EIO;
		r->what = what;
	}
}

/* Pages [pg, pg + n) are about to change: check them, note who is older. */
static uint32_t racer_before(struct racer *r, unsigned int pg, unsigned int n)
{
	for (unsigned int i = pg; i < pg + n; i++)
		racer_check_page(r, i);
	return __atomic_load_n(&r->committed, __ATOMIC_ACQUIRE);
}

/*
 * Pages [pg, pg + n) are new memory now (@shared_off >= 0: the memfd from
 * there on). A shared page that went away keeps its contents from now on.
 */
static void racer_after(struct racer *r, unsigned int pg, unsigned int n, uint32_t older,
			int64_t shared_off, bool fill)
{
	uint8_t buf[PAGE];

	for (unsigned int i = pg; i < pg + n; i++) {
		if (r->backing[i] >= 0 && r->nold < RACE_GENS &&
		    pread(r->memfd, buf, PAGE, r->backing[i]) == (ssize_t)PAGE) {
			r->old[r->nold].off = (uint64_t)r->backing[i];
			r->old[r->nold++].hash = fnv1a(buf, PAGE);
		}
		r->backing[i] = shared_off >= 0 ? shared_off + (int64_t)((i - pg) * PAGE) : -1;
		r->min_ok[i] = older;
		if (fill)
			memset(r->range + i * PAGE, 0xff, PAGE);
	}
}

static void racer_step(struct racer *r, unsigned int op, unsigned int pg)
{
	uint32_t older;
	void *p;

	switch (op) {
	case 0:	/* replace the whole range with new private memory */
		older = racer_before(r, 0, RACE_PAGES);
		p = mmap(r->range, RACE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return racer_fail(r, "mmap MAP_FIXED");
		racer_after(r, 0, RACE_PAGES, older, -1, true);
		break;
	case 1:	/* replace one page */
		older = racer_before(r, pg, 1);
		p = mmap(r->range + pg * PAGE, PAGE, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return racer_fail(r, "mmap MAP_FIXED page");
		racer_after(r, pg, 1, older, -1, true);
		break;
	case 2:	/* unmap, leave a gap for a while, map again */
		older = racer_before(r, 0, RACE_PAGES);
		if (munmap(r->range, RACE_BYTES))
			return racer_fail(r, "munmap");
		racer_after(r, 0, RACE_PAGES, older, -1, false);
		for (int i = 0; i < 20; i++)
			sched_yield();
		p = mmap(r->range, RACE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != r->range) {
			errno = p == MAP_FAILED ? errno : EEXIST;
			return racer_fail(r, "re-mmap after munmap (address taken?)");
		}
		memset(r->range, 0xff, RACE_BYTES);
		break;
	case 3:	/* a page of shared memory (a memfd we keep) */
		if (r->next_off >= (uint64_t)RACE_GENS * PAGE)
			return racer_step(r, 1, pg);
		older = racer_before(r, pg, 1);
		p = mmap(r->range + pg * PAGE, PAGE, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_SHARED, r->memfd, (off_t)r->next_off);
		if (p == MAP_FAILED)
			return racer_fail(r, "mmap MAP_FIXED memfd");
		racer_after(r, pg, 1, older, (int64_t)r->next_off, true);
		r->next_off += PAGE;
		break;
	default: /* the same memory, private pages read as zero afterwards */
		racer_before(r, pg, pg + 2 <= RACE_PAGES ? 2 : 1);
		if (madvise(r->range + pg * PAGE, pg + 2 <= RACE_PAGES ? 2 * PAGE : PAGE,
			    MADV_DONTNEED))
			return racer_fail(r, "madvise");
		break;
	}
}

/*
 * $GPU_CLIENT_RACE_OPS, a bit mask of racer_step() ops (default all 5),
 * narrows the race down when chasing a failure by hand.
 */
static unsigned int racer_ops(void)
{
	const char *env = getenv("GPU_CLIENT_RACE_OPS");
	unsigned long mask = env ? strtoul(env, NULL, 0) & 31 : 31;

	return mask ? (unsigned int)mask : 31;
}

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	long long end = cc_now_ms() + STRESS_MS;
	unsigned int mask = racer_ops();
	uint32_t seed = 0x1234567;

	while (cc_now_ms() < end && !r->error) {
		unsigned int op = rnd(&seed) % 5, pg = rnd(&seed) % RACE_PAGES;

		if (!(mask & (1u << op)))
			continue;
		r->ops[op]++;
		racer_step(r, op, pg);
		sched_yield();
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct race_count {
	unsigned long execs, exec_ok, exec_fault, job_ok, job_fault;
	unsigned long bad_exec, bad_wait;
	int first_bad_exec, first_bad_wait;
};

static void race_wait(struct cc_ctx *c, uint64_t fence, struct race_count *n)
{
	int ret = ugpu_wait(c->dev, fence, WAIT_NS);

	if (ret == 0)
		n->job_ok++;
	else if (ret == -EFAULT)
		n->job_fault++;
	else if (!n->bad_wait++)
		n->first_bad_wait = ret;
}

static void scenario_invalidate_race(const char *path)
{
	struct race_count n = { 0 };
	struct racer r = { .memfd = -1 };
	uint64_t fences[2] = { 0, 0 };
	struct ugpu_cmdbuf cb;
	pthread_t thr;
	uint64_t fence;
	uint8_t buf[PAGE];
	unsigned int moved = 0;
	struct cc_ctx c;
	int ret;

	if (!cc_ctx_open_ok(&c, path, 0, "race"))
		return;
	r.range = cc_map_anon(RACE_BYTES);
	r.memfd = memfd_create("race", MFD_CLOEXEC);
	r.old = calloc(RACE_GENS, sizeof(*r.old));
	if (!r.range || r.memfd < 0 || !r.old ||
	    ftruncate(r.memfd, (off_t)RACE_GENS * PAGE)) {
		cc_expect(false, "race: set up memory", "%s", strerror(errno));
		goto out;
	}
	memset(r.range, 0xff, RACE_BYTES);
	for (unsigned int i = 0; i < RACE_PAGES; i++)
		r.backing[i] = -1;
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, r.range, RACE_BYTES, 0), 0,
			   "race: bind 64 KiB of private memory"))
		goto out;
	if (pthread_create(&thr, NULL, racer_main, &r)) {
		cc_expect(false, "race: start the racer", "pthread_create");
		goto out;
	}
	/* Two jobs in flight, one per engine; job i fills with i + 1. */
	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		unsigned int k = n.execs % 2;

		if (fences[k]) {
			race_wait(&c, fences[k], &n);
			fences[k] = 0;
		}
		cc_batch(&c, k, &cb);
		ugpu_cmd_fill(&cb, VA_UP, RACE_BYTES, (uint32_t)n.execs + 1);
		ret = cc_submit(&c, k, &cb, k % c.engines, &fence);
		n.execs++;
		__atomic_store_n(&r.committed, (uint32_t)n.execs, __ATOMIC_RELEASE);
		if (ret == 0) {
			n.exec_ok++;
			fences[k] = fence;
		} else if (ret == -EFAULT) {
			n.exec_fault++;
		} else if (!n.bad_exec++) {
			n.first_bad_exec = ret;
		}
		if (n.bad_wait || n.bad_exec > 100)
			break;	/* a hang or a broken exec: do not pile up more */
	}
	for (unsigned int k = 0; k < 2; k++)
		if (fences[k])
			race_wait(&c, fences[k], &n);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	cc_note("race: %lu execs: %lu ok (%lu jobs ok, %lu faulted), %lu -EFAULT at exec; "
		"mm ops %lu/%lu/%lu/%lu/%lu", n.execs, n.exec_ok, n.job_ok, n.job_fault,
		n.exec_fault, r.ops[0], r.ops[1], r.ops[2], r.ops[3], r.ops[4]);
	cc_expect(!r.error, "race: the racer's mm calls worked", "%s: %s", r.what,
		  strerror(r.error));
	cc_expect(!n.bad_exec, "race: every exec returned 0 or -EFAULT",
		  "%lu others, first %d (%s)", n.bad_exec, n.first_bad_exec,
		  cc_ename(n.first_bad_exec));
	cc_expect(!n.bad_wait, "race: every fence resolved with 0 or -EFAULT",
		  "%lu others, first %d (%s)", n.bad_wait, n.first_bad_wait,
		  cc_ename(n.first_bad_wait));
	cc_expect(n.execs > 0, "race: execs ran", "none");

	/* Every job is done: check what they left. */
	if (!r.error)
		for (unsigned int i = 0; i < RACE_PAGES; i++)
			racer_check_page(&r, i);
	cc_expect(!r.stale_writes, "race: no job wrote memory mapped after its exec",
		  "%lu pages, first: %s", r.stale_writes, r.stale_first);
	for (unsigned int i = 0; i < r.nold; i++)
		if (pread(r.memfd, buf, PAGE, (off_t)r.old[i].off) != (ssize_t)PAGE ||
		    fnv1a(buf, PAGE) != r.old[i].hash)
			moved++;
	cc_expect(!moved, "race: no job wrote shared memory after it was unmapped",
		  "%u of %u old pages changed", moved, r.nold);

	/* Settle: one stable mapping, a clean exec with correct data. */
	if (!r.error) {
		void *p = mmap(r.range, RACE_BYTES, PROT_READ | PROT_WRITE,
			       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		cc_expect(p == r.range, "race: stable mapping again", "mmap %s",
			  strerror(errno));
		cc_batch(&c, 5, &cb);
		ugpu_cmd_fill(&cb, VA_UP, RACE_BYTES, 0x5eed5eed);
		ret = cc_submit(&c, 5, &cb, 0, &fence);
		if (cc_expect_ret(ret, 0, "race: clean exec after the storm"))
			cc_expect_ret(ugpu_wait(c.dev, fence, WAIT_NS), 0,
				      "race: clean job completes");
		cc_expect_all(r.range, RACE_BYTES, 0x5eed5eed,
			      "race: clean job's data is all there");
	}
out:
	if (r.range)
		munmap(r.range, RACE_BYTES);
	if (r.memfd >= 0)
		close(r.memfd);
	free(r.old);
	cc_ctx_close(&c);
}

/* ---- 4. unrelated address-space churn ---------------------------------- */

struct churner {
	int stop;
	int error;
	const char *what;
	unsigned long rounds;
};

static void *churn_main(void *arg)
{
	struct churner *ch = arg;
	long long end = cc_now_ms() + STRESS_MS;

	while (cc_now_ms() < end && !ch->error) {
		uint8_t *p = cc_map_anon(16 * PAGE);

		if (!p) {
			ch->error = errno;
			ch->what = "mmap";
			break;
		}
		memset(p, 0x5a, 16 * PAGE);
		if (mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ)) {
			ch->error = errno;
			ch->what = "mprotect";
		}
		if (madvise(p + 6 * PAGE, 4 * PAGE, MADV_DONTNEED)) {
			ch->error = errno;
			ch->what = "madvise";
		}
		if (munmap(p + 12 * PAGE, 4 * PAGE) || munmap(p, 12 * PAGE)) {
			ch->error = errno;
			ch->what = "munmap";
		}
		ch->rounds++;
	}
	__atomic_store_n(&ch->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void scenario_unrelated_mm(const char *path)
{
	unsigned long iters = 0, bad = 0;
	struct churner ch = { 0 };
	const char *first = NULL;
	int first_ret = 0;
	struct ugpu_cmdbuf cb;
	uint32_t *buf, bo;
	pthread_t thr;
	uint64_t fence;
	struct cc_ctx c;
	int ret;

	if (!cc_ctx_open_ok(&c, path, 0, "churn"))
		return;
	buf = cc_map_anon(4 * PAGE);
	if (!buf || ugpu_bo_create(c.dev, 4 * PAGE, 0, &bo)) {
		cc_expect(false, "churn: buffers", "mmap or BO create failed");
		goto out;
	}
	if (pthread_create(&thr, NULL, churn_main, &ch)) {
		cc_expect(false, "churn: start the churner", "pthread_create");
		goto out;
	}
#define STEP(expr, name)						\
	do {								\
		ret = (expr);						\
		if (ret) {						\
			if (!bad++) {					\
				first = name;				\
				first_ret = ret;			\
			}						\
			goto next;					\
		}							\
	} while (0)
	while (!__atomic_load_n(&ch.stop, __ATOMIC_ACQUIRE)) {
		uint32_t v = 0x1000 + (uint32_t)iters;
		uint32_t got = 0;

		STEP(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 4 * PAGE, 0), "bind userptr");
		STEP(ugpu_vm_bind_bo(c.dev, c.vm, VA_BO, bo, 0, 4 * PAGE, 0), "bind BO");
		cc_batch(&c, iters % 4, &cb);
		ugpu_cmd_fill(&cb, VA_UP, 4 * PAGE, v);
		ugpu_cmd_copy(&cb, VA_BO, VA_UP, 4 * PAGE);
		STEP(cc_submit(&c, iters % 4, &cb, iters % c.engines, &fence), "exec");
		STEP(ugpu_wait(c.dev, fence, WAIT_NS), "wait");
		STEP(cc_all_u32(buf, 4 * PAGE, v, NULL) ? 0 : -EBADMSG, "data in userptr");
		STEP(ugpu_bo_pread(c.dev, bo, 3 * PAGE, &got, 4), "pread");
		STEP(got == v ? 0 : -EBADMSG, "data in BO");
		STEP(ugpu_vm_unbind(c.dev, c.vm, VA_UP, 4 * PAGE), "unbind userptr");
		STEP(ugpu_vm_unbind(c.dev, c.vm, VA_BO, 4 * PAGE), "unbind BO");
next:
		iters++;
		if (bad > 20)
			break;
	}
#undef STEP
	pthread_join(thr, NULL);
	cc_note("churn: %lu bind/exec/wait rounds against %lu mmap/mprotect/madvise/munmap rounds",
		iters, ch.rounds);
	cc_expect(!ch.error, "churn: the churner's mm calls worked", "%s: %s", ch.what,
		  strerror(ch.error));
	cc_expect(!bad, "churn: every bind, exec and wait succeeded with correct data",
		  "%lu failures, first %s: %d (%s)", bad, first ? first : "?", first_ret,
		  cc_ename(first_ret));
	cc_expect(iters > 0, "churn: rounds ran", "none");
out:
	if (buf)
		munmap(buf, 4 * PAGE);
	cc_ctx_close(&c);
}

/* ---- main ------------------------------------------------------------- */

static const struct cc_scenario scenarios[] = {
	{ "invalidate-race", scenario_invalidate_race },
	{ "unrelated-mm", scenario_unrelated_mm },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
