/*
 * test_exception.c - Kibana exception lists: loading (files, folders,
 * NDJSON exports, parsed JSON, value-list text, 20000-item files, loads
 * rolled back), every refusal with its position, matching
 * (each entry type with both operators, AND/OR, nested, os_types,
 * expire_time, value lists) as Kibana's filter for them does, and the
 * detector applying them.
 *
 * Each test writes real files under a fresh directory in /tmp.  JSON in
 * this file is written with single quotes, turned into double quotes
 * before use, so that it stays readable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "shared.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "exception.h"
#include "field.h"
#include "rule.h"

#define NOW 1796303700.0	/* 2026-12-03T13:15:00Z */

#define LIST(id, extra) \
	"{'list_id':'" id "','id':'uuid-" id "','name':'List " id "'," \
	"'type':'detection','namespace_type':'single'" extra "}"
#define ITEM(id, list, entries, extra) \
	"{'item_id':'" id "','list_id':'" list "','name':'Item " id "'," \
	"'type':'simple','namespace_type':'single','entries':[" entries \
	"]" extra "}"
#define MATCH(field, op, value) \
	"{'field':'" field "','type':'match','operator':'" op "'," \
	"'value':'" value "'}"

static char tmpdir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fd-test-exception-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];
	struct stat st;

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int remove_dir(void **state)
{
	(void)state;
	remove_tree(tmpdir);
	return 0;
}

static const char *path_of(const char *name)
{
	static char path[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
	return path[k];
}

/* text with every ' made a " (the JSON here is written with '). */
static char *quoted(const char *text)
{
	char *s = strdup(text);

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static const char *write_json(const char *name, const char *text)
{
	const char *path = path_of(name);
	char *s = quoted(text);
	FILE *f;

	if (strchr(name, '/')) {
		char dir[512];

		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		mkdir(dir, 0755);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(s, f) >= 0);
	assert_int_equal(fclose(f), 0);
	free(s);
	return path;
}

/* Write n bytes as they are (NULs, UTF-16...) to name under the test
 * directory. */
static void write_bytes(const char *name, const char *bytes, size_t n)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static cJSON *json(const char *text)
{
	char *s = quoted(text);
	cJSON *v = cJSON_Parse(s);

	free(s);
	if (!v)
		fail_msg("bad test JSON: %s", text);
	return v;
}

/* Load text (written as exc.ndjson) into a new set; fails the test if
 * it is refused. */
static struct fd_exc_set *load(const char *text)
{
	struct fd_exc_set *set;
	struct fd_diag d;
	char buf[1200];

	write_json("exc.ndjson", text);
	if (fd_exc_load(&set, path_of("exc.ndjson"), &d) < 0)
		fail_msg("load: %s", fd_diag_format(&d, buf, sizeof(buf)));
	return set;
}

/* Load text that must be refused; returns the result, d filled. */
static int refuse(const char *name, const char *text, struct fd_diag *d)
{
	struct fd_exc_set *set = (struct fd_exc_set *)1;
	int rc;

	write_json(name, text);
	rc = fd_exc_load(&set, path_of(name), d);
	assert_true(rc < 0);
	assert_null(set);
	return rc;
}

/* The 1-based line and column where needle first occurs in text. */
static void pos_of(const char *text, const char *needle, int *line,
		   int *col)
{
	const char *at = strstr(text, needle), *start = text;

	assert_non_null(at);
	*line = 1;
	for (const char *p = text; p < at; p++)
		if (*p == '\n') {
			(*line)++;
			start = p + 1;
		}
	*col = (int)(at - start) + 1;
}

/* The refusal points at the first needle, names the file, says why. */
static void assert_refused_at(const struct fd_diag *d, const char *text,
			      const char *needle, const char *why)
{
	char buf[1200];
	int line, col;

	pos_of(text, needle, &line, &col);
	fd_diag_format(d, buf, sizeof(buf));
	if (d->line != line || d->col != col || !strstr(d->msg, why))
		fail_msg("expected %d:%d '%s', got %s", line, col, why, buf);
	assert_non_null(strstr(buf, tmpdir));
}

static bool hits(const struct fd_exc_set *set, const char *event)
{
	static const char *const ids[] = { "l1" };
	cJSON *ev = json(event);
	bool hit = fd_exc_match(set, ids, 1, ev, NOW) != NULL;

	cJSON_Delete(ev);
	return hit;
}

/* A set of one list l1 holding one item i1 with these entries and
 * extra keys. */
static struct fd_exc_set *one_item(const char *entries, const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), LIST("l1", "") "\n{'item_id':'i1',"
		 "'list_id':'l1','name':'Item i1','type':'simple',"
		 "'entries':[%s]%s}\n", entries, extra);
	return load(text);
}

/* ---- entry types ----------------------------------------------------- */

static void test_exception__match_both_operators(void **state)
{
	struct fd_exc_set *is, *not;

	(void)state;
	is = one_item(MATCH("process.name", "included", "mdmclient"), "");
	not = one_item(MATCH("process.name", "excluded", "mdmclient"), "");
	assert_true(hits(is, "{'process':{'name':'mdmclient'}}"));
	assert_true(hits(is, "{'process.name':'mdmclient'}"));
	assert_true(hits(is, "{'process':{'name':['x','mdmclient']}}"));
	assert_false(hits(is, "{'process':{'name':'MDMclient'}}"));
	assert_false(hits(is, "{'process':{'name':'mdmclient2'}}"));
	assert_false(hits(is, "{'user':{'name':'mdmclient'}}"));
	/* "is not": no value equals, and an absent field is not equal */
	assert_false(hits(not, "{'process':{'name':'mdmclient'}}"));
	assert_false(hits(not, "{'process':{'name':['x','mdmclient']}}"));
	assert_true(hits(not, "{'process':{'name':'other'}}"));
	assert_true(hits(not, "{'user':{'name':'mdmclient'}}"));
	fd_exc_free(is);
	fd_exc_free(not);
}

static void test_exception__match_any_both_operators(void **state)
{
	struct fd_exc_set *is, *not;

#define ANY(op) "{'field':'host.name','type':'match_any','operator':'" op \
	"','value':['ci-mac-01','ci-mac-02']}"
	(void)state;
	is = one_item(ANY("included"), "");
	not = one_item(ANY("excluded"), "");
#undef ANY
	assert_true(hits(is, "{'host':{'name':'ci-mac-02'}}"));
	assert_true(hits(is, "{'host':{'name':['a','ci-mac-01']}}"));
	assert_false(hits(is, "{'host':{'name':'ci-mac-03'}}"));
	assert_false(hits(is, "{}"));
	assert_false(hits(not, "{'host':{'name':'ci-mac-01'}}"));
	assert_true(hits(not, "{'host':{'name':'ci-mac-03'}}"));
	assert_true(hits(not, "{}"));
	fd_exc_free(is);
	fd_exc_free(not);
}

static void test_exception__exists_both_operators(void **state)
{
	struct fd_exc_set *is, *not;

#define EXISTS(op) "{'field':'process.parent.name','type':'exists'," \
	"'operator':'" op "'}"
	(void)state;
	is = one_item(EXISTS("included"), "");
	not = one_item(EXISTS("excluded"), "");
#undef EXISTS
	assert_true(hits(is, "{'process':{'parent':{'name':'zsh'}}}"));
	assert_true(hits(is, "{'process.parent.name':''}"));
	assert_true(hits(is, "{'process':{'parent':{'name':[null,'x']}}}"));
	assert_false(hits(is, "{'process':{'parent':{'name':null}}}"));
	assert_false(hits(is, "{'process':{'parent':{'name':[]}}}"));
	assert_false(hits(is, "{'process':{'parent':{}}}"));
	assert_false(hits(not, "{'process':{'parent':{'name':'zsh'}}}"));
	assert_true(hits(not, "{'process':{'parent':{'name':null}}}"));
	assert_true(hits(not, "{}"));
	fd_exc_free(is);
	fd_exc_free(not);
}

