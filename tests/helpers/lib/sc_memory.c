// SPDX-License-Identifier: MIT
/*
 * Lane memory of stress_client (stress_common.h): where lanes and park
 * slots live in a stripe's region, filling pages with markers and
 * generations, the memfd page pool, fixed mappings and reservations,
 * retired memory (pages that left a bound range, poisoned then and
 * checked later for late device writes) and the guard pages around lanes.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/helpers/lib/stress_common.h"

uint8_t *sc_lane_addr(struct sc_stripe *s, unsigned int l)
{
	return s->region + (1 + (size_t)l * (LP + 1)) * PAGE;
}

uint8_t *sc_park_addr(struct sc_stripe *s, int k) { return s->park + (size_t)k * PAGE; }

void sc_fill32(void *p, uint32_t v, size_t bytes)
{
	uint32_t *d = p;

	for (size_t i = 0; i < bytes / 4; i++)
		d[i] = v;
}

void sc_fill_gen(uint32_t *p, uint32_t g)
{
	for (uint32_t i = 0; i < DW; i++)
		p[i] = sc_r_val(g, i);
}

int64_t sc_shm_alloc(struct sc_stripe *s)
{
	return s->nfree ? s->freeoff[--s->nfree] : -1;
}

void sc_shm_free(struct sc_stripe *s, int64_t off)
{
	if (off >= 0)
		s->freeoff[s->nfree++] = off;
}

bool sc_map_fixed(void *a, size_t len, int64_t shm, int fd, bool noreplace)
{
	int fl = (noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED) |
		 (shm >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS);
	void *p = mmap(a, len, PROT_READ | PROT_WRITE, fl, shm >= 0 ? fd : -1,
		       shm >= 0 ? (off_t)shm : 0);

	if (p != MAP_FAILED && p != a) {
		munmap(p, len);
		errno = EEXIST;
		return false;
	}
	return p != MAP_FAILED;
}

bool sc_reserve(void *a, size_t len)
{
	return mmap(a, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0) == a;
}

/* ---- retired memory: poisoned after it left, checked later ---------------- */

/* Is the retired page still all poison? Return -1 (harness), 0 (dirty), 1. */
static int retired_check(struct sc_stripe *s, const struct sc_retired *r)
{
	const uint32_t *p = s->tmp;

	if (r->park >= 0)
		p = (const uint32_t *)sc_park_addr(s, r->park);
	else if (pread(s->memfd, s->tmp, PAGE, r->shm) != PAGE)
		return -1;
	for (uint32_t i = 0; i < DW; i++) {
		if (p[i] != r->poison) {
			sc_finding(V_OLDMEM, "stripe %u: %s page %" PRId64 "/park %d dword %u is %#x "
				"(%s), poisoned with %#x after the call that removed it returned",
				s->idx, r->shm >= 0 ? "memfd" : "private", r->shm, r->park, i, p[i],
				sc_is_tag(p[i]) ? "a job's tag" : "not a tag", r->poison);
			return 0;
		}
	}
	sc_add(&sc_fig.retired, 1);
	return 1;
}

void sc_retired_pop(struct sc_stripe *s)
{
	struct sc_retired *r = &s->ret[s->rhead];
	int clean = retired_check(s, r);

	if (clean < 0)
		sc_harness_fail("pread memfd");
	if (r->park >= 0) {
		if (!sc_reserve(sc_park_addr(s, r->park), PAGE))
			sc_harness_fail("re-reserve park slot");
		s->park_used[r->park] = false;
	}
	/* A page something wrote late is not used again: one report per write. */
	if (clean > 0)
		sc_shm_free(s, r->shm);
	s->rhead = (s->rhead + 1) % NRET;
	s->rcount--;
}

/* Page [shm or park] left the range: poison it now, check it later. */
void sc_retire(struct sc_stripe *s, int64_t shm, int park)
{
	struct sc_retired *r;
	uint32_t poison = POISON_BIT | (s->next_mark++ & 0x3fffffffu);

	if (shm < 0 && park < 0)
		return;		/* private memory that is gone */
	if (s->rcount == NRET)
		sc_retired_pop(s);
	if (park >= 0) {
		sc_fill32(sc_park_addr(s, park), poison, PAGE);
	} else {
		sc_fill32(s->tmp, poison, PAGE);
		if (pwrite(s->memfd, s->tmp, PAGE, shm) != PAGE)
			sc_harness_fail("pwrite poison");
	}
	r = &s->ret[(s->rhead + s->rcount++) % NRET];
	*r = (struct sc_retired){ .shm = shm, .park = park, .poison = poison };
}

int sc_park_get(struct sc_stripe *s)
{
	for (;;) {
		for (int k = 0; k < (int)NPARK; k++)
			if (!s->park_used[k]) {
				s->park_used[k] = true;
				return k;
			}
		if (!s->rcount)
			return -1;
		sc_retired_pop(s);
	}
}

void sc_check_guards(struct sc_stripe *s)
{
	for (unsigned int l = 0; l <= NL; l++) {
		const uint32_t *g = (const uint32_t *)(s->region + (size_t)l * (LP + 1) * PAGE);

		for (uint32_t i = 0; i < DW; i++)
			if (g[i] != GUARD) {
				sc_finding(V_GUARD, "stripe %u guard page %u dword %u is %#x", s->idx, l,
					i, g[i]);
				break;
			}
	}
}
