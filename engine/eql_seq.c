/*
 * eql_seq.c - EQL over a stream of events: sequences, samples and pipes.
 *
 * Each pushed event is first reduced to its evidence: its time, which
 * filters it matches and, per filter, its join-key tuples (the Cartesian
 * product of the key fields' values, serialized).  Sequences then follow
 * Elasticsearch's matching as the semantics reference states it: one state
 * machine per key tuple, each stage slot holding the newest pending
 * sequence; an event extends the slot before its stage (last stage first,
 * so an event never fills two stages of one sequence), maxspan is measured
 * from the first event, `until` expires a key's pending sequences, and
 * missing-event stages are checked against per-key timestamps (between two
 * stages, before the first, or after the last while the window is open).
 * Samples keep, per key, the first few candidates of each filter and pick
 * distinct events.  Results pass through the head/tail pipes to the
 * caller's callback.
 */
#include "eql_int.h"

#include <stdlib.h>
#include <string.h>

#include "field.h"

/* Most key tuples one filter may derive from one event. */
#define EQL_MAX_TUPLES 256
/* Events between two sweeps of expired keys (at least the key count). */
#define EQL_SWEEP_EVERY 4096

/* ---- growable byte buffer ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	unsigned char *np;

	if (b->cap - b->len >= extra)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np)
		return -FD_ERR_NOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const void *src, size_t n)
{
	if (buf_reserve(b, n))
		return -FD_ERR_NOMEM;
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

/* Grow an array of elem-sized items to hold need of them. */
static int grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void **arr = arrp;
	size_t c = *cap ? *cap : 8;
	void *np;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	np = realloc(*arr, c * elem);
	if (!np)
		return -FD_ERR_NOMEM;
	*arr = np;
	*cap = c;
	return 0;
}

/* ---- key map ---- */

struct kentry {
	struct kentry *next;
	uint64_t hash;
	const unsigned char *key;
	size_t keylen;
};

struct kmap {
	struct kentry **b;
	size_t nb, n;
};

static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct kentry *kmap_find(const struct kmap *m, const void *key,
				size_t len, uint64_t h)
{
	struct kentry *e;

	if (!m->nb)
		return NULL;
	for (e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->hash == h && e->keylen == len &&
		    (!len || !memcmp(e->key, key, len)))
			return e;
	return NULL;
}

static int kmap_add(struct kmap *m, struct kentry *e)
{
	size_t i;

	if (m->n >= m->nb) {
		size_t nb = m->nb ? m->nb * 2 : 64;
		struct kentry **b = calloc(nb, sizeof(*b));

		if (!b)
			return -FD_ERR_NOMEM;
		for (i = 0; i < m->nb; i++) {
			struct kentry *x = m->b[i], *next;

			for (; x; x = next) {
				next = x->next;
				x->next = b[x->hash & (nb - 1)];
				b[x->hash & (nb - 1)] = x;
			}
		}
		free(m->b);
		m->b = b;
		m->nb = nb;
	}
	i = e->hash & (m->nb - 1);
	e->next = m->b[i];
	m->b[i] = e;
	m->n++;
	return 0;
}

static void kmap_unlink(struct kmap *m, struct kentry *e)
{
	struct kentry **pp = &m->b[e->hash & (m->nb - 1)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		m->n--;
	}
}

/* ---- per-key state ---- */

struct cand {
	bool valid, doomed, has_lead;
	int64_t first_ts, last_ts, lead_ts;
};

/* The latest two distinct times of missing-stage events in one gap. */
struct gap {
	bool has, has_prev;
	int64_t max, prev;
};

struct pend;

struct seqkey {
	struct kentry e;	/* first: the map hands this back */
	bool has_lead;
	int64_t lead_ts;
	struct pend *pending;
	struct gap *gaps;	/* npos + 1 */
	struct cand *slots;	/* npos - 1: slot s has filled stages 0..s */
	size_t *idx;		/* slot s's events at s * (s + 1) / 2 */
};

/* A complete sequence waiting to see whether a trailing missing event
 * comes within its window. */
struct pend {
	struct pend *knext, *kprev;
	struct seqkey *key;
	int64_t deadline;
	uint64_t ord;
	size_t heap_at;
	size_t idx[];
};

struct sample_cand {
	uint64_t ord;
	size_t index;
};

struct samplekey {
	struct kentry e;
	bool done;
	uint64_t touched;	/* 1 + ord of the last event offered */
	unsigned char ncand[5];
	struct sample_cand cand[5][5];
	size_t result[5];
};

/* ---- the stream ---- */

struct tup {
	size_t off, len;
};

struct evidence {
	int64_t ts;
	uint64_t ord;
	size_t index;
	uint64_t mask;
	size_t first[EQL_MAX_TERMS], count[EQL_MAX_TERMS];
	struct tup *tup;
	size_t ntup, captup;
	struct buf bytes;
};

struct pipe_state {
	int64_t seen;		/* head */
	size_t *ring;		/* tail: the last n results, oldest at start */
	size_t cap, count, start;
};