static void test_exception__wildcard_both_operators(void **state)
{
	struct fd_exc_set *is, *not;

#define WILD(op, v) "{'field':'process.executable','type':'wildcard'," \
	"'operator':'" op "','value':'" v "'}"
	(void)state;
	is = one_item(WILD("included", "/Users/*/ci-tools/*"), "");
	not = one_item(WILD("excluded", "/Users/*/ci-tools/*"), "");
	assert_true(hits(is, "{'process':{'executable':"
			 "'/Users/ci/ci-tools/run'}}"));
	assert_true(hits(is, "{'process':{'executable':"
			 "'/Users/a/b/ci-tools/'}}"));
	assert_false(hits(is, "{'process':{'executable':"
			  "'/Users/ci/CI-tools/run'}}"));	/* case */
	assert_false(hits(is, "{'process':{'executable':"
			  "'x/Users/ci/ci-tools/run'}}"));	/* whole */
	assert_false(hits(not, "{'process':{'executable':"
			  "'/Users/ci/ci-tools/run'}}"));
	assert_true(hits(not, "{'process':{'executable':'/bin/sh'}}"));
	assert_true(hits(not, "{}"));
	fd_exc_free(is);
	fd_exc_free(not);

	/* ? is one character (not one byte); \ makes * ? \ literal */
	is = one_item(WILD("included", "caf? ?-\\\\*\\\\?\\\\\\\\*"), "");
	assert_true(hits(is, "{'process':{'executable':'caf\xc3\xa9 "
			 "x-*?\\\\tail'}}"));
	assert_true(hits(is, "{'process':{'executable':'cafe x-*?\\\\'}}"));
	assert_false(hits(is, "{'process':{'executable':'cafe x-a?\\\\'}}"));
	assert_false(hits(is, "{'process':{'executable':'cafe x-*a\\\\'}}"));
	assert_false(hits(is, "{'process':{'executable':'cafe x-*?'}}"));
	assert_false(hits(is, "{'process':{'executable':'caf x-*?\\\\'}}"));
	fd_exc_free(is);
	/* a lone trailing backslash is itself */
	is = one_item(WILD("included", "a*\\\\"), "");
	assert_true(hits(is, "{'process':{'executable':'abc\\\\'}}"));
	assert_false(hits(is, "{'process':{'executable':'abc'}}"));
	fd_exc_free(is);
#undef WILD
}

static void test_exception__value_lists(void **state)
{
	struct fd_exc_set *is, *not;
	struct fd_diag d;
	char buf[1200];
	const char *text;

#define IN_LIST(op, id) "{'field':'user.name','type':'list','operator':'" \
	op "','list':{'id':'" id "','type':'keyword'}}"
	(void)state;
	write_json("value-lists/svc-accounts.txt",
		   "# service accounts\n_mdm\n\n  _jamf  \r\n#_nobody\n");
	is = one_item(IN_LIST("included", "svc-accounts"), "");
	not = one_item(IN_LIST("excluded", "svc-accounts"), "");
	assert_true(hits(is, "{'user':{'name':'_mdm'}}"));
	assert_true(hits(is, "{'user':{'name':['alice','_jamf']}}"));
	assert_false(hits(is, "{'user':{'name':'_nobody'}}"));
	assert_false(hits(is, "{'user':{'name':'# service accounts'}}"));
	assert_false(hits(is, "{'user':{'name':''}}"));
	assert_false(hits(not, "{'user':{'name':'_mdm'}}"));
	assert_true(hits(not, "{'user':{'name':'alice'}}"));
	assert_true(hits(not, "{}"));
	fd_exc_free(is);
	fd_exc_free(not);

	/* a value list that is not there: the load fails, naming it */
	text = LIST("l1", "") "\n" ITEM("i1", "l1",
		IN_LIST("included", "nobody-here"), "") "\n";
	refuse("missing.ndjson", text, &d);
	fd_diag_format(&d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "value-lists/nobody-here.txt"));
	assert_non_null(strstr(buf, "value list 'nobody-here'"));
	assert_refused_at(&d, text, "'nobody-here'", "cannot read");
	/* an id must not climb out of value-lists/ */
	text = LIST("l1", "") "\n" ITEM("i1", "l1",
		IN_LIST("included", "../exc"), "") "\n";
	refuse("climb.ndjson", text, &d);
	assert_refused_at(&d, text, "'../exc'", "cannot name a file");
#undef IN_LIST
}

/* A value-list file must be UTF-8 text: a NUL (UTF-16 has them) would
 * cut the list, other bytes would not match; a value has no control
 * characters.  Each refusal names the file and its line. */
static void test_exception__value_list_text(void **state)
{
#define IN_LIST(id) "{'field':'user.name','type':'list','operator':" \
	"'included','list':{'id':'" id "','type':'keyword'}}"
#define BYTES(s) s, sizeof(s) - 1
	static const struct {
		const char *id, *bytes;
		size_t n;
		const char *why;
	} bad[] = {
		{ "nul", BYTES("a\nb\0c\nd\n"),
		  "value-lists/nul.txt:2: holds a NUL byte" },
		{ "utf16", BYTES("\xff\xfe" "a\0\n\0b\0\n\0"),
		  "value-lists/utf16.txt:1: holds a NUL byte" },
		{ "latin1", BYTES("ok\ncaf\xe9\n"),
		  "value-lists/latin1.txt:2: is not valid UTF-8" },
		{ "overlong", BYTES("# slash\n\n\xc0\xaf\n"),
		  "value-lists/overlong.txt:3: is not valid UTF-8" },
		{ "surrogate", BYTES("\xed\xa0\x80\n"),
		  "value-lists/surrogate.txt:1: is not valid UTF-8" },
		{ "cut", BYTES("ok\n\xe2\x82"),
		  "value-lists/cut.txt:2: is not valid UTF-8" },
		{ "ctl", BYTES("a\r\nb\x01" "c\r\n"),
		  "value-lists/ctl.txt:2: a value holds a control character "
		  "(U+0001)" },
		{ "tab", BYTES("a\tb\n"), "(U+0009)" },
		{ "c1", BYTES("a\xc2\x85\n"), "(U+0085)" },
	};
	struct fd_exc_set *set;
	struct fd_diag d;
	char name[64], text[1024], buf[1200], *q;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(name, sizeof(name), "value-lists/%s.txt", bad[i].id);
		write_json(name, "");	/* makes the folder */
		write_bytes(name, bad[i].bytes, bad[i].n);
		snprintf(text, sizeof(text), LIST("l1", "") "\n" ITEM("i1",
			 "l1", IN_LIST("%s"), "") "\n", bad[i].id);
		refuse("vl.ndjson", text, &d);
		fd_diag_format(&d, buf, sizeof(buf));
		if (!strstr(buf, bad[i].why))
			fail_msg("%s: expected '%s', got %s", bad[i].id,
				 bad[i].why, buf);
		/* the place is the list's id in the exceptions file */
		q = quoted(text);
		snprintf(name, sizeof(name), "\"%s\"", bad[i].id);
		assert_refused_at(&d, q, name, "value list '");
		free(q);
	}

	/* a byte order mark is not part of the first value; UTF-8 is */
	write_bytes("value-lists/bom.txt",
		    BYTES("\xef\xbb\xbf_mdm\r\njos\xc3\xa9\n\xe2\x82\xac\n"
			  "# not a value: \x01\n"));
	set = one_item(IN_LIST("bom"), "");
	assert_true(hits(set, "{'user':{'name':'_mdm'}}"));
	assert_true(hits(set, "{'user':{'name':'jos\xc3\xa9'}}"));
	assert_true(hits(set, "{'user':{'name':'\xe2\x82\xac'}}"));
	assert_false(hits(set, "{'user':{'name':'\xef\xbb\xbf_mdm'}}"));
	fd_exc_free(set);
#undef BYTES
#undef IN_LIST
}

/* The object array at field: one element must satisfy every inner
 * entry; two elements that each satisfy half do not. */
