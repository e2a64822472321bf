/*
 * test_sparse.c - the sparse parser against cJSON, document by document:
 * for every path it was given, fd_field_visit() on the sparse document
 * must see what it sees on cJSON's (same values, same order), and every
 * query of the shared vectors and corpus must match the same events.
 * Hand-made awkward documents, malformed lines, random mutations of
 * both, nesting limits and constant memory are checked too.  Tests that
 * read ../shared (FD_SHARED_DIR) skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "field.h"
#include "query.h"
#include "sparse.h"

/* ---- helpers ---- */

/* A growing string. */
struct buf {
	char *s;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Each visited value as compact JSON (or "?" when cJSON cannot print
 * it), with its type, one a line. */
static int visit_print(const cJSON *v, void *arg)
{
	struct buf *b = arg;
	char *txt = cJSON_PrintUnformatted(v);
	char type[16];

	snprintf(type, sizeof(type), "%d:", v->type & 0xFF);
	buf_str(b, type);
	buf_str(b, txt ? txt : "?");
	buf_str(b, "\n");
	cJSON_free(txt);
	return 0;
}

static char *visits(const cJSON *doc, const char *path)
{
	struct buf b = { 0 };

	buf_str(&b, "");
	fd_field_visit(doc, path, visit_print, &b);
	return b.s;
}

/*
 * cJSON's verdict on a text, as the sparse parser promises to give it:
 * cJSON accepts the value and nothing but whitespace follows.
 */
static cJSON *reference(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);

	if (!doc)
		return NULL;
	for (; end < text + len; end++) {
		if ((unsigned char)*end > ' ') {
			cJSON_Delete(doc);
			return NULL;
		}
	}
	return doc;
}

static int width = 64;		/* the vectors the parsers may use */

static struct fd_sparse *sparse_of(const char *const *paths, size_t n)
{
	struct fd_sparse *sp;

	assert_int_equal(fd_sparse_new(&sp), 0);
	fd_sparse_set_vectors(sp, width);
	assert_int_equal(fd_sparse_add_list(sp, paths, n), 0);
	return sp;
}

/* Print a text for a failure message, escaping what is not printable. */
static void show(const char *what, const char *text, size_t len)
{
	print_message("%s: '", what);
	for (size_t i = 0; i < len && i < 400; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= ' ' && c < 0x7F)
			print_message("%c", c);
		else
			print_message("\\x%02x", c);
	}
	print_message("'%s\n", len > 400 ? "..." : "");
}

/*
 * The core check: text through sp against cJSON.  When cJSON accepts, so
 * must the sparse parser, with the same visits for every path; when
 * exact (every value is looked at), it must also refuse what cJSON
 * refuses.  Returns whether the sparse parser accepted.
 */
static bool same(struct fd_sparse *sp, const char *const *paths, size_t n,
		 const char *text, size_t len, bool exact)
{
	cJSON *full = reference(text, len);
	const cJSON *doc = NULL;
	size_t off = 0;
	int rc = fd_sparse_parse(sp, text, len, &doc, &off);

	if (full && rc != 0) {
		show("cJSON takes, sparse refuses", text, len);
		print_message("  at offset %zu\n", off);
		fail();
	}
	if (exact && !full && rc == 0) {
		show("cJSON refuses, sparse takes", text, len);
		fail();
	}
	if (rc != 0) {
		assert_int_equal(rc, -FD_ERR_SYNTAX);
		assert_true(off <= len);
	}
	if (full && rc == 0) {
		assert_int_equal(doc->type & 0xFF, full->type & 0xFF);
		for (size_t i = 0; i < n; i++) {
			char *a = visits(full, paths[i]);
			char *b = visits(doc, paths[i]);

			if (strcmp(a, b)) {
				show("visits differ on", text, len);
				print_message("  path '%s'\n  cJSON: %s\n"
					      "  sparse: %s\n", paths[i], a,
					      b);
				fail();
			}
			free(a);
			free(b);
		}
		if (fd_sparse_keeps_all(sp)) {
			char *a = cJSON_PrintUnformatted(full);
			char *b = cJSON_PrintUnformatted(doc);

			assert_non_null(a);
			assert_non_null(b);
			assert_string_equal(a, b);
			cJSON_free(a);
			cJSON_free(b);
		}
	}
	cJSON_Delete(full);
	return rc == 0;
}

