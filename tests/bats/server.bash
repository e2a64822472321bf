# server.bash - bats helpers for tests that talk to tests/server/fakestack.py,
# the fake Kibana + Elasticsearch.  Load it after helpers.bash:
#
#   load helpers
#   load server
#   teardown() { stop_stack; teardown_scratch; }
#
# start_stack runs the server in the background on a free loopback port and
# exports STACK_PORT, STACK_URL and STACK_PID.  stack_call makes one request
# and prints the status, the headers and the body; body_field reads one
# value out of the last body.  Every helper skips the test when python3 is
# missing.
#
# Requests go through one long-lived python3 client that listens on two
# named pipes, because starting python3 for each request would make the
# tests slow.  start_stack starts it for the test when none runs;
# start_stack_client in setup_file shares one with a whole file.

FAKESTACK="$TOP/tests/server/fakestack.py"

skip_unless_python3() {
	command -v python3 >/dev/null 2>&1 ||
		skip "python3 is missing: the fake stack cannot run"
}

# start_stack ARGS...: the server with ARGS.  Its port file, log
# (stack.log) and stderr (stack.err) go to $STACK_DIR, by default $SCRATCH.
start_stack() {
	launch_stack "${STACK_DIR:-$SCRATCH}" stack "$@" &&
		await_stack "${STACK_DIR:-$SCRATCH}" stack
}

# launch_stack DIR NAME ARGS...: start a server without waiting for it,
# its files named DIR/NAME.*, so that several can start side by side.
# Sets STACK_PID; stop_stack ends every server launched in the test.
launch_stack() {
	skip_unless_python3
	local dir="$1" name="$2" arg scheme=http
	shift 2
	rm -f "$dir/$name.port"
	for arg in "$@"; do
		[ "$arg" = "--tls-cert" ] && scheme=https
	done
	echo "$scheme" >"$dir/$name.scheme"
	# -S: the server needs only the standard library, and site-packages
	# can take longer to import than the server itself.  fd 3 closed:
	# bats waits for every process that holds it open.
	python3 -S "$FAKESTACK" --port-file "$dir/$name.port" \
		--log "$dir/$name.log" "$@" \
		>"$dir/$name.out" 2>"$dir/$name.err" 3>&- &
	STACK_PID=$!
	STACK_PIDS="${STACK_PIDS:-} $STACK_PID"
	echo "$STACK_PID" >"$dir/$name.pid"
	export STACK_PID STACK_PIDS
}

# await_stack DIR NAME: wait (10 s at most) for the server's port file;
# export STACK_PORT and STACK_URL (https when it was given a certificate).
await_stack() {
	local dir="$1" name="$2" tries=0 pid
	pid=$(cat "$dir/$name.pid")
	while [ ! -s "$dir/$name.port" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "the fake stack exited early:" >&2
			cat "$dir/$name.err" >&2
			return 1
		fi
		tries=$((tries + 1))
		if [ "$tries" -gt 400 ]; then      # 400 x 0.025 s = 10 s
			echo "the fake stack wrote no port in 10 s" >&2
			return 1
		fi
		sleep 0.025
	done
	STACK_PORT=$(cat "$dir/$name.port")
	STACK_URL="$(cat "$dir/$name.scheme")://127.0.0.1:$STACK_PORT"
	export STACK_PORT STACK_URL
	stack_client_running || {
		start_stack_client "$dir" && STACK_CLIENT_OWNED=1
	}
}

# stop_stack: end the servers (and the client) this test started, if any.
stop_stack() {
	local pid
	for pid in ${STACK_PIDS:-}; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	unset STACK_PID STACK_PIDS
	if [ -n "${STACK_CLIENT_OWNED:-}" ]; then
		stop_stack_client
		unset STACK_CLIENT_OWNED
	fi
}

# make_ca DIR: a throwaway CA (ca.pem) and a server certificate for
# 127.0.0.1 and localhost signed by it (server.pem, server.key).
make_ca() {
	command -v openssl >/dev/null 2>&1 ||
		skip "openssl is missing: no certificates for the TLS tests"
	local dir="$1"
	mkdir -p "$dir"
	openssl req -x509 -new -nodes -days 2 \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" \
		-subj "/CN=fakestack test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		>/dev/null 2>&1 || return 1
	openssl req -new -nodes \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-keyout "$dir/server.key" -out "$dir/server.csr" \
		-subj "/CN=127.0.0.1" >/dev/null 2>&1 || return 1
	cat >"$dir/server.ext" <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
	openssl x509 -req -days 2 -in "$dir/server.csr" \
		-CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
		-extfile "$dir/server.ext" -out "$dir/server.pem" \
		>/dev/null 2>&1
}

# stack_requests ROUTE_SUBSTRING: how many logged requests hit a path
# containing it.  The log holds one JSON object per line, "path" first
# after "t" and "method", so a field match is enough.
stack_requests() {
	local log="${STACK_DIR:-$SCRATCH}/stack.log"
	[ -f "$log" ] || { echo 0; return 0; }
	awk -v part="$1" '
		match($0, /"path": "[^"]*"/) {
			path = substr($0, RSTART + 9, RLENGTH - 10)
			if (index(path, part)) n++
		}
		END { print n + 0 }' "$log"
}