static void test_exception__nested(void **state)
{
	struct fd_exc_set *set;

	(void)state;
	set = one_item("{'field':'process.Ext.code_signature','type':"
		       "'nested','entries':["
		       MATCH("trusted", "included", "true") ","
		       MATCH("subject_name", "included",
			     "Developer ID Application: Example") ","
		       "{'field':'status','type':'match_any','operator':"
		       "'excluded','value':['revoked']}]}", "");
	assert_true(hits(set, "{'process':{'Ext':{'code_signature':["
			 "{'trusted':false,'subject_name':'Other'},"
			 "{'trusted':true,'subject_name':"
			 "'Developer ID Application: Example'}]}}}"));
	/* one object, not an array, is one element */
	assert_true(hits(set, "{'process':{'Ext':{'code_signature':"
			 "{'trusted':true,'subject_name':"
			 "'Developer ID Application: Example'}}}}"));
	/* each half in a different element */
	assert_false(hits(set, "{'process':{'Ext':{'code_signature':["
			  "{'trusted':true,'subject_name':'Other'},"
			  "{'trusted':false,'subject_name':"
			  "'Developer ID Application: Example'}]}}}"));
	/* the excluded inner entry, relative to the element */
	assert_false(hits(set, "{'process':{'Ext':{'code_signature':["
			  "{'trusted':true,'status':'revoked','subject_name':"
			  "'Developer ID Application: Example'}]}}}"));
	assert_false(hits(set, "{'process':{'name':'x'}}"));
	fd_exc_free(set);
}

static void test_exception__numbers_and_booleans(void **state)
{
	struct fd_exc_set *set;

	(void)state;
	set = one_item(MATCH("process.pid", "included", "73"), "");
	assert_true(hits(set, "{'process':{'pid':73}}"));
	assert_true(hits(set, "{'process':{'pid':73.0}}"));
	assert_true(hits(set, "{'process':{'pid':'73'}}"));
	assert_false(hits(set, "{'process':{'pid':730}}"));
	assert_false(hits(set, "{'process':{'pid':'73.0'}}"));
	fd_exc_free(set);
	set = one_item(MATCH("process.pid", "included", "73.0"), "");
	assert_true(hits(set, "{'process':{'pid':73}}"));	/* a number */
	fd_exc_free(set);
	set = one_item(MATCH("file.signed", "included", "true"), "");
	assert_true(hits(set, "{'file':{'signed':true}}"));
	assert_true(hits(set, "{'file':{'signed':'true'}}"));
	assert_false(hits(set, "{'file':{'signed':false}}"));
	assert_false(hits(set, "{'file':{'signed':1}}"));
	fd_exc_free(set);
	set = one_item("{'field':'process.pid','type':'wildcard','operator':"
		       "'included','value':'7?'}", "");
	assert_true(hits(set, "{'process':{'pid':73}}"));
	assert_false(hits(set, "{'process':{'pid':730}}"));
	fd_exc_free(set);
}

/* ---- AND, OR, os_types, expire_time ---------------------------------- */

static void test_exception__and_within_item_or_across(void **state)
{
	static const char *const both[] = { "l1", "l2" };
	static const char *const second[] = { "l2", "nope" };
	struct fd_exc_set *set;
	const struct fd_exc_item *it;
	cJSON *ev;

	(void)state;
	set = load(LIST("l1", "") "\n" LIST("l2", "") "\n"
		   ITEM("a", "l1", MATCH("process.name", "included", "mdm")
			"," MATCH("user.name", "included", "root"), "") "\n"
		   ITEM("b", "l1", MATCH("process.name", "included", "jamf"),
			"") "\n"
		   ITEM("c", "l2", MATCH("host.name", "included", "ci"),
			"") "\n");
	/* AND: both entries of a */
	assert_true(hits(set, "{'process':{'name':'mdm'},'user':{'name':"
			 "'root'}}"));
	assert_false(hits(set, "{'process':{'name':'mdm'},'user':{'name':"
			  "'alice'}}"));
	/* OR across items of a list */
	assert_true(hits(set, "{'process':{'name':'jamf'}}"));
	/* OR across lists; only the lists named count */
	ev = json("{'host':{'name':'ci'},'process':{'name':'jamf'}}");
	assert_false(hits(set, "{'host':{'name':'ci'}}"));
	it = fd_exc_match(set, both, 2, ev, NOW);
	assert_string_equal(fd_exc_item_id(it), "b");	/* lists in order */
	it = fd_exc_match(set, second, 2, ev, NOW);
	assert_string_equal(fd_exc_item_id(it), "c");
	assert_string_equal(fd_exc_item_list(it), "l2");
	assert_string_equal(fd_exc_item_name(it), "Item c");
	assert_null(fd_exc_match(set, second + 1, 1, ev, NOW));
	assert_null(fd_exc_match(NULL, both, 2, ev, NOW));
	assert_true(fd_exc_has_list(set, "l2"));
	assert_false(fd_exc_has_list(set, "nope"));
	assert_false(fd_exc_has_list(NULL, "l2"));
	cJSON_Delete(ev);
	fd_exc_free(set);
}

static void test_exception__os_types(void **state)
{
	struct fd_exc_set *set;

	(void)state;
	/* item level */
	set = one_item(MATCH("process.name", "included", "mdm"),
		       ",'os_types':['macos','linux']");
	assert_true(hits(set, "{'host':{'os':{'type':'macos'}},"
			 "'process':{'name':'mdm'}}"));
	assert_true(hits(set, "{'host.os.type':'linux','process':{'name':"
			 "'mdm'}}"));
	assert_false(hits(set, "{'host':{'os':{'type':'windows'}},"
			  "'process':{'name':'mdm'}}"));
	assert_false(hits(set, "{'process':{'name':'mdm'}}"));
	fd_exc_free(set);
	/* empty: any OS */
	set = one_item(MATCH("process.name", "included", "mdm"),
		       ",'os_types':[]");
	assert_true(hits(set, "{'host':{'os':{'type':'windows'}},"
			 "'process':{'name':'mdm'}}"));
	fd_exc_free(set);
	/* host.os.name counts too, ignoring case: Kibana also asks
	 * host.os.name.caseless, Endpoint's lower-cased copy of it */
	set = one_item(MATCH("process.name", "included", "mdm"),
		       ",'os_types':['macos']");
	assert_true(hits(set, "{'host':{'os':{'name':'macOS'}},"
			 "'process':{'name':'mdm'}}"));
	assert_false(hits(set, "{'host':{'os':{'name':'Windows'}},"
			  "'process':{'name':'mdm'}}"));
	fd_exc_free(set);
	/* a list's os_types are checked but not applied, as in Kibana:
	 * only an item's own limit it */
	set = load(LIST("l1", ",'os_types':['windows']") "\n"
		   ITEM("a", "l1", MATCH("process.name", "included", "mdm"),
			"") "\n"
		   ITEM("b", "l1", MATCH("process.name", "included", "jamf"),
			",'os_types':['macos']") "\n");
	assert_true(hits(set, "{'host':{'os':{'type':'windows'}},"
			 "'process':{'name':'mdm'}}"));
	assert_true(hits(set, "{'host':{'os':{'type':'macos'}},"
			 "'process':{'name':'mdm'}}"));
	assert_true(hits(set, "{'host':{'os':{'type':'macos'}},"
			 "'process':{'name':'jamf'}}"));
	assert_false(hits(set, "{'host':{'os':{'type':'windows'}},"
			  "'process':{'name':'jamf'}}"));
	fd_exc_free(set);
}

static void test_exception__expire_time(void **state)
{
	static const char *const ids[] = { "l1" };
	struct fd_exc_set *set;
	const struct fd_exc_item *it;
	double when = 0;
	cJSON *ev;

	(void)state;
	set = one_item(MATCH("process.name", "included", "mdm"),
		       ",'expire_time':'2026-12-03T13:15:00.000Z'");
	ev = json("{'process':{'name':'mdm'}}");
	assert_non_null(fd_exc_match(set, ids, 1, ev, NOW - 0.001));
	assert_null(fd_exc_match(set, ids, 1, ev, NOW));	/* at */
	assert_null(fd_exc_match(set, ids, 1, ev, NOW + 3600));
	it = fd_exc_next(set, ids, 1, NULL);
	assert_true(fd_exc_item_expires(it, &when));
	assert_true(when == NOW);
	cJSON_Delete(ev);
	fd_exc_free(set);
}

/* ---- files and shapes ------------------------------------------------ */