/* ---- hand-made documents ---- */

#define DEEP 1000	/* CJSON_NESTING_LIMIT */

static const char *const awkward[] = {
	"{\"a\":1}",
	"{\"a\":{\"b\":1},\"a.b\":2,\"a\":{\"b.c\":3},\"a.b.c\":[4]}",
	"{\"process\":{\"name\":\"x\"},\"process.name\":\"y\","
	"\"process\":[{\"name\":\"z\"},{\"name\":[\"w\",[\"v\"]]}]}",
	"{\"a\":[[{\"b\":1}],{\"b\":[2,[3]]},4,\"s\",null,[]]}",
	"{\"k\\u0065y\":1,\"key\":2,\"k\\\"ey\":3,\"k\\\\ey\":4,"
	"\"k\\/ey\":5}",
	"{\"a\":\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\"}",
	"{\"n\":[1e5,-1.5E-3,0,-0,1.0e+2,123456789012345678901234567890,"
	"1e400,-1e400,2147483647,2147483648,-2147483649,0.1]}",
	"{\"a\":1,\"a\":2,\"a\":{\"b\":3},\"a\":[{\"b\":4}]}",
	" \t{ \"a\" : [ 1 , { \"b\" :\n true } ] ,\r\"c\":null ,\"d\"\t:"
	"{ } , \"e\" : [ ] }\r\n ",
	"{\"\":1,\".\":2,\"a.\":3,\"a..b\":4,\"a\":{\"\":{\"b\":5}},"
	"\"a\":{\".b\":6}}",
	"{\"a\":{},\"b\":[],\"c\":[{}],\"d\":\"\",\"e\":[[]]}",
	"{\"k\\u00e9y\":{\"x\":1},\"k\xc3\xa9y\":{\"x\":2}}",
	"{\"a\\u0000b\":1,\"a\":2,\"a\\u0000\":{\"b\":3}}",
	"{\"_source\":{\"process\":{\"name\":\"x\"},\"@timestamp\":\"t\"},"
	"\"_id\":\"1\",\"_index\":\"i\"}",
	"{\"_source\":5,\"_source\":{\"process\":{\"name\":\"y\"}}}",
	"{\"a\":true,\"b\":false,\"c\":null,\"d\":[true,null,false]}",
	"[{\"a\":1},{\"a\":[2,{\"b\":3}]},5]",
	"\"a string\"",
	"42",
	"null",
	"\xEF\xBB\xBF{\"a\":1}",
	"\xEF\xBB\xBF{}",
	"{\"a\":\"\\uZZZZx\",\"b\":-.5,\"c\":1.,\"d\":01,\"e\":1.e3}",
	"{\"a\":\"}{][\",\"b\":\"\\\"{\\\"\",\"c\":{\"d\":\"]\",\"e\":\"[\"}}",
	"{\"a\":\"\\\\\\\\\",\"b\":\"x\\\\\\\"y\",\"c\":{\"d\":\"\\\\\\\"\"}}",
	"{\"a\":{\"x\":\"\\u\\\"abc\"},\"b\":{\"c\":\"\\uZZZZ\"}}",
	"{\"x\":\"0123456789012345678901234567890123456789012345678901\","
	"\"a\":\"\\\\\",\"b\":{\"c\":\"\\\"\\\"\\\"\\\"\\\"\\\"\"},"
	"\"d\":\"012345678901234567890123456789012345678901234567890123"
	"45678901\\\"\"}",
	"{\"a\":\"x\x01y\x1fz\",\"b\":{\"c\":\"\x7f\xff\xfe\"}}",
	"{\"process\":{\"args\":[\"defaults\",\"read\",\"ShadowHashData\"],"
	"\"name\":\"defaults\",\"parent\":{\"name\":\"zsh\",\"args\":"
	"[\"-zsh\"]}},\"event\":{\"category\":[\"process\"],\"type\":"
	"[\"start\"]},\"host\":{\"os\":{\"type\":\"macos\"}},"
	"\"host.os\":{\"type\":\"linux\"},\"host.os.type\":\"darwin\"}",
	"{\"threat\":[{\"tactic\":{\"id\":\"TA0006\"},\"technique\":"
	"[{\"id\":\"T1003\",\"subtechnique\":[{\"id\":\"T1003.008\"}]}]}],"
	"\"process.macho.sections\":[{\"name\":\"__text\",\"size\":10}],"
	"\"process\":{\"macho\":{\"sections\":{\"name\":\"__data\"}}}}",
};

