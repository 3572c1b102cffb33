// SPDX-License-Identifier: MIT
/*
 * gpu_stale: a client of ugpud for jobs committed against memory the
 * client then replaces (tests/integration/gpu_test.c runs it): job Y,
 * queued behind a job X that holds the engine, was checked against a
 * page that is gone when it runs; it must fault and write nothing into
 * the new page, even after another exec revalidated the binding
 * (replace-revalidate), and when the new mapping has the same bounds,
 * protections and backing as the old one: private anonymous,
 * MAP_DROPPABLE or a private file mapping (replace-same-vma). The
 * deterministic core of gpu_race's invalidate-race. Usage
 * `gpu_stale <scenario> <device>`; output and exit status as
 * tests/helpers/lib/client_common.h says.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/client_common.h"

/* ---- 3. a job committed against a page since replaced ----------------- */

/*
 * The deterministic core of invalidate-race (gpu_race.c): job Y is
 * committed against page P and queued behind a job X holding the engine;
 * the client replaces P; another exec, Z, revalidates the binding (so the
 * VM maps the new page); then Y runs. Y was checked against the old page:
 * it must fault, and must not write the new memory. The daemon may also
 * hold Z's exec until the older jobs are done: so Z is submitted from a
 * thread, and X is released once Z's exec returned or after a grace
 * period; the checks are the same either way.
 */
struct late_exec {
	struct cc_ctx *c;
	uint64_t fence;
	int ret;
	int done;
};