struct fd_eql_stream {
	const struct fd_eql *q;
	unsigned flags;
	size_t width;		/* events per result */
	uint64_t ord;
	size_t skipped;
	bool has_now;
	int64_t now;
	struct evidence ev;
	/* key collection */
	struct buf comp;
	struct tup *comps;
	size_t ncomps, capcomps;
	size_t *kstart, *kcount, *odo;
	size_t maxkeys;
	/* state */
	struct kmap keys;
	struct pend **heap;
	size_t nheap, capheap;
	size_t *result;
	size_t since_sweep, swept_keys;
	struct pipe_state *pipes;
	struct samplekey **touched;	/* keys the current event reached */
	size_t captouched;
	struct buf log;		/* FD_EQL_STREAM_UNSORTED evidence */
	size_t nlog;
	/* delivery */
	fd_eql_emit_fn emit;
	void *arg;
	int err;
	const char *time_field;	/* "@timestamp" unless set */
	char sbuf[1024];
	struct eql_scratch sc;
};

/* ---- delivery through the pipes ---- */

static void deliver_from(struct fd_eql_stream *s, size_t level,
			 const size_t *idx)
{
	const struct fd_eql *q = s->q;

	for (; level < q->npipes; level++) {
		struct pipe_state *ps = &s->pipes[level];
		const struct eql_pipe *p = &q->pipes[level];

		if (!p->tail) {
			if (ps->seen >= p->n)
				return;
			ps->seen++;
			continue;
		}
		if (!p->n)
			return;
		if ((uint64_t)ps->count == (uint64_t)p->n) {
			memcpy(ps->ring + ps->start * s->width, idx,
			       s->width * sizeof(*idx));
			ps->start = (ps->start + 1) % ps->count;
			return;
		}
		/* the ring grows with what it keeps, never to n up front */
		if (grow(&ps->ring, &ps->cap, (ps->count + 1) * s->width,
			 sizeof(*ps->ring))) {
			s->err = -FD_ERR_NOMEM;
			return;
		}
		memcpy(ps->ring + ps->count * s->width, idx,
		       s->width * sizeof(*idx));
		ps->count++;
		return;
	}
	if (!s->err && s->emit) {
		int rc = s->emit(s->arg, idx, s->width);

		if (rc)
			s->err = rc < 0 ? rc : -FD_ERR_INVALID;
	}
}

static void deliver(struct fd_eql_stream *s, const size_t *idx)
{
	deliver_from(s, 0, idx);
}

/* Release what tail pipes held, in order, into the pipes after them. */
static void flush_pipes(struct fd_eql_stream *s)
{
	const struct fd_eql *q = s->q;
	size_t level, k;

	for (level = 0; level < q->npipes; level++) {
		struct pipe_state *ps = &s->pipes[level];

		if (!q->pipes[level].tail)
			continue;
		for (k = 0; k < ps->count; k++)
			deliver_from(s, level + 1,
				     ps->ring + ((ps->start + k) % ps->count) *
						s->width);
		ps->count = 0;
		ps->start = 0;
	}
}

/* ---- evidence: key tuples ---- */

struct comp_ctx {
	struct fd_eql_stream *s;
	int rc;
};

/* One key value as bytes: a type letter, then the value. */
static int comp_visit(const cJSON *value, void *arg)
{
	struct comp_ctx *c = arg;
	struct fd_eql_stream *s = c->s;
	struct eql_val v;
	unsigned char head;
	size_t start = s->comp.len;
	uint32_t n;

	if (!eql_val_from_json(value, &v))
		return 0;
	switch (v.t) {
	case EQL_STR:
		head = 's';
		n = v.u.s.n > UINT32_MAX ? UINT32_MAX : (uint32_t)v.u.s.n;
		c->rc = buf_put(&s->comp, &head, 1);
		if (!c->rc)
			c->rc = buf_put(&s->comp, &n, sizeof(n));
		if (!c->rc)
			c->rc = buf_put(&s->comp, v.u.s.p, n);
		break;
	case EQL_LONG:
		head = 'n';
		c->rc = buf_put(&s->comp, &head, 1);
		if (!c->rc)
			c->rc = buf_put(&s->comp, &v.u.l, sizeof(v.u.l));
		break;
	case EQL_DOUBLE:
		head = 'd';
		c->rc = buf_put(&s->comp, &head, 1);
		if (!c->rc)
			c->rc = buf_put(&s->comp, &v.u.d, sizeof(v.u.d));
		break;
	default:
		head = v.u.b ? 'T' : 'F';
		c->rc = buf_put(&s->comp, &head, 1);
		break;
	}
	if (!c->rc)
		c->rc = grow(&s->comps, &s->capcomps, s->ncomps + 1,
			     sizeof(*s->comps));
	if (c->rc)
		return 1;
	s->comps[s->ncomps].off = start;
	s->comps[s->ncomps].len = s->comp.len - start;
	s->ncomps++;
	return 0;
}

static bool tuple_seen(const struct evidence *ev, size_t from,
		       const unsigned char *t, size_t len)
{
	size_t i;

	for (i = from; i < ev->ntup; i++)
		if (ev->tup[i].len == len &&
		    !memcmp(ev->bytes.p + ev->tup[i].off, t, len))
			return true;
	return false;
}

