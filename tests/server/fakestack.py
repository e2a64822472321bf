#!/usr/bin/env python3
"""fakestack.py - a fake Kibana and Elasticsearch that can misbehave.

firedrill's live backends (kibana, elasticsearch) are tested against this
server, because no real stack runs on a test machine.  It answers the
documented routes with the documented shapes, from alerts and rules loaded
at start-up, and it can be told to fail in the ways a real stack, or the
network in front of it, fails.

How it works:
  * The alerts come from firedrill's own alerts.ndjson (Kibana 8.x layout)
    and are kept in memory in the layout being served: 8.x as they are,
    or converted once to the 7.x `.siem-signals` layout.  They all live in
    one Kibana space.
  * One evaluator of a subset of the query DSL (bool, term, terms,
    wildcard, prefix, range, exists, match_all, match_none, ids) serves
    both Kibana's alert search and Elasticsearch's _search.  A query is
    compiled into a predicate first, so a bad query is refused even when
    there is nothing to search.
  * Exception lists and items (API JSON or Kibana's NDJSON export) are
    served read-only by the exception_lists routes; --rule-exceptions
    links a list into every rule's exceptions_list.
  * _bulk writes documents into an in-memory store; `update` actions edit
    the alerts themselves, like closing them through Kibana does.
  * Faults are chosen per request, before authentication, as a proxy or
    an overloaded stack would answer.  `slow` only delays; `truncated`
    and `drop` spoil the delivery of the normal answer.
  * Every request but the state query is appended to --log as one JSON
    line; GET /_fakestack/state shows what was indexed and closed.

Binds 127.0.0.1 only.  Python 3 standard library only.
"""

import argparse
import base64
import copy
import datetime
import fnmatch
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qs, unquote, urlsplit

API_VERSION = "2023-10-31"
MAX_RESULT_WINDOW = 10000
# Backing indices of data streams carry their creation day.
DATA_STREAM_DAY = "2026.12.03"
DATA_STREAM_PREFIXES = ("logs-", "metrics-", "traces-", "synthetics-")
# Rules without an `id` of their own get uuid5(this, rule_id).
RULE_ID_NAMESPACE = uuid.NAMESPACE_OID
ES_VERSION = "8.15.0"
# Elasticsearch's own answers say who they are; clients may check it.
ES_HEADERS = [("X-elastic-product", "Elasticsearch")]

FAULT_KINDS = ("slow", "401", "403", "404", "429", "500", "502", "503",
               "badjson", "truncated", "drop", "echo-auth", "empty")
FAULT_ROUTES = ("search", "rules", "bulk", "status", "exceptions",
                "any")
RULE_STATES = ("succeeded", "disabled", "failed", "partial", "gap",
               "stale", "never-ran", "running", "legacy", "legacy-failed")
WORKFLOW_STATUSES = ("open", "closed", "acknowledged", "in-progress")

BOOM_ERRORS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
               404: "Not Found", 429: "Too Many Requests",
               500: "Internal Server Error", 502: "Bad Gateway",
               503: "Service Unavailable"}


# ---------------------------------------------------------------- answers

class Answer:
    """What goes back to the client: status, body bytes, extra headers."""

    def __init__(self, status, body=b"", headers=None,
                 content_type="application/json; charset=utf-8"):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        self.content_type = content_type


def json_answer(status, value, headers=None):
    return Answer(status, json.dumps(value).encode(), headers)


class HttpError(Exception):
    """Raised anywhere in a route to answer with an error instead."""

    def __init__(self, status, value, headers=None):
        super().__init__(value)
        self.answer = json_answer(status, value, headers)


def boom(status, message=None, headers=None):
    """Kibana platform errors (auth, xsrf, route validation)."""
    error = BOOM_ERRORS.get(status, "Error")
    return HttpError(status, {"statusCode": status, "error": error,
                              "message": message or error}, headers)


def handler_error(status, message):
    """Security Solution route handler errors (buildSiemResponse)."""
    return HttpError(status, {"message": message, "status_code": status})


def es_error(status, etype, reason, headers=None, **extra):
    cause = dict({"type": etype, "reason": reason}, **extra)
    error = dict(root_cause=[cause], **cause)
    return HttpError(status, {"error": error, "status": status}, headers)


class QueryError(Exception):
    """An Elasticsearch search failure, shaped by whichever route asked."""

    def __init__(self, etype, reason, status=400):
        super().__init__(reason)
        self.etype, self.reason, self.status = etype, reason, status

    def for_es(self):
        return es_error(self.status, self.etype, self.reason)

    def for_kibana(self):
        # Kibana passes ES errors on with their message flattened.
        return handler_error(self.status, "%s\n\tRoot causes:\n\t\t%s: %s"
                             % (self.etype, self.etype, self.reason))


def parsing_error(reason):
    return QueryError("parsing_exception", reason)


def result_window_error(window):
    return QueryError(
        "search_phase_execution_exception",
        "Result window is too large, from + size must be less than "
        "or equal to: [%d] but was [%d]. See the scroll api for a more "
        "efficient way to request large data sets. This limit can be "
        "set by changing the [index.max_result_window] index level "
        "setting." % (MAX_RESULT_WINDOW, window))


# ------------------------------------------------------------------ time

