/* SPDX-License-Identifier: MIT */
/*
 * A small, strict JSON reader and writer for what ugpud publishes: one
 * flat object whose values are integers, strings or booleans (the mount's
 * `stats` file and each `clients/<pid>` file). Anything else — nesting,
 * arrays, null, fractions, exponents, duplicate keys, bad escapes or
 * UTF-8, trailing text — is rejected, so a daemon bug shows up as an
 * error instead of a silently wrong number. Fields keep the daemon's
 * order, so `--json` passes them through unchanged.
 */
#ifndef UGPUCTL_JSON_H
#define UGPUCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_FIELDS	64
#define JSON_POOL	4096	/* keys and strings of one object, decoded */

enum json_type { JSON_INT, JSON_STR, JSON_BOOL };

struct json_field {
	uint32_t key;		/* offset of the NUL-terminated key in pool */
	enum json_type type;
	bool neg;		/* JSON_INT: the value is -mag */
	uint64_t mag;		/* JSON_INT: magnitude; <= 2^63 when neg */
	bool b;			/* JSON_BOOL */
	uint32_t str;		/* JSON_STR: offset in pool */
	uint32_t len;		/* JSON_STR: bytes, without the NUL */
};

struct json_obj {
	unsigned int n;
	struct json_field f[JSON_MAX_FIELDS];
	uint32_t used;		/* bytes of pool in use */
	char pool[JSON_POOL];
};

/**
 * json_parse - parse one flat JSON object
 * @text: the text; need not be NUL-terminated
 * @len:  its length
 * @o:    receives the fields
 *
 * Whitespace may surround the object; nothing else may.
 * Return: 0; -EINVAL for text that is not such an object; -ERANGE for an
 * integer outside [-2^63, 2^64); -E2BIG past JSON_MAX_FIELDS fields or
 * JSON_POOL bytes of keys and strings.
 */
int json_parse(const char *text, size_t len, struct json_obj *o);

/**
 * json_init - make @o an empty object
 * @o: the object
 */
void json_init(struct json_obj *o);

/**
 * json_key - the key of field @i of @o
 * @o: the object
 * @i: the field's index, < o->n
 */
const char *json_key(const struct json_obj *o, unsigned int i);

/**
 * json_find - the field named @key
 * @o:   the object
 * @key: the key
 *
 * Return: the field, or NULL if @o has none by that name.
 */
const struct json_field *json_find(const struct json_obj *o, const char *key);

/**
 * json_get_u64 - the value of integer field @key, which must be >= 0
 * @o:   the object
 * @key: the key
 * @v:   receives the value
 *
 * Return: 0, -ENOENT if there is no such field, -EINVAL if it is not a
 * non-negative integer.
 */
int json_get_u64(const struct json_obj *o, const char *key, uint64_t *v);

/**
 * json_get_i64 - the value of integer field @key
 * @o:   the object
 * @key: the key
 * @v:   receives the value
 *
 * Return: 0, -ENOENT, -EINVAL if not an integer, -ERANGE if above INT64_MAX.
 */
int json_get_i64(const struct json_obj *o, const char *key, int64_t *v);

/**
 * json_get_str - the value of string field @key
 * @o:   the object
 * @key: the key
 *
 * Return: the NUL-terminated string, or NULL if absent or not a string.
 */
const char *json_get_str(const struct json_obj *o, const char *key);

/**
 * json_get_bool - the value of boolean field @key
 * @o:   the object
 * @key: the key
 * @v:   receives the value
 *
 * Return: 0, -ENOENT, -EINVAL if not a boolean.
 */
int json_get_bool(const struct json_obj *o, const char *key, bool *v);

/**
 * json_add_u64 - append an integer field
 * @o:   the object
 * @key: the key; must not be in @o yet
 * @v:   the value
 *
 * Return: 0, -EEXIST, -E2BIG.
 */
int json_add_u64(struct json_obj *o, const char *key, uint64_t v);

/**
 * json_add_str - append a string field
 * @o:   the object
 * @key: the key; must not be in @o yet
 * @s:   the value, NUL-terminated UTF-8
 *
 * Return: 0, -EEXIST, -E2BIG.
 */
int json_add_str(struct json_obj *o, const char *key, const char *s);

/**
 * json_write - print @o as one JSON object on one line, no newline
 * @f: the stream
 * @o: the object
 */
void json_write(FILE *f, const struct json_obj *o);

/**
 * json_write_members - print the fields of @o as `"k":v,...`, no braces
 * @f: the stream
 * @o: the object
 *
 * For adding fields of one's own around the object's.
 */
void json_write_members(FILE *f, const struct json_obj *o);

/**
 * json_write_str - print @s as a JSON string, quotes included
 * @f: the stream
 * @s: NUL-terminated UTF-8
 */
void json_write_str(FILE *f, const char *s);

#endif
