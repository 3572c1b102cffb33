// SPDX-License-Identifier: MIT
/*
 * The strict flat-object JSON reader and writer of ugpuctl (json.h): a
 * recursive-descent parser over exactly the RFC 8259 grammar for an
 * object of scalars, minus null and non-integer numbers, plus the writer
 * that prints such an object back on one line.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

struct cur {
	const unsigned char *p, *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end &&
	       (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int peek(const struct cur *c)
{
	return c->p < c->end ? *c->p : -1;
}

static int pool_put(struct json_obj *o, const void *s, size_t n)
{
	if (n > JSON_POOL - o->used)
		return -E2BIG;
	memcpy(o->pool + o->used, s, n);
	o->used += (uint32_t)n;
	return 0;
}

static int hex4(struct cur *c, unsigned int *v)
{
	int i;

	*v = 0;
	if (c->end - c->p < 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		unsigned char h = *c->p++;

		*v <<= 4;
		if (h >= '0' && h <= '9')
			*v |= h - '0';
		else if (h >= 'a' && h <= 'f')
			*v |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			*v |= h - 'A' + 10;
		else
			return -EINVAL;
	}
	return 0;
}

static size_t utf8_encode(unsigned int cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One \uXXXX escape (the "\u" already read), a surrogate pair as one. */
static int unicode_escape(struct cur *c, unsigned char *out, size_t *n)
{
	unsigned int cp, lo;

	if (hex4(c, &cp))
		return -EINVAL;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -EINVAL;			/* a lone low surrogate */
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
			return -EINVAL;
		c->p += 2;
		if (hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return -EINVAL;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return -EINVAL;			/* would end the C string */
	*n = utf8_encode(cp, out);
	return 0;
}

/* Length of the valid UTF-8 sequence at c->p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const struct cur *c)
{
	const unsigned char *p = c->p;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if ((size_t)(c->end - p) < n)
		return 0;
	/* Second-byte limits rule out overlongs, surrogates, > U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* A string (the opening quote at c->p) decoded into the pool. */
static int parse_string(struct cur *c, struct json_obj *o, uint32_t *off, uint32_t *len)
{
	unsigned char buf[4];
	size_t n;
	int ret;

	c->p++;
	*off = o->used;
	for (;;) {
		unsigned char ch;

		if (c->p >= c->end)
			return -EINVAL;
		ch = *c->p;
		if (ch == '"') {
			c->p++;
			break;
		}
		if (ch < 0x20)
			return -EINVAL;
		if (ch == '\\') {
			if (c->end - c->p < 2)
				return -EINVAL;
			ch = c->p[1];
			c->p += 2;
			n = 1;
			switch (ch) {
			case '"': case '\\': case '/': buf[0] = ch; break;
			case 'b': buf[0] = '\b'; break;
			case 'f': buf[0] = '\f'; break;
			case 'n': buf[0] = '\n'; break;
			case 'r': buf[0] = '\r'; break;
			case 't': buf[0] = '\t'; break;
			case 'u':
				if (unicode_escape(c, buf, &n))
					return -EINVAL;
				break;
			default:
				return -EINVAL;
			}
			ret = pool_put(o, buf, n);
		} else if (ch < 0x80) {
			ret = pool_put(o, c->p++, 1);
		} else {
			n = utf8_seq(c);
			if (!n)
				return -EINVAL;
			ret = pool_put(o, c->p, n);
			c->p += n;
		}
		if (ret)
			return ret;
	}
	*len = o->used - *off;
	return pool_put(o, "", 1);
}

/* -?(0|[1-9][0-9]*), and no fraction or exponent. */
static int parse_int(struct cur *c, struct json_field *f)
{
	uint64_t v = 0;

	f->neg = peek(c) == '-';
	if (f->neg)
		c->p++;
	if (peek(c) < '0' || peek(c) > '9')
		return -EINVAL;
	if (*c->p == '0') {
		c->p++;
	} else {
		while (peek(c) >= '0' && peek(c) <= '9') {
			unsigned int d = *c->p++ - '0';

			if (v > (UINT64_MAX - d) / 10)
				return -ERANGE;
			v = v * 10 + d;
		}
	}
	if (peek(c) == '.' || peek(c) == 'e' || peek(c) == 'E' ||
	    (peek(c) >= '0' && peek(c) <= '9'))
		return -EINVAL;
	if (f->neg && v > (uint64_t)INT64_MAX + 1)
		return -ERANGE;
	if (f->neg && v == 0)
		f->neg = false;			/* -0 is 0 */
	f->mag = v;
	return 0;
}

static bool literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
		return false;
	c->p += n;
	return true;
}

static int parse_value(struct cur *c, struct json_obj *o, struct json_field *f)
{
	int ch = peek(c);

	if (ch == '"') {
		f->type = JSON_STR;
		return parse_string(c, o, &f->str, &f->len);
	}
	if (ch == '-' || (ch >= '0' && ch <= '9')) {
		f->type = JSON_INT;
		return parse_int(c, f);
	}
	f->type = JSON_BOOL;
	if (literal(c, "true"))
		f->b = true;
	else if (literal(c, "false"))
		f->b = false;
	else
		return -EINVAL;			/* null, objects, arrays, junk */
	return 0;
}