def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def iso_ms(moment):
    """ISO 8601 in UTC with milliseconds, as Kibana writes dates."""
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (moment.microsecond // 1000)


DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}")
DATE_MATH = re.compile(r"^now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "H": 3600, "d": 86400,
                "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400}


def parse_iso(text):
    """An ISO 8601 date as an aware datetime, or None."""
    if not isinstance(text, str) or not DATE_SHAPE.match(text):
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def parse_date_math(text, now=None):
    """`now`, `now-15m`, `now-1d/d`: enough date math for a test client."""
    match = DATE_MATH.match(text) if isinstance(text, str) else None
    if not match:
        return None
    moment = now or now_utc()
    for sign, count, unit in re.findall(r"([+-])(\d+)([a-zA-Z])",
                                        match.group(1)):
        seconds = int(count) * UNIT_SECONDS[unit]
        moment += datetime.timedelta(seconds=seconds if sign == "+"
                                     else -seconds)
    if match.group(2):
        step = UNIT_SECONDS[match.group(2)]
        floor = int(moment.timestamp()) // step * step
        moment = datetime.datetime.fromtimestamp(floor,
                                                 datetime.timezone.utc)
    return moment


def as_instant(value):
    """A date string, date math or epoch milliseconds as a datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value / 1000.0,
                                               datetime.timezone.utc)
    return parse_iso(value) or parse_date_math(value)


# ---------------------------------------------------------- documents

class Doc:
    """One stored document; `signal_aliases` marks 8.x alerts, which
    answer legacy `signal.*` field names the way Kibana's aliases do."""

    __slots__ = ("doc_id", "source", "version", "signal_aliases")

    def __init__(self, doc_id, source, signal_aliases=False):
        self.doc_id = doc_id
        self.source = source
        self.version = 1
        self.signal_aliases = signal_aliases


class IndexEntry:
    """A searchable index: the names it answers to and its documents."""

    def __init__(self, names, backing, docs):
        self.names = names
        self.backing = backing
        self.docs = docs


def random_doc_id():
    return base64.urlsafe_b64encode(secrets.token_bytes(15)).decode()


def read_json_values(path):
    """Every JSON value in a file: one object, an array, NDJSON, or
    pretty-printed objects one after another."""
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    decoder, values, pos = json.JSONDecoder(), [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        value, pos = decoder.raw_decode(text, pos)
        values.extend(value if isinstance(value, list) else [value])


def unwrap_archive(value):
    """Kibana's es_archiver wraps a document as {type: doc, value: ...}."""
    if value.get("type") == "doc" and isinstance(value.get("value"), dict):
        inner = value["value"]
        return inner.get("id"), inner.get("source", {})
    return None, value


def load_alerts(paths):
    alerts = []
    for path in paths:
        for value in read_json_values(path):
            if not isinstance(value, dict):
                raise ValueError("%s: an alert is not a JSON object" % path)
            doc_id, source = unwrap_archive(value)
            doc_id = doc_id or source.get("kibana.alert.uuid") or \
                random_doc_id()
            alerts.append((doc_id, source))
    return alerts


def load_rules(paths):
    """rule_id -> rule object; a later file wins over an earlier one."""
    rules = {}
    for path in paths:
        for value in read_json_values(path):
            # Kibana's NDJSON export ends with a summary line: skip it.
            if isinstance(value, dict) and value.get("rule_id"):
                rules[value["rule_id"]] = value
    return rules


# -------------------------------------------------------- 7.x layout

RULE_KEYS_NOT_IN_7X = {"uuid", "rule_type_id", "category", "consumer",
                       "producer", "parameters", "revision"}


def signal_rule(alert):
    """signal.rule of a 7.x signal, from an 8.x alert's rule fields."""
    prefix = "kibana.alert.rule."
    rule = {}
    for key, value in alert.items():
        name = key[len(prefix):] if key.startswith(prefix) else None
        if name and "." not in name and name not in RULE_KEYS_NOT_IN_7X:
            rule[name] = copy.deepcopy(value)
    params = alert.get(prefix + "parameters")
    for key, value in (params if isinstance(params, dict) else {}).items():
        rule.setdefault(key, copy.deepcopy(value))
    # 7.x writes the effective severity and risk score into the rule.
    rule["id"] = alert.get(prefix + "uuid")
    rule["severity"] = alert.get("kibana.alert.severity",
                                 rule.get("severity"))
    rule["risk_score"] = alert.get("kibana.alert.risk_score",
                                   rule.get("risk_score"))
    rule["threat"] = copy.deepcopy(alert.get(prefix + "threat",
                                             rule.get("threat", [])))
    return rule


def signal_block(alert):
    ancestors = copy.deepcopy(alert.get("kibana.alert.ancestors", []))
    original_prefix = "kibana.alert.original_event."
    original_event = {key[len(original_prefix):]: copy.deepcopy(value)
                      for key, value in alert.items()
                      if key.startswith(original_prefix)}
    block = {"_meta": {"version": 57}, "parents": ancestors,
             "ancestors": ancestors,
             "status": alert.get("kibana.alert.workflow_status", "open"),
             "rule": signal_rule(alert),
             "reason": alert.get("kibana.alert.reason"),
             "depth": alert.get("kibana.alert.depth", 1)}
    if ancestors:
        block["parent"] = ancestors[0]
    block["original_time"] = alert.get("kibana.alert.original_time")
    block["original_event"] = original_event
    return block


def to_signal(alert):
    """An 8.x alert as a 7.x `.siem-signals` document: the source event's
    fields at the top, detection metadata under `signal`."""
    doc = {key: copy.deepcopy(value) for key, value in alert.items()
           if not key.startswith("kibana.") and key != "kibana"}
    if isinstance(doc.get("event"), dict):
        doc["event"]["kind"] = "signal"
    elif "event" not in doc:
        doc["event"] = {"kind": "signal"}
    if "event.kind" in doc:
        doc["event.kind"] = "signal"
    doc["signal"] = signal_block(alert)
    return doc


# -------------------------------------------------- field resolution

# 8.x alert indices alias the legacy names (most specific first).
SIGNAL_ALIASES = (
    ("signal.rule.id", "kibana.alert.rule.uuid"),
    ("signal.rule.severity", "kibana.alert.severity"),
    ("signal.rule.risk_score", "kibana.alert.risk_score"),
    ("signal.rule.", "kibana.alert.rule."),
    ("signal.status", "kibana.alert.workflow_status"),
    ("signal.original_time", "kibana.alert.original_time"),
    ("signal.original_event.", "kibana.alert.original_event."),
    ("signal.ancestors", "kibana.alert.ancestors"),
    ("signal.depth", "kibana.alert.depth"),
    ("signal.reason", "kibana.alert.reason"),
)


def alias_of(path):
    for old, new in SIGNAL_ALIASES:
        if old.endswith("."):
            if path.startswith(old):
                return new + path[len(old):]
        elif path == old or path.startswith(old + "."):
            return new + path[len(old):]
    return None


def walk_path(node, parts):
    """Leaf values at `parts` below `node`.  At each level the longest
    flat dotted key wins, then shorter ones (nested objects); arrays
    contribute every element."""
    if isinstance(node, list):
        found = []
        for item in node:
            found.extend(walk_path(item, parts))
        return found
    if not parts:
        return [node]
    if not isinstance(node, dict):
        return []
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in node:
            found = walk_path(node[key], parts[cut:])
            if found:
                return found
    return []


def field_values(doc, path):
    """Non-null values of a field, the way a query sees them."""
    found = [v for v in walk_path(doc.source, path.split(".")) if
             v is not None]
    if not found and doc.signal_aliases:
        alias = alias_of(path)
        if alias:
            found = [v for v in walk_path(doc.source, alias.split("."))
                     if v is not None]
    return found


def flatten_fields(node, prefix="", out=None):
    """Every leaf as dotted path -> [values], like the fields API."""
    out = {} if out is None else out
    if isinstance(node, dict):
        for key, value in node.items():
            flatten_fields(value, prefix + key + ".", out)
    elif isinstance(node, list):
        for item in node:
            flatten_fields(item, prefix, out)
    elif node is not None:
        out.setdefault(prefix[:-1], []).append(node)
    return out


# ------------------------------------------------ value comparisons

def as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_bool(value):
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower())


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return None
    return str(value)


def same_value(have, want, fold=False):
    """term equality: keyword, number, boolean or date semantics."""
    if isinstance(have, (dict, list)):
        return False
    if isinstance(have, bool) or isinstance(want, bool):
        return as_bool(have) is not None and as_bool(have) == as_bool(want)
    if isinstance(have, (int, float)) or isinstance(want, (int, float)):
        a, b = as_number(have), as_number(want)
        return a is not None and a == b
    have, want = str(have), str(want)
    if fold:
        return have.lower() == want.lower()
    if have == want:
        return True
    a, b = parse_iso(have), parse_iso(want)
    return a is not None and a == b


def compare(have, bound):
    """-1, 0 or 1 for range queries; None when they do not compare."""
    if isinstance(have, (dict, list, bool)):
        return None
    moment = parse_iso(have) if isinstance(have, str) else None
    if moment is not None:
        other = as_instant(bound)
        if other is None:
            return None
        return (moment > other) - (moment < other)
    a, b = as_number(have), as_number(bound)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(have, str) and isinstance(bound, str):
        return (have > bound) - (have < bound)
    return None


def wildcard_regex(pattern, fold):
    """ES wildcard syntax: `*`, `?`, and `\\` escaping the next char."""
    parts, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else "." if char == "?"
                     else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.S | (re.I if fold else 0))


# ------------------------------------------------------ query compiler

def clause_list(value, where):
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise parsing_error("[bool] malformed clause [%s]" % where)


def single_field(kind, body, extra=("boost", "_name")):
    """The one field a term-level query names, and its parameters."""
    if not isinstance(body, dict):
        raise parsing_error("[%s] query malformed, no start_object "
                            "after query name" % kind)
    fields = [key for key in body if key not in extra]
    if len(fields) != 1:
        raise parsing_error("[%s] query doesn't support multiple fields"
                            % kind if fields else
                            "[%s] query requires a field" % kind)
    return fields[0], body[fields[0]]


def field_params(kind, params, value_keys=("value",)):
    """{f: v} or {f: {value: v, case_insensitive: b, ...}}."""
    if not isinstance(params, dict):
        return params, False
    for key in value_keys:
        if key in params:
            return params[key], bool(params.get("case_insensitive"))
    raise parsing_error("[%s] query requires a value" % kind)


def minimum_should(body, clauses_should, has_required):
    raw = body.get("minimum_should_match")
    if raw is None:
        return 0 if has_required or not clauses_should else 1
    text = str(raw).strip()
    count = len(clauses_should)
    if text.endswith("%"):
        wanted = int(count * int(text[:-1]) / 100.0)
    else:
        try:
            wanted = int(text)
        except ValueError:
            raise parsing_error("[bool] bad minimum_should_match [%s]" % raw)
    return count + wanted if wanted < 0 else wanted


def build_bool(body):
    if not isinstance(body, dict):
        raise parsing_error("[bool] query malformed")
    known = ("must", "filter", "should", "must_not",
             "minimum_should_match", "boost", "_name")
    for key in body:
        if key not in known:
            raise parsing_error("[bool] query does not support [%s]" % key)
    compiled = {key: [compile_query(c) for c in clause_list(body[key], key)]
                for key in ("must", "filter", "should", "must_not")
                if key in body}
    required = compiled.get("must", []) + compiled.get("filter", [])
    should = compiled.get("should", [])
    must_not = compiled.get("must_not", [])
    wanted = minimum_should(body, should, bool(required))

    def test(doc):
        if not all(pred(doc) for pred in required):
            return False
        if any(pred(doc) for pred in must_not):
            return False
        return wanted <= 0 or sum(1 for p in should if p(doc)) >= wanted
    return test


def build_term(body):
    field, params = single_field("term", body)
    value, fold = field_params("term", params)
    return lambda doc: any(same_value(v, value, fold)
                           for v in field_values(doc, field))


def build_terms(body):
    field, values = single_field("terms", body)
    if not isinstance(values, list):
        raise parsing_error("[terms] query does not support [%s]: only "
                            "a list of values is understood" % field)
    return lambda doc: any(same_value(v, want)
                           for v in field_values(doc, field)
                           for want in values)


def build_pattern_query(kind, body, to_regex):
    field, params = single_field(kind, body)
    pattern, fold = field_params(kind, params, ("value", kind))
    regex = to_regex(str(pattern), fold)

    def test(doc):
        for value in field_values(doc, field):
            text = as_text(value)
            if text is not None and regex.fullmatch(text):
                return True
        return False
    return test


def build_wildcard(body):
    return build_pattern_query("wildcard", body, wildcard_regex)