static void *late_exec_main(void *arg)
{
	struct late_exec *z = arg;
	struct ugpu_cmdbuf cb;

	cc_batch(z->c, 2, &cb);
	ugpu_cmd_store_dword(&cb, VA_UP + 4, 0x2a);
	z->ret = cc_submit(z->c, 2, &cb, 1, &z->fence);
	__atomic_store_n(&z->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void scenario_replace_revalidate(const char *path)
{
	struct late_exec z = { 0 };
	struct ugpu_cmdbuf cb;
	uint64_t fx, fy;
	uint32_t *buf, *page;
	bool thr_started = false;
	pthread_t thr;
	struct cc_ctx c;
	void *p;

	if (!cc_ctx_open_ok(&c, path, 0, "stale"))
		return;
	buf = cc_map_anon(2 * PAGE);
	if (!buf) {
		cc_expect(false, "stale: map", "mmap");
		goto out;
	}
	memset(buf, 0x11, 2 * PAGE);
	page = buf + PAGE / 4;
	if (!cc_expect_ret(ugpu_vm_bind_userptr(c.dev, c.vm, VA_UP, buf, 2 * PAGE, 0), 0,
			   "stale: bind private memory"))
		goto out_unmap;
	cc_batch_gated(&c, 0, &cb, CTL_STARTED);
	if (!cc_expect_ret(cc_submit(&c, 0, &cb, 0, &fx), 0, "stale: job X holds engine 0"))
		goto out_unmap;
	cc_batch(&c, 1, &cb);
	ugpu_cmd_fill(&cb, VA_UP + PAGE, PAGE, 0x0b0b0b0b);
	if (!cc_expect_ret(cc_submit(&c, 1, &cb, 0, &fy), 0, "stale: job Y queued behind it"))
		goto release;
	if (!cc_expect(cc_poll_u32(&c.ctl[CTL_STARTED], 1), "stale: X runs", "never started"))
		goto release;
	p = mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (!cc_expect(p == page, "stale: client replaces Y's page", "%s", strerror(errno)))
		goto release;
	memset(page, 0x22, PAGE);
	/* Z revalidates the binding: the VM maps the new page again. */
	z.c = &c;
	if (pthread_create(&thr, NULL, late_exec_main, &z)) {
		cc_expect(false, "stale: start Z", "pthread_create");
		goto release;
	}
	thr_started = true;
	{
		long long end = cc_now_ms() + 1000;	/* grace, not an assertion */

		while (!__atomic_load_n(&z.done, __ATOMIC_ACQUIRE) && cc_now_ms() < end)
			cc_nap();
		if (!__atomic_load_n(&z.done, __ATOMIC_ACQUIRE))
			cc_note("stale: Z's exec is held while older jobs run");
	}
release:
	cc_ctl_set(&c, CTL_SEM, 1);
	if (thr_started) {
		pthread_join(thr, NULL);
		if (cc_expect_ret(z.ret, 0, "stale: job Z on engine 1"))
			cc_expect_ret(ugpu_wait(c.dev, z.fence, WAIT_NS), 0, "stale: Z completes");
		cc_expect(buf[1] == 0x2a, "stale: Z's store landed", "got %#x", buf[1]);
	}
	cc_expect_ret(ugpu_wait(c.dev, fx, WAIT_NS), 0, "stale: X completes");
	cc_expect_ret(ugpu_wait(c.dev, fy, WAIT_NS), -EFAULT,
		      "stale: Y, committed against the old page, faults");
	cc_expect_all(page, PAGE, 0x22222222,
		      "stale: Y wrote nothing into the page mapped after it was committed");
	/* A new job does use the new page. */
	cc_expect_ret(cc_run_store(&c, 3, VA_UP + PAGE + 8, 0x33), 0, "stale: a new job runs");
	cc_expect(page[2] == 0x33, "stale: ... and writes the new page", "got %#x", page[2]);
out_unmap:
	munmap(buf, 2 * PAGE);
out:
	cc_ctx_close(&c);
}

/*
 * A whole mapping replaced by one with the same bounds, protections and
 * backing file, while job Y (committed against it) waits behind job X:
 * nothing but the event (or the daemon refusing the bind) tells the two
 * apart, so this also covers memory the daemon cannot watch with its
 * userfaultfd. Kinds: private anonymous, MAP_DROPPABLE anonymous (no
 * userfaultfd on it), a private mapping of a file on a disk filesystem
 * (no write-protect registration there).
 */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

enum same_kind { SAME_ANON, SAME_DROPPABLE, SAME_FILE };

static void *same_map(enum same_kind kind, void *at, int fd)
{
	int fixed = at ? MAP_FIXED : 0;
	void *p;

	switch (kind) {
	case SAME_ANON:
		p = mmap(at, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
		break;
	case SAME_DROPPABLE:
		p = mmap(at, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_DROPPABLE | MAP_ANONYMOUS | fixed, -1, 0);
		break;
	default:
		p = mmap(at, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | fixed, fd, 0);
		break;
	}
	return p == MAP_FAILED ? NULL : p;
}

static void stale_same_vma(struct cc_ctx *c, enum same_kind kind)
{
	static const char *const names[] = { "same-vma anon", "same-vma droppable",
					     "same-vma file" };
	const char *n = names[kind];
	char check[160], tmpl[] = "/tmp/gpu_stale.XXXXXX";
	struct ugpu_cmdbuf cb;
	uint32_t *buf = NULL, *again;
	uint64_t fx, fy;
	int fd = -1, ret;

	if (kind == SAME_FILE) {
		static uint8_t fill[2 * PAGE];

		fd = mkstemp(tmpl);
		if (fd >= 0)
			unlink(tmpl);
		memset(fill, 0x44, sizeof(fill));
		if (fd < 0 || pwrite(fd, fill, sizeof(fill), 0) != (ssize_t)sizeof(fill)) {
			cc_expect(false, n, "temporary file: %s", strerror(errno));
			goto out;
		}
	}
	buf = same_map(kind, NULL, fd);
	if (!buf) {
		cc_note("%s: cannot map this kind here (%s), skipped", n, strerror(errno));
		goto out;
	}
	memset(buf, 0x11, 2 * PAGE);
	cc_ctl_set(c, CTL_SEM, 0);
	cc_ctl_set(c, CTL_STARTED, 0);
	ret = ugpu_vm_bind_userptr(c->dev, c->vm, VA_UP, buf, 2 * PAGE, 0);
	if (ret) {
		/* Refusing memory it cannot follow is a correct answer. */
		cc_note("%s: bind refused (%d, %s)", n, ret, cc_ename(ret));
		goto out;
	}
	snprintf(check, sizeof(check), "%s: job X holds engine 0", n);
	cc_batch_gated(c, 0, &cb, CTL_STARTED);
	if (!cc_expect_ret(cc_submit(c, 0, &cb, 0, &fx), 0, check))
		goto unbind;
	cc_batch(c, 1, &cb);
	ugpu_cmd_fill(&cb, VA_UP, 2 * PAGE, 0x0b0b0b0b);
	snprintf(check, sizeof(check), "%s: job Y, filling the mapping, queued behind", n);
	ret = cc_submit(c, 1, &cb, 0, &fy);
	if (!cc_expect_ret(ret, 0, check)) {
		cc_ctl_set(c, CTL_SEM, 1);
		ugpu_wait(c->dev, fx, WAIT_NS);
		goto unbind;
	}
	snprintf(check, sizeof(check), "%s: X runs", n);
	cc_expect(cc_poll_u32(&c->ctl[CTL_STARTED], 1), check, "never started");
	again = same_map(kind, buf, fd);
	snprintf(check, sizeof(check), "%s: the client maps the same again", n);
	cc_expect(again == buf, check, "%s", strerror(errno));
	if (again && kind != SAME_FILE)
		memset(again, 0x22, 2 * PAGE);
	cc_ctl_set(c, CTL_SEM, 1);
	snprintf(check, sizeof(check), "%s: X completes", n);
	cc_expect_ret(ugpu_wait(c->dev, fx, WAIT_NS), 0, check);
	snprintf(check, sizeof(check), "%s: Y, committed against the old mapping, faults", n);
	cc_expect_ret(ugpu_wait(c->dev, fy, WAIT_NS), -EFAULT, check);
	snprintf(check, sizeof(check), "%s: Y wrote nothing into the new mapping", n);
	if (kind == SAME_DROPPABLE) {
		/* The kernel may drop these pages (zeroes): look for Y's value only. */
		unsigned int ys = 0;

		for (unsigned int i = 0; i < 2 * PAGE / 4; i++)
			ys += buf[i] == 0x0b0b0b0b;
		cc_expect(!ys, check, "%u dwords hold Y's value", ys);
	} else {
		cc_expect_all(buf, 2 * PAGE, kind == SAME_FILE ? 0x44444444 : 0x22222222, check);
	}
unbind:
	ugpu_vm_unbind(c->dev, c->vm, VA_UP, 2 * PAGE);
out:
	if (buf)
		munmap(buf, 2 * PAGE);
	if (fd >= 0)
		close(fd);
}

static void scenario_replace_same_vma(const char *path)
{
	struct cc_ctx c;

	if (!cc_ctx_open_ok(&c, path, 0, "same-vma"))
		return;
	stale_same_vma(&c, SAME_ANON);
	stale_same_vma(&c, SAME_DROPPABLE);
	stale_same_vma(&c, SAME_FILE);
	cc_ctx_close(&c);
}

/* ---- main ------------------------------------------------------------- */

static const struct cc_scenario scenarios[] = {
	{ "replace-revalidate", scenario_replace_revalidate },
	{ "replace-same-vma", scenario_replace_same_vma },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return cc_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
