// SPDX-License-Identifier: MIT
/*
 * The submitter threads of stress_client (stress_common.h): each builds
 * and runs bulk-fill, column-fill and read (copy + checksum) jobs on its
 * stripe's lanes, tagged and stamped on the logical clock, and checks
 * them: a read job's dwords and checksum against the generations the
 * page had during the job's life, a column job's landing when no op
 * touched the lane, and that each job's last store matches its status.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/lib/stress_common.h"

/* ---- submitters ---------------------------------------------------------- */

/* Options of one page for a job's life: generation numbers, 0 = zero page. */
struct sc_poss {
	unsigned int n;
	bool trunc;
	uint32_t g[8];
	bool zero[8];
};

static void possible(struct sc_stripe *s, struct sc_lane *ln, const struct sc_jt *j, struct sc_poss *out)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned int p = 0; p < LP; p++) {
		const struct sc_page_st *pg = &ln->pg[p];
		struct sc_poss *o = &out[p];
		unsigned int k = pg->hn, kept = pg->hn < HIST ? pg->hn : HIST;

		o->n = 0;
		o->trunc = false;
		for (; kept--; k--) {
			const struct sc_hent *e = &pg->h[(k - 1) % HIST];

			if (e->dr <= j->s)
				break;		/* this one and older ended before the job */
			if (!kept && pg->hn > HIST)
				o->trunc = true;
			if (e->ci >= j->w || e->kind == H_HOLE || (e->exact && j->r < e->c_inval))
				continue;
			if (o->n < 8) {
				o->g[o->n] = e->g;
				o->zero[o->n++] = e->kind == H_ZERO;
			} else {
				o->trunc = true;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static bool matches(const struct sc_poss *o, uint32_t v, uint32_t i, unsigned int *which)
{
	for (unsigned int k = 0; k < o->n; k++)
		if (o->zero[k] ? v == 0 : v == sc_r_val(o->g[k], i)) {
			*which = k;
			return true;
		}
	return false;
}

/* Does some choice of one option per page give @want? Depth-first. */
static bool crc_search(const struct sc_poss *o, unsigned int p, uint32_t c, uint32_t want,
		       unsigned int *budget)
{
	uint32_t page[DW];

	if (p == LP)
		return (c ^ 0xffffffffu) == want;
	for (unsigned int k = 0; k < o[p].n; k++) {
		if (!*budget)
			return false;
		(*budget)--;
		if (o[p].zero[k])
			memset(page, 0, PAGE);
		else
			sc_fill_gen(page, o[p].g[k]);
		if (crc_search(o, p + 1, sc_crc_update(c, page, PAGE), want, budget))
			return true;
	}
	return false;
}

void sc_check_read(struct sc_sub *u, struct sc_lane *ln, const struct sc_jt *j)
{
	const uint32_t *res = (const uint32_t *)u->result;
	struct sc_poss o[LP];
	unsigned int budget = 256, which;
	bool bad = false;

	possible(u->s, ln, j, o);
	for (unsigned int p = 0; p < LP && !bad; p++) {
		for (uint32_t i = 0; i < DW; i++) {
			uint32_t v = res[p * DW + i];

			if (v == UNWRITTEN && j->st)
				continue;
			if (matches(&o[p], v, i, &which)) {
				if (which) {	/* try this one first for the checksum */
					uint32_t g = o[p].g[which];
					bool z = o[p].zero[which];

					o[p].g[which] = o[p].g[0], o[p].zero[which] = o[p].zero[0];
					o[p].g[0] = g, o[p].zero[0] = z;
				}
				continue;
			}
			if (o[p].trunc) {
				sc_add(&sc_fig.read_unknown, 1);
				continue;
			}
			sc_finding(V_READ, "stripe %u lane %u page %u dword %u: job %u (status %d, "
				"s=%" PRIu64 " r=%" PRIu64 " w=%" PRIu64 ") read %#x; %u options, "
				"first %#x", u->s->idx, ln->idx, p, i, j->tag, j->st, j->s, j->r,
				j->w, v, o[p].n, o[p].n ? (o[p].zero[0] ? 0 : sc_r_val(o[p].g[0], i)) : 0);
			bad = true;
			break;
		}
	}
	sc_add(&sc_fig.reads_checked, 1);
	if (j->st)
		return;
	if (crc_search(o, 0, 0xffffffffu, u->stamp[1], &budget)) {
		sc_add(&sc_fig.crc_checked, 1);
	} else if (!budget || o[0].trunc || o[1].trunc || o[2].trunc || o[3].trunc) {
		sc_add(&sc_fig.crc_unchecked, 1);
	} else {
		sc_finding(V_CRC, "stripe %u lane %u: job %u checksum %#x matches no contents "
			"the lane had during the job (options %u/%u/%u/%u)", u->s->idx, ln->idx,
			j->tag, u->stamp[1], o[0].n, o[1].n, o[2].n, o[3].n);
	}
}

/* Read our own lane memory without faulting if the racer unmapped it. */
static bool self_read(void *dst, const void *src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)src, len };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len;
}

static void check_landing(struct sc_sub *u, struct sc_lane *ln, const struct sc_jt *j, uint32_t v1)
{
	uint32_t col[COL_DW];
	bool ok = true;

	for (unsigned int p = 0; p < LP && ok; p++) {
		if (!self_read(col, ln->addr + p * PAGE + u->t * COL_DW * 4, sizeof(col))) {
			ok = false;
			break;
		}
		for (unsigned int i = 0; i < COL_DW; i++)
			if (col[i] != j->tag) {
				if (__atomic_load_n(&ln->ver, __ATOMIC_SEQ_CST) != v1)
					break;
				sc_finding(V_LANDING, "stripe %u lane %u page %u column dword %u is %#x "
					"after job %u completed, no op on the lane meanwhile", u->s->idx,
					ln->idx, p, i, col[i], j->tag);
				return;
			}
	}
	if (ok && __atomic_load_n(&ln->ver, __ATOMIC_SEQ_CST) == v1)
		sc_add(&sc_fig.landed, 1);
	else
		sc_add(&sc_fig.landing_skipped, 1);
}

/* Build the batch of a job of @kind on lane @l with tag @tag. */
static int build(struct sc_sub *u, unsigned int kind, unsigned int l, uint32_t tag)
{
	struct ugpu_cmdbuf cb;

	ugpu_cmd_init(&cb, u->batch, 2 * PAGE);
	if (kind == 0) {
		for (unsigned int k = 0; k < 4; k++)
			ugpu_cmd_fill(&cb, VA_LANE(l), LP * PAGE, tag);
	} else if (kind == 1) {
		for (unsigned int k = 0; k < REPS; k++)
			for (unsigned int p = 0; p < LP; p++)
				ugpu_cmd_fill(&cb, VA_LANE(l) + p * PAGE + u->t * COL_DW * 4,
					      COL_DW * 4, tag);
		for (unsigned int p = 0; p < LP; p++)
			for (unsigned int k = 0; k < 4; k++)
				ugpu_cmd_store_dword(&cb, VA_LANE(l) + p * PAGE +
						     (u->t * COL_DW + sc_rnd(&u->rnd) % COL_DW) * 4, tag);
	} else {
		ugpu_cmd_copy(&cb, u->va_result, VA_LANE(l), LP * PAGE);
		ugpu_cmd_checksum(&cb, u->va_stamp + 4, VA_LANE(l), LP * PAGE);
	}
	ugpu_cmd_store_dword(&cb, u->va_stamp, tag);
	return ugpu_cmd_end(&cb) ? -ENOSPC : (int)cb.len * 4;
}

int sc_run_job(struct sc_sub *u, unsigned int kind, unsigned int l, struct sc_jt *j)
{
	struct sc_stripe *s = u->s;
	uint64_t fence;
	int len;

	j->tag = __atomic_add_fetch(&sc_last_tag, 1, __ATOMIC_RELAXED);
	len = build(u, kind, l, j->tag);
	if (len < 0)
		return len;
	u->stamp[0] = 0;
	u->stamp[1] = UNWRITTEN;
	if (kind == 2)
		sc_fill32(u->result, UNWRITTEN, LP * PAGE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	j->s = sc_tick();
	sc_rec_begin(j->tag, j->s);
	j->ret = ugpu_exec(s->dev, s->vm, sc_rnd(&u->rnd) % s->engines, u->va_batch, len, &fence);
	j->r = sc_tick();
	sc_rec_end(j->tag, j->r, j->ret);
	sc_add(&sc_fig.jobs, 1);
	if (j->ret) {
		struct timespec t = { 0, (long)(50 + sc_rnd(&u->rnd) % 500) * 1000 };

		/* A hole somewhere in the VM: let the racer fill it. */
		nanosleep(&t, NULL);
		sc_add(j->ret == -EFAULT ? &sc_fig.exec_fault : &sc_fig.viol[V_EXEC], 1);
		if (j->ret != -EFAULT && sc_get(&sc_fig.viol[V_EXEC]) <= NOTE_MAX)
			printf("# %s: job %u: %d (%s)\n", sc_vname[V_EXEC], j->tag, j->ret,
			       strerror(-j->ret));
		return 0;
	}
	sc_add(&sc_fig.exec_ok, 1);
	j->st = ugpu_wait(s->dev, fence, WAIT_NS);
	j->w = sc_tick();
	if (j->st && j->st != -EFAULT) {
		sc_finding(V_WAIT, "stripe %u job %u ended %d (%s)", s->idx, j->tag, j->st,
			strerror(-j->st));
		if (j->st == -ETIME)
			__atomic_store_n(&sc_stop, 1, __ATOMIC_RELEASE);
		return 0;
	}
	sc_add(j->st ? &sc_fig.job_fault : &sc_fig.job_ok, 1);
	if ((u->stamp[0] == j->tag) != (j->st == 0))
		sc_finding(V_STAMP, "stripe %u job %u status %d but its last store %s", s->idx,
			j->tag, j->st, j->st ? "landed" : "is missing");
	return 1;
}

void *sc_sub_main(void *arg)
{
	struct sc_sub *u = arg;
	struct sc_stripe *s = u->s;

	sc_wait_start();
	while (!sc_stopped()) {
		unsigned int r = sc_rnd(&u->rnd) % 10;
		unsigned int kind = r < 3 ? 0 : r < 6 ? 1 : 2;
		unsigned int l = kind == 0 ? 0 : kind == 1 ? 1 + sc_rnd(&u->rnd) % (NW - 1) :
				 NW + sc_rnd(&u->rnd) % NR;
		struct sc_lane *ln = &s->ln[l];
		uint32_t v1 = __atomic_load_n(&ln->ver, __ATOMIC_SEQ_CST);
		struct sc_jt j = { 0 };
		int ret = sc_run_job(u, kind, l, &j);

		if (ret < 0) {
			errno = -ret;
			sc_harness_fail("build a batch");
		}
		if (ret <= 0)
			continue;
		sc_add(kind == 0 ? &sc_fig.bulk : kind == 1 ? &sc_fig.column : &sc_fig.reads, 1);
		if (kind == 2)
			sc_check_read(u, ln, &j);
		else if (kind == 1 && !j.st && !(v1 & 1))
			check_landing(u, ln, &j, v1);
	}
	return NULL;
}