/* Kibana's export: the list, its items, a summary line. */
static void test_exception__ndjson_export(void **state)
{
	static const char *const ids[] = { "allow-mdm" };
	struct fd_exc_set *set;
	const struct fd_exc_item *it;
	char buf[400];
	int n = 0;

	(void)state;
	set = load(
		"{'_version':'WzEsMV0=','created_at':'2026-12-01T10:00:00.000Z',"
		"'created_by':'elastic','description':'MDM','id':'a1b2',"
		"'immutable':false,'list_id':'allow-mdm','name':'MDM agents',"
		"'namespace_type':'single','os_types':[],'tags':[],"
		"'tie_breaker_id':'t1','type':'detection','version':1}\n"
		"{'_version':'WzIsMV0=','comments':[],'description':'mdm',"
		"'entries':[{'field':'process.name','operator':'included',"
		"'type':'match','value':'mdmclient'}],'id':'c3d4',"
		"'item_id':'mdm-shadow','list_id':'allow-mdm','name':"
		"'MDM reads ShadowHashData','namespace_type':'single',"
		"'os_types':['macos'],'tags':[],'type':'simple'}\n"
		"{'entries':[{'field':'user.name','operator':'included',"
		"'type':'match_any','value':['_jamf','_mdm']}],"
		"'item_id':'jamf','list_id':'allow-mdm','name':'Jamf',"
		"'namespace_type':'single','type':'simple'}\n"
		"{'exported_exception_list_count':1,"
		"'exported_exception_list_item_count':2,"
		"'missing_exception_list_item_count':0,"
		"'missing_exception_list_items':[],"
		"'missing_exception_lists':[],"
		"'missing_exception_lists_count':0}\n");
	for (it = fd_exc_next(set, ids, 1, NULL); it;
	     it = fd_exc_next(set, ids, 1, it))
		n++;
	assert_int_equal(n, 2);
	it = fd_exc_next(set, ids, 1, NULL);
	assert_string_equal(fd_exc_item_id(it), "mdm-shadow");
	assert_non_null(strstr(fd_exc_item_origin(it), "exc.ndjson:2"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		fd_exc_item_json(it), "description")), "mdm");
	it = fd_exc_next(set, ids, 1, it);
	assert_string_equal(fd_exc_item_describe(it, buf, sizeof(buf)),
			    "user.name is one of (\"_jamf\", \"_mdm\")");
	assert_false(fd_exc_item_expires(it, NULL));
	fd_exc_free(set);
}

/* A folder: every *.json and *.ndjson, sorted, items before their list
 * is fine; value-lists/ beside them. */
static void test_exception__folder(void **state)
{
	static const char *const ids[] = { "l1", "l2" };
	struct fd_exc_set *set;
	struct fd_diag d;
	const char *const *fields;
	size_t n;
	char buf[1200];
	cJSON *ev;

	(void)state;
	write_json("a-items.json", "[" ITEM("i1", "l1",
		MATCH("process.name", "included", "mdm"), "") ","
		ITEM("i2", "l2", "{'field':'user.name','type':'list',"
		     "'operator':'included','list':{'id':'svc','type':"
		     "'keyword'}}", ",'os_types':['macos']") "]");
	write_json("b-lists.ndjson", LIST("l1", "") "\n"
		   LIST("l2", ",'os_types':['macos']"));
	write_json("c-ignored.txt", "not json");
	write_json("value-lists/svc.txt", "_mdm\n");
	if (fd_exc_load(&set, tmpdir, &d) < 0)
		fail_msg("%s", fd_diag_format(&d, buf, sizeof(buf)));
	ev = json("{'host':{'os':{'type':'macos'}},'user':{'name':'_mdm'}}");
	assert_string_equal(fd_exc_item_id(fd_exc_match(set, ids, 2, ev,
							NOW)), "i2");
	fields = fd_exc_fields(set, &n);
	assert_int_equal(n, 4);
	assert_string_equal(fields[0], "process.name");
	assert_string_equal(fields[1], "user.name");
	assert_string_equal(fields[2], "host.os.type");
	assert_string_equal(fields[3], "host.os.name");
	assert_null(fields[4]);
	cJSON_Delete(ev);

	/* one more file, added to the set */
	write_json("more/x.json", "{'lists':[" LIST("l3", "") "],'items':["
		   ITEM("i3", "l3", MATCH("a", "excluded", "b"), "") "]}");
	assert_int_equal(fd_exc_add_path(set, path_of("more/x.json"), &d), 0);
	assert_true(fd_exc_has_list(set, "l3"));
	/* a file whose list is already loaded is refused, the set kept */
	assert_true(fd_exc_add_path(set, path_of("more/x.json"), &d) < 0);
	assert_non_null(strstr(d.msg, "loaded twice"));
	assert_true(fd_exc_has_list(set, "l3"));
	fd_exc_free(set);

	assert_int_equal(fd_exc_load(&set, path_of("none.json"), &d),
			 -FD_ERR_NOTFOUND);
	assert_null(set);
}

/* From parsed JSON, as the live backend hands it over: items may come
 * before their list; a refusal leaves the set as it was. */
static void test_exception__add_json(void **state)
{
	static const char *const ids[] = { "l1" };
	static const char *const svc[] = { "_mdm", "_jamf" };
	struct fd_exc_set *set = fd_exc_new();
	struct fd_diag d;
	cJSON *doc, *ev;
	char buf[1200];

	(void)state;
	assert_non_null(set);
	assert_int_equal(fd_exc_add_value_list(set, "svc", svc, 2), 0);
	doc = json("[" ITEM("i1", "l1", "{'field':'user.name','type':"
		   "'list','operator':'included','list':{'id':'svc','type':"
		   "'keyword'}}", "") "," LIST("l1", "") "]");
	if (fd_exc_add_json(set, doc, "kibana", &d) < 0)
		fail_msg("%s", fd_diag_format(&d, buf, sizeof(buf)));
	cJSON_Delete(doc);
	ev = json("{'user':{'name':'_jamf'}}");
	assert_non_null(fd_exc_match(set, ids, 1, ev, NOW));
	assert_string_equal(fd_exc_item_origin(fd_exc_match(set, ids, 1, ev,
							    NOW)), "kibana");

	/* a bad item after a good list: nothing of it stays */
	doc = json("{'data':[" LIST("l2", "") "," ITEM("i2", "l2",
		   "{'field':'a','type':'regex','operator':'included'}", "")
		   "]}");
	assert_int_equal(fd_exc_add_json(set, doc, "kibana", &d),
			 -FD_ERR_INVALID);
	assert_string_equal(d.file, "kibana");
	assert_int_equal(d.line, 0);
	assert_non_null(strstr(d.msg, "item 'i2': entries[0].type: "
			       "unknown entry type 'regex'"));
	assert_false(fd_exc_has_list(set, "l2"));
	assert_non_null(fd_exc_match(set, ids, 1, ev, NOW));
	cJSON_Delete(doc);

	/* a value list only in memory: no folder to read one from */
	doc = json("[" LIST("l3", "") "," ITEM("i3", "l3", "{'field':'u',"
		   "'type':'list','operator':'included','list':{'id':"
		   "'other','type':'keyword'}}", "") "]");
	assert_int_equal(fd_exc_add_json(set, doc, "kibana", &d),
			 -FD_ERR_NOTFOUND);
	assert_non_null(strstr(d.msg, "value list 'other' is not loaded"));
	cJSON_Delete(doc);
	cJSON_Delete(ev);
	fd_exc_free(set);
}