/* Append one tuple (the odometer's current choice) unless already there. */
static int add_tuple(struct fd_eql_stream *s, size_t nkeys, size_t from)
{
	struct evidence *ev = &s->ev;
	size_t k, start = ev->bytes.len;

	for (k = 0; k < nkeys; k++) {
		const struct tup *c = &s->comps[s->kstart[k] + s->odo[k]];

		if (buf_put(&ev->bytes, s->comp.p + c->off, c->len))
			return -FD_ERR_NOMEM;
	}
	if (tuple_seen(ev, from, ev->bytes.p + start, ev->bytes.len - start)) {
		ev->bytes.len = start;
		return 0;
	}
	if (grow(&ev->tup, &ev->captup, ev->ntup + 1, sizeof(*ev->tup)))
		return -FD_ERR_NOMEM;
	ev->tup[ev->ntup].off = start;
	ev->tup[ev->ntup].len = ev->bytes.len - start;
	ev->ntup++;
	return 0;
}

/* The key tuples of term t for this event: none when a required key has
 * no value, else the product of the keys' values. */
static int term_tuples(struct fd_eql_stream *s, size_t t, const cJSON *doc)
{
	const struct eql_term *term = &s->q->terms[t];
	struct evidence *ev = &s->ev;
	struct comp_ctx c = { s, 0 };
	size_t k, made = 0, from = ev->ntup;
	static const unsigned char null_comp = 'z';

	ev->first[t] = ev->ntup;
	ev->count[t] = 0;
	s->comp.len = 0;
	s->ncomps = 0;
	for (k = 0; k < term->nkeys; k++) {
		s->kstart[k] = s->ncomps;
		fd_field_visit(doc, term->keys[k].path, comp_visit, &c);
		if (c.rc)
			return c.rc;
		s->kcount[k] = s->ncomps - s->kstart[k];
		if (s->kcount[k])
			continue;
		if (!term->keys[k].optional)
			return 0;
		c.rc = buf_put(&s->comp, &null_comp, 1);
		if (!c.rc)
			c.rc = grow(&s->comps, &s->capcomps, s->ncomps + 1,
				    sizeof(*s->comps));
		if (c.rc)
			return c.rc;
		s->comps[s->ncomps].off = s->comp.len - 1;
		s->comps[s->ncomps].len = 1;
		s->ncomps++;
		s->kcount[k] = 1;
	}
	memset(s->odo, 0, term->nkeys * sizeof(*s->odo));
	for (;;) {
		int rc;

		if (made++ == EQL_MAX_TUPLES)
			break;
		rc = add_tuple(s, term->nkeys, from);
		if (rc)
			return rc;
		for (k = term->nkeys; k-- > 0;) {
			if (++s->odo[k] < s->kcount[k])
				break;
			s->odo[k] = 0;
		}
		if (k == (size_t)-1)
			break;
	}
	ev->count[t] = ev->ntup - from;
	return 0;
}

static int read_time(const cJSON *value, void *arg)
{
	return eql_parse_time(value, arg);
}

/* Which filters the event matches, its key tuples and its time. */
static int gather(struct fd_eql_stream *s, const cJSON *doc, size_t index,
		  bool *has_ts)
{
	const struct fd_eql *q = s->q;
	struct evidence *ev = &s->ev;
	size_t t;
	int rc;

	ev->mask = 0;
	ev->ntup = 0;
	ev->bytes.len = 0;
	ev->index = index;
	ev->ord = s->ord++;
	for (t = 0; t < q->nterms; t++) {
		ev->count[t] = 0;
		if (!eql_term_match(&q->terms[t], doc, &s->sc))
			continue;
		rc = term_tuples(s, t, doc);
		if (rc)
			return rc;
		if (ev->count[t])
			ev->mask |= (uint64_t)1 << t;
	}
	*has_ts = false;
	if (q->kind == EQL_Q_SEQUENCE && (ev->mask || s->nheap))
		*has_ts = fd_field_visit(doc, s->time_field, read_time,
					 &ev->ts) != 0;
	return 0;
}

/* ---- sequences: pending results with a trailing missing stage ---- */

static bool heap_less(const struct pend *a, const struct pend *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->ord < b->ord);
}

static void heap_set(struct fd_eql_stream *s, size_t i, struct pend *p)
{
	s->heap[i] = p;
	p->heap_at = i;
}

static void heap_up(struct fd_eql_stream *s, size_t i)
{
	struct pend *p = s->heap[i];

	while (i && heap_less(p, s->heap[(i - 1) / 2])) {
		heap_set(s, i, s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(s, i, p);
}

static void heap_down(struct fd_eql_stream *s, size_t i)
{
	struct pend *p = s->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && heap_less(s->heap[c + 1], s->heap[c]))
			c++;
		if (!heap_less(s->heap[c], p))
			break;
		heap_set(s, i, s->heap[c]);
		i = c;
	}
	heap_set(s, i, p);
}

static void heap_remove(struct fd_eql_stream *s, struct pend *p)
{
	size_t i = p->heap_at;
	struct pend *last = s->heap[--s->nheap];

	if (i == s->nheap)
		return;
	heap_set(s, i, last);
	heap_up(s, i);
	heap_down(s, last->heap_at);
}

/* Unlink from its key and the heap, then free. */
static void pend_drop(struct fd_eql_stream *s, struct pend *p)
{
	if (p->kprev)
		p->kprev->knext = p->knext;
	else
		p->key->pending = p->knext;
	if (p->knext)
		p->knext->kprev = p->kprev;
	heap_remove(s, p);
	free(p);
}

