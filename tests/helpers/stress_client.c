// SPDX-License-Identifier: MIT
/*
 * stress_client: the race storm's client process (tests/stress/race_stress.c
 * runs it; RELIABILITY.md states what it proves). Usage:
 * `stress_client <device> <seconds> <seed>`. Three stripes, each a client
 * (one open) with one VM whose userptr lanes live in this process: a racer
 * thread replaces, unmaps, moves and zaps the lanes' pages (MAP_FIXED
 * private or memfd, munmap + re-map, mremap out/in/shrink, madvise
 * DONTNEED/FREE) while two submitter threads store into write lanes and
 * copy and checksum read lanes. The last stripe maps only memfd memory,
 * so its VM has no DMA port and the device reaches it through daemon
 * mappings only. Every write carries its job's tag, every read-lane page
 * carries a generation number in every dword, and every job and mm call
 * is stamped on one logical clock (before the call, after it returns):
 * the checks compare tags and generations against those stamps, so
 * nothing depends on timing. Prints `ok <check>` / `not ok <check>:
 * detail`, `# figure <name> <value>` lines, exits 1 on any failure.
 * This file sets the stripes up, runs the storm and reports; the parts
 * it runs are in tests/helpers/lib/sc_*.c (stress_common.h): sc_racer.c
 * (the racer), sc_submit.c (the submitters and their checks), sc_memory.c
 * (lane and retired memory) and sc_core.c (findings, clock, records).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libclient/ugpu.h"
#include "tests/helpers/lib/stress_common.h"
#include "uapi/ugpu.h"

static struct sc_stripe S[NSTRIPE];

/* ---- setup, the end, main ------------------------------------------------ */

static bool lane_setup(struct sc_stripe *s, unsigned int l)
{
	struct sc_lane *ln = &s->ln[l];
	bool shm = s->shm_only || l == 1 || l == NW + 1;

	ln->idx = l;
	ln->rd = l >= NW;
	ln->addr = sc_lane_addr(s, l);
	for (unsigned int p = 0; p < LP; p++) {
		struct sc_page_st *pg = &ln->pg[p];
		uint8_t *a = ln->addr + p * PAGE;
		uint32_t g = ++s->next_gen;

		pg->shm = shm ? sc_shm_alloc(s) : -1;
		if (!sc_map_fixed(a, PAGE, pg->shm, s->memfd, false))
			return false;
		if (ln->rd) {
			sc_fill_gen((uint32_t *)a, g);
			pg->h[0] = (struct sc_hent){ .g = g, .kind = H_GEN, .dr = UINT64_MAX };
			pg->hn = 1;
		} else {
			sc_fill32(a, MARK_BIT | s->next_mark++, PAGE);
		}
	}
	return ugpu_vm_bind_userptr(s->dev, s->vm, VA_LANE(l), ln->addr, LP * PAGE, 0) == 0;
}

static int stripe_setup(struct sc_stripe *s, unsigned int idx, const char *dev, uint32_t seed)
{
	struct ugpu_info info;
	int ret;

	s->idx = idx;
	s->shm_only = idx == NSTRIPE - 1;
	s->sealed = idx != 1;
	s->rnd = seed * 2654435761u + idx + 1;
	pthread_mutex_init(&s->lock, NULL);
	ret = ugpu_open(dev, &s->dev);
	if (!ret)
		ret = ugpu_query(s->dev, &info);
	if (!ret)
		ret = ugpu_vm_create(s->dev, 0, &s->vm);
	if (ret)
		return ret;
	s->engines = info.num_engines;
	s->host = ugpu_host_alloc(s->dev, HOST_PAGES * PAGE);
	s->memfd = memfd_create("stress", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	s->region = mmap(NULL, REGION_PAGES * PAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!s->host || s->memfd < 0 || s->region == MAP_FAILED ||
	    ftruncate(s->memfd, SHM_PAGES * PAGE) ||
	    (s->sealed && fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)))
		return -errno;
	memset(s->host, 0, HOST_PAGES * PAGE);
	ret = ugpu_vm_bind_userptr(s->dev, s->vm, VA_HOST, s->host, HOST_PAGES * PAGE, 0);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < SHM_PAGES; i++)
		s->freeoff[s->nfree++] = (int64_t)(SHM_PAGES - 1 - i) * PAGE;
	s->park = s->region + (1 + NL * (LP + 1)) * PAGE;
	s->stage = s->park + NPARK * PAGE;
	for (unsigned int l = 0; l <= NL; l++) {
		uint8_t *g = s->region + (size_t)l * (LP + 1) * PAGE;

		if (!sc_map_fixed(g, PAGE, -1, -1, false))
			return -errno;
		sc_fill32(g, GUARD, PAGE);
	}
	for (unsigned int l = 0; l < NL; l++)
		if (!lane_setup(s, l))
			return errno ? -errno : -EIO;
	return 0;
}