# stack_call [-H 'Name: value']... [--cacert FILE] METHOD PATH [BODY|@FILE]
# One request to $STACK_URL.  Prints "HTTP <status>", the response headers
# (lower-case names), a blank line and the body.  The body also goes to
# $SCRATCH/last.body, and when it is JSON every value in it to
# $SCRATCH/last.fields for body_field.  A broken transfer prints
# "transport-error: ..." and returns 1.  A body is sent as
# application/json unless -H says otherwise.
stack_call() {
	local rc
	stack_client_running || {
		echo "no stack client: call start_stack first" >&2
		return 1
	}
	printf '%s\0' "$STACK_URL" "$SCRATCH" "$@" >"$STACK_CLIENT_DIR/in"
	{ IFS= read -r rc && cat; } <"$STACK_CLIENT_DIR/out"
	return "${rc:-1}"
}

# kibana_call METHOD PATH [BODY]: stack_call with the headers a correct
# Kibana client sends (kbn-xsrf, elastic-api-version).
kibana_call() {
	stack_call -H "kbn-xsrf: true" \
		-H "elastic-api-version: 2023-10-31" "$@"
}

# body_field PATH: one value of the last body by its dotted path, numbers
# indexing arrays (hits.hits.0._id); flat dotted keys read the same way
# (hits.hits.0._source.kibana.alert.uuid).  Strings print bare, anything
# else as JSON; a missing value prints "<missing>"; a body that is not
# JSON fails.
body_field() {
	[ -f "$SCRATCH/last.fields" ] || {
		echo "<not json>"
		return 1
	}
	awk -v key="$1=" '
		index($0, key) == 1 {
			print substr($0, length(key) + 1)
			found = 1
			exit
		}
		END { if (!found) print "<missing>" }' "$SCRATCH/last.fields"
}

stack_client_running() {
	[ -n "${STACK_CLIENT_PID:-}" ] &&
		kill -0 "$STACK_CLIENT_PID" 2>/dev/null
}

# start_stack_client DIR: the request client, its pipes in DIR.
start_stack_client() {
	skip_unless_python3
	STACK_CLIENT_DIR="$1/client"
	mkdir -p "$STACK_CLIENT_DIR"
	rm -f "$STACK_CLIENT_DIR/in" "$STACK_CLIENT_DIR/out"
	mkfifo "$STACK_CLIENT_DIR/in" "$STACK_CLIENT_DIR/out"
	python3 -S -c "$STACK_CLIENT_PY" "$STACK_CLIENT_DIR" \
		</dev/null >/dev/null 2>"$STACK_CLIENT_DIR/err" 3>&- &
	STACK_CLIENT_PID=$!
	export STACK_CLIENT_DIR STACK_CLIENT_PID
}