static int pend_add(struct fd_eql_stream *s, struct seqkey *ks,
		    const size_t *idx, int64_t deadline)
{
	struct pend *p;

	if (grow(&s->heap, &s->capheap, s->nheap + 1, sizeof(*s->heap)))
		return -FD_ERR_NOMEM;
	p = malloc(sizeof(*p) + s->width * sizeof(size_t));
	if (!p)
		return -FD_ERR_NOMEM;
	memcpy(p->idx, idx, s->width * sizeof(size_t));
	p->key = ks;
	p->deadline = deadline;
	p->ord = s->ev.ord;
	p->kprev = NULL;
	p->knext = ks->pending;
	if (ks->pending)
		ks->pending->kprev = p;
	ks->pending = p;
	s->heap[s->nheap++] = p;
	heap_up(s, s->nheap - 1);
	return 0;
}

/* Every window that closed before `now`: nothing came, so it matches. */
static void accept_expired(struct fd_eql_stream *s, bool all)
{
	while (s->nheap && (all || s->heap[0]->deadline < s->now)) {
		struct pend *p = s->heap[0];

		deliver(s, p->idx);
		pend_drop(s, p);
	}
}

/* ---- sequences: the state machines ---- */

static struct seqkey *key_find(struct fd_eql_stream *s, const struct tup *t)
{
	const unsigned char *k = s->ev.bytes.p + t->off;

	return (struct seqkey *)kmap_find(&s->keys, k, t->len,
					  hash_bytes(k, t->len));
}

static struct seqkey *seqkey_new(struct fd_eql_stream *s, const struct tup *t)
{
	size_t npos = s->q->npos, nslots = npos - 1;
	size_t size = sizeof(struct seqkey) +
		      (npos + 1) * sizeof(struct gap) +
		      nslots * sizeof(struct cand) +
		      nslots * npos / 2 * sizeof(size_t) + t->len;
	struct seqkey *ks = calloc(1, size);
	unsigned char *key;

	if (!ks)
		return NULL;
	ks->gaps = (struct gap *)(ks + 1);
	ks->slots = (struct cand *)(ks->gaps + npos + 1);
	ks->idx = (size_t *)(ks->slots + nslots);
	key = (unsigned char *)(ks->idx + nslots * npos / 2);
	if (t->len)
		memcpy(key, s->ev.bytes.p + t->off, t->len);
	ks->e.key = key;
	ks->e.keylen = t->len;
	ks->e.hash = hash_bytes(key, t->len);
	if (kmap_add(&s->keys, &ks->e)) {
		free(ks);
		return NULL;
	}
	return ks;
}

static size_t *slot_idx(struct seqkey *ks, size_t slot)
{
	return ks->idx + slot * (slot + 1) / 2;
}

/* A sequence has all its positive stages: check the missing stages that
 * can be judged now, or wait for a trailing window to close. */
static int complete(struct fd_eql_stream *s, struct seqkey *ks,
		    const struct cand *c, const size_t *idx)
{
	const struct fd_eql *q = s->q;
	bool lead = q->gap_used[0], trail = q->gap_used[q->npos];

	if (c->doomed)
		return 0;
	if (trail && (!lead || c->has_lead))
		return pend_add(s, ks, idx,
				(lead ? c->lead_ts : c->first_ts) +
					q->maxspan_ms);
	if (lead && !trail && c->has_lead &&
	    c->last_ts - c->lead_ts <= q->maxspan_ms)
		return 0;
	deliver(s, idx);
	return 0;
}

/* The largest missing-event time in gap g strictly before t. */
static bool gap_before(const struct gap *g, int64_t t, int64_t *m)
{
	if (g->has && g->max < t) {
		*m = g->max;
		return true;
	}
	if (g->has_prev && g->prev < t) {
		*m = g->prev;
		return true;
	}
	return false;
}

/* Event ev fills stage st (>= 1): take the newest sequence waiting at
 * st - 1 (older ones are gone with it) and extend it. */
static int step(struct fd_eql_stream *s, struct seqkey *ks, size_t st)
{
	const struct fd_eql *q = s->q;
	struct cand c = ks->slots[st - 1];
	size_t *src = slot_idx(ks, st - 1);
	int64_t t = s->ev.ts, m;

	if (!c.valid)
		return 0;
	ks->slots[st - 1].valid = false;
	if (q->maxspan_ms >= 0 && t - c.first_ts > q->maxspan_ms)
		return 0;
	if (q->gap_used[st] && gap_before(&ks->gaps[st], t, &m) &&
	    m > c.last_ts)
		c.doomed = true;
	c.last_ts = t;
	if (st == q->npos - 1) {
		memcpy(s->result, src, st * sizeof(*src));
		s->result[st] = s->ev.index;
		return complete(s, ks, &c, s->result);
	}
	memcpy(slot_idx(ks, st), src, st * sizeof(*src));
	slot_idx(ks, st)[st] = s->ev.index;
	ks->slots[st] = c;
	return 0;
}

static int start(struct fd_eql_stream *s, struct seqkey *ks)
{
	const struct fd_eql *q = s->q;
	struct cand c = {
		.valid = true, .first_ts = s->ev.ts, .last_ts = s->ev.ts,
		.has_lead = q->gap_used[0] && ks->has_lead,
		.lead_ts = ks->lead_ts,
	};

	if (q->npos == 1) {
		s->result[0] = s->ev.index;
		return complete(s, ks, &c, s->result);
	}
	ks->slots[0] = c;
	slot_idx(ks, 0)[0] = s->ev.index;
	return 0;
}