static void test_exception__describe(void **state)
{
	static const char *const ids[] = { "l1" };
	struct fd_exc_set *set;
	char buf[400], tiny[12];

	(void)state;
	write_json("value-lists/svc.txt", "_mdm\n");
	set = one_item("{'field':'user.name','type':'list','operator':"
		       "'excluded','list':{'id':'svc','type':'keyword'}},"
		       "{'field':'user.id','type':'list','operator':"
		       "'included','list':{'id':'svc','type':'keyword'}}", "");
	fd_exc_item_describe(fd_exc_next(set, ids, 1, NULL), buf,
			     sizeof(buf));
	assert_string_equal(buf, "user.name is not in list svc AND user.id "
			    "is in list svc");
	fd_exc_free(set);
	set = one_item(MATCH("process.name", "excluded", "mdm") ","
		       "{'field':'a','type':'exists','operator':'excluded'},"
		       "{'field':'b','type':'wildcard','operator':'included',"
		       "'value':'x*'},{'field':'c','type':'nested','entries':["
		       "{'field':'d','type':'exists','operator':'included'}]}",
		       "");
	fd_exc_item_describe(fd_exc_next(set, ids, 1, NULL), buf,
			     sizeof(buf));
	assert_string_equal(buf, "process.name is not \"mdm\" AND a does "
			    "not exist AND b matches \"x*\" AND c has an "
			    "element where (d exists)");
	fd_exc_item_describe(fd_exc_next(set, ids, 1, NULL), tiny,
			     sizeof(tiny));
	assert_string_equal(tiny, "process.nam");
	fd_exc_free(set);
}

/* The documented shapes in ../shared load (the item names a list the
 * fixture does not hold: alone it is refused, with its list it loads). */
static void test_exception__fixture_loads(void **state)
{
	FILE *f = open_shared("fixtures/exception-list-and-item."
			      "security-docs-example.json");
	static const char *const ids[] = { "allowed-processes" };
	struct fd_exc_set *set;
	struct fd_diag d;
	cJSON *doc, *ev, *list;
	char text[16384], buf[1200];
	size_t n;

	(void)state;
	if (!f) {
		print_message("skipped: %s/fixtures not found (set "
			      "FD_SHARED_DIR)\n", shared_dir());
		skip();
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	set = fd_exc_new();
	assert_int_equal(fd_exc_add_json(set, cJSON_GetObjectItem(doc,
		"create_exception_list_response"), "fixture", &d), 0);
	assert_true(fd_exc_has_list(set, "trusted-linux-processes"));
	assert_int_equal(fd_exc_add_json(set, cJSON_GetObjectItem(doc,
		"create_exception_list_item_response"), "fixture", &d),
		-FD_ERR_INVALID);
	assert_non_null(strstr(d.msg, "list 'allowed-processes' is not "
			       "loaded"));
	list = json(LIST("allowed-processes", ""));
	assert_int_equal(fd_exc_add_json(set, list, "test", &d), 0);
	if (fd_exc_add_json(set, cJSON_GetObjectItem(doc,
		"create_exception_list_item_response"), "fixture", &d) < 0)
		fail_msg("%s", fd_diag_format(&d, buf, sizeof(buf)));
	ev = json("{'process':{'name':'maintenance'},'host':{'name':"
		  "'linux-anfield'}}");
	assert_string_equal(fd_exc_item_id(fd_exc_match(set, ids, 1, ev,
		NOW)), "allow-process-on-machines");
	cJSON_Delete(ev);
	ev = json("{'process':{'name':'maintenance'},'host':{'name':"
		  "'elsewhere'}}");
	assert_null(fd_exc_match(set, ids, 1, ev, NOW));
	cJSON_Delete(ev);
	cJSON_Delete(list);
	cJSON_Delete(doc);
	fd_exc_free(set);
}

/* ---- refusals, each with its place ----------------------------------- */

struct refusal {
	const char *text;
	const char *at;		/* the text the position points at */
	const char *why;
};

static void test_exception__refusals(void **state)
{
	static const struct refusal cases[] = {
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'regex','operator':'included','value':'x'}", ""),
		  "'regex'", "unknown entry type 'regex'" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'match','operator':'included','value':['x']}", ""),
		  "['x']", "a match entry needs a non-empty string" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'wildcard','operator':'included','value':7}", ""),
		  "7}", "a wildcard entry needs a non-empty string" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'match_any','operator':'included','value':'x'}", ""),
		  "'x'", "non-empty array of strings" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'match_any','operator':'included','value':['x',3]}", ""),
		  "3]", "needs non-empty strings" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'exists','operator':'included','value':'x'}", ""),
		  "'x'", "an exists entry takes no value" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'list','operator':'included','value':'x','list':{'id':"
		  "'v','type':'keyword'}}", ""),
		  "'x'", "a list entry takes no value" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'match','operator':'is','value':'x'}", ""),
		  "'is'", "must be included or excluded" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'type':'match',"
		  "'operator':'included','value':'x'}", ""),
		  "{'type'", "missing field" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'c','type':"
		  "'nested','entries':[{'field':'d','type':'wildcard',"
		  "'operator':'included','value':'x'}]}", ""),
		  "'wildcard'", "inside a nested entry only match" },
		{ "{'list_id':'endpoint_list','type':'endpoint',"
		  "'namespace_type':'agnostic','name':'Endpoint'}\n"
		  "{'item_id':'e1','list_id':'endpoint_list','name':'E',"
		  "'type':'simple','namespace_type':'agnostic','entries':["
		  "{'field':'a','type':'match','operator':'excluded',"
		  "'value':'x'}],'os_types':['macos']}",
		  "'excluded'", "endpoint list (type endpoint), whose "
		  "entries cannot be excluded" },
		{ "{'list_id':'endpoint_list','type':'endpoint',"
		  "'namespace_type':'agnostic','name':'Endpoint'}\n"
		  "{'item_id':'e1','list_id':'endpoint_list','name':'E',"
		  "'entries':[{'field':'c','type':'nested','entries':["
		  "{'field':'a','type':'exists','operator':'excluded'}]}]}",
		  "'excluded'", "cannot be excluded" },
		{ "{'list_id':'endpoint_list','type':'endpoint',"
		  "'namespace_type':'agnostic','name':'Endpoint'}\n"
		  "{'item_id':'e1','list_id':'endpoint_list','name':'E',"
		  "'entries':[{'field':'a','type':'list','operator':"
		  "'included','list':{'id':'v','type':'keyword'}}]}",
		  "'list','op", "cannot use value lists" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'a','type':"
		  "'list','operator':'included','list':{'id':'v','type':"
		  "'keyword'}},{'field':'b','type':'exists','operator':"
		  "'included'}", ""),
		  "{'field':'b'", "a list entry cannot be combined" },
		{ LIST("l1", "") "\n" ITEM("i1", "nowhere", MATCH("a",
		  "included", "x"), ""),
		  "'nowhere'", "list 'nowhere' is not loaded; refused" },
		{ LIST("l1", "") "\n{'item_id':'i1','list_id':'l1',"
		  "'name':'N','type':'simple'}",
		  "{'item_id'", "item 'i1': missing entries" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "", ""),
		  "[]", "entries: must be a non-empty array" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", MATCH("a", "included",
		  "x"), "") "\n" ITEM("i1", "l1", MATCH("b", "included",
		  "y"), ""),
		  "'i1','list_id':'l1','name':'Item i1','type':'simple',"
		  "'namespace_type':'single','entries':[{'field':'b'",
		  "list 'l1' already has an item 'i1' (" },
		{ LIST("l1", "") "\n{'list_id':'l1','type':'detection',"
		  "'name':'Again'}",
		  "'l1','type':'detection','name':'Again'", "loaded twice" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", MATCH("a", "included",
		  "x"), ",'os_types':['macOS']"),
		  "'macOS'", "unknown OS" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", MATCH("a", "included",
		  "x"), ",'expire_time':'tomorrow'"),
		  "'tomorrow'", "expected an ISO 8601 time" },
		{ LIST("l1", "") "\n{'item_id':'i1','list_id':'l1','name':"
		  "'N','type':'complex','entries':[]}",
		  "'complex'", "an item's type is simple" },
		{ LIST("l1", "") "\n" "{'item_id':'i1','list_id':'l1',"
		  "'name':'N','namespace_type':'agnostic','entries':["
		  MATCH("a", "included", "x") "]}",
		  "'agnostic'", "list 'l1' is single, not agnostic" },
		{ "{'list_id':'l1','type':'shared'}", "'shared'",
		  "unknown list type" },
		{ LIST("l1", "") "\n{'name':'what'}", "{'name'",
		  "expected an exception list or item" },
		{ LIST("l1", "") "\n[[1]]", "[1]", "not an array" },
	};
	struct fd_diag d;

	(void)state;
	write_json("value-lists/v.txt", "x\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = quoted(cases[i].text);
		char *at = quoted(cases[i].at);

		refuse("bad.ndjson", cases[i].text, &d);
		assert_refused_at(&d, text, at, cases[i].why);
		free(text);
		free(at);
	}
	/* NDJSON that breaks off: the line it is on */
	refuse("bad.ndjson", LIST("l1", "") "\n{'list_id':'l1',\n", &d);
	assert_int_equal(d.line, 2);
	assert_string_equal(d.msg, "not valid JSON");
}

