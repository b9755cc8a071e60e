# Sourced by the scripts that drive a real server: `fresh_server BINARY [serve flags...]` creates
# a data directory with an admin key, starts `BINARY serve` on a free port there and waits until it
# listens. It sets `work` (the data directory; the key is in $work/admin), `base` (the server's
# URL) and `server` (its pid), and removes both on exit.
fresh_server() {
    local binary="$1"
    shift
    work="$(mktemp -d)"
    "$binary" keys create --role admin --data-dir "$work" > "$work/admin" 2>/dev/null
    "$binary" serve --data-dir "$work" --listen 127.0.0.1:0 "$@" > "$work/out" 2> "$work/log" &
    server=$!
    trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do grep -q listening "$work/out" && break; sleep 0.1; done
    base="$(sed -n 's/^creditline listening on //p' "$work/out")"
    if [ -z "$base" ]; then
        echo "the server did not start:" >&2
        cat "$work/log" >&2
        exit 1
    fi
}