static bool has_term(const struct evidence *ev, int t)
{
	return t >= 0 && (ev->mask >> t & 1);
}

static int seq_stages(struct fd_eql_stream *s)
{
	const struct fd_eql *q = s->q;
	const struct evidence *ev = &s->ev;
	size_t st, i;
	int rc;

	for (st = q->npos; st-- > 1;) {
		int t = q->pos_term[st];

		if (!has_term(ev, t))
			continue;
		for (i = 0; i < ev->count[t]; i++) {
			struct seqkey *ks = key_find(s, &ev->tup[ev->first[t] +
								 i]);

			if (ks && (rc = step(s, ks, st)))
				return rc;
		}
	}
	if (has_term(ev, q->pos_term[0])) {
		int t = q->pos_term[0];

		for (i = 0; i < ev->count[t]; i++) {
			const struct tup *tp = &ev->tup[ev->first[t] + i];
			struct seqkey *ks = key_find(s, tp);

			if (!ks && !(ks = seqkey_new(s, tp)))
				return -FD_ERR_NOMEM;
			if ((rc = start(s, ks)))
				return rc;
		}
	}
	return 0;
}

static void seq_until(struct fd_eql_stream *s)
{
	const struct fd_eql *q = s->q;
	const struct evidence *ev = &s->ev;
	int t = q->until_term;
	size_t i, k;

	if (!has_term(ev, t))
		return;
	for (i = 0; i < ev->count[t]; i++) {
		struct seqkey *ks = key_find(s, &ev->tup[ev->first[t] + i]);

		for (k = 0; ks && k + 1 < q->npos; k++)
			ks->slots[k].valid = false;
	}
}

static int seq_missing(struct fd_eql_stream *s)
{
	const struct fd_eql *q = s->q;
	const struct evidence *ev = &s->ev;
	size_t t, i;

	for (t = 0; t < q->nterms; t++) {
		int g = q->missing_gap[t];

		if (g < 0 || !has_term(ev, (int)t))
			continue;
		for (i = 0; i < ev->count[t]; i++) {
			const struct tup *tp = &ev->tup[ev->first[t] + i];
			struct seqkey *ks = key_find(s, tp);
			struct pend *p, *next;

			if (g == 0) {
				if (!ks && !(ks = seqkey_new(s, tp)))
					return -FD_ERR_NOMEM;
				ks->has_lead = true;
				ks->lead_ts = ev->ts;
			} else if (!ks) {
				continue;
			} else if ((size_t)g == q->npos) {
				for (p = ks->pending; p; p = next) {
					next = p->knext;
					if (p->ord < ev->ord &&
					    ev->ts <= p->deadline)
						pend_drop(s, p);
				}
			} else {
				struct gap *gp = &ks->gaps[g];

				if (!gp->has) {
					gp->has = true;
					gp->max = ev->ts;
				} else if (ev->ts > gp->max) {
					gp->prev = gp->max;
					gp->has_prev = true;
					gp->max = ev->ts;
				}
			}
		}
	}
	return 0;
}

static bool seqkey_idle(const struct fd_eql *q, struct seqkey *ks,
			int64_t now)
{
	int64_t span = q->maxspan_ms;
	bool idle = !ks->pending;
	size_t k;

	for (k = 0; k + 1 < q->npos; k++) {
		struct cand *c = &ks->slots[k];

		if (c->valid && span >= 0 && now - c->first_ts > span)
			c->valid = false;
		idle &= !c->valid;
	}
	for (k = 0; k <= q->npos; k++) {
		struct gap *g = &ks->gaps[k];

		if (g->has && span >= 0 && now - g->max > span)
			g->has = g->has_prev = false;
		idle &= !g->has;
	}
	if (ks->has_lead && span >= 0 && now - ks->lead_ts > span)
		ks->has_lead = false;
	return idle && !ks->has_lead;
}

/* Free the keys that nothing can match any more.  A sweep costs the keys
 * held, at most the survivors of the last sweep plus the events since, so
 * waiting for as many events as survivors keeps it O(1) per event. */
static void seq_sweep(struct fd_eql_stream *s)
{
	size_t i;

	if (++s->since_sweep < EQL_SWEEP_EVERY ||
	    s->since_sweep < s->swept_keys)
		return;
	s->since_sweep = 0;
	for (i = 0; i < s->keys.nb; i++) {
		struct kentry *e = s->keys.b[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (seqkey_idle(s->q, (struct seqkey *)e, s->now)) {
				kmap_unlink(&s->keys, e);
				free(e);
			}
		}
	}
	s->swept_keys = s->keys.n;
}

static int seq_process(struct fd_eql_stream *s)
{
	int rc;

	s->has_now = true;
	s->now = s->ev.ts;
	accept_expired(s, false);
	if (s->ev.mask) {
		rc = seq_stages(s);
		if (!rc) {
			seq_until(s);
			rc = seq_missing(s);
		}
		if (rc)
			return rc;
	}
	seq_sweep(s);
	return s->err;
}

/* ---- unsorted streams: evidence kept, sorted at flush ---- */

struct rec_head {
	int64_t ts;
	uint64_t ord;
	size_t index;
	uint64_t mask;
	uint32_t ntup, nbytes;
};

struct rec_tup {
	uint32_t term, len;
};