static const char *const awkward_paths[] = {
	"a", "a.b", "a.b.c", "b", "c", "c.d", "d", "e", "n", "x", "key",
	"k\"ey", "k\\ey", "k/ey", "k\xc3\xa9y", "k\xc3\xa9y.x", "",
	".", "a.", "a..b", "a.b.", "process.name", "process.args",
	"process.parent.name", "_source.process.name", "_source.@timestamp",
	"_id", "_source", "event.category", "event.type", "host.os.type",
	"threat.tactic.id", "threat.technique.subtechnique.id",
	"process.macho.sections", "process.macho.sections.name", "x.y.z",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every document with every path alone, all paths together, and every
 * value kept. */
static void test_sparse__awkward_documents(void **state)
{
	const char *all_kept[] = { "process.*" };
	struct fd_sparse *together = sparse_of(awkward_paths,
					       N(awkward_paths));
	struct fd_sparse *every = sparse_of(all_kept, 1);

	(void)state;
	assert_true(fd_sparse_keeps_all(every));
	assert_false(fd_sparse_keeps_all(together));
	for (size_t d = 0; d < N(awkward); d++) {
		const char *t = awkward[d];
		size_t len = strlen(t);

		assert_true(same(together, awkward_paths, N(awkward_paths),
				 t, len, false));
		assert_true(same(every, awkward_paths, N(awkward_paths), t,
				 len, true));
		for (size_t p = 0; p < N(awkward_paths); p++) {
			struct fd_sparse *one = sparse_of(&awkward_paths[p],
							  1);

			assert_true(same(one, &awkward_paths[p], 1, t, len,
					 false));
			fd_sparse_free(one);
		}
	}
	fd_sparse_free(together);
	fd_sparse_free(every);
}

/* A path that is also reached under a prefix, as the detector asks for
 * events that may be search hits. */
static void test_sparse__prefix(void **state)
{
	const char *text = "{\"_source\":{\"process\":{\"name\":\"x\","
			   "\"pid\":1}},\"process\":{\"name\":\"y\"}}";
	const char *paths[] = { "_source.process.name", "process.name",
				"_source.process.pid" };
	struct fd_sparse *sp;
	const cJSON *doc;
	char *v;

	(void)state;
	assert_int_equal(fd_sparse_new(&sp), 0);
	assert_int_equal(fd_sparse_add(sp, "_source", "process.name"), 0);
	assert_int_equal(fd_sparse_add(sp, NULL, "process.name"), 0);
	assert_int_equal(fd_sparse_add(sp, NULL, "process.name"), 0);
	assert_int_equal(fd_sparse_add(sp, NULL, ""), 0);
	assert_int_equal(fd_sparse_parse(sp, text, strlen(text), &doc, NULL),
			 0);
	v = visits(doc, "_source.process.name");
	assert_string_equal(v, "16:\"x\"\n");
	free(v);
	v = visits(doc, "process.name");
	assert_string_equal(v, "16:\"y\"\n");
	free(v);
	/* pid was not asked for: it is not there */
	v = visits(doc, "_source.process.pid");
	assert_string_equal(v, "");
	free(v);
	(void)paths;
	fd_sparse_free(sp);
}

/* Lines a reader of NDJSON must refuse, whatever the paths. */
static const char *const malformed[] = {
	"", " ", "\t\r\n", "{", "}", "{\"a\":1", "{\"a\":1}}", "{\"a\":1} x",
	"{\"a\":1}{\"b\":2}", "{\"a\":1},", "[1,2", "[1,2]]", "{\"a\":[1,2}",
	"{\"a\":{\"b\":1]}", "{\"a\":\"unterminated}", "{\"a\":\"x\\\"}",
	"{\"a\":\"x\\q\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
	"{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\u12\"}", "{a:1}",
	"{\"a\" 1}", "{\"a\":}", "{\"a\":1,}", "{,\"a\":1}", "{\"a\":01x}",
	"{\"a\":-}", "{\"a\":1e}", "{\"a\":1.5.3}", "{\"a\":+1}", "{\"a\":.5}",
	"{\"a\":tru}", "{\"a\":nul}", "{\"a\":falsey}", "{\"a\":[1 2]}",
	"{\"a\":1 \"b\":2}", "{\"a\"::1}", "{\"a\":1}\\", "\\{\"a\":1}",
	"{\"a\":\\\"x\"}", "{\"b\":{\"c\":[1,{\"d\":\"\\x\"}]}}",
	"{\"b\":{\"c\":\"x\"]}", "{\"b\":[\"c\"}", "{\"b\":{\"c\":\"}\"}",
	"{\"a\":\"x\"\"y\"}", "nonsense", "\xEF\xBB\xBF", "\xEF\xBB\xBF{}x",
	"{\"a\":1}\x01x", "\xEF\xBB\xBF\x31", "{\"aa\":", "{\"b\":{\"c\":",
	"{\"aa\":  ",
};

/*
 * Only text[0..len) is ever read: every malformed line again, in a heap
 * buffer of exactly its size, so AddressSanitizer sees any read past the
 * end (a line that ends right after a member's ':' once did).
 */
static void test_sparse__reads_nothing_past_the_end(void **state)
{
	const char *paths[] = { "a", "b.c", "zz" };
	const char *kept[] = { "*" };
	struct fd_sparse *sets[] = { sparse_of(paths, N(paths)),
				     sparse_of(kept, 1) };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < N(malformed); i++) {
			size_t len = strlen(malformed[i]);
			char *exact = malloc(len ? len : 1);
			const cJSON *doc;

			assert_non_null(exact);
			memcpy(exact, malformed[i], len);
			assert_true(fd_sparse_parse(sets[k], exact, len, &doc,
						    NULL) < 0);
			free(exact);
		}
		fd_sparse_free(sets[k]);
	}
}