/* A pretty-printed file: the position is the line and column there. */
static void test_exception__refusal_position_pretty(void **state)
{
	const char *text =
		"{\n"
		"  'lists': [\n"
		"    {'list_id': 'l1', 'type': 'detection'}\n"
		"  ],\n"
		"  'items': [\n"
		"    {\n"
		"      'item_id': 'i1', 'list_id': 'l1', 'name': 'N',\n"
		"      'entries': [\n"
		"        {'field': 'a', 'type': 'match', 'operator': "
		"'included',\n"
		"         'value': ['x']}\n"
		"      ]\n"
		"    }\n"
		"  ]\n"
		"}\n";
	struct fd_diag d;
	char buf[1200];

	(void)state;
	refuse("pretty.json", text, &d);
	assert_int_equal(d.line, 10);
	assert_int_equal(d.col, 19);
	fd_diag_format(&d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "pretty.json:10:19: item 'i1': "
			       "entries[0].value: a match entry needs"));
}

/* An id with a NUL (cJSON cuts the string there: 'l1\u0000x' would be
 * l1) or another control character is refused; a backslash is not. */
static void test_exception__ids_plain_text(void **state)
{
	static const struct refusal cases[] = {
		{ LIST("l1", "") "\n" ITEM("a\\u0000b", "l1", MATCH("a",
		  "included", "x"), ""),
		  "'a\\u0000b'", "item: item_id: holds a control character "
		  "(U+0000)" },
		{ LIST("l1", "") "\n" ITEM("\\u0000", "l1", MATCH("a",
		  "included", "x"), ""),
		  "'\\u0000'", "(U+0000)" },
		{ LIST("l1", "") "\n" ITEM("a\\u0007", "l1", MATCH("a",
		  "included", "x"), ""),
		  "'a\\u0007'", "(U+0007)" },
		{ LIST("l1", "") "\n" ITEM("a\\u0085", "l1", MATCH("a",
		  "included", "x"), ""),
		  "'a\\u0085'", "(U+0085)" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1\\u0000x", MATCH("a",
		  "included", "x"), ""),
		  "'l1\\u0000x'", "item 'i1': list_id: holds a control "
		  "character (U+0000)" },
		{ LIST("l\\u001b", ""), "'l\\u001b'",
		  "list: list_id: holds a control character (U+001B)" },
		{ LIST("l1", "") "\n" ITEM("i1", "l1", "{'field':'u','type':"
		  "'list','operator':'included','list':{'id':'v\\u0000',"
		  "'type':'keyword'}}", ""),
		  "'v\\u0000'", "entries[0].list.id: holds a control "
		  "character (U+0000)" },
	};
	static const char *const ids[] = { "l1" };
	struct fd_exc_set *set;
	struct fd_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = quoted(cases[i].text);
		char *at = quoted(cases[i].at);

		refuse("ids.ndjson", cases[i].text, &d);
		assert_refused_at(&d, text, at, cases[i].why);
		free(text);
		free(at);
	}
	/* an escaped backslash before u0000 is text, not a NUL */
	set = load(LIST("l1", "") "\n" ITEM("a\\\\u0000", "l1",
		   MATCH("a", "included", "x"), "") "\n");
	assert_string_equal(fd_exc_item_id(fd_exc_next(set, ids, 1, NULL)),
			    "a\\u0000");
	fd_exc_free(set);
}

/* Items wrapped deep in _find answers keep their place in errors. */
static void test_exception__deep_wrapping(void **state)
{
	enum { LEVELS = 40 };
	char text[8192];
	size_t used = 0;
	struct fd_diag d;

	(void)state;
	for (int i = 0; i < LEVELS; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 "{'page':1,'data':[\n");
	used += (size_t)snprintf(text + used, sizeof(text) - used, "%s",
				 LIST("l1", "") ",\n" ITEM("i1", "l1",
				 "{'field':'a','type':'match','operator':"
				 "'included','value':['x']}", ""));
	for (int i = 0; i < LEVELS; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 "]}");
	assert_true(used < sizeof(text) - 1);
	refuse("deep.json", text, &d);
	{
		char *q = quoted(text);

		assert_refused_at(&d, q, "[\"x\"]", "item 'i1': entries[0]."
				  "value: a match entry needs a non-empty");
		free(q);
	}
}

/*
 * 20000 items (a file of some megabytes) load, and a duplicate item_id
 * at the very end is refused at its line.  Loading is linear: nothing
 * is sought again from the top of the file for each item.
 */
#define BIG 20000
#define BIG_ITEM "{\"item_id\":\"item-%d\",\"list_id\":\"big\"," \
	"\"name\":\"Item %d\",\"type\":\"simple\",\"entries\":[{\"field\":" \
	"\"process.name\",\"type\":\"match\",\"operator\":\"included\"," \
	"\"value\":\"p%d\"}]}"

/* BIG items of list big (item-0...), and item-0 again if dup: NDJSON
 * (the list on line 1, item k on line k + 2), or else a pretty _find
 * answer (the list on line 2, item k on line k + 3). */