static int parse_member(struct cur *c, struct json_obj *o)
{
	struct json_field *f;
	uint32_t keylen;
	int ret;

	if (o->n == JSON_MAX_FIELDS)
		return -E2BIG;
	f = &o->f[o->n];
	memset(f, 0, sizeof(*f));
	if (peek(c) != '"')
		return -EINVAL;
	ret = parse_string(c, o, &f->key, &keylen);
	if (ret)
		return ret;
	if (json_find(o, o->pool + f->key))
		return -EINVAL;			/* duplicate key */
	skip_ws(c);
	if (peek(c) != ':')
		return -EINVAL;
	c->p++;
	skip_ws(c);
	ret = parse_value(c, o, f);
	if (ret)
		return ret;
	o->n++;
	return 0;
}

int json_parse(const char *text, size_t len, struct json_obj *o)
{
	struct cur c = { (const unsigned char *)text, (const unsigned char *)text + len };
	int ret;

	json_init(o);
	skip_ws(&c);
	if (peek(&c) != '{')
		return -EINVAL;
	c.p++;
	skip_ws(&c);
	if (peek(&c) == '}') {
		c.p++;
	} else {
		for (;;) {
			ret = parse_member(&c, o);
			if (ret)
				return ret;
			skip_ws(&c);
			if (peek(&c) == '}') {
				c.p++;
				break;
			}
			if (peek(&c) != ',')
				return -EINVAL;
			c.p++;
			skip_ws(&c);
		}
	}
	skip_ws(&c);
	return c.p == c.end ? 0 : -EINVAL;
}

void json_init(struct json_obj *o)
{
	o->n = 0;
	o->used = 0;
}

const char *json_key(const struct json_obj *o, unsigned int i)
{
	return o->pool + o->f[i].key;
}

const struct json_field *json_find(const struct json_obj *o, const char *key)
{
	unsigned int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(json_key(o, i), key))
			return &o->f[i];
	return NULL;
}

int json_get_u64(const struct json_obj *o, const char *key, uint64_t *v)
{
	const struct json_field *f = json_find(o, key);

	if (!f)
		return -ENOENT;
	if (f->type != JSON_INT || f->neg)
		return -EINVAL;
	*v = f->mag;
	return 0;
}

int json_get_i64(const struct json_obj *o, const char *key, int64_t *v)
{
	const struct json_field *f = json_find(o, key);

	if (!f)
		return -ENOENT;
	if (f->type != JSON_INT)
		return -EINVAL;
	if (!f->neg && f->mag > INT64_MAX)
		return -ERANGE;
	/* mag <= 2^63 when neg: negate in unsigned, then convert. */
	*v = f->neg ? (int64_t)(0 - f->mag) : (int64_t)f->mag;
	return 0;
}

const char *json_get_str(const struct json_obj *o, const char *key)
{
	const struct json_field *f = json_find(o, key);

	return f && f->type == JSON_STR ? o->pool + f->str : NULL;
}

int json_get_bool(const struct json_obj *o, const char *key, bool *v)
{
	const struct json_field *f = json_find(o, key);

	if (!f)
		return -ENOENT;
	if (f->type != JSON_BOOL)
		return -EINVAL;
	*v = f->b;
	return 0;
}

static int add_field(struct json_obj *o, const char *key, struct json_field **out)
{
	uint32_t used = o->used;
	struct json_field *f;

	if (json_find(o, key))
		return -EEXIST;
	if (o->n == JSON_MAX_FIELDS)
		return -E2BIG;
	f = &o->f[o->n];
	memset(f, 0, sizeof(*f));
	f->key = o->used;
	if (pool_put(o, key, strlen(key) + 1)) {
		o->used = used;
		return -E2BIG;
	}
	*out = f;
	return 0;
}

int json_add_u64(struct json_obj *o, const char *key, uint64_t v)
{
	struct json_field *f;
	int ret = add_field(o, key, &f);

	if (ret)
		return ret;
	f->type = JSON_INT;
	f->mag = v;
	o->n++;
	return 0;
}

int json_add_str(struct json_obj *o, const char *key, const char *s)
{
	uint32_t used = o->used;
	struct json_field *f;
	int ret = add_field(o, key, &f);

	if (ret)
		return ret;
	f->type = JSON_STR;
	f->str = o->used;
	f->len = (uint32_t)strlen(s);
	if (pool_put(o, s, f->len + 1)) {
		o->used = used;
		return -E2BIG;
	}
	o->n++;
	return 0;
}

void json_write_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_write_members(FILE *f, const struct json_obj *o)
{
	unsigned int i;

	for (i = 0; i < o->n; i++) {
		const struct json_field *fl = &o->f[i];

		if (i)
			fputc(',', f);
		json_write_str(f, json_key(o, i));
		fputc(':', f);
		switch (fl->type) {
		case JSON_INT:
			fprintf(f, "%s%llu", fl->neg ? "-" : "", (unsigned long long)fl->mag);
			break;
		case JSON_STR:
			json_write_str(f, o->pool + fl->str);
			break;
		case JSON_BOOL:
			fputs(fl->b ? "true" : "false", f);
			break;
		}
	}
}

void json_write(FILE *f, const struct json_obj *o)
{
	fputc('{', f);
	json_write_members(f, o);
	fputc('}', f);
}