def build_prefix(body):
    return build_pattern_query(
        "prefix", body,
        lambda p, fold: re.compile(re.escape(p) + ".*",
                                   re.S | (re.I if fold else 0)))


RANGE_TESTS = {"gte": lambda c: c >= 0, "gt": lambda c: c > 0,
               "lte": lambda c: c <= 0, "lt": lambda c: c < 0}


def build_range(body):
    field, params = single_field("range", body)
    if not isinstance(params, dict):
        raise parsing_error("[range] query malformed")
    bounds = [(params[op], RANGE_TESTS[op]) for op in RANGE_TESTS
              if params.get(op) is not None]

    def in_range(value):
        for bound, accept in bounds:
            order = compare(value, bound)
            if order is None or not accept(order):
                return False
        return True
    return lambda doc: any(in_range(v) for v in field_values(doc, field))


def build_exists(body):
    if not isinstance(body, dict) or not isinstance(body.get("field"), str):
        raise parsing_error("[exists] must be provided with a [field]")
    field = body["field"]
    return lambda doc: any(v != [] and v != {}
                           for v in field_values(doc, field))


def build_ids(body):
    if not isinstance(body, dict) or not isinstance(body.get("values"),
                                                    list):
        raise parsing_error("[ids] query malformed, no [values]")
    wanted = set(str(v) for v in body["values"])
    return lambda doc: doc.doc_id in wanted


QUERY_BUILDERS = {
    "bool": build_bool, "term": build_term, "terms": build_terms,
    "wildcard": build_wildcard, "prefix": build_prefix,
    "range": build_range, "exists": build_exists, "ids": build_ids,
    "match_all": lambda body: (lambda doc: True),
    "match_none": lambda body: (lambda doc: False),
}


def compile_query(query):
    """A DSL query as a predicate over Docs; QueryError if unsupported."""
    if query is None or query == {}:
        return lambda doc: True
    if not isinstance(query, dict) or len(query) != 1:
        raise parsing_error("query malformed, expected a single query "
                            "object")
    kind, body = next(iter(query.items()))
    builder = QUERY_BUILDERS.get(kind)
    if builder is None:
        raise parsing_error("unknown query [%s]" % kind)
    return builder(body)


# ------------------------------------------------- search response

def parse_sort(spec):
    """[(field, descending)] from the forms ES accepts."""
    items = spec if isinstance(spec, list) else [spec]
    keys = []
    for item in items:
        if isinstance(item, str):
            keys.append((item, item == "_score"))
            continue
        if not isinstance(item, dict):
            raise parsing_error("[sort] malformed")
        for field, how in item.items():
            order = how.get("order", "asc") if isinstance(how, dict) \
                else how
            keys.append((field, str(order).lower() == "desc"))
    return keys


def sort_value(value):
    """A key that orders numbers, dates and strings among themselves."""
    number = as_number(value) if not isinstance(value, str) else None
    if number is not None:
        return (0, number, "")
    moment = parse_iso(value)
    if moment is not None:
        return (1, moment.timestamp(), "")
    return (2, 0, as_text(value) or "")


def sort_docs(docs, keys):
    """Stable sort on each key from the last; missing values go last."""
    docs = list(docs)
    for field, descending in reversed(keys):
        if field in ("_score", "_doc"):
            continue
        present, missing = [], []
        for doc in docs:
            values = [v for v in field_values(doc, field)
                      if not isinstance(v, (dict, list))]
            (present if values else missing).append((doc, values))
        pick = max if descending else min
        present.sort(key=lambda item: sort_value(pick(
            item[1], key=sort_value)), reverse=descending)
        docs = [doc for doc, _ in present + missing]
    return docs


def sort_values_of(doc, keys):
    out = []
    for field, descending in keys:
        values = [v for v in field_values(doc, field)
                  if not isinstance(v, (dict, list))]
        pick = max if descending else min
        out.append(pick(values, key=sort_value) if values else None)
    return out


def source_patterns(spec):
    """(includes, excludes) of _source filtering; None keeps everything,
    False drops _source."""
    if spec is None or spec is True:
        return None
    if spec is False:
        return False
    if isinstance(spec, str):
        return [spec], []
    if isinstance(spec, list):
        return [str(p) for p in spec], []
    if isinstance(spec, dict):
        def listed(key):
            value = spec.get(key, [])
            return [value] if isinstance(value, str) else list(value)
        return listed("includes") or listed("include"), \
            listed("excludes") or listed("exclude")
    raise parsing_error("[_source] malformed")


def matches_any(path, patterns):
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def keep_fields(node, prefix, includes):
    """The parts of an object whose dotted path matches `includes`,
    whether the keys are flat dotted ones or nested objects."""
    kept = {}
    for key, value in node.items():
        path = prefix + key
        if matches_any(path, includes):
            kept[key] = value
            continue
        if isinstance(value, dict):
            inner = keep_fields(value, path + ".", includes)
            if inner:
                kept[key] = inner
        elif isinstance(value, list):
            inner = [keep_fields(v, path + ".", includes) for v in value
                     if isinstance(v, dict)]
            inner = [v for v in inner if v]
            if inner:
                kept[key] = inner
    return kept


def drop_fields(node, prefix, excludes):
    kept = {}
    for key, value in node.items():
        path = prefix + key
        if matches_any(path, excludes):
            continue
        if isinstance(value, dict):
            value = drop_fields(value, path + ".", excludes)
        elif isinstance(value, list):
            value = [drop_fields(v, path + ".", excludes)
                     if isinstance(v, dict) else v for v in value]
        kept[key] = value
    return kept


def filtered_source(source, patterns):
    if patterns is None:
        return source
    includes, excludes = patterns
    if includes:
        source = keep_fields(source, "", includes)
    if excludes:
        source = drop_fields(source, "", excludes)
    return source


def requested_fields(doc, patterns):
    """hits[].fields: flat names, values always in arrays."""
    names = [p.get("field") if isinstance(p, dict) else p for p in patterns]
    flat = flatten_fields(doc.source)
    return {path: values for path, values in flat.items()
            if matches_any(path, names)}


def one_aggregation(name, spec, docs):
    kinds = [k for k in spec if k not in ("aggs", "aggregations", "meta")]
    if len(kinds) != 1:
        raise parsing_error("Expected one aggregation type for [%s]" % name)
    kind = kinds[0]
    body = spec[kind] if isinstance(spec[kind], dict) else {}
    field = body.get("field", "")
    per_doc = [[v for v in field_values(d, field)
                if not isinstance(v, (dict, list))] for d in docs]
    if kind == "terms":
        return terms_aggregation(spec, body, docs, per_doc)
    if kind == "cardinality":
        return {"value": len({as_text(v) for vs in per_doc for v in vs})}
    if kind == "value_count":
        return {"value": sum(len(vs) for vs in per_doc)}
    if kind in ("min", "max"):
        numbers = [as_number(v) for vs in per_doc for v in vs
                   if as_number(v) is not None]
        pick = min if kind == "min" else max
        return {"value": pick(numbers) if numbers else None}
    raise parsing_error("Unknown aggregation type [%s] did you mean "
                        "[terms]?" % kind)


def terms_aggregation(spec, body, docs, per_doc):
    buckets = {}
    for doc, values in zip(docs, per_doc):
        seen = set()
        for value in values:
            key = as_text(value)
            if key not in seen:
                seen.add(key)
                buckets.setdefault(key, (value, []))[1].append(doc)
    ordered = sorted(buckets.values(),
                     key=lambda b: (-len(b[1]), as_text(b[0])))
    size = int(body.get("size", 10))
    sub = spec.get("aggs") or spec.get("aggregations") or {}
    out = []
    for value, members in ordered[:size]:
        bucket = {"key": value, "doc_count": len(members)}
        bucket.update(aggregate(sub, members))
        out.append(bucket)
    other = sum(len(members) for _, members in ordered[size:])
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other,
            "buckets": out}


def aggregate(aggs, docs):
    if not isinstance(aggs, dict):
        raise parsing_error("[aggs] malformed")
    return {name: one_aggregation(name, spec, docs)
            for name, spec in aggs.items()}


def int_param(body, key, default):
    value = body.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueryError("illegal_argument_exception",
                         "[%s] parameter cannot be negative or a "
                         "non-integer, found [%s]" % (key, value))
    return value


def total_hits(count, track):
    """hits.total: exact when asked, else counted up to a limit."""
    if track is False:
        return None
    if track is not True:
        limit = track if isinstance(track, int) else MAX_RESULT_WINDOW
        if count > limit:
            return {"value": limit, "relation": "gte"}
    return {"value": count, "relation": "eq"}