stop_stack_client() {
	stack_client_running || return 0
	kill "$STACK_CLIENT_PID" 2>/dev/null || true
	wait "$STACK_CLIENT_PID" 2>/dev/null || true
	unset STACK_CLIENT_PID
}

# The client: reads NUL-separated (url, scratch, stack_call args...) from
# the "in" pipe, answers "<exit status>\n<text>" on the "out" pipe.
read -r -d '' STACK_CLIENT_PY <<'PY' || true
import errno, http.client, json, os, ssl, sys, time
from urllib.parse import urlsplit

pipes = sys.argv[1]


def flatten(value, prefix, lines):
    if prefix:
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append("%s=%s" % (prefix, text.replace("\n", "\\n")))
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return
    for key, item in items:
        flatten(item, prefix + "." + key if prefix else key, lines)


def save(scratch, data):
    with open(os.path.join(scratch, "last.body"), "wb") as stream:
        stream.write(data)
    fields = os.path.join(scratch, "last.fields")
    try:
        document = json.loads(data)
    except ValueError:
        if os.path.exists(fields):
            os.remove(fields)
        return
    lines = []
    flatten(document, "", lines)
    with open(fields, "w", encoding="utf-8") as stream:
        stream.write("".join(line + "\n" for line in lines))


def parse(args):
    headers, cafile = {}, None
    while args and args[0] in ("-H", "--cacert"):
        option, value = args.pop(0), args.pop(0)
        if option == "-H":
            name, _, text = value.partition(":")
            headers[name.strip()] = text.strip()
        else:
            cafile = value
    method, path = args[0], args[1]
    body = args[2] if len(args) > 2 else None
    if body is not None:
        if body.startswith("@"):
            with open(body[1:], "rb") as stream:
                body = stream.read()
        else:
            body = body.encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    return method, path, body, headers, cafile


def connect(url, cafile):
    url = urlsplit(url)
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        return http.client.HTTPSConnection(url.hostname, url.port,
                                           timeout=10, context=context)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=10)


def call(url, scratch, args):
    method, path, body, headers, cafile = parse(args)
    conn = connect(url, cafile)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
    except (OSError, http.client.HTTPException) as error:
        return 1, "transport-error: %s: %s\n" % (type(error).__name__, error)
    out = ["HTTP %d" % response.status]
    out += ["%s: %s" % (k.lower(), v) for k, v in response.getheaders()]
    failure = None
    try:
        data = response.read()
    except http.client.IncompleteRead as error:
        data = error.partial
        failure = "IncompleteRead: %d bytes read, %d more expected" % (
            len(error.partial), error.expected or 0)
    except OSError as error:
        data, failure = b"", "%s: %s" % (type(error).__name__, error)
    conn.close()
    save(scratch, data)
    out += ["", data.decode("utf-8", errors="replace")]
    if failure:
        out.append("transport-error: " + failure)
    return (1 if failure else 0), "\n".join(out) + "\n"


def open_reply(path, patience=20.0):
    """The reply pipe, unless its reader went away."""
    deadline = time.time() + patience
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO or time.time() > deadline:
                return None
            time.sleep(0.002)


while True:
    with open(os.path.join(pipes, "in"), "rb") as stream:
        request = stream.read()
    parts = [p.decode() for p in request.split(b"\0")[:-1]]
    if len(parts) < 2:
        continue
    try:
        status, text = call(parts[0], parts[1], parts[2:])
    except Exception as error:
        status, text = 1, "client-error: %s: %s\n" % (
            type(error).__name__, error)
    reply = open_reply(os.path.join(pipes, "out"))
    if reply is not None:
        os.set_blocking(reply, True)
        with os.fdopen(reply, "w", encoding="utf-8") as stream:
            stream.write("%d\n%s" % (status, text))
PY