static void test_sparse__malformed(void **state)
{
	const char *paths[] = { "a", "b.c", "zz" };
	const char *kept[] = { "*" };
	struct fd_sparse *sp = sparse_of(paths, N(paths));
	struct fd_sparse *every = sparse_of(kept, 1);

	(void)state;
	for (size_t i = 0; i < N(malformed); i++) {
		const char *t = malformed[i];
		size_t len = strlen(t);

		assert_null(reference(t, len));
		if (same(sp, paths, N(paths), t, len, true) ||
		    same(every, paths, N(paths), t, len, true)) {
			show("accepted", t, len);
			fail();
		}
	}
	fd_sparse_free(sp);
	fd_sparse_free(every);
}

/*
 * Inside a value no path reaches, only the structure is checked (see
 * sparse.h): brackets, strings, escapes.  The same text is refused as
 * soon as a path reaches the bad part.
 */
static void test_sparse__skipped_values_structure(void **state)
{
	static const char *const loose[] = {
		"{\"x\":{\"y\":1 2},\"a\":1}",
		"{\"x\":[tru, nul],\"a\":1}",
		"{\"x\":{\"y\" \"z\"},\"a\":1}",
		"{\"x\":[1,,2],\"a\":1}",
	};
	const char *skips[] = { "a" }, *reaches[] = { "x.y" };
	struct fd_sparse *sp = sparse_of(skips, 1);
	struct fd_sparse *deep = sparse_of(reaches, 1);
	const cJSON *doc;

	(void)state;
	for (size_t i = 0; i < N(loose); i++) {
		size_t len = strlen(loose[i]);

		assert_null(reference(loose[i], len));
		assert_int_equal(fd_sparse_parse(sp, loose[i], len, &doc,
						 NULL), 0);
		assert_int_equal(fd_sparse_parse(deep, loose[i], len, &doc,
						 NULL), -FD_ERR_SYNTAX);
	}
	fd_sparse_free(sp);
	fd_sparse_free(deep);
}

/* A small deterministic generator (xorshift). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Mutate the documents at random (flip, drop, insert or duplicate
 * bytes, mostly JSON's own): whatever cJSON takes, the sparse parser
 * takes with the same visits, and with every value kept it refuses
 * exactly what cJSON refuses.
 */