def search(entries, shards, body, started):
    """An ES _search response over [(IndexEntry, Doc)] from `shards`
    indices (one shard each)."""
    size = int_param(body, "size", 10)
    offset = int_param(body, "from", 0)
    if offset + size > MAX_RESULT_WINDOW:
        raise result_window_error(offset + size)
    predicate = compile_query(body.get("query"))
    sort_keys = parse_sort(body["sort"]) if body.get("sort") else []
    patterns = source_patterns(body.get("_source"))
    matched = [(e, d) for e, d in entries if predicate(d)]
    if sort_keys:
        order = sort_docs([d for _, d in matched], sort_keys)
        where = {id(d): e for e, d in matched}
        matched = [(where[id(d)], d) for d in order]
    hits = [hit(e, d, patterns, body.get("fields"), sort_keys)
            for e, d in matched[offset:offset + size]]
    hits_block = {"max_score": None if sort_keys or not hits else 1.0,
                  "hits": hits}
    total = total_hits(len(matched), body.get("track_total_hits"))
    if total is not None:
        hits_block = dict({"total": total}, **hits_block)
    response = {"took": int((time.time() - started) * 1000),
                "timed_out": False,
                "_shards": {"total": shards, "successful": shards,
                            "skipped": 0, "failed": 0},
                "hits": hits_block}
    if body.get("aggs") or body.get("aggregations"):
        response["aggregations"] = aggregate(
            body.get("aggs") or body.get("aggregations"),
            [d for _, d in matched])
    return response


def hit(entry, doc, patterns, fields, sort_keys):
    out = {"_index": entry.backing, "_id": doc.doc_id,
           "_score": None if sort_keys else 1.0}
    if patterns is not False:
        out["_source"] = filtered_source(doc.source, patterns)
    if fields:
        out["fields"] = requested_fields(doc, fields)
    if sort_keys:
        out["sort"] = sort_values_of(doc, sort_keys)
    return out


# ------------------------------------------------------------- rules

def window_start(rule, now):
    moment = parse_date_math(rule.get("from", "now-6m"), now)
    return moment or now - datetime.timedelta(minutes=6)


def execution_summary(rule, state, now):
    """execution_summary.last_execution for a --rule-state."""
    metrics = {"total_search_duration_ms": 3,
               "total_indexing_duration_ms": 0,
               "execution_gap_duration_s": 0}
    last = {"date": iso_ms(now), "status": "succeeded", "status_order": 0,
            "message": "Rule execution completed successfully",
            "metrics": metrics}
    if state == "failed":
        last.update(status="failed", status_order=30, message=(
            "An error occurred during rule execution: message: "
            "\"verification_exception: Found 1 problem\\nline 1:1: "
            "Unknown index [%s]\"" % ",".join(rule.get("index", []))))
    elif state == "partial":
        last.update(status="partial failure", status_order=20, message=(
            "This rule is attempting to query data from Elasticsearch "
            "indices listed in the \"Index patterns\" section of the rule "
            "definition, however no index matching: %s was found. This "
            "warning will continue to appear until a matching index is "
            "created or this rule is disabled."
            % json.dumps(rule.get("index", []))))
    elif state == "gap":
        gap_end = window_start(rule, now)
        metrics["execution_gap_duration_s"] = 600
        metrics["gap_range"] = {
            "from": iso_ms(gap_end - datetime.timedelta(seconds=600)),
            "to": iso_ms(gap_end)}
    elif state == "stale":
        last["date"] = iso_ms(now - datetime.timedelta(hours=1))
    elif state == "running":
        last.update(status="running", status_order=15,
                    message="Rule execution started")
    return {"last_execution": last}


def legacy_status(state, now):
    """The 7.x flat status fields of a rule."""
    hour_ago = iso_ms(now - datetime.timedelta(hours=1))
    if state == "legacy-failed":
        return {"status": "failed", "status_date": iso_ms(now),
                "last_failure_at": iso_ms(now),
                "last_failure_message": "Bulk Indexing of signals failed: "
                "index_not_found_exception: no such index",
                "last_success_at": hour_ago,
                "last_success_message": "succeeded"}
    return {"status": "succeeded", "status_date": iso_ms(now),
            "last_success_at": iso_ms(now),
            "last_success_message": "succeeded"}


RULE_DEFAULTS = {"enabled": True, "interval": "5m", "from": "now-6m",
                 "to": "now", "max_signals": 100, "exceptions_list": [],
                 "version": 1, "severity": "low", "risk_score": 21,
                 "threat": [], "revision": 0, "immutable": False}


def rule_view(rule, state, started_at, now):
    """A rule as GET /api/detection_engine/rules returns it."""
    out = copy.deepcopy(rule)
    for key in ("execution_summary", "status", "status_date",
                "last_success_at", "last_success_message",
                "last_failure_at", "last_failure_message"):
        out.pop(key, None)
    # Keep the file's id: it is kibana.alert.rule.uuid on its alerts.
    out["id"] = rule.get("id") or str(uuid.uuid5(RULE_ID_NAMESPACE,
                                                 rule["rule_id"]))
    for key, value in RULE_DEFAULTS.items():
        out.setdefault(key, copy.deepcopy(value))
    out.setdefault("name", rule["rule_id"])
    out.setdefault("created_at", iso_ms(started_at))
    out.setdefault("updated_at", iso_ms(started_at))
    if state == "disabled":
        out["enabled"] = False
    if state in ("legacy", "legacy-failed"):
        out.update(legacy_status(state, now))
    elif state != "never-ran":
        out["execution_summary"] = execution_summary(out, state, now)
    return out


# -------------------------------------------------------- exceptions

NAMESPACE_TYPES = ("single", "agnostic")
# The last line of Kibana's exception list export counts what it holds.
EXPORT_SUMMARY_KEY = "exported_exception_list_count"
# The saved-object version Kibana reports for a document written once.
FIRST_SAVED_VERSION = "WzEsMV0="
EXCEPTION_PAGE_DEFAULT, EXCEPTION_PER_PAGE_DEFAULT = 1, 20


def stable_uuid(*parts):
    """A uuid that is the same on every start, so tests can expect it."""
    return str(uuid.uuid5(RULE_ID_NAMESPACE, ":".join(parts)))


def is_exception_item(value):
    """Items carry an item_id or entries; list containers carry neither."""
    return "item_id" in value or "entries" in value


def read_exception_values(paths):
    """(lists, items) in load order from API-shaped JSON or NDJSON
    exports; an export's summary line is skipped."""
    lists, items = [], []
    for path in paths:
        for value in read_json_values(path):
            if not isinstance(value, dict):
                raise ValueError("%s: an exception list or item is not a "
                                 "JSON object" % path)
            if EXPORT_SUMMARY_KEY in value:
                continue
            (items if is_exception_item(value) else lists).append(
                (path, value))
    return lists, items


def check_namespace_type(path, value):
    namespace_type = value.get("namespace_type")
    if namespace_type not in NAMESPACE_TYPES:
        raise ValueError("%s: namespace_type %r is neither single nor "
                         "agnostic" % (path, namespace_type))


def saved_object_defaults(out, kind, key, started_at):
    """What Kibana adds to every list and item it stores."""
    stamp = iso_ms(started_at)
    namespace_type = out["namespace_type"]
    out.setdefault("id", stable_uuid(kind, namespace_type, key))
    out.setdefault("name", key)
    out.setdefault("description", "")
    out.setdefault("created_at", stamp)
    out.setdefault("created_by", "elastic")
    out.setdefault("updated_at", stamp)
    out.setdefault("updated_by", "elastic")
    out.setdefault("tags", [])
    out.setdefault("os_types", [])
    out.setdefault("_version", FIRST_SAVED_VERSION)
    out.setdefault("tie_breaker_id",
                   stable_uuid(kind + "-tie-breaker", namespace_type, key))


def exception_list_view(path, value, position, started_at):
    out = copy.deepcopy(value)
    out.setdefault("namespace_type", "single")
    check_namespace_type(path, out)
    out.setdefault("list_id", out.get("id") or
                   stable_uuid("exception-list", str(position)))
    out.setdefault("type", "detection")
    out.setdefault("immutable", False)
    out.setdefault("version", 1)
    saved_object_defaults(out, "exception-list", out["list_id"],
                          started_at)
    return out


def exception_item_view(path, value, position, namespace_type,
                        started_at):
    """An item with Kibana's defaults; it inherits its list's
    namespace_type unless it names one."""
    out = copy.deepcopy(value)
    if not out.get("list_id"):
        raise ValueError("%s: exception item %s has no list_id"
                         % (path, out.get("item_id", "#%d" % position)))
    out.setdefault("namespace_type", namespace_type)
    check_namespace_type(path, out)
    out.setdefault("item_id", stable_uuid("exception-item", out["list_id"],
                                          str(position)))
    out.setdefault("type", "simple")
    out.setdefault("entries", [])
    saved_object_defaults(out, "exception-item", out["item_id"],
                          started_at)
    comments = out.setdefault("comments", [])
    for number, comment in enumerate(comments):
        if isinstance(comment, dict):
            comment.setdefault("id", stable_uuid(
                "exception-comment", out["item_id"], str(number)))
            comment.setdefault("created_at", out["created_at"])
            comment.setdefault("created_by", out["created_by"])
    return out