static const char *write_big(const char *name, bool ndjson, bool dup)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(ndjson ? "" : "{\"page\": 1, \"data\": [\n  ", f);
	fputs("{\"list_id\":\"big\",\"type\":\"detection\","
	      "\"name\":\"Big\"}", f);
	for (int k = 0; k < BIG + dup; k++) {
		int id = k < BIG ? k : 0;

		fputs(ndjson ? "\n" : ",\n  ", f);
		fprintf(f, BIG_ITEM, id, id, id);
	}
	fputs(ndjson ? "\n" : "\n]}\n", f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_exception__big_files(void **state)
{
	static const char *const ids[] = { "big" };

	(void)state;
	for (int ndjson = 1; ndjson >= 0; ndjson--) {
		const char *name = ndjson ? "big.ndjson" : "big.json";
		const char *path = write_big(name, ndjson, false);
		int first = ndjson ? 2 : 3;
		const struct fd_exc_item *it, *last = NULL;
		struct fd_exc_set *set;
		struct fd_diag d;
		char want[600], buf[1200];
		int n = 0;

		if (fd_exc_load(&set, path, &d) < 0)
			fail_msg("%s", fd_diag_format(&d, buf, sizeof(buf)));
		for (it = fd_exc_next(set, ids, 1, NULL); it;
		     it = fd_exc_next(set, ids, 1, it), n++)
			last = it;
		assert_int_equal(n, BIG);
		snprintf(want, sizeof(want), "%s:%d", path, first + BIG - 1);
		assert_string_equal(fd_exc_item_origin(last), want);
		fd_exc_free(set);

		write_big(name, ndjson, true);
		assert_true(fd_exc_load(&set, path, &d) < 0);
		assert_null(set);
		assert_int_equal(d.line, first + BIG);
		assert_int_equal(d.col, ndjson ? 12 : 14);
		snprintf(want, sizeof(want), "item 'item-0': item_id: list "
			 "'big' already has an item 'item-0' (%s:%d)", path,
			 first);
		assert_string_equal(d.msg, want);
	}
}

/* NDJSON: list_id's list if with_list, then n items prefix0... of it,
 * then a bad item if bad. */
static const char *write_items(const char *name, const char *list_id,
			       bool with_list, const char *prefix, int n,
			       bool bad)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (with_list)
		fprintf(f, "{\"list_id\":\"%s\",\"type\":\"detection\"}\n",
			list_id);
	for (int k = 0; k < n; k++)
		fprintf(f, "{\"item_id\":\"%s%d\",\"list_id\":\"%s\","
			"\"name\":\"N\",\"entries\":[{\"field\":\"a\","
			"\"type\":\"exists\",\"operator\":\"included\"}]}\n",
			prefix, k, list_id);
	if (bad)
		fprintf(f, "{\"item_id\":\"bad\",\"list_id\":\"%s\"}\n",
			list_id);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* A refused load takes back all it added, lists and items alike: their
 * ids are free again, and those loaded before are still taken. */
static void test_exception__refused_load_rolls_back(void **state)
{
	static const char *const ids[] = { "l1", "l2" };
	struct fd_exc_set *set;
	const struct fd_exc_item *it;
	struct fd_diag d;
	char buf[1200];
	int n = 0;

	(void)state;
	if (fd_exc_load(&set, write_items("a.ndjson", "l1", true, "a", 300,
					  false), &d) < 0)
		fail_msg("%s", fd_diag_format(&d, buf, sizeof(buf)));
	assert_true(fd_exc_add_path(set, write_items("b.ndjson", "l1", false,
				    "b", 2000, true), &d) < 0);
	assert_true(fd_exc_add_path(set, write_items("c.ndjson", "l2", true,
				    "c", 2000, true), &d) < 0);
	assert_false(fd_exc_has_list(set, "l2"));
	/* every item loaded first is still found */
	for (int k = 0; k < 300; k++) {
		cJSON *doc;

		snprintf(buf, sizeof(buf), "{'item_id':'a%d','list_id':'l1',"
			 "'name':'N','entries':[{'field':'a','type':'exists',"
			 "'operator':'included'}]}", k);
		doc = json(buf);
		assert_true(fd_exc_add_json(set, doc, "again", &d) < 0);
		cJSON_Delete(doc);
		snprintf(buf, sizeof(buf), "list 'l1' already has an item "
			 "'a%d' (%s:%d)", k, path_of("a.ndjson"), k + 2);
		assert_non_null(strstr(d.msg, buf));
	}
	/* and those taken back may come again */
	if (fd_exc_add_path(set, write_items("b.ndjson", "l1", false, "b",
					     2000, false), &d) < 0 ||
	    fd_exc_add_path(set, write_items("c.ndjson", "l2", true, "c",
					     2000, false), &d) < 0)
		fail_msg("%s", fd_diag_format(&d, buf, sizeof(buf)));
	for (it = fd_exc_next(set, ids, 2, NULL); it;
	     it = fd_exc_next(set, ids, 2, it))
		n++;
	assert_int_equal(n, 4300);
	fd_exc_free(set);
}

/* ---- the detector ---------------------------------------------------- */

#define RULE(id, query, extra) \
	"{'rule_id':'" id "','name':'Rule " id "','type':'query'," \
	"'language':'kuery','query':'" query "','severity':'high'," \
	"'risk_score':73" extra "}"
#define EVENT(name, user, extra) \
	"{'@timestamp':'2026-12-03T13:15:00.000Z','event':{'category':" \
	"'process'},'host':{'os':{'type':'macos'}},'process':{'name':'" \
	name "'},'user':{'name':'" user "'}" extra "}\n"

static void load_rules(struct fd_ruleset *rules, const char *text)
{
	struct fd_diag d;
	char buf[1200];

	write_json("rules.ndjson", text);
	if (fd_ruleset_load_file(rules, path_of("rules.ndjson"), &d) < 0)
		fail_msg("rules: %s", fd_diag_format(&d, buf, sizeof(buf)));
}

/* Lines of a file as a JSON array. */
static cJSON *read_lines(const char *name)
{
	FILE *f = fopen(path_of(name), "r");
	cJSON *all = cJSON_CreateArray();
	char line[65536];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		cJSON *one = cJSON_Parse(line);

		assert_non_null(one);
		cJSON_AddItemToArray(all, one);
	}
	fclose(f);
	return all;
}

struct detected {
	cJSON *alerts;
	cJSON *suppressed;
	int rc;
	struct fd_diag d;
};

static void detect(const struct fd_ruleset *rules,
		   struct fd_detect_exceptions *exc, const char *events,
		   struct fd_rule_run *runs, struct detected *out)
{
	FILE *a, *s;

	write_json("events.ndjson", events);
	a = fopen(path_of("alerts.ndjson"), "w");
	s = fopen(path_of("suppressed.ndjson"), "w");
	assert_true(a && s);
	exc->suppressed_out = s;
	exc->now = exc->now ? exc->now : NOW;
	out->rc = fd_detect_file_ex(rules, path_of("events.ndjson"), a, runs,
				    exc, &out->d);
	assert_int_equal(fclose(a), 0);
	assert_int_equal(fclose(s), 0);
	out->alerts = read_lines("alerts.ndjson");
	out->suppressed = read_lines("suppressed.ndjson");
}

static void detected_release(struct detected *d)
{
	cJSON_Delete(d->alerts);
	cJSON_Delete(d->suppressed);
}

static const char *s_of(const cJSON *doc, const char *path)
{
	return fd_field_string(doc, path);
}

/* An excepted event raises no alert but one suppressed record naming
 * the item; the others still alert. */
static void test_exception__detect_suppresses(void **state)
{
	struct fd_ruleset rules = { 0 };
	struct fd_detect_exceptions exc = { 0 };
	struct fd_rule_run run;
	struct detected r;
	const cJSON *rec, *by;

	(void)state;
	exc.set = load(LIST("allow-mdm", "") "\n" ITEM("mdm-root",
		"allow-mdm", MATCH("user.name", "included", "root"), ""));
	load_rules(&rules, RULE("r1", "process.name:defaults",
		",'exceptions_list':[{'id':'uuid-allow-mdm','list_id':"
		"'allow-mdm','type':'detection','namespace_type':"
		"'single'}]"));
	detect(&rules, &exc, EVENT("defaults", "root", "")
	       EVENT("defaults", "alice", "") EVENT("zsh", "root", ""),
	       &run, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(run.status, "succeeded");
	assert_int_equal(run.matched, 1);
	assert_int_equal(run.alerts, 1);
	assert_int_equal(run.suppressed, 1);
	assert_int_equal(cJSON_GetArraySize(r.alerts), 1);
	assert_string_equal(s_of(cJSON_GetArrayItem(r.alerts, 0),
				 "user.name"), "alice");
	assert_int_equal(cJSON_GetArraySize(r.suppressed), 1);
	rec = cJSON_GetArrayItem(r.suppressed, 0);
	assert_string_equal(s_of(rec, "user.name"), "root");
	assert_string_equal(s_of(rec, "kibana.alert.rule.rule_id"), "r1");
	by = cJSON_GetObjectItem(rec, "firedrill.suppressed_by");
	assert_string_equal(s_of(by, "list_id"), "allow-mdm");
	assert_string_equal(s_of(by, "item_id"), "mdm-root");
	assert_string_equal(s_of(by, "name"), "Item mdm-root");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(r.alerts, 0),
					"firedrill.suppressed_by"));
	detected_release(&r);

	/* without exceptions (fd_detect_file), nothing is suppressed */
	{
		FILE *a = fopen(path_of("alerts.ndjson"), "w");
		struct fd_diag d;

		assert_int_equal(fd_detect_file(&rules,
			path_of("events.ndjson"), a, &run, &d), 0);
		fclose(a);
		assert_int_equal(run.alerts, 2);
		assert_int_equal(run.suppressed, 0);
	}
	/* an expired item no longer silences */
	fd_exc_free((struct fd_exc_set *)exc.set);
	exc.set = load(LIST("allow-mdm", "") "\n" ITEM("mdm-root",
		"allow-mdm", MATCH("user.name", "included", "root"),
		",'expire_time':'2026-12-01T00:00:00Z'"));
	detect(&rules, &exc, EVENT("defaults", "root", ""), &run, &r);
	assert_int_equal(run.alerts, 1);
	assert_int_equal(run.suppressed, 0);
	detected_release(&r);
	fd_exc_free((struct fd_exc_set *)exc.set);
	fd_ruleset_release(&rules);
}