static void test_sparse__mutations(void **state)
{
	static const char alphabet[] = "{}[]\":,\\ tfnu0123456789.-+eE\x00"
				       "ab\xc3";
	const char *kept[] = { "*" };
	struct fd_sparse *sp = sparse_of(awkward_paths, N(awkward_paths));
	struct fd_sparse *every = sparse_of(kept, 1);
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	size_t taken = 0, refused = 0;
	char text[4096];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		const char *src = awkward[rnd(&seed) % N(awkward)];
		size_t len = strlen(src);
		int edits = 1 + (int)(rnd(&seed) % 3);

		memcpy(text, src, len);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = rnd(&seed) % len;
			char c = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];

			switch (rnd(&seed) % 4) {
			case 0:
				text[at] = c;
				break;
			case 1:
				memmove(text + at, text + at + 1,
					len - at - 1);
				len--;
				break;
			case 2:
				if (len + 1 < sizeof(text)) {
					memmove(text + at + 1, text + at,
						len - at);
					text[at] = c;
					len++;
				}
				break;
			default:
				if (len + 1 < sizeof(text)) {
					memmove(text + at + 1, text + at,
						len - at);
					len++;
				}
				break;
			}
		}
		if (same(every, awkward_paths, N(awkward_paths), text, len,
			 true))
			taken++;
		else
			refused++;
		same(sp, awkward_paths, N(awkward_paths), text, len, false);
	}
	print_message("mutations: %zu taken, %zu refused\n", taken, refused);
	assert_true(taken > 1000 && refused > 1000);
	fd_sparse_free(sp);
	fd_sparse_free(every);
}

/* CJSON_NESTING_LIMIT containers nest; one more is refused, whether
 * the walk goes through them, keeps them or skips them. */
static void test_sparse__nesting_limit(void **state)
{
	const char *sets[][2] = { { "a", NULL }, { "b", NULL }, { "*", NULL },
				  { "a.a.a", NULL } };
	size_t cap = 4 * (DEEP + 2) + 16;
	char *text = malloc(cap);

	(void)state;
	assert_non_null(text);
	for (int extra = 0; extra <= 1; extra++) {
		for (int kind = 0; kind < 2; kind++) {
			int levels = DEEP + extra;
			size_t len = 0;

			/* {"a":{"a":...[[...]]...}} with levels containers */
			for (int i = 0; i < levels; i++) {
				bool obj = kind == 0 ? i < levels / 2 : i % 2;

				len += (size_t)snprintf(text + len, cap - len,
							"%s", obj ? "{\"a\":" :
							"[");
			}
			len += (size_t)snprintf(text + len, cap - len, "1");
			for (int i = levels - 1; i >= 0; i--) {
				bool obj = kind == 0 ? i < levels / 2 : i % 2;

				text[len++] = obj ? '}' : ']';
			}
			text[len] = '\0';
			for (size_t k = 0; k < N(sets); k++) {
				struct fd_sparse *sp = sparse_of(sets[k], 1);
				bool ok = same(sp, sets[k], 1, text, len,
					       true);

				assert_int_equal(ok, extra == 0);
				fd_sparse_free(sp);
			}
		}
	}
	free(text);
}

/* A stream needs what its largest text needs: parsing the same kinds of
 * lines again and again does not grow the parser. */
static void test_sparse__constant_memory(void **state)
{
	const char *paths[] = { "process.name", "process.args", "a" };
	struct fd_sparse *sp = sparse_of(paths, N(paths));
	const char *line = awkward[N(awkward) - 2];
	const cJSON *doc;
	size_t first, big_len = 0;
	char *big = malloc(200016);

	(void)state;
	assert_non_null(big);
	/* a big line first: {"a":["xxxxx","xxxxx",...,"x"]} */
	memcpy(big, "{\"a\":[", 6);
	for (big_len = 6; big_len < 200000; big_len += 8)
		memcpy(big + big_len, "\"xxxxx\",", 8);
	memcpy(big + big_len, "\"x\"]}", 5);
	big_len += 5;
	assert_int_equal(fd_sparse_parse(sp, big, big_len, &doc, NULL), 0);
	assert_true(cJSON_GetArraySize(doc->child) > 20000);
	first = fd_sparse_footprint(sp);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(fd_sparse_parse(sp, line, strlen(line), &doc,
						 NULL), 0);
		assert_int_equal(fd_sparse_parse(sp, big, big_len, &doc,
						 NULL), 0);
	}
	for (int i = 0; i < 100000; i++)
		assert_int_equal(fd_sparse_parse(sp, line, strlen(line), &doc,
						 NULL), 0);
	assert_int_equal(fd_sparse_footprint(sp), first);
	print_message("footprint after a 200 kB line and 102000 more: "
		      "%zu bytes\n", first);
	free(big);
	fd_sparse_free(sp);
}

/* ---- the shared vectors and corpus ---- */