class ExceptionStore:
    """Exception lists and items as loaded, read-only.  A `single` one
    lives in the served space; an `agnostic` one is seen in every space.
    A later list or item with the same (namespace_type, id) replaces an
    earlier one in its place."""

    def __init__(self, paths, space, started_at):
        self.space = space
        self.lists = {}     # (namespace_type, list_id) -> list
        self.items = {}     # (namespace_type, item_id) -> item
        raw_lists, raw_items = read_exception_values(paths)
        for position, (path, value) in enumerate(raw_lists):
            view = exception_list_view(path, value, position, started_at)
            self.lists[(view["namespace_type"], view["list_id"])] = view
        for position, (path, value) in enumerate(raw_items):
            view = exception_item_view(path, value, position,
                                       self.list_namespace(value),
                                       started_at)
            if (view["namespace_type"], view["list_id"]) not in self.lists:
                raise ValueError("%s: exception item %s belongs to list %s "
                                 "(%s), which no --exceptions file holds"
                                 % (path, view["item_id"], view["list_id"],
                                    view["namespace_type"]))
            self.items[(view["namespace_type"], view["item_id"])] = view

    def list_namespace(self, item):
        """The namespace_type of the list an item names (single first)."""
        for namespace_type in NAMESPACE_TYPES:
            if (namespace_type, item.get("list_id")) in self.lists:
                return namespace_type
        return "single"

    def visible(self, thing, space):
        return thing["namespace_type"] == "agnostic" or space == self.space

    def find_list(self, space, namespace_type, list_id=None, by_id=None):
        for (kind, key), found in self.lists.items():
            if kind == namespace_type and self.visible(found, space) and \
                    (found["id"] == by_id if by_id is not None
                     else key == list_id):
                return copy.deepcopy(found)
        return None

    def find_item(self, space, namespace_type, item_id=None, by_id=None):
        for (kind, key), found in self.items.items():
            if kind == namespace_type and self.visible(found, space) and \
                    (found["id"] == by_id if by_id is not None
                     else key == item_id):
                return copy.deepcopy(found)
        return None

    def items_of(self, space, wanted):
        """Items of the (namespace_type, list_id) pairs, in load order."""
        return [copy.deepcopy(item) for item in self.items.values()
                if (item["namespace_type"], item["list_id"]) in wanted and
                self.visible(item, space)]

    def rule_references(self, list_id):
        """exceptions_list entries for every list with this list_id."""
        return [{"id": found["id"], "list_id": key, "type": found["type"],
                 "namespace_type": kind}
                for (kind, key), found in self.lists.items()
                if key == list_id]


def attach_exceptions(rules, store, list_ids):
    """--rule-exceptions: each list joins every rule's exceptions_list,
    after the entries the rule file has."""
    for list_id in list_ids:
        references = store.rule_references(list_id)
        if not references:
            raise ValueError("--rule-exceptions %s: no --exceptions file "
                             "holds that list" % list_id)
        for rule in rules.values():
            attached = rule.setdefault("exceptions_list", [])
            for reference in references:
                if not any(isinstance(old, dict) and
                           old.get("list_id") == list_id and
                           old.get("namespace_type") ==
                           reference["namespace_type"] for old in attached):
                    attached.append(reference)


# ------------------------------------------------------------- store

def deep_merge(target, patch):
    """A partial-document update; True when anything changed."""
    changed = False
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            changed |= deep_merge(target[key], value)
        elif target.get(key, object()) != value:
            target[key] = copy.deepcopy(value)
            changed = True
    return changed


def is_data_stream(name):
    return name.startswith(DATA_STREAM_PREFIXES)


def backing_name(name):
    if is_data_stream(name):
        return ".ds-%s-%s-000001" % (name, DATA_STREAM_DAY)
    return name


class Stack:
    """Everything the server knows; one lock guards it all."""

    def __init__(self, opts):
        self.lock = threading.RLock()
        self.layout = opts.layout
        self.space = opts.space
        self.rule_state = opts.rule_state
        self.started_at = now_utc()
        self.rules = load_rules(opts.rules)
        self.exceptions = ExceptionStore(opts.exceptions, opts.space,
                                         self.started_at)
        attach_exceptions(self.rules, self.exceptions,
                          opts.rule_exceptions)
        self.alerts = []
        for doc_id, source in load_alerts(opts.alerts):
            if self.layout == "7x":
                self.alerts.append(Doc(doc_id, to_signal(source)))
            else:
                self.alerts.append(Doc(doc_id, source, signal_aliases=True))
        self.bulk = {}          # index name as written -> [Doc]
        self.requests = 0
        self.faulted = 0        # requests a fault matched so far

    # -- indices

    def alert_entry(self):
        """The alert index of the layout served, in the alerts' space."""
        if self.layout == "7x":
            alias = ".siem-signals-" + self.space
            backing = alias + "-000001"
        else:
            alias = ".alerts-security.alerts-" + self.space
            backing = ".internal" + alias + "-000001"
        return IndexEntry((alias, backing), backing, self.alerts)

    def entries(self):
        found = [self.alert_entry()]
        for name, docs in self.bulk.items():
            found.append(IndexEntry((name, backing_name(name)),
                                    backing_name(name), docs))
        return found

    def resolve(self, expression, params):
        """The IndexEntries an index expression names, in ES's manner:
        wildcards skip hidden (dot) names unless the pattern starts with
        a dot; an unknown concrete name is an error."""
        lenient = params.get("ignore_unavailable") == "true"
        show_hidden = params.get("expand_wildcards") in ("all", "hidden")
        chosen = []
        for part in (expression or "_all").split(","):
            exclude = part.startswith("-") and bool(chosen)
            name = part[1:] if exclude else part
            matched = self.match_entries(name, show_hidden)
            if exclude:
                chosen = [e for e in chosen if e not in matched]
                continue
            if not matched and not lenient and not has_wildcard(name) \
                    and name != "_all":
                raise es_error(404, "index_not_found_exception",
                               "no such index [%s]" % name, index=name,
                               **{"resource.type": "index_or_alias",
                                  "resource.id": name,
                                  "index_uuid": "_na_"})
            chosen.extend(e for e in matched if e not in chosen)
        return chosen

    def match_entries(self, name, show_hidden):
        entries = self.entries()
        if name in ("_all", "*") and not show_hidden:
            return [e for e in entries
                    if not all(n.startswith(".") for n in e.names)]
        if not has_wildcard(name):
            return [e for e in entries if name in e.names]
        hidden_ok = show_hidden or name.startswith(".")
        return [e for e in entries if any(
            fnmatch.fnmatchcase(n, name) and
            (hidden_ok or not n.startswith(".")) for n in e.names)]

    def kibana_entries(self, space):
        if space != self.space:
            return []
        entry = self.alert_entry()
        return [(entry, doc) for doc in entry.docs]

    # -- alert status

    def status_of(self, doc):
        if self.layout == "7x":
            return doc.source.get("signal", {}).get("status")
        return doc.source.get("kibana.alert.workflow_status")

    def set_status(self, doc, status):
        if self.layout == "7x":
            doc.source.setdefault("signal", {})["status"] = status
        else:
            doc.source["kibana.alert.workflow_status"] = status
        doc.version += 1

    def state(self):
        return {"bulk": {name: [d.source for d in docs]
                         for name, docs in self.bulk.items()},
                "closed": [d.doc_id for d in self.alerts
                           if self.status_of(d) == "closed"],
                "requests": self.requests}


def has_wildcard(name):
    return "*" in name or "?" in name


# ------------------------------------------------------------- bulk

def bulk_pairs(text):
    """(line number, action, meta, source) from a _bulk body."""
    if not text.endswith("\n"):
        raise es_error(400, "illegal_argument_exception",
                       "The bulk request must be terminated by a newline "
                       "[\\n]")
    lines = text.split("\n")[:-1]
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        action, meta = parse_action(lines[i], i + 1)
        source = None
        if action != "delete":
            if i + 1 >= len(lines):
                raise es_error(400, "illegal_argument_exception",
                               "The bulk request must be terminated by a "
                               "newline [\\n]")
            source = parse_bulk_json(lines[i + 1], i + 2)
            i += 1
        yield i, action, meta, source
        i += 1


def parse_bulk_json(line, number):
    try:
        value = json.loads(line)
    except ValueError:
        raise es_error(400, "x_content_parse_exception",
                       "[%d:1] Unexpected character in line [%d]"
                       % (number, number))
    if not isinstance(value, dict):
        raise es_error(400, "illegal_argument_exception",
                       "Malformed line [%d], expected START_OBJECT" % number)
    return value


def parse_action(line, number):
    value = parse_bulk_json(line, number)
    if len(value) != 1 or next(iter(value)) not in (
            "create", "index", "update", "delete"):
        raise es_error(400, "illegal_argument_exception",
                       "Malformed action/metadata line [%d], expected one "
                       "of [create, delete, index, update] but found [%s]"
                       % (number, ",".join(value)))
    action, meta = next(iter(value.items()))
    if not isinstance(meta, dict):
        raise es_error(400, "illegal_argument_exception",
                       "Malformed action/metadata line [%d]" % number)
    return action, meta


SHARDS_WRITTEN = {"total": 2, "successful": 1, "failed": 0}