static int log_evidence(struct fd_eql_stream *s)
{
	const struct evidence *ev = &s->ev;
	struct rec_head h = { ev->ts, ev->ord, ev->index, ev->mask,
			      (uint32_t)ev->ntup, (uint32_t)ev->bytes.len };
	size_t t, i, pad;
	static const unsigned char zeros[8];

	if (buf_put(&s->log, &h, sizeof(h)))
		return -FD_ERR_NOMEM;
	for (t = 0; t < s->q->nterms; t++) {
		if (!has_term(ev, (int)t))
			continue;
		for (i = 0; i < ev->count[t]; i++) {
			struct rec_tup rt = {
				(uint32_t)t,
				(uint32_t)ev->tup[ev->first[t] + i].len,
			};

			if (buf_put(&s->log, &rt, sizeof(rt)))
				return -FD_ERR_NOMEM;
		}
	}
	for (t = 0; t < s->q->nterms; t++) {
		if (!has_term(ev, (int)t))
			continue;
		for (i = 0; i < ev->count[t]; i++) {
			const struct tup *tp = &ev->tup[ev->first[t] + i];

			if (buf_put(&s->log, ev->bytes.p + tp->off, tp->len))
				return -FD_ERR_NOMEM;
		}
	}
	pad = (8 - s->log.len % 8) % 8;
	if (buf_put(&s->log, zeros, pad))
		return -FD_ERR_NOMEM;
	s->nlog++;
	return 0;
}

/* Rebuild the evidence of one logged record (its tuples are grouped by
 * filter, in filter order). */
static int load_evidence(struct fd_eql_stream *s, const unsigned char *rec)
{
	struct evidence *ev = &s->ev;
	struct rec_head h;
	const unsigned char *tups = rec + sizeof(h);
	uint32_t prev = UINT32_MAX;
	size_t i, at = 0;

	memcpy(&h, rec, sizeof(h));
	memset(ev->count, 0, s->q->nterms * sizeof(ev->count[0]));
	ev->ts = h.ts;
	ev->ord = h.ord;
	ev->index = h.index;
	ev->mask = h.mask;
	ev->ntup = 0;
	ev->bytes.len = 0;
	if (buf_put(&ev->bytes, tups + h.ntup * sizeof(struct rec_tup),
		    h.nbytes) ||
	    grow(&ev->tup, &ev->captup, h.ntup, sizeof(*ev->tup)))
		return -FD_ERR_NOMEM;
	for (i = 0; i < h.ntup; i++) {
		struct rec_tup rt;

		memcpy(&rt, tups + i * sizeof(rt), sizeof(rt));
		if (rt.term != prev) {
			ev->first[rt.term] = i;
			prev = rt.term;
		}
		ev->tup[i].off = at;
		ev->tup[i].len = rt.len;
		ev->count[rt.term]++;
		at += rt.len;
	}
	ev->ntup = h.ntup;
	return 0;
}

static size_t rec_size(const struct rec_head *h)
{
	size_t n = sizeof(*h) + h->ntup * sizeof(struct rec_tup) + h->nbytes;

	return n + (8 - n % 8) % 8;
}