struct texts {
	char **t;
	size_t n, cap;
};

static void texts_add(struct texts *x, char *t)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->t = realloc(x->t, x->cap * sizeof(*x->t));
		assert_non_null(x->t);
	}
	x->t[x->n++] = t;
}

static void texts_free(struct texts *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->t[i]);
	free(x->t);
}

/* Flatten every leaf of doc into dotted keys at the top (arrays kept
 * whole under their own dotted key). */
static void flatten(const cJSON *node, char *prefix, size_t plen,
		    cJSON *out, bool half, int depth)
{
	const cJSON *kid;

	cJSON_ArrayForEach(kid, node) {
		size_t klen = strlen(kid->string);
		bool keep_nested = half && depth % 2 == 1;

		if (plen + klen + 2 >= 512)
			continue;
		if (plen)
			prefix[plen] = '.';
		memcpy(prefix + plen + (plen > 0), kid->string, klen + 1);
		if (cJSON_IsObject(kid) && !keep_nested)
			flatten(kid, prefix, plen + (plen > 0) + klen, out,
				half, depth + 1);
		else
			cJSON_AddItemToObject(out, prefix,
					      cJSON_Duplicate(kid, true));
		prefix[plen] = '\0';
	}
}

/* Each event of a vectors file, as printed, flattened and spaced out. */
static void load_events(const char *rel, struct texts *out)
{
	FILE *f = open_shared(rel);
	char *line = NULL, prefix[512];
	size_t cap = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		cJSON *row = cJSON_Parse(line), *flat, *half;
		const cJSON *doc =
			cJSON_GetObjectItemCaseSensitive(row, "doc");

		assert_true(cJSON_IsObject(doc));
		texts_add(out, cJSON_PrintUnformatted(doc));
		texts_add(out, cJSON_Print(doc));
		flat = cJSON_CreateObject();
		half = cJSON_CreateObject();
		prefix[0] = '\0';
		flatten(doc, prefix, 0, flat, false, 0);
		flatten(doc, prefix, 0, half, true, 0);
		texts_add(out, cJSON_PrintUnformatted(flat));
		texts_add(out, cJSON_PrintUnformatted(half));
		cJSON_Delete(flat);
		cJSON_Delete(half);
		cJSON_Delete(row);
	}
	free(line);
	fclose(f);
}

/* The distinct queries of a JSONL file: by their "language" where rows
 * have one (kuery or eql), else all into plain. */
static void load_queries(const char *rel, struct texts *plain,
			 struct texts *kql, struct texts *eql)
{
	FILE *f = open_shared(rel);
	char *line = NULL;
	size_t cap = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		cJSON *row = cJSON_Parse(line);
		const char *q = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(row, "query"));
		const char *l = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(row, "language"));
		struct texts *to = plain;
		bool dup = false;

		if (l)
			to = !strcmp(l, "eql") ? eql :
			     !strcmp(l, "kuery") ? kql : NULL;
		if (q && to) {
			for (size_t i = 0; i < to->n && !dup; i++)
				dup = !strcmp(to->t[i], q);
			if (!dup)
				texts_add(to, strdup(q));
		}
		cJSON_Delete(row);
	}
	free(line);
	fclose(f);
}

/* Every query against every document: the same verdict and the same
 * values for every field the query reads. */
static size_t check_queries(enum fd_lang lang, const struct texts *queries,
			    const struct texts *docs, size_t *compiled)
{
	size_t evaluated = 0, matched = 0;
	cJSON **full = calloc(docs->n, sizeof(*full));

	assert_non_null(full);
	for (size_t d = 0; d < docs->n; d++)
		full[d] = reference(docs->t[d], strlen(docs->t[d]));
	for (size_t i = 0; i < queries->n; i++) {
		struct fd_query *q = NULL;
		struct fd_diag diag;
		struct fd_sparse *sp;
		const char *const *fields;
		size_t nf;

		fd_diag_clear(&diag);
		if (fd_query_compile(lang, queries->t[i], &q, &diag) < 0)
			continue;
		(*compiled)++;
		fields = fd_query_fields(q, &nf);
		sp = sparse_of(fields, nf);
		for (size_t d = 0; d < docs->n; d++) {
			const char *t = docs->t[d];
			const cJSON *doc;
			bool a, b;

			if (!full[d])
				continue;
			assert_int_equal(fd_sparse_parse(sp, t, strlen(t),
							 &doc, NULL), 0);
			a = fd_query_match(q, full[d]);
			b = fd_query_match(q, doc);
			if (a != b) {
				print_message("query %s\non %s\ncJSON %d, "
					      "sparse %d\n", queries->t[i], t,
					      a, b);
				fail();
			}
			for (size_t k = 0; k < nf; k++) {
				char *x = visits(full[d], fields[k]);
				char *y = visits(doc, fields[k]);

				if (strcmp(x, y)) {
					print_message("field %s of %s\n",
						      fields[k], t);
					fail();
				}
				free(x);
				free(y);
			}
			evaluated++;
			matched += a;
		}
		fd_sparse_free(sp);
		fd_query_free(q);
	}
	for (size_t d = 0; d < docs->n; d++)
		cJSON_Delete(full[d]);
	free(full);
	print_message("%s: %zu evaluations, %zu matches\n", fd_lang_name(lang),
		      evaluated, matched);
	assert_true(matched > 0);
	return evaluated;
}

