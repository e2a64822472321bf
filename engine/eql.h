/*
 * eql.h - Event Query Language: lexer, parser, tree and evaluator.
 *
 * Single-event queries (`process where ...`) are matched one document at a
 * time; sequences and samples are evaluated over a stream.  Use it through
 * query.h.
 */
#ifndef FD_EQL_H
#define FD_EQL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fd_err.h"

struct fd_eql;

int fd_eql_compile(const char *text, struct fd_eql **out,
		   struct fd_diag *diag);
bool fd_eql_match(const struct fd_eql *q, const cJSON *doc);
const char *const *fd_eql_fields(const struct fd_eql *q, size_t *n);
void fd_eql_free(struct fd_eql *q);

/*
 * True for a sequence or a sample: those match groups of events, so
 * fd_eql_match() is always false for them and they run through a stream.
 */
bool fd_eql_is_sequence(const struct fd_eql *q);

/*
 * A stream evaluates any EQL query (single-event, sequence or sample, with
 * its head/tail pipes) over events pushed one at a time.  Each result is
 * handed to an emit callback as the caller's indexes of its events, in
 * stage (or sample filter) order; a single-event query gives one index per
 * match.  The callback returns 0 to go on, or a negative fd_err that push
 * or flush then return.  Documents are borrowed only for the call.
 *
 * Sequences order events by @timestamp (ties by push order).  By default
 * events must be pushed in that order, results come out as soon as they
 * are decided and memory stays bounded by maxspan; an event that matches
 * a filter but is older than one seen before makes push return
 * -FD_ERR_INVALID (the stream stays usable).  With
 * FD_EQL_STREAM_UNSORTED the stream keeps what it needs of each relevant
 * event and sorts them at flush instead.  Events without a usable
 * @timestamp take no part in a sequence.  Samples ignore time and come out
 * at flush, in ascending join-key order.
 */
struct fd_eql_stream;

typedef int (*fd_eql_emit_fn)(void *arg, const size_t *events, size_t n);

enum fd_eql_stream_flags {
	FD_EQL_STREAM_UNSORTED = 1 << 0,
};

int fd_eql_stream_new(const struct fd_eql *q, unsigned flags,
		      struct fd_eql_stream **out);
/*
 * Order a sequence by another time field than @timestamp (a rule's
 * timestamp_override, as Kibana's EQL search does).  field is borrowed
 * and must outlive the stream; NULL restores @timestamp.  Call before the
 * first push.
 */
void fd_eql_stream_set_time_field(struct fd_eql_stream *s,
				  const char *field);
int fd_eql_stream_push(struct fd_eql_stream *s, const cJSON *doc,
		       size_t index, fd_eql_emit_fn emit, void *arg);
/* End of input: emit what waited for it (tail pipes, trailing missing
 * events, samples, an unsorted stream).  The stream may then be freed. */
int fd_eql_stream_flush(struct fd_eql_stream *s, fd_eql_emit_fn emit,
			void *arg);
struct fd_eql_stream_stats {
	size_t pushed;		/* events pushed */
	size_t skipped;		/* a sequence ignored: no usable @timestamp */
	size_t keys;		/* join-key states held now */
	size_t pending;		/* sequences waiting on a trailing window */
};

void fd_eql_stream_stats(const struct fd_eql_stream *s,
			 struct fd_eql_stream_stats *st);
void fd_eql_stream_free(struct fd_eql_stream *s);

#endif