struct rec_key {
	int64_t ts;
	uint64_t ord;
	size_t off;
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec_key *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int replay_log(struct fd_eql_stream *s)
{
	struct rec_key *keys;
	size_t i, at = 0;
	int rc = 0;

	if (!s->nlog)
		return 0;
	keys = malloc(s->nlog * sizeof(*keys));
	if (!keys)
		return -FD_ERR_NOMEM;
	for (i = 0; i < s->nlog; i++) {
		struct rec_head h;

		memcpy(&h, s->log.p + at, sizeof(h));
		keys[i] = (struct rec_key){ h.ts, h.ord, at };
		at += rec_size(&h);
	}
	qsort(keys, s->nlog, sizeof(*keys), rec_cmp);
	for (i = 0; i < s->nlog && !rc; i++) {
		rc = load_evidence(s, s->log.p + keys[i].off);
		if (!rc)
			rc = seq_process(s);
	}
	free(keys);
	s->nlog = 0;
	s->log.len = 0;
	return rc;
}

/* ---- samples ---- */

static struct samplekey *sample_key(struct fd_eql_stream *s,
				    const struct tup *t)
{
	const unsigned char *k = s->ev.bytes.p + t->off;
	uint64_t h = hash_bytes(k, t->len);
	struct samplekey *sk;
	unsigned char *key;

	sk = (struct samplekey *)kmap_find(&s->keys, k, t->len, h);
	if (sk)
		return sk;
	sk = calloc(1, sizeof(*sk) + t->len);
	if (!sk)
		return NULL;
	key = (unsigned char *)(sk + 1);
	if (t->len)
		memcpy(key, k, t->len);
	sk->e.key = key;
	sk->e.keylen = t->len;
	sk->e.hash = h;
	if (kmap_add(&s->keys, &sk->e)) {
		free(sk);
		return NULL;
	}
	return sk;
}

/* Pick one candidate per filter, all distinct events, earliest first. */
static bool sample_assign(struct samplekey *sk, size_t f, size_t nf,
			  uint64_t *used)
{
	size_t i, j;

	if (f == nf)
		return true;
	for (i = 0; i < sk->ncand[f]; i++) {
		const struct sample_cand *c = &sk->cand[f][i];

		for (j = 0; j < f; j++)
			if (used[j] == c->ord)
				break;
		if (j < f)
			continue;
		used[f] = c->ord;
		sk->result[f] = c->index;
		if (sample_assign(sk, f + 1, nf, used))
			return true;
	}
	return false;
}

/* Offer the event to every filter it matches, then try each key it
 * touched, so an event can fill whichever filter leaves the earliest
 * events to the others. */
static int sample_process(struct fd_eql_stream *s)
{
	const struct evidence *ev = &s->ev;
	size_t nf = s->q->nterms, f, i, ntouched = 0;

	for (f = 0; f < nf; f++) {
		if (!has_term(ev, (int)f))
			continue;
		for (i = 0; i < ev->count[f]; i++) {
			struct samplekey *sk;

			sk = sample_key(s, &ev->tup[ev->first[f] + i]);
			if (!sk)
				return -FD_ERR_NOMEM;
			if (sk->done || sk->ncand[f] == nf)
				continue;
			if (sk->ncand[f] &&
			    sk->cand[f][sk->ncand[f] - 1].ord == ev->ord)
				continue;
			sk->cand[f][sk->ncand[f]].ord = ev->ord;
			sk->cand[f][sk->ncand[f]].index = ev->index;
			sk->ncand[f]++;
			if (sk->touched == ev->ord + 1)
				continue;
			sk->touched = ev->ord + 1;
			if (grow(&s->touched, &s->captouched, ntouched + 1,
				 sizeof(*s->touched)))
				return -FD_ERR_NOMEM;
			s->touched[ntouched++] = sk;
		}
	}
	for (i = 0; i < ntouched; i++) {
		uint64_t used[5];

		s->touched[i]->done = sample_assign(s->touched[i], 0, nf,
						    used);
	}
	return 0;
}

/* Key components in order: null, booleans, numbers, strings. */
static int comp_rank(unsigned char c)
{
	switch (c) {
	case 'z':
		return 0;
	case 'F':
	case 'T':
		return 1;
	case 'n':
	case 'd':
		return 2;
	default:
		return 3;
	}
}

static size_t comp_len(const unsigned char *p)
{
	uint32_t n;

	switch (*p) {
	case 's':
		memcpy(&n, p + 1, sizeof(n));
		return 1 + sizeof(n) + n;
	case 'n':
	case 'd':
		return 9;
	default:
		return 1;
	}
}

static double comp_num(const unsigned char *p)
{
	int64_t l;
	double d;

	if (*p == 'n') {
		memcpy(&l, p + 1, sizeof(l));
		return (double)l;
	}
	memcpy(&d, p + 1, sizeof(d));
	return d;
}

static int comp_cmp(const unsigned char *a, const unsigned char *b)
{
	int ra = comp_rank(*a), rb = comp_rank(*b);
	uint32_t na, nb;
	double x, y;
	int c;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 0:
		return 0;
	case 1:
		return (*a == 'T') - (*b == 'T');
	case 2:
		x = comp_num(a);
		y = comp_num(b);
		return (x > y) - (x < y);
	default:
		memcpy(&na, a + 1, sizeof(na));
		memcpy(&nb, b + 1, sizeof(nb));
		c = memcmp(a + 5, b + 5, na < nb ? na : nb);
		if (c)
			return c < 0 ? -1 : 1;
		return (na > nb) - (na < nb);
	}
}

static int sample_cmp(const void *pa, const void *pb)
{
	const struct kentry *a = *(const struct kentry *const *)pa;
	const struct kentry *b = *(const struct kentry *const *)pb;
	size_t i = 0, j = 0;

	while (i < a->keylen && j < b->keylen) {
		int c = comp_cmp(a->key + i, b->key + j);

		if (c)
			return c;
		i += comp_len(a->key + i);
		j += comp_len(b->key + j);
	}
	return (i < a->keylen) - (j < b->keylen);
}

static int sample_flush(struct fd_eql_stream *s)
{
	struct kentry **done;
	size_t n = 0, i;

	done = malloc((s->keys.n + 1) * sizeof(*done));
	if (!done)
		return -FD_ERR_NOMEM;
	for (i = 0; i < s->keys.nb; i++) {
		struct kentry *e;

		for (e = s->keys.b[i]; e; e = e->next)
			if (((struct samplekey *)e)->done)
				done[n++] = e;
	}
	qsort(done, n, sizeof(*done), sample_cmp);
	for (i = 0; i < n && !s->err; i++)
		deliver(s, ((struct samplekey *)done[i])->result);
	free(done);
	return s->err;
}

/* ---- public API ---- */

void fd_eql_stream_set_time_field(struct fd_eql_stream *s,
				  const char *field)
{
	s->time_field = field ? field : "@timestamp";
}