def bulk_item(action, index, doc_id, status, result=None, version=1,
              error=None):
    item = {"_index": index, "_id": doc_id}
    if error:
        item["status"] = status
        item["error"] = error
    else:
        item.update(_version=version, result=result,
                    _shards=SHARDS_WRITTEN, status=status)
    return {action: item}


def item_error(etype, reason, index=None):
    error = {"type": etype, "reason": reason}
    if index is not None:
        error.update(index_uuid="_na_", shard="0", index=index)
    return error


class BulkWriter:
    """Applies one _bulk request to the Stack (caller holds the lock)."""

    def __init__(self, stack, default_index):
        self.stack = stack
        self.default_index = default_index

    def index_of(self, meta):
        index = meta.get("_index") or self.default_index
        if not index:
            raise es_error(400, "action_request_validation_exception",
                           "Validation Failed: 1: index is missing;")
        return index

    def apply(self, number, action, meta, source):
        index = self.index_of(meta)
        if action == "update":
            return self.update(index, meta, source)
        if action == "delete":
            return self.delete(index, meta)
        return self.write(action, index, meta, source)

    def write(self, action, index, meta, source):
        doc_id = str(meta.get("_id") or random_doc_id())
        if action == "index" and is_data_stream(index):
            return bulk_item(action, index, doc_id, 400, error=item_error(
                "illegal_argument_exception", "only write ops with an "
                "op_type of create are allowed in data streams"))
        docs = self.stack.bulk.setdefault(index, [])
        old = next((d for d in docs if d.doc_id == doc_id), None)
        backing = backing_name(index)
        if old is not None and action == "create":
            return bulk_item(action, backing, doc_id, 409, error=item_error(
                "version_conflict_engine_exception",
                "[%s]: version conflict, document already exists "
                "(current version [%d])" % (doc_id, old.version),
                backing))
        if old is not None:
            old.source, old.version = source, old.version + 1
            return bulk_item(action, backing, doc_id, 200, "updated",
                             old.version)
        docs.append(Doc(doc_id, source))
        return bulk_item(action, backing, doc_id, 201, "created")

    def find(self, index, doc_id):
        for entry in self.stack.entries():
            if index in entry.names:
                for doc in entry.docs:
                    if doc.doc_id == doc_id:
                        return entry, doc
        return None, None

    def update(self, index, meta, source):
        doc_id = str(meta.get("_id", ""))
        entry, doc = self.find(index, doc_id)
        if doc is None:
            return bulk_item("update", index, doc_id, 404, error=item_error(
                "document_missing_exception",
                "[%s]: document missing" % doc_id, index))
        patch = source.get("doc")
        if not isinstance(patch, dict):
            return bulk_item("update", entry.backing, doc_id, 400,
                             error=item_error(
                                 "illegal_argument_exception",
                                 "only partial updates with [doc] are "
                                 "supported here"))
        if not deep_merge(doc.source, patch):
            return bulk_item("update", entry.backing, doc_id, 200, "noop",
                             doc.version)
        doc.version += 1
        return bulk_item("update", entry.backing, doc_id, 200, "updated",
                         doc.version)

    def delete(self, index, meta):
        doc_id = str(meta.get("_id", ""))
        entry, doc = self.find(index, doc_id)
        if doc is None:
            return bulk_item("delete", backing_name(index), doc_id, 404,
                             "not_found")
        entry.docs.remove(doc)
        return bulk_item("delete", entry.backing, doc_id, 200, "deleted",
                         doc.version + 1)


# ------------------------------------------------------------ routes

class Request:
    """A parsed request, as routes and the log see it."""

    def __init__(self, method, path, params, headers, raw_body):
        self.method = method
        self.path = path
        self.params = params
        self.headers = headers
        self.raw_body = raw_body
        self.space = "default"      # Kibana: from /s/<space>/
        self.route_path = path      # Kibana: the path after /s/<space>
        self.es_target = None       # ES: the <indices> before /_search

    def text(self):
        return self.raw_body.decode("utf-8", errors="replace")

    def json_body(self):
        """The body as JSON; None when there is none; ValueError if bad."""
        if not self.raw_body.strip():
            return None
        return json.loads(self.raw_body)

    def body_for_log(self):
        if not self.raw_body:
            return None
        try:
            return json.loads(self.raw_body)
        except ValueError:
            return self.text()


def query_text(req, name):
    """One query parameter as a string, None when absent; a repeated one
    is refused, as Kibana's route validation does."""
    value = req.params.get(name)
    if isinstance(value, list):
        raise boom(400, "[request query]: %s: Expected string, received "
                   "array" % name)
    return value


def query_namespace_types(req):
    """namespace_type: comma-separated, each single or agnostic."""
    text = query_text(req, "namespace_type")
    kinds = text.split(",") if text else ["single"]
    for number, kind in enumerate(kinds):
        if kind not in NAMESPACE_TYPES:
            raise boom(400, "[request query]: namespace_type.%d: Invalid "
                       "enum value. Expected 'agnostic' | 'single', "
                       "received '%s'" % (number, kind))
    return kinds