/* Suppressed matches take no place under max_signals. */
static void test_exception__detect_max_signals(void **state)
{
	struct fd_ruleset rules = { 0 };
	struct fd_detect_exceptions exc = { 0 };
	struct fd_rule_run run;
	struct detected r;

	(void)state;
	exc.set = load(LIST("l1", "") "\n" ITEM("i1", "l1",
		MATCH("user.name", "included", "root"), ""));
	load_rules(&rules, RULE("r1", "process.name:defaults",
		",'max_signals':2,'exceptions_list':[{'id':'x','list_id':"
		"'l1','type':'detection','namespace_type':'single'}]"));
	detect(&rules, &exc, EVENT("defaults", "root", "")
	       EVENT("defaults", "root", "") EVENT("defaults", "root", "")
	       EVENT("defaults", "a", "") EVENT("defaults", "b", ""),
	       &run, &r);
	assert_int_equal(run.alerts, 2);
	assert_int_equal(run.matched, 2);
	assert_int_equal(run.suppressed, 3);
	assert_string_equal(run.message,
			    "Rule execution completed successfully");
	assert_int_equal(cJSON_GetArraySize(r.alerts), 2);
	assert_int_equal(cJSON_GetArraySize(r.suppressed), 3);
	detected_release(&r);
	fd_exc_free((struct fd_exc_set *)exc.set);
	fd_ruleset_release(&rules);
}

/* A rule whose list is not loaded does not run; the others do. */
static void test_exception__detect_missing_list(void **state)
{
	struct fd_ruleset rules = { 0 };
	struct fd_detect_exceptions exc = { 0 };
	struct fd_rule_run runs[2];
	struct detected r;

	(void)state;
	load_rules(&rules, RULE("r1", "process.name:defaults",
		",'exceptions_list':[{'id':'x','list_id':'gone','type':"
		"'detection','namespace_type':'single'}]") "\n"
		RULE("r2", "process.name:defaults", ""));
	detect(&rules, &exc, EVENT("defaults", "root", ""), runs, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(runs[0].status, "failed");
	assert_non_null(strstr(runs[0].message, "exception list 'gone'"));
	assert_int_equal(runs[0].events_seen, 0);
	assert_string_equal(runs[1].status, "succeeded");
	assert_int_equal(runs[1].alerts, 1);
	assert_int_equal(cJSON_GetArraySize(r.alerts), 1);
	detected_release(&r);
	fd_ruleset_release(&rules);
}

struct attach {
	const char *scenario;
	const char *const *ids;
	size_t n;
};

static size_t scenario_lists(void *arg, const char *scenario,
			     const char *const **ids)
{
	const struct attach *a = arg;

	if (strcmp(scenario, a->scenario))
		return 0;
	*ids = a->ids;
	return a->n;
}

/* The lists an event's scenario attaches apply to every rule. */
static void test_exception__detect_scenario_lists(void **state)
{
	static const char *const ids[] = { "scen" };
	static const char *const unknown[] = { "scen", "unknown" };
	struct attach a = { "mdm-noise", ids, 1 };
	struct fd_ruleset rules = { 0 };
	struct fd_detect_exceptions exc = { 0 };
	struct fd_rule_run run;
	struct detected r;

	(void)state;
	exc.set = load(LIST("scen", "") "\n" ITEM("i1", "scen",
		MATCH("user.name", "included", "root"), ""));
	exc.scenario_lists = scenario_lists;
	exc.arg = &a;
	load_rules(&rules, RULE("r1", "process.name:defaults", ""));
	detect(&rules, &exc,
	       EVENT("defaults", "root", ",'firedrill':{'scenario':"
		     "'mdm-noise'}")
	       EVENT("defaults", "root", ",'firedrill':{'scenario':"
		     "'other'}")
	       EVENT("defaults", "root", ""), &run, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(run.suppressed, 1);
	assert_int_equal(run.alerts, 2);
	assert_string_equal(s_of(cJSON_GetObjectItem(cJSON_GetArrayItem(
		r.suppressed, 0), "firedrill.suppressed_by"), "list_id"),
		"scen");
	detected_release(&r);

	/* a scenario naming a list that is not loaded stops the run */
	a.ids = unknown;
	a.n = 2;
	detect(&rules, &exc, EVENT("defaults", "alice", ",'firedrill':"
				   "{'scenario':'mdm-noise'}"), &run, &r);
	assert_int_equal(r.rc, -FD_ERR_INVALID);
	assert_int_equal(r.d.line, 1);
	assert_non_null(strstr(r.d.msg, "scenario 'mdm-noise' attaches "
			       "exception list 'unknown'"));
	detected_release(&r);
	fd_exc_free((struct fd_exc_set *)exc.set);
	fd_ruleset_release(&rules);
}

/* An excepted event takes no part in a sequence: the rule pairs the
 * other events as if it were not there; the sequence it would have made
 * is a suppressed record. */
static void test_exception__detect_sequence(void **state)
{
	struct fd_ruleset rules = { 0 };
	struct fd_detect_exceptions exc = { 0 };
	struct fd_rule_run run;
	struct detected r;
	const cJSON *rec;

#define SEQ(ts, host, name, user) "{'@timestamp':'2026-12-03T13:15:" ts \
	"Z','event':{'category':'process'},'host':{'name':'" host "'}," \
	"'process':{'name':'" name "'},'user':{'name':'" user "'}}\n"
	(void)state;
	exc.set = load(LIST("l1", "") "\n" ITEM("i1", "l1",
		MATCH("user.name", "included", "mdm"), ""));
	load_rules(&rules, "{'rule_id':'s1','name':'Shell then dump',"
		"'type':'eql','language':'eql','query':'sequence by "
		"host.name with maxspan=30s [process where process.name == "
		"\\'zsh\\'] [process where process.name == \\'mkpassdb\\']',"
		"'severity':'high','risk_score':73,'exceptions_list':[{'id':"
		"'x','list_id':'l1','type':'detection','namespace_type':"
		"'single'}]}");
	detect(&rules, &exc,
	       SEQ("01", "a", "zsh", "alice")
	       SEQ("02", "a", "mkpassdb", "mdm")	/* excepted */
	       SEQ("03", "b", "zsh", "mdm")		/* excepted */
	       SEQ("04", "b", "mkpassdb", "alice")
	       SEQ("05", "c", "zsh", "alice")
	       SEQ("06", "c", "mkpassdb", "alice"), &run, &r);
#undef SEQ
	if (r.rc)
		fail_msg("%s", r.d.msg);
	assert_string_equal(run.status, "succeeded");
	assert_int_equal(run.matched, 1);	/* host c */
	assert_int_equal(run.alerts, 1);
	assert_int_equal(run.suppressed, 2);	/* hosts a and b */
	assert_string_equal(s_of(cJSON_GetArrayItem(r.alerts, 0),
				 "host.name"), "c");
	assert_int_equal(cJSON_GetArraySize(r.suppressed), 2);
	rec = cJSON_GetArrayItem(r.suppressed, 0);
	assert_string_equal(s_of(rec, "host.name"), "a");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec,
		"kibana.alert.ancestors")), 2);
	assert_string_equal(s_of(cJSON_GetObjectItem(rec,
		"firedrill.suppressed_by"), "item_id"), "i1");
	detected_release(&r);
	fd_exc_free((struct fd_exc_set *)exc.set);
	fd_ruleset_release(&rules);
}

#define T(test) cmocka_unit_test_setup_teardown(test, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_exception__match_both_operators),
		T(test_exception__match_any_both_operators),
		T(test_exception__exists_both_operators),
		T(test_exception__wildcard_both_operators),
		T(test_exception__value_lists),
		T(test_exception__nested),
		T(test_exception__numbers_and_booleans),
		T(test_exception__and_within_item_or_across),
		T(test_exception__os_types),
		T(test_exception__expire_time),
		T(test_exception__ndjson_export),
		T(test_exception__folder),
		T(test_exception__add_json),
		T(test_exception__describe),
		T(test_exception__fixture_loads),
		T(test_exception__refusals),
		T(test_exception__refusal_position_pretty),
		T(test_exception__value_list_text),
		T(test_exception__ids_plain_text),
		T(test_exception__deep_wrapping),
		T(test_exception__big_files),
		T(test_exception__refused_load_rolls_back),
		T(test_exception__detect_suppresses),
		T(test_exception__detect_max_signals),
		T(test_exception__detect_missing_list),
		T(test_exception__detect_scenario_lists),
		T(test_exception__detect_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