int fd_eql_stream_new(const struct fd_eql *q, unsigned flags,
		      struct fd_eql_stream **out)
{
	struct fd_eql_stream *s;
	size_t i;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -FD_ERR_NOMEM;
	s->q = q;
	s->flags = flags;
	s->time_field = "@timestamp";
	s->sc.buf = s->sbuf;
	s->sc.cap = sizeof(s->sbuf);
	s->width = q->kind == EQL_Q_SEQUENCE ? q->npos :
		   q->kind == EQL_Q_SAMPLE   ? q->nterms : 1;
	for (i = 0; i < q->nterms; i++)
		if (q->terms[i].nkeys > s->maxkeys)
			s->maxkeys = q->terms[i].nkeys;
	s->kstart = calloc(s->maxkeys + 1, sizeof(*s->kstart));
	s->kcount = calloc(s->maxkeys + 1, sizeof(*s->kcount));
	s->odo = calloc(s->maxkeys + 1, sizeof(*s->odo));
	s->result = calloc(s->width + 1, sizeof(*s->result));
	s->pipes = calloc(q->npipes + 1, sizeof(*s->pipes));
	if (!s->kstart || !s->kcount || !s->odo || !s->result || !s->pipes)
		goto nomem;
	/* Buffers are never NULL, so tuple offsets always have a base. */
	if (buf_reserve(&s->ev.bytes, 64) || buf_reserve(&s->comp, 64) ||
	    buf_reserve(&s->log, 64))
		goto nomem;
	*out = s;
	return 0;
nomem:
	fd_eql_stream_free(s);
	return -FD_ERR_NOMEM;
}

int fd_eql_stream_push(struct fd_eql_stream *s, const cJSON *doc,
		       size_t index, fd_eql_emit_fn emit, void *arg)
{
	const struct fd_eql *q = s->q;
	bool has_ts;
	int rc;

	if (s->err)
		return s->err;
	s->emit = emit;
	s->arg = arg;
	if (q->kind == EQL_Q_EVENT) {
		s->ord++;
		if (fd_eql_match(q, doc))
			deliver(s, &index);
		return s->err;
	}
	rc = gather(s, doc, index, &has_ts);
	if (rc)
		return s->err = rc;
	if (q->kind == EQL_Q_SAMPLE) {
		rc = sample_process(s);
		return rc ? (s->err = rc) : s->err;
	}
	if (!s->ev.mask && !s->nheap)
		return 0;
	if (!has_ts) {
		if (s->ev.mask)
			s->skipped++;
		return 0;
	}
	if (s->flags & FD_EQL_STREAM_UNSORTED) {
		if (!s->ev.mask)
			return 0;
		rc = log_evidence(s);
		return rc ? (s->err = rc) : 0;
	}
	if (s->has_now && s->ev.ts < s->now)
		return s->ev.mask ? -FD_ERR_INVALID : 0;
	rc = seq_process(s);
	return rc ? (s->err = rc) : 0;
}

int fd_eql_stream_flush(struct fd_eql_stream *s, fd_eql_emit_fn emit,
			void *arg)
{
	int rc = 0;

	if (s->err)
		return s->err;
	s->emit = emit;
	s->arg = arg;
	if (s->q->kind == EQL_Q_SEQUENCE) {
		rc = replay_log(s);
		if (!rc)
			accept_expired(s, true);
	} else if (s->q->kind == EQL_Q_SAMPLE) {
		rc = sample_flush(s);
	}
	if (!rc)
		flush_pipes(s);
	return rc ? (s->err = rc) : s->err;
}

void fd_eql_stream_stats(const struct fd_eql_stream *s,
			 struct fd_eql_stream_stats *st)
{
	st->pushed = (size_t)s->ord;
	st->skipped = s->skipped;
	st->keys = s->keys.n;
	st->pending = s->nheap;
}

void fd_eql_stream_free(struct fd_eql_stream *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nheap; i++)
		free(s->heap[i]);
	for (i = 0; i < s->keys.nb; i++) {
		struct kentry *e = s->keys.b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->keys.b);
	free(s->heap);
	if (s->pipes)
		for (i = 0; i < s->q->npipes; i++)
			free(s->pipes[i].ring);
	free(s->pipes);
	free(s->result);
	free(s->kstart);
	free(s->kcount);
	free(s->odo);
	free(s->comps);
	free(s->touched);
	free(s->comp.p);
	free(s->ev.tup);
	free(s->ev.bytes.p);
	free(s->log.p);
	eql_scratch_release(&s->sc);
	free(s);
}

/* ---- timestamps ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n--) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return true;
}

/* ISO 8601 (date, optional time with fraction, Z or an offset), or epoch
 * milliseconds as a number or a string of digits. */
static bool parse_iso(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, frac = 0;
	int64_t t;
	const char *p = s;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.' || *p == ',') {
				int k = 0;

				p++;
				if (*p < '0' || *p > '9')
					return false;
				for (; *p >= '0' && *p <= '9'; p++, k++)
					if (k < 3)
						frac = frac * 10 + (*p - '0');
				for (; k < 3; k++)
					frac *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return false;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;

			if (!digits(&p, 2, &oh))
				return false;
			if (*p == ':')
				p++;
			if (*p && !digits(&p, 2, &om))
				return false;
			oh *= sign;
			om *= sign;
		}
	}
	if (*p)
		return false;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    (int64_t)h * 3600 + mi * 60 + sec - (int64_t)oh * 3600 - om * 60;
	*ms = t * 1000 + frac;
	return true;
}

bool eql_parse_time(const cJSON *j, int64_t *ms)
{
	const char *s;
	size_t i;

	if (cJSON_IsNumber(j)) {
		if (!(j->valuedouble > -9.2e18 && j->valuedouble < 9.2e18))
			return false;
		*ms = (int64_t)j->valuedouble;
		return true;
	}
	if (!cJSON_IsString(j) || !j->valuestring)
		return false;
	s = j->valuestring;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i > 4 && i < 19 && !s[i]) {
		*ms = strtoll(s, NULL, 10);
		return true;
	}
	return parse_iso(s, ms);
}
