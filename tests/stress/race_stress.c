// SPDX-License-Identifier: MIT
/*
 * The race storm (RELIABILITY.md, "Race storm"): a real ugpud and two
 * client processes of tests/helpers/stress_client, each with three
 * stripes of userptr lanes that racer threads munmap, mremap, madvise and
 * MAP_FIXED over while submitter threads store into them and copy and
 * checksum them, for $UGPU_STRESS_SECONDS seconds (default 20; the long
 * mode runs 600 or more). The clients judge every write and read against
 * the logical clock of their mm calls and execs and print `ok`/`not ok`
 * lines and `# figure` lines; this suite asserts on those, on the clients'
 * exit status, and that the daemon survives, forgets both clients
 * (DIR/stats back to zero) and exits 0 on SIGTERM. A second test is the
 * deterministic core of one check (tests/helpers/stress_window): no device
 * write may land in a file page after the client's munmap of it returned.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/suite.h"
#include "tests/lib/testutil.h"
#include "tests/lib/ugpud_harness.h"

#define HELPER		"stress_client"
#define NCLIENTS	2
#define DEFAULT_SECS	20

static struct ugpud D;

static int storm_seconds(void)
{
	const char *e = getenv("UGPU_STRESS_SECONDS");
	int s = e && *e ? atoi(e) : DEFAULT_SECS;

	return s > 0 ? s : DEFAULT_SECS;
}

static void dir_setup(void) { ugpud_dir_setup(&D, "ugpu-race"); }
static void dir_teardown(void) { ugpud_dir_teardown(&D); }

static void setup(void)
{
	/* Longer than any job here: a stuck job must show as a timeout. */
	static const char *const extra[] = { "--hang-timeout-ms", "30000", NULL };

	ugpud_start(&D, extra);
}

static void teardown(void)
{
	if (D.up)
		ugpud_stop(&D);
}

static bool stats_idle(void *arg)
{
	char *buf = arg;
	ssize_t n;
	int fd = open(D.stats, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, 1023);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return ugpud_stats_idle_json(buf);
}

/* The daemon forgot every client, still runs, and stops cleanly. */
static void assert_idle_and_stop(void)
{
	char buf[1024] = "";

	ck_assert_msg(tu_wait_for(stats_idle, buf, TU_TIMEOUT_MS),
		      "stats not back to zero: %s", buf);
	ck_assert_msg(waitpid(D.pid, NULL, WNOHANG) == 0, "ugpud died");
	fprintf(stderr, "race_stress: daemon at the end: %s", buf);
	ugpud_stop(&D);
}

struct client {
	struct tu_proc p;
	char name[32];
	bool open;
	int bad;
	char first_bad[1024];
};

static void client_start(struct client *c, const char *helper, const char *name, char **args)
{
	char path[PATH_MAX];
	char *argv[8] = { (char *)helper, D.card0 };

	for (int i = 0; args[i] && i < 5; i++)
		argv[2 + i] = args[i];
	ck_assert_int_eq(tu_helper_path(helper, path, sizeof(path)), 0);
	ck_assert_int_eq(tu_spawn(&c->p, path, argv, NULL), 0);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->open = true;
	c->bad = 0;
}

/* Echo the clients' lines until all closed stdout or @ms passed. */
static void clients_drain(struct client *c, int n, int ms)
{
	long long end = tu_now_ms() + ms;
	char line[1024];
	int open = n;

	while (open && tu_now_ms() < end) {
		bool any = false;

		for (int i = 0; i < n; i++) {
			int ret;

			if (!c[i].open || !tu_line_ready(&c[i].p))
				continue;
			any = true;
			ret = tu_read_line(&c[i].p, line, sizeof(line), 1000);
			if (ret == -EPIPE || (ret && ret != -ETIMEDOUT)) {
				c[i].open = false;
				open--;
				continue;
			}
			if (ret)
				continue;
			fprintf(stderr, "  [%s] %s\n", c[i].name, line);
			if (!strncmp(line, "not ok", 6) && !c[i].bad++)
				snprintf(c[i].first_bad, sizeof(c[i].first_bad), "%s", line);
		}
		if (!any)
			usleep(10000);
	}
}

/* Every client finished, exit 0, no `not ok`. */
static void clients_check(struct client *c, int n, int ms)
{
	clients_drain(c, n, ms);
	for (int i = 0; i < n; i++) {
		int st = 0;

		ck_assert_msg(!c[i].open, "%s did not finish in time", c[i].name);
		if (tu_wait_exit(&c[i].p, TU_TIMEOUT_MS, &st))
			tu_kill(&c[i].p);
		ck_assert_msg(!c[i].bad, "%s: %d failed checks, first: %s", c[i].name, c[i].bad,
			      c[i].first_bad);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s ended with status %#x",
			      c[i].name, st);
	}
}

START_TEST(test_race_storm)
{
	struct client c[NCLIENTS];
	char secs[16], seed[NCLIENTS][16], name[16];
	int s = storm_seconds();

	const char *env = getenv("UGPU_STRESS_SEED");
	int base = env && *env ? atoi(env) : (int)(tu_now_ms() % 100000);

	snprintf(secs, sizeof(secs), "%d", s);
	fprintf(stderr, "race_stress: %d clients, %d s, UGPU_STRESS_SEED=%d\n", NCLIENTS, s,
		base);
	for (int i = 0; i < NCLIENTS; i++) {
		char *args[] = { secs, seed[i], NULL };

		snprintf(seed[i], sizeof(seed[i]), "%d", 1 + i + base * 8);
		snprintf(name, sizeof(name), "client %d", i);
		client_start(&c[i], HELPER, name, args);
	}
	/* The storm's length, then the clients' final checks. */
	clients_check(c, NCLIENTS, (s + 120) * 1000);
	assert_idle_and_stop();
}
END_TEST

static void host_window(const char *kind)
{
	struct client c;
	char *args[] = { "30", (char *)kind, NULL };

	client_start(&c, "stress_window", kind, args);
	clients_check(&c, 1, 120 * 1000);
	assert_idle_and_stop();
}

/* The daemon maps the client's file itself (zero copy): no DMA port, no gate. */
START_TEST(test_host_window_sealed)
{
	host_window("sealed");
}
END_TEST

/* The same through the DMA port (an unsealed file): the gate covers it. */
START_TEST(test_host_window_unsealed)
{
	host_window("unsealed");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race_stress");
	TCase *tc;

	tc = tu_tcase(s, "storm", storm_seconds() + 240, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_race_storm);
	tc = tu_tcase(s, "host_window", 180, setup, teardown);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_host_window_sealed);
	tcase_add_test(tc, test_host_window_unsealed);
	return tu_run_suite(s);
}