/* One clean job per lane kind on settled memory: exact results. */
static void clean_run(struct sc_stripe *s, struct sc_sub *u)
{
	struct sc_jt j = { 0 };
	uint32_t page[DW];

	if (sc_run_job(u, 0, 0, &j) <= 0 || j.st) {
		sc_finding(V_CLEAN, "stripe %u: bulk job exec %d status %d", s->idx, j.ret, j.st);
		return;
	}
	for (unsigned int p = 0; p < LP; p++) {
		memcpy(page, s->ln[0].addr + p * PAGE, PAGE);
		for (uint32_t i = 0; i < DW; i++)
			if (page[i] != j.tag) {
				sc_finding(V_CLEAN, "stripe %u: lane 0 page %u dword %u is %#x, not %#x",
					s->idx, p, i, page[i], j.tag);
				return;
			}
	}
	for (unsigned int l = NW; l < NL; l++) {
		uint64_t before = sc_get(&sc_fig.viol[V_READ]) + sc_get(&sc_fig.viol[V_CRC]);

		if (sc_run_job(u, 2, l, &j) <= 0 || j.st) {
			sc_finding(V_CLEAN, "stripe %u: read job exec %d status %d", s->idx, j.ret,
				j.st);
			return;
		}
		sc_check_read(u, &s->ln[l], &j);
		if (sc_get(&sc_fig.viol[V_READ]) + sc_get(&sc_fig.viol[V_CRC]) != before)
			sc_finding(V_CLEAN, "stripe %u: read lane %u gave wrong data", s->idx, l);
	}
}

static void finish_stripe(struct sc_stripe *s, struct sc_sub *u)
{
	for (unsigned int l = 0; l < NW; l++)
		for (unsigned int p = 0; p < LP; p++)
			sc_scan_w(s, &s->ln[l], p, SCAN_CHECK, s->ln[l].pg[p].c_inval);
	while (s->rcount)
		sc_retired_pop(s);
	sc_check_guards(s);
	if (!__atomic_load_n(&sc_fatal, __ATOMIC_ACQUIRE))
		clean_run(s, u);
}

