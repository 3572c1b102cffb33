// SPDX-License-Identifier: MIT
/*
 * ugpuctl's tables and JSON documents (show.h). Fields are looked up by
 * name, never by position, so a daemon that adds fields shows them (the
 * status table lists unknown ones under their key) and one that lacks a
 * field shows "-" instead of a made-up zero.
 */
#include <inttypes.h>
#include <string.h>

#include "show.h"

struct label {
	const char *key, *text;
};

/* Status rows in the order an operator reads them. */
static const struct label status_labels[] = {
	{ "clients", "clients" },
	{ "vms", "VMs" },
	{ "bos", "BOs" },
	{ "userptrs", "userptrs" },
	{ "bound_bytes", "bound memory" },
	{ "jobs_submitted", "jobs submitted" },
	{ "jobs_completed", "jobs completed" },
	{ "jobs_failed", "jobs failed" },
	{ "jobs_running", "jobs running" },
	{ "invalidations", "invalidations" },
	{ "exec_retries", "exec retries" },
	{ "gpu_faults", "GPU page faults" },
	{ "gpu_hangs", "GPU hangs" },
	{ "engine_resets", "engine resets" },
	{ "bytes_read", "bytes read" },
	{ "bytes_written", "bytes written" },
	{ NULL, NULL },
};

/* In the header line, not in the rows. */
static bool header_key(const char *key)
{
	return !strcmp(key, "backend") || !strcmp(key, "engines");
}

static bool bytes_key(const char *key)
{
	size_t n = strlen(key);

	return !strncmp(key, "bytes_", 6) || (n > 6 && !strcmp(key + n - 6, "_bytes"));
}

const char *show_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double x = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", v);
		return buf;
	}
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", x, units[u]);
	return buf;
}

static void value_text(const struct json_obj *o, const struct json_field *fl,
		       const char *key, char *buf, size_t len)
{
	char hb[32];

	switch (fl->type) {
	case JSON_INT:
		if (fl->neg)
			snprintf(buf, len, "-%" PRIu64, fl->mag);
		else if (bytes_key(key) && fl->mag >= 1024)
			snprintf(buf, len, "%s (%" PRIu64 " bytes)",
				 show_bytes(fl->mag, hb, sizeof(hb)), fl->mag);
		else if (bytes_key(key))
			snprintf(buf, len, "%" PRIu64 " B", fl->mag);
		else
			snprintf(buf, len, "%" PRIu64, fl->mag);
		break;
	case JSON_STR:
		snprintf(buf, len, "%s", o->pool + fl->str);
		break;
	case JSON_BOOL:
		snprintf(buf, len, "%s", fl->b ? "yes" : "no");
		break;
	}
}

static void row(FILE *f, const struct json_obj *o, unsigned int i, const char *label)
{
	const char *key = json_key(o, i);
	char val[128], lab[64];
	size_t j;

	if (!label) {
		snprintf(lab, sizeof(lab), "%s", key);
		for (j = 0; lab[j]; j++)
			if (lab[j] == '_')
				lab[j] = ' ';
		label = lab;
	}
	value_text(o, &o->f[i], key, val, sizeof(val));
	fprintf(f, "  %-17s %s\n", label, val);
}

void show_status(FILE *f, const struct ctl_dev *d, const char *how,
		 const struct json_obj *stats)
{
	const char *backend = json_get_str(stats, "backend");
	const struct label *l;
	uint64_t engines;
	unsigned int i;

	fprintf(f, "ugpud at %s (%s, %s)\n", d->path,
		d->fuse ? "FUSE mount" : "device node", how);
	if (backend && !json_get_u64(stats, "engines", &engines))
		fprintf(f, "backend %s, %" PRIu64 " engine%s\n", backend, engines,
			engines == 1 ? "" : "s");
	else if (backend)
		fprintf(f, "backend %s\n", backend);
	for (l = status_labels; l->key; l++)
		for (i = 0; i < stats->n; i++)
			if (!strcmp(json_key(stats, i), l->key))
				row(f, stats, i, l->text);
	for (i = 0; i < stats->n; i++) {
		const char *key = json_key(stats, i);

		for (l = status_labels; l->key && strcmp(l->key, key); l++)
			;
		if (!l->key && !header_key(key))
			row(f, stats, i, NULL);
	}
}

/* A column of the clients table: daemon field, header, width. */
struct column {
	const char *key, *head;
	int width;
	bool bytes;
};

static const struct column client_cols[] = {
	{ "uid", "UID", 6, false },
	{ "vms", "VMS", 4, false },
	{ "bos", "BOS", 5, false },
	{ "userptrs", "UPTRS", 6, false },
	{ "bound_bytes", "BOUND", 10, true },
	{ "bo_bytes", "BO MEM", 10, true },
	{ "jobs_submitted", "SUBMIT", 8, false },
	{ "jobs_completed", "DONE", 8, false },
	{ "jobs_failed", "FAIL", 6, false },
	{ "jobs_inflight", "RUN", 5, false },
	{ "invalidations", "INVAL", 7, false },
	{ "exec_retries", "RETRY", 6, false },
	{ NULL, NULL, 0, false },
};