static void test_sparse__vectors_and_corpus(void **state)
{
	static const char *const corpus[] = {
		"corpus/dumping-account-hashes-history.jsonl",
		"corpus/macos-rules-2025-04.jsonl",
		"corpus/macos-rules-HEAD.jsonl",
	};
	struct texts docs = { 0 }, kql = { 0 }, eql = { 0 };
	size_t kql_ok = 0, eql_ok = 0;
	FILE *probe = open_shared("vectors/kql/events.jsonl");

	(void)state;
	if (!probe) {
		print_message("skipped: %s is absent (set FD_SHARED_DIR); the "
			      "hand-made documents still ran\n", shared_dir());
		skip();
	}
	fclose(probe);
	load_events("vectors/kql/events.jsonl", &docs);
	load_events("vectors/eql/events.jsonl", &docs);
	for (size_t i = 0; i < N(awkward); i++)
		texts_add(&docs, strdup(awkward[i]));
	load_queries("vectors/kql/cases.jsonl", &kql, NULL, NULL);
	/* the EQL vectors hold single-event queries only; their error rows
	 * simply do not compile */
	load_queries("vectors/eql/cases.jsonl", &eql, NULL, NULL);
	for (size_t i = 0; i < N(corpus); i++)
		load_queries(corpus[i], NULL, &kql, &eql);
	assert_true(kql.n > 100 && eql.n > 100);
	check_queries(FD_LANG_KQL, &kql, &docs, &kql_ok);
	check_queries(FD_LANG_EQL, &eql, &docs, &eql_ok);
	print_message("%zu documents; %zu of %zu KQL and %zu of %zu EQL "
		      "queries compiled\n", docs.n, kql_ok, kql.n, eql_ok,
		      eql.n);
	assert_true(kql_ok > 100 && eql_ok > 100);
	texts_free(&docs);
	texts_free(&kql);
	texts_free(&eql);
}

/* The checks above again with narrower vectors, down to plain C: each
 * finds the text's structure its own way, with the same result. */
static void test_sparse__every_vector_width(void **state)
{
	static const int widths[] = { 32, 16, 0 };
	struct fd_sparse *sp;

	assert_int_equal(fd_sparse_new(&sp), 0);
	print_message("widest vectors here: %d bytes\n",
		      fd_sparse_set_vectors(sp, 64));
	assert_int_equal(fd_sparse_set_vectors(sp, 0), 0);
	fd_sparse_free(sp);
	for (size_t i = 0; i < N(widths); i++) {
		width = widths[i];
		test_sparse__awkward_documents(state);
		test_sparse__malformed(state);
		test_sparse__skipped_values_structure(state);
		test_sparse__mutations(state);
		test_sparse__nesting_limit(state);
	}
	width = 64;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse__awkward_documents),
		cmocka_unit_test(test_sparse__prefix),
		cmocka_unit_test(test_sparse__malformed),
		cmocka_unit_test(test_sparse__reads_nothing_past_the_end),
		cmocka_unit_test(test_sparse__skipped_values_structure),
		cmocka_unit_test(test_sparse__mutations),
		cmocka_unit_test(test_sparse__nesting_limit),
		cmocka_unit_test(test_sparse__constant_memory),
		cmocka_unit_test(test_sparse__vectors_and_corpus),
		cmocka_unit_test(test_sparse__every_vector_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