def query_count(req, name, default):
    """page and per_page: whole numbers from 1 up."""
    text = query_text(req, name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise boom(400, "[request query]: %s: Expected number, received "
                   "nan" % name)
    if value < 1:
        raise boom(400, "[request query]: %s: Number must be greater than "
                   "or equal to 1" % name)
    return value


def missing_exception(what, by_id, key_name, key):
    """Kibana's 404 text: by id when one was given, else by the key."""
    if by_id is not None:
        return '%s id: "%s" does not exist' % (what, by_id)
    return '%s %s: "%s" does not exist' % (what, key_name, key)


KIBANA_SPACE = re.compile(r"^/s/([a-z0-9_-]+)(/.*)$")
SEARCH_KEYS = ("query", "aggs", "size", "track_total_hits", "_source",
               "fields", "runtime_mappings", "sort")


class Routes:
    """The Kibana and Elasticsearch routes over one Stack."""

    def __init__(self, stack):
        self.stack = stack
        self.kibana = {
            ("POST", "/api/detection_engine/signals/search"):
                ("search", self.signals_search),
            ("GET", "/api/detection_engine/rules"):
                ("rules", self.rules_get),
            ("POST", "/api/detection_engine/signals/status"):
                ("status", self.signals_status),
            ("GET", "/api/exception_lists"):
                ("exceptions", self.exception_list_get),
            ("GET", "/api/exception_lists/items"):
                ("exceptions", self.exception_item_get),
            ("GET", "/api/exception_lists/items/_find"):
                ("exceptions", self.exception_items_find),
        }

    def classify(self, req):
        """(family, route kind, handler) for a request."""
        path = req.path
        if path == "/_fakestack/state":
            return "state", "state", self.fakestack_state
        space = KIBANA_SPACE.match(path)
        if space:
            req.space, path = space.group(1), space.group(2)
        req.route_path = path
        if space or path.startswith("/api/"):
            kind, handler = self.kibana.get((req.method, path),
                                            ("other", self.kibana_missing))
            return "kibana", kind, handler
        return ("es",) + self.es_route(req, path)

    def es_route(self, req, path):
        """/, /_search, /<indices>/_search, _bulk, _refresh, _count."""
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if not parts:
            return "root", self.es_root
        last = parts[-1]
        target = parts[0] if len(parts) == 2 else None
        if len(parts) > 2 or (len(parts) == 1 and not last.startswith("_")):
            return "other", self.es_missing
        req.es_target = target
        table = {"_search": ("search", self.es_search),
                 "_bulk": ("bulk", self.es_bulk),
                 "_refresh": ("other", self.es_refresh),
                 "_count": ("other", self.es_count)}
        return table.get(last, ("other", self.es_missing))

    # -- Kibana

    def kibana_missing(self, req):
        raise boom(404)

    def kibana_checks(self, req):
        """What Kibana's platform checks before any handler runs."""
        if req.method not in ("GET", "HEAD") and "kbn-xsrf" not in \
                req.headers:
            raise boom(400, "Request must contain a kbn-xsrf header.")
        version = req.headers.get("elastic-api-version")
        if version is None:
            raise boom(400, "Please specify a version via "
                       "elastic-api-version header. Available versions: "
                       "%s" % API_VERSION)
        if version != API_VERSION:
            raise boom(400, "No version \"%s\" available for [%s] [%s]. "
                       "Available versions are: [\"%s\"]"
                       % (version, req.method.lower(), req.route_path,
                          API_VERSION))

    def kibana_body(self, req):
        try:
            body = req.json_body()
        except ValueError:
            raise boom(400, "Invalid request payload JSON format")
        if not isinstance(body, dict):
            raise boom(400, "[request body]: expected value of type "
                       "[object] but got [%s]" % type(body).__name__)
        return body

    def signals_search(self, req):
        self.kibana_checks(req)
        body = self.kibana_body(req)
        unknown = [key for key in body if key not in SEARCH_KEYS]
        if unknown:
            raise boom(400, "[request body]: invalid keys %s"
                       % ",".join('"%s"' % k for k in unknown))
        if not body:
            raise boom(400, '"value" must have at least 1 children')
        started = time.time()
        with self.stack.lock:
            entries = self.stack.kibana_entries(req.space)
            shards = 1 if req.space == self.stack.space else 0
            try:
                return json_answer(200, search(entries, shards, body,
                                               started))
            except QueryError as error:
                raise error.for_kibana()

    def rules_get(self, req):
        self.kibana_checks(req)
        rule_id, by_id = req.params.get("rule_id"), req.params.get("id")
        if (rule_id is None) == (by_id is None):
            raise handler_error(400, 'either "id" or "rule_id" must be set')
        now = now_utc()
        with self.stack.lock:
            rules = self.stack.rules if req.space == self.stack.space \
                else {}
            views = [rule_view(r, self.stack.rule_state,
                               self.stack.started_at, now)
                     for r in rules.values()]
        for view in views:
            if (rule_id is not None and view["rule_id"] == rule_id) or \
                    (by_id is not None and view["id"] == by_id):
                return json_answer(200, view)
        missing = 'rule_id: "%s" not found' % rule_id if rule_id is not None \
            else 'id: "%s" not found' % by_id
        raise handler_error(404, missing)

    def signals_status(self, req):
        self.kibana_checks(req)
        body = self.kibana_body(req)
        status = body.get("status")
        if status not in WORKFLOW_STATUSES:
            raise boom(400, "[request body]: status: Invalid enum value. "
                       "Expected 'open' | 'closed' | 'acknowledged' | "
                       "'in-progress', received '%s'" % status)
        ids, query = body.get("signal_ids"), body.get("query")
        if (ids is None) == (query is None):
            raise boom(400, "[request body]: either signal_ids or query "
                       "must be set")
        started = time.time()
        with self.stack.lock:
            docs = [d for _, d in self.stack.kibana_entries(req.space)]
            if ids is not None:
                wanted = set(map(str, ids))
                docs = [d for d in docs if d.doc_id in wanted]
            else:
                try:
                    predicate = compile_query(query)
                except QueryError as error:
                    raise error.for_kibana()
                docs = [d for d in docs if predicate(d)]
            for doc in docs:
                self.stack.set_status(doc, status)
        return json_answer(200, {
            "took": int((time.time() - started) * 1000),
            "timed_out": False, "total": len(docs), "updated": len(docs),
            "deleted": 0, "batches": 1, "version_conflicts": 0,
            "noops": 0, "retries": {"bulk": 0, "search": 0},
            "throttled_millis": 0, "requests_per_second": -1.0,
            "throttled_until_millis": 0, "failures": []})

    # -- Kibana: exception lists

    def exception_list_get(self, req):
        self.kibana_checks(req)
        list_id, by_id = query_text(req, "list_id"), query_text(req, "id")
        namespace_type = query_namespace_types(req)[0]
        if list_id is None and by_id is None:
            raise handler_error(400, "id or list_id required")
        with self.stack.lock:
            found = self.stack.exceptions.find_list(
                req.space, namespace_type, list_id, by_id)
        if found is None:
            raise handler_error(404, missing_exception("exception list",
                                                       by_id, "list_id",
                                                       list_id))
        return json_answer(200, found)

    def exception_item_get(self, req):
        self.kibana_checks(req)
        item_id, by_id = query_text(req, "item_id"), query_text(req, "id")
        namespace_type = query_namespace_types(req)[0]
        if item_id is None and by_id is None:
            raise handler_error(400, "id or item_id required")
        with self.stack.lock:
            found = self.stack.exceptions.find_item(
                req.space, namespace_type, item_id, by_id)
        if found is None:
            raise handler_error(404, missing_exception(
                "exception list item", by_id, "item_id", item_id))
        return json_answer(200, found)

    def exception_items_find(self, req):
        """Items of one or more lists (comma-separated list_id and
        namespace_type, pairwise), a page at a time, in load order.
        filter, search and sort_* are accepted and ignored."""
        self.kibana_checks(req)
        list_text = query_text(req, "list_id")
        if not list_text:
            raise boom(400, "[request query]: list_id: Required")
        list_ids = list_text.split(",")
        namespace_types = query_namespace_types(req)
        if len(list_ids) != len(namespace_types):
            raise handler_error(400, (
                "list_id and namespace_id need to have the same comma "
                "separated number of values. Expected list_id length: %d "
                "to equal namespace_type length: %d")
                % (len(list_ids), len(namespace_types)))
        page = query_count(req, "page", EXCEPTION_PAGE_DEFAULT)
        per_page = query_count(req, "per_page", EXCEPTION_PER_PAGE_DEFAULT)
        if page * per_page > MAX_RESULT_WINDOW:
            raise result_window_error(page * per_page).for_kibana()
        wanted = set(zip(namespace_types, list_ids))
        store = self.stack.exceptions
        with self.stack.lock:
            if not any(store.find_list(req.space, kind, key)
                       for kind, key in wanted):
                # Kibana names the list_id values, but as "id".
                raise handler_error(404, 'exception list id: "%s" does '
                                    'not exist' % list_text)
            items = store.items_of(req.space, wanted)
        start = (page - 1) * per_page
        return json_answer(200, {"data": items[start:start + per_page],
                                 "page": page, "per_page": per_page,
                                 "total": len(items)})

    # -- Elasticsearch

    def es_root(self, req):
        if req.method not in ("GET", "HEAD"):
            return self.es_missing(req)
        return json_answer(200, {
            "name": "fakestack", "cluster_name": "fakestack",
            "cluster_uuid": "ZmFrZXN0YWNrLWNsdXN0ZXI",
            "version": {"number": ES_VERSION, "build_flavor": "default"},
            "tagline": "You Know, for Search"})

    def es_missing(self, req):
        raise HttpError(400, {"error": "no handler found for uri [%s] and "
                              "method [%s]" % (req.path, req.method),
                              "status": 400})

    def es_body(self, req):
        try:
            body = req.json_body()
        except ValueError:
            raise es_error(400, "x_content_parse_exception",
                           "[1:1] Unexpected character: request body is "
                           "not JSON")
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise es_error(400, "parsing_exception",
                           "Unknown key for a VALUE_STRING in [body].")
        return body

    def es_search(self, req):
        if req.method not in ("GET", "POST"):
            return self.es_missing(req)
        body = self.es_body(req)
        for key in ("size", "from", "track_total_hits"):
            if key in req.params and key not in body:
                value = req.params[key]
                body[key] = value if key != "track_total_hits" else \
                    {"true": True, "false": False}.get(value, value)
        started = time.time()
        with self.stack.lock:
            chosen = self.stack.resolve(req.es_target, req.params)
            entries = [(e, d) for e in chosen for d in e.docs]
            try:
                return json_answer(200, search(entries, len(chosen), body,
                                               started))
            except QueryError as error:
                raise error.for_es()

    def es_count(self, req):
        body = self.es_body(req)
        with self.stack.lock:
            chosen = self.stack.resolve(req.es_target, req.params)
            try:
                predicate = compile_query(body.get("query"))
            except QueryError as error:
                raise error.for_es()
            count = sum(1 for e in chosen for d in e.docs if predicate(d))
        return json_answer(200, {"count": count, "_shards": {
            "total": len(chosen), "successful": len(chosen), "skipped": 0,
            "failed": 0}})

    def es_refresh(self, req):
        with self.stack.lock:
            chosen = self.stack.resolve(req.es_target, req.params)
        return json_answer(200, {"_shards": {"total": len(chosen),
                                             "successful": len(chosen),
                                             "failed": 0}})

    def es_bulk(self, req):
        if req.method not in ("POST", "PUT"):
            return self.es_missing(req)
        started = time.time()
        pairs = list(bulk_pairs(req.text()))
        with self.stack.lock:
            writer = BulkWriter(self.stack, req.es_target)
            items = [writer.apply(*pair) for pair in pairs]
        errors = any(next(iter(i.values()))["status"] >= 300 for i in items)
        return json_answer(200, {"errors": errors,
                                 "took": int((time.time() - started) * 1000),
                                 "items": items})

    def fakestack_state(self, req):
        with self.stack.lock:
            return json_answer(200, self.stack.state())


# ------------------------------------------------------------- auth

class Auth:
    """The one credential the server accepts, if any."""

    def __init__(self, api_key, basic):
        self.api_key = api_key
        self.basic = basic

    def problem(self, header):
        """None when the Authorization header is acceptable, else why."""
        if self.api_key is None and self.basic is None:
            return None
        if not header:
            return "missing authentication credentials for REST request"
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if self.api_key is not None and scheme.lower() == "apikey" and \
                value == self.api_key:
            return None
        if self.basic is not None and scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = None
            if decoded == self.basic:
                return None
        return "unable to authenticate with the provided credentials"

    def refusal(self, family, reason):
        challenge = [("WWW-Authenticate",
                      'Basic realm="security", charset="UTF-8", ApiKey')]
        if family == "es":
            return es_error(401, "security_exception", reason + " [/]",
                            challenge)
        return boom(401, "[security_exception]: " + reason, challenge)


# ------------------------------------------------------------ faults

class Fault:
    def __init__(self, kind, arg):
        self.kind = kind
        self.arg = arg

    def answer(self, family, req):
        """The Answer this fault gives instead of the route's, or None
        when it only changes how the normal answer is delivered."""
        kind = self.kind
        if kind in ("401", "403"):
            return self.auth_failure(family, int(kind)).answer
        if kind == "404":
            return boom(404).answer
        if kind == "429":
            seconds = self.arg or "1"
            return boom(429, None, [("Retry-After", seconds)]).answer
        if kind == "500":
            return handler_error(500, "An internal server error occurred."
                                 ).answer
        if kind in ("502", "503"):
            return boom(int(kind)).answer
        if kind == "badjson":
            return Answer(200, b'{"took": 1, "hits": {"total": ')
        if kind == "empty":
            return Answer(200, b"")
        if kind == "echo-auth":
            credential = req.headers.get("authorization", "(none)")
            return handler_error(500, "the upstream refused the request "
                                 "made with Authorization: %s" % credential
                                 ).answer
        return None

    @staticmethod
    def auth_failure(family, status):
        if status == 401:
            reason = "unable to authenticate user for REST request"
        else:
            reason = "action is unauthorized for the current user"
        if family == "es":
            return es_error(status, "security_exception", reason, None)
        return boom(status, "[security_exception]: " + reason)


def parse_fault(text):
    kind, _, arg = text.partition(":")
    if kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            "unknown fault %r (one of %s)" % (kind, ", ".join(FAULT_KINDS)))
    if kind in ("slow", "429") and arg:
        try:
            if float(arg) < 0:
                raise ValueError(arg)
        except ValueError:
            raise argparse.ArgumentTypeError(
                "%s needs a number of seconds, not %r" % (kind, arg))
    if kind == "slow" and not arg:
        raise argparse.ArgumentTypeError("slow needs SECONDS: slow:2")
    return Fault(kind, arg or None)