static void cell(FILE *f, const struct json_obj *o, const struct column *c)
{
	const struct json_field *fl = json_find(o, c->key);
	char buf[32];

	if (!fl || fl->type != JSON_INT)
		snprintf(buf, sizeof(buf), "-");
	else if (fl->neg)
		snprintf(buf, sizeof(buf), "-%" PRIu64, fl->mag);
	else if (c->bytes)
		show_bytes(fl->mag, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%" PRIu64, fl->mag);
	fprintf(f, " %*s", c->width, buf);
}

static void not_shown_note(FILE *f, const struct ctl_clients *c)
{
	if (c->not_shown)
		fprintf(f, "(%zu client%s of other users not shown: a client's file "
			"is readable by its owner and root only)\n", c->not_shown,
			c->not_shown == 1 ? "" : "s");
}

void show_clients(FILE *f, const struct ctl_clients *c)
{
	const struct column *col;
	size_t i;

	if (!c->n) {
		fprintf(f, "no clients%s\n", c->not_shown ? " visible to you" : "");
		not_shown_note(f, c);
		return;
	}
	fprintf(f, "%-10s", "PID");
	for (col = client_cols; col->key; col++)
		fprintf(f, " %*s", col->width, col->head);
	fprintf(f, "\n");
	for (i = 0; i < c->n; i++) {
		const struct json_obj *o = &c->v[i].obj;
		bool exited = false;

		fprintf(f, "%-10s", c->v[i].name);
		for (col = client_cols; col->key; col++)
			cell(f, o, col);
		json_get_bool(o, "exited", &exited);
		fprintf(f, "%s\n", exited ? "  (exited, releasing)" : "");
	}
	not_shown_note(f, c);
}

void show_clients_json(FILE *f, const struct ctl_clients *c)
{
	size_t i;

	fprintf(f, "{\"clients\":[");
	for (i = 0; i < c->n; i++) {
		const struct json_obj *o = &c->v[i].obj;

		if (i)
			fputc(',', f);
		if (json_find(o, "file")) {
			json_write(f, o);
			continue;
		}
		/* Our own key first, then the daemon's object unchanged. */
		fprintf(f, "{\"file\":");
		json_write_str(f, c->v[i].name);
		if (o->n)
			fputc(',', f);
		json_write_members(f, o);
		fputc('}', f);
	}
	fprintf(f, "],\"not_shown\":%zu}\n", c->not_shown);
}

void show_vms(FILE *f, const struct json_obj *stats, const struct ctl_clients *c)
{
	static const struct column cols[] = {
		{ "uid", "UID", 6, false },
		{ "vms", "VMS", 4, false },
		{ NULL, NULL, 0, false },
	};
	const struct column *col;
	uint64_t total;
	size_t i;

	if (!json_get_u64(stats, "vms", &total))
		fprintf(f, "%" PRIu64 " VM%s on the device\n", total, total == 1 ? "" : "s");
	if (c->n) {
		fprintf(f, "%-10s", "PID");
		for (col = cols; col->key; col++)
			fprintf(f, " %*s", col->width, col->head);
		fprintf(f, "\n");
	}
	for (i = 0; i < c->n; i++) {
		fprintf(f, "%-10s", c->v[i].name);
		for (col = cols; col->key; col++)
			cell(f, &c->v[i].obj, col);
		fprintf(f, "\n");
	}
	not_shown_note(f, c);
	fprintf(f, "(ugpud does not publish per-VM details yet: these are VM counts "
		"per client)\n");
}

static void copy_int(FILE *f, const struct json_obj *o, const char *key)
{
	const struct json_field *fl = json_find(o, key);

	if (!fl || fl->type != JSON_INT)
		return;
	fprintf(f, ",\"%s\":%s%" PRIu64, key, fl->neg ? "-" : "", fl->mag);
}

void show_vms_json(FILE *f, const struct json_obj *stats, const struct ctl_clients *c)
{
	uint64_t total;
	size_t i;

	fputc('{', f);
	if (!json_get_u64(stats, "vms", &total))
		fprintf(f, "\"vms\":%" PRIu64 ",", total);
	fprintf(f, "\"clients\":[");
	for (i = 0; i < c->n; i++) {
		fprintf(f, "%s{\"file\":", i ? "," : "");
		json_write_str(f, c->v[i].name);
		copy_int(f, &c->v[i].obj, "pid");
		copy_int(f, &c->v[i].obj, "uid");
		copy_int(f, &c->v[i].obj, "vms");
		fputc('}', f);
	}
	fprintf(f, "],\"not_shown\":%zu}\n", c->not_shown);
}
