/* SPDX-License-Identifier: MIT */
/*
 * How ugpuctl presents what it read: the human tables (status, clients,
 * VMs per client) and the JSON documents of `clients --json` and
 * `vms --json`. Shared by the one-shot commands and `top`, so both show
 * the same columns with the same labels.
 */
#ifndef UGPUCTL_SHOW_H
#define UGPUCTL_SHOW_H

#include <stdint.h>
#include <stdio.h>

#include "device.h"
#include "json.h"

/**
 * show_bytes - format @v bytes for humans ("0 B", "4.0 KiB", "1.5 GiB")
 * @v:   the count
 * @buf: receives the text
 * @len: size of @buf
 *
 * Return: @buf.
 */
const char *show_bytes(uint64_t v, char *buf, size_t len);

/**
 * show_status - the device-wide counters as a two-column table
 * @f:     the stream
 * @d:     the device they came from
 * @how:   where they came from ("stats file", "STATS ioctl")
 * @stats: the counters; every field is shown, unknown ones by key
 */
void show_status(FILE *f, const struct ctl_dev *d, const char *how,
		 const struct json_obj *stats);

/**
 * show_clients - one line per client, then a note on those not shown
 * @f: the stream
 * @c: the clients
 */
void show_clients(FILE *f, const struct ctl_clients *c);

/**
 * show_clients_json - {"clients":[...],"not_shown":N} on one line
 * @f: the stream
 * @c: the clients; each object is the daemon's, plus "file" (its name
 *     under clients/) when the daemon gave no such field
 */
void show_clients_json(FILE *f, const struct ctl_clients *c);

/**
 * show_vms - VMs per client and the device total
 * @f:     the stream
 * @stats: the device-wide counters (for the total)
 * @c:     the clients
 */
void show_vms(FILE *f, const struct json_obj *stats, const struct ctl_clients *c);

/**
 * show_vms_json - {"vms":N,"clients":[{file,pid,uid,vms}...],"not_shown":N}
 * @f:     the stream
 * @stats: the device-wide counters (for the total)
 * @c:     the clients
 */
void show_vms_json(FILE *f, const struct json_obj *stats, const struct ctl_clients *c);

#endif