class FaultPlan:
    """Which requests get which faults.  Several answering faults take
    turns: the k-th faulted request gets the (k mod n)-th of them."""

    def __init__(self, faults, times, routes):
        self.delays = [float(f.arg) for f in faults if f.kind == "slow"]
        self.answering = [f for f in faults if f.kind != "slow"]
        self.times = times
        self.routes = set(routes)
        self.lock = threading.Lock()
        self.count = 0

    def applies_to(self, kind):
        if kind in ("root", "state"):
            return False
        return "any" in self.routes or kind in self.routes

    def pick(self, kind):
        """(seconds to sleep, answering Fault or None, label or None)."""
        if not (self.delays or self.answering) or not self.applies_to(kind):
            return 0.0, None, None
        with self.lock:
            turn = self.count
            if self.times is not None and turn >= self.times:
                return 0.0, None, None
            self.count += 1
        fault = self.answering[turn % len(self.answering)] \
            if self.answering else None
        labels = (["slow"] if self.delays else []) + \
            ([fault.kind] if fault else [])
        return sum(self.delays), fault, "+".join(labels)


# ------------------------------------------------------------ server

class RequestLog:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.stream = open(path, "a", encoding="utf-8") if path else None

    def write(self, req, status, fault):
        if self.stream is None:
            return
        line = json.dumps({"t": time.time(), "method": req.method,
                           "path": req.path, "query": req.params,
                           "headers": req.headers,
                           "body": req.body_for_log(), "status": status,
                           "fault": fault})
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def single_params(query):
    """Query parameters with one value as strings, repeated as lists."""
    params = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        params[key] = values[0] if len(values) == 1 else values
    return params


class Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive, as libcurl expects of HTTP/1.1."""

    protocol_version = "HTTP/1.1"
    timeout = 30

    def version_string(self):
        return "fakestack"

    def setup(self):
        context = self.server.tls_context
        if context is not None:
            self.request.settimeout(self.timeout)
            self.request = context.wrap_socket(self.request,
                                               server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if self.server.tls_context is not None:
                try:
                    self.connection.close()
                except OSError:
                    pass

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakestack: " + (fmt % args) + "\n")

    def do_any(self):
        try:
            self.serve_one()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_any

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunks()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def read_chunks(self):
        data = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0",
                       16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass            # trailers
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    def parse_request_parts(self):
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        return Request(self.command, url.path or "/",
                       single_params(url.query), headers, self.read_body())

    def serve_one(self):
        req = self.parse_request_parts()
        server = self.server
        family, kind, handler = server.routes.classify(req)
        if family == "state":
            self.deliver(handler(req), "normal")
            return
        with server.stack.lock:
            server.stack.requests += 1
        delay, fault, label = server.faults.pick(kind)
        if delay:
            time.sleep(delay)
        answer = fault.answer(family, req) if fault else None
        mode = fault.kind if fault and answer is None else "normal"
        if answer is None:
            answer = self.route_answer(family, handler, req)
            if family == "es" and ES_HEADERS[0] not in answer.headers:
                answer.headers += ES_HEADERS
        server.log.write(req, answer.status, label)
        self.deliver(answer, mode)

    def route_answer(self, family, handler, req):
        problem = self.server.auth.problem(req.headers.get("authorization"))
        try:
            if problem:
                raise self.server.auth.refusal(family, problem)
            return handler(req)
        except HttpError as error:
            return error.answer
        except Exception as error:  # a bug here must not hang the client
            traceback.print_exc()
            return handler_error(500, "fakestack: %s: %s"
                                 % (type(error).__name__, error)).answer

    def deliver(self, answer, mode):
        """Send an Answer: whole, with a lying Content-Length
        (truncated), or cut off halfway (drop)."""
        body = answer.body
        length = len(body) + (100 if mode == "truncated" else 0)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in answer.headers:
            self.send_header(name, value)
        if mode != "normal":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if mode == "drop":
            self.wfile.write(body[:len(body) // 2])
            self.abort_connection()
            return
        self.wfile.write(body)
        if mode == "truncated":
            self.close_connection = True

    def abort_connection(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


class FakeStackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer's own looks the host name up, which can be slow.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        kind = sys.exc_info()[0]
        if kind is not None and issubclass(kind, (ConnectionError,
                                                  ssl.SSLError,
                                                  socket.timeout)):
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="fakestack.py",
        description="A fake Kibana + Elasticsearch for firedrill's tests.")
    add = parser.add_argument
    add("--port-file", required=True,
        help="write the port here once connections are accepted")
    add("--port", type=int, default=0, help="0 picks a free port")
    add("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    add("--tls-key", help="the certificate's private key (PEM)")
    add("--alerts", action="append", default=[],
        help="NDJSON alerts in Kibana's 8.x layout (repeatable)")
    add("--layout", choices=("8x", "7x"), default="8x")
    add("--space", default="default", help="the space the alerts live in")
    add("--rules", action="append", default=[],
        help="Kibana rule JSON: object, array or NDJSON (repeatable)")
    add("--rule-state", choices=RULE_STATES, default="succeeded")
    add("--exceptions", action="append", default=[],
        help="exception lists and items: API JSON or NDJSON export "
        "(repeatable)")
    add("--rule-exceptions", action="append", default=[],
        metavar="LIST_ID",
        help="attach this exception list to every rule (repeatable)")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--api-key", help="require Authorization: ApiKey KEY")
    auth.add_argument("--basic", help="require Basic auth for USER:PASS")
    add("--fault", action="append", default=[], type=parse_fault,
        help="KIND[:ARG] (repeatable): " + ", ".join(FAULT_KINDS))
    add("--fault-times", type=int,
        help="fault only the first N matching requests")
    add("--fault-route", action="append", choices=FAULT_ROUTES,
        help="routes faults apply to (default any)")
    add("--log", help="append one JSON line per request here")
    add("--verbose", action="store_true", help="log requests to stderr")
    opts = parser.parse_args(argv)
    if bool(opts.tls_cert) != bool(opts.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if opts.basic is not None and ":" not in opts.basic:
        parser.error("--basic wants USER:PASS")
    if opts.fault_times is not None and opts.fault_times < 0:
        parser.error("--fault-times must be 0 or more")
    return opts


def tls_context(opts):
    if not opts.tls_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(opts.tls_cert, opts.tls_key)
    return context


def write_port_file(path, port):
    """Atomically, so a reader never sees a half-written number."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="ascii") as stream:
        stream.write("%d\n" % port)
    os.replace(temporary, path)


def build_server(opts):
    server = FakeStackServer(("127.0.0.1", opts.port), Handler)
    server.stack = Stack(opts)
    server.routes = Routes(server.stack)
    server.auth = Auth(opts.api_key, opts.basic)
    server.faults = FaultPlan(opts.fault, opts.fault_times,
                              opts.fault_route or ["any"])
    server.log = RequestLog(opts.log)
    server.tls_context = tls_context(opts)
    server.verbose = opts.verbose
    return server


def main(argv):
    opts = parse_args(argv)
    try:
        server = build_server(opts)
    except (OSError, ValueError, ssl.SSLError) as error:
        sys.stderr.write("fakestack: %s\n" % error)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # The socket listens already: connections queue until serve_forever.
    write_port_file(opts.port_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