static void print_figures(double secs)
{
	struct ugpu_stats st = { 0 };
	uint64_t ops = 0;

	for (int i = 0; i < NOPS; i++) {
		ops += sc_get(&sc_fig.ops[i]);
		printf("# figure op_%s %" PRIu64 "\n", sc_opname[i], sc_get(&sc_fig.ops[i]));
	}
	printf("# figure seconds %.1f\n# figure mm_ops %" PRIu64 "\n", secs, ops);
	printf("# figure jobs %" PRIu64 "\n# figure exec_ok %" PRIu64 "\n"
	       "# figure exec_efault %" PRIu64 "\n# figure job_ok %" PRIu64 "\n"
	       "# figure job_efault %" PRIu64 "\n", sc_get(&sc_fig.jobs), sc_get(&sc_fig.exec_ok),
	       sc_get(&sc_fig.exec_fault), sc_get(&sc_fig.job_ok), sc_get(&sc_fig.job_fault));
	printf("# figure jobs_bulk %" PRIu64 "\n# figure jobs_column %" PRIu64 "\n"
	       "# figure jobs_read %" PRIu64 "\n", sc_get(&sc_fig.bulk), sc_get(&sc_fig.column), sc_get(&sc_fig.reads));
	printf("# figure window_writes %" PRIu64 "\n# figure kept_writes %" PRIu64 "\n",
	       sc_get(&sc_fig.window), sc_get(&sc_fig.kept));
	printf("# figure pages_scanned %" PRIu64 "\n# figure tags_checked %" PRIu64 "\n"
	       "# figure tags_unknown %" PRIu64 "\n", sc_get(&sc_fig.scanned), sc_get(&sc_fig.tags),
	       sc_get(&sc_fig.unknown));
	printf("# figure reads_checked %" PRIu64 "\n# figure read_dwords_unknown %" PRIu64 "\n"
	       "# figure checksums_checked %" PRIu64 "\n# figure checksums_unchecked %" PRIu64
	       "\n", sc_get(&sc_fig.reads_checked), sc_get(&sc_fig.read_unknown), sc_get(&sc_fig.crc_checked),
	       sc_get(&sc_fig.crc_unchecked));
	printf("# figure landings_checked %" PRIu64 "\n# figure landings_skipped %" PRIu64 "\n"
	       "# figure retired_pages_checked %" PRIu64 "\n", sc_get(&sc_fig.landed),
	       sc_get(&sc_fig.landing_skipped), sc_get(&sc_fig.retired));
	if (ioctl(ugpu_fd(S[0].dev), UGPU_IOCTL_STATS, &st) == 0)
		printf("# figure daemon_invalidations %llu\n# figure daemon_exec_retries %llu\n",
		       (unsigned long long)st.invalidations, (unsigned long long)st.exec_retries);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void storm(double secs)
{
	pthread_t racers[NSTRIPE];
	static struct sc_sub subs[NSTRIPE][NSUB];
	double t0 = now_s(), next = t0 + 10;

	for (unsigned int i = 0; i < NSTRIPE; i++) {
		for (unsigned int t = 0; t < NSUB; t++) {
			struct sc_sub *u = &subs[i][t];
			size_t off = (size_t)t * SUB_PAGES * PAGE;

			*u = (struct sc_sub){ .s = &S[i], .t = t, .rnd = S[i].rnd ^ (0x9e3779b9u * (t + 1)) };
			u->batch = S[i].host + off;
			u->result = u->batch + 2 * PAGE;
			u->stamp = (uint32_t *)(u->result + LP * PAGE);
			u->va_batch = VA_HOST + off;
			u->va_result = u->va_batch + 2 * PAGE;
			u->va_stamp = u->va_result + LP * PAGE;
			if (pthread_create(&u->thr, NULL, sc_sub_main, u))
				return sc_harness_fail("pthread_create");
		}
		if (pthread_create(&racers[i], NULL, sc_racer_main, &S[i]))
			return sc_harness_fail("pthread_create");
	}
	__atomic_store_n(&sc_start, 1, __ATOMIC_RELEASE);
	while (!sc_stopped() && now_s() - t0 < secs) {
		struct timespec t = { 0, 50 * 1000000 };

		nanosleep(&t, NULL);
		if (now_s() >= next) {
			printf("# progress %.0f s: %" PRIu64 " jobs, %" PRIu64 " ok, %" PRIu64
			       " faulted\n", now_s() - t0, sc_get(&sc_fig.jobs), sc_get(&sc_fig.job_ok),
			       sc_get(&sc_fig.job_fault) + sc_get(&sc_fig.exec_fault));
			next += 10;
		}
	}
	__atomic_store_n(&sc_stop, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < NSTRIPE; i++) {
		pthread_join(racers[i], NULL);
		for (unsigned int t = 0; t < NSUB; t++)
			pthread_join(subs[i][t].thr, NULL);
	}
	for (unsigned int i = 0; i < NSTRIPE; i++)
		finish_stripe(&S[i], &subs[i][0]);
	print_figures(now_s() - t0);
}

int main(int argc, char **argv)
{
	static const uint8_t digits[] = "123456789";
	int nfail = 0, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 4) {
		fprintf(stderr, "usage: stress_client <device> <seconds> <seed>\n");
		return 2;
	}
	sc_crc_init();
	if ((sc_crc_update(0xffffffffu, digits, 9) ^ 0xffffffffu) != 0xe3069283u) {
		printf("not ok crc32c self-test\n");
		return 1;
	}
	sc_ring = calloc(RING, sizeof(*sc_ring));
	if (!sc_ring)
		return 2;
	for (unsigned int i = 0; i < NSTRIPE; i++) {
		ret = stripe_setup(&S[i], i, argv[1], (uint32_t)strtoul(argv[3], NULL, 0));
		if (ret) {
			printf("not ok setup of stripe %u: %s\n", i, strerror(-ret));
			return 1;
		}
	}
	printf("ok setup: %u stripes, %u lanes of %u pages each\n", NSTRIPE, NL, LP);
	storm(strtod(argv[2], NULL));
	for (int v = 0; v < NV; v++) {
		if (sc_get(&sc_fig.viol[v])) {
			nfail++;
			printf("not ok %s: %s: %" PRIu64 " findings\n", sc_vname[v], sc_vwhat[v],
			       sc_get(&sc_fig.viol[v]));
		} else {
			printf("ok %s: %s\n", sc_vname[v], sc_vwhat[v]);
		}
	}
	if (!sc_get(&sc_fig.job_ok) || !sc_get(&sc_fig.reads_checked) || !sc_get(&sc_fig.landed)) {
		nfail++;
		printf("not ok the storm did work: %" PRIu64 " jobs ok, %" PRIu64
		       " reads checked, %" PRIu64 " landings checked\n", sc_get(&sc_fig.job_ok),
		       sc_get(&sc_fig.reads_checked), sc_get(&sc_fig.landed));
	}
	for (unsigned int i = 0; i < NSTRIPE; i++)
		ugpu_close(S[i].dev);
	return nfail ? 1 : 0;
}
