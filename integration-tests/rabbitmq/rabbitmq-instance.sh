#!/bin/bash
# A private RabbitMQ broker for the integration tests that run James's RabbitMQ mail queue (see the README, "Where
# deferred mail waits").
#
#   rabbitmq-instance.sh install
#       Installs Debian's rabbitmq-server package when it is missing. The package's own (system) broker is not started:
#       during the install a policy-rc.d forbids starting services. Needs root and apt-get.
#   rabbitmq-instance.sh start DIR AMQP_PORT MANAGEMENT_PORT DIST_PORT EPMD_PORT
#       Writes a fresh broker under DIR (its own configuration, data, logs and Erlang cookie) and starts it, with its own
#       epmd, every listener on 127.0.0.1 only: AMQP, the management API (plugin rabbitmq_management, user guest), Erlang
#       distribution, epmd. Returns once AMQP and the management API answer (at most 90 s). Root is not needed to run it.
#       Queue statistics are collected every 500 ms; RABBITMQ_CONSUMER_TIMEOUT_MS sets consumer_timeout (RabbitMQ's
#       default, 30 minutes, when unset): a delivery not acknowledged in time closes its channel and is given again.
#   rabbitmq-instance.sh stop DIR
#       Stops the broker and the epmd started under DIR, by their process ids (no-op when they do not run).
set -eu

SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server

usage() {
    echo "usage: $0 install | start DIR AMQP_PORT MANAGEMENT_PORT DIST_PORT EPMD_PORT | stop DIR" >&2
    exit 2
}

install_rabbitmq() {
    if [ -x "$SERVER" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "installing rabbitmq-server needs root (apt-get)" >&2
        exit 3
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "installing rabbitmq-server needs Debian's apt-get" >&2
        exit 3
    fi
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=yes
    fi
    status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rabbitmq-server >&2 || status=$?
    if [ -n "$own_policy" ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    if [ "$status" != 0 ]; then
        echo "apt-get install rabbitmq-server failed with status $status" >&2
        exit 3
    fi
}

# Whether something accepts TCP connections on 127.0.0.1:PORT.
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

kill_pid_file() {
    file=$1
    if [ -f "$file" ]; then
        pid=$(cat "$file")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
}

wait_gone() {
    pid=$1
    i=0
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 40 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            return 0
        fi
        sleep 0.1
    done
}

stop_instance() {
    dir=$1
    [ -d "$dir" ] || return 0
    beam=""
    [ -f "$dir/beam.pid" ] && beam=$(cat "$dir/beam.pid")
    kill_pid_file "$dir/server.pid"
    # the server script forwards TERM to beam.smp; beam's own pid was read while it ran
    if [ -n "$beam" ]; then
        kill -TERM "$beam" 2>/dev/null || true
        wait_gone "$beam"
    fi
    [ -f "$dir/server.pid" ] && wait_gone "$(cat "$dir/server.pid")"
    kill_pid_file "$dir/epmd.pid"
    [ -f "$dir/epmd.pid" ] && wait_gone "$(cat "$dir/epmd.pid")"
    rm -f "$dir/server.pid" "$dir/epmd.pid" "$dir/beam.pid"
}

start_instance() {
    [ $# -eq 5 ] || usage
    dir=$1 amqp=$2 management=$3 dist=$4 epmd_port=$5
    consumer_timeout=${RABBITMQ_CONSUMER_TIMEOUT_MS:-1800000}
    install_rabbitmq
    stop_instance "$dir"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    rm -rf "$dir/mnesia" "$dir/log" "$dir/conf.d"
    mkdir -p "$dir/mnesia" "$dir/log" "$dir/conf.d"
    cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp
management.tcp.ip = 127.0.0.1
management.tcp.port = $management
loopback_users.guest = true
collect_statistics_interval = 500
consumer_timeout = $consumer_timeout
log.console = false
log.file.level = warning
CONF
    echo '[rabbitmq_management].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    : >"$dir/advanced.config"
    echo '[].' >"$dir/advanced.config"
    export HOME="$dir"
    export ERL_EPMD_PORT="$epmd_port" ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_NODENAME="mxgov$amqp@localhost"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp" RABBITMQ_DIST_PORT="$dist"
    export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    export RABBITMQ_CONFIG_FILES="$dir/conf.d" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/rabbit.pid"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    # our own epmd first, on loopback: otherwise erl starts a shared one on port 4369 of every interface
    epmd_binary=$(command -v epmd || echo /usr/lib/erlang/bin/epmd)
    "$epmd_binary" -port "$epmd_port" -address 127.0.0.1 >"$dir/epmd.log" 2>&1 </dev/null &
    echo $! >"$dir/epmd.pid"
    "$SERVER" >"$dir/server.out" 2>&1 </dev/null &
    echo $! >"$dir/server.pid"
    i=0
    until listening "$amqp" && listening "$management"; do
        i=$((i + 1))
        if [ "$i" -gt 900 ] || ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
            echo "RabbitMQ did not start within 90 s; see $dir/server.out and $dir/log" >&2
            tail -n 20 "$dir/server.out" >&2 || true
            stop_instance "$dir"
            exit 4
        fi
        sleep 0.1
    done
    [ -f "$dir/rabbit.pid" ] && cp "$dir/rabbit.pid" "$dir/beam.pid"
    echo "ready amqp=$amqp management=$management"
}

[ $# -ge 1 ] || usage
case "$1" in
    install) install_rabbitmq ;;
    start) shift; start_instance "$@" ;;
    stop) [ $# -eq 2 ] || usage; stop_instance "$2" ;;
    *) usage ;;
esac
