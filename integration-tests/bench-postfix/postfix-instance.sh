#!/bin/sh
# A private Postfix instance for the end-to-end benchmark (see the README, "Performance").
#
#   postfix-instance.sh install
#       Installs Debian's postfix package when /usr/sbin/postfix is missing. The package's own (system) instance is
#       neither configured nor started: debconf is told "No configuration" and, during the install, a policy-rc.d
#       forbids starting services. Needs root and apt-get.
#   postfix-instance.sh start DIR LISTEN_ADDRESS:PORT DOMAIN=MX_ADDRESS:PORT...
#       Writes a fresh instance under DIR (etc/, queue/, data/, postfix.log) and starts it: smtpd on LISTEN only,
#       every DOMAIN relayed to its MX over SMTP without DNS, nothing else deliverable. Needs root: Postfix's master
#       runs as root and its daemons drop to the postfix user.
#   postfix-instance.sh start-dns DIR LISTEN_ADDRESS:PORT NAME_SERVER DOMAINS_FILE SMTP_PROCESSES
#       The same, but mail to any subdomain of bench.test goes to the MX hosts DNS gives for its domain, on port 25,
#       looked up through NAME_SERVER alone (an IPv4 loopback address, port 53): the smtp client runs chrooted in
#       the queue directory and reads queue/etc/resolv.conf, which names only it (the system's resolv.conf is not
#       read and not changed). Connections are cached for every domain listed in DOMAINS_FILE (one a line), at most
#       SMTP_PROCESSES deliveries run at once.
#   postfix-instance.sh stop DIR
#       Stops the instance started under DIR (no-op when it does not run).
#
# The delivery limits mirror the benchmark's rule for GovernedRemoteDelivery: 5 connections per destination from the
# first mail on (no slow start), connections reused for up to 100 mails and kept 10 s when idle, no TLS. A
# destination is Postfix's next hop: the MX host with start (its address is the next hop), the recipient domain with
# start-dns (Postfix has no limit per MX host once it looks MX records up itself).
set -eu

usage() {
    echo "usage: $0 install | start DIR LISTEN_ADDRESS:PORT DOMAIN=MX_ADDRESS:PORT..." \
        "| start-dns DIR LISTEN_ADDRESS:PORT NAME_SERVER DOMAINS_FILE SMTP_PROCESSES | stop DIR" >&2
    exit 2
}

install_postfix() {
    if [ -x /usr/sbin/postfix ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "installing Postfix needs root (apt-get)" >&2
        exit 3
    fi
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v debconf-set-selections >/dev/null 2>&1; then
        echo "installing Postfix needs Debian's apt-get and debconf" >&2
        exit 3
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=yes
    fi
    status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix >&2 || status=$?
    if [ -n "$own_policy" ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    if [ "$status" != 0 ]; then
        echo "apt-get install postfix failed with status $status" >&2
        exit 3
    fi
    # The system instance has no main.cf ("No configuration"); should a start have slipped through anyway, stop it.
    if [ -f /etc/postfix/main.cf ] && /usr/sbin/postfix status >/dev/null 2>&1; then
        /usr/sbin/postfix stop >&2 || true
    fi
}

# Creates DIR afresh (after stopping an instance that still runs there) and prints its absolute path.
prepare_instance() {
    dir=$1
    [ -x /usr/sbin/postfix ] || install_postfix
    if [ "$(id -u)" != 0 ]; then
        echo "running a Postfix instance needs root (its master starts as root)" >&2
        exit 3
    fi
    stop_instance "$dir"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    rm -rf "$dir/etc" "$dir/queue" "$dir/data" "$dir/postfix.log"
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    chmod 755 "$dir/etc" "$dir/queue"
    echo "/^X-Bench-Hold:/ HOLD the benchmark releases the burst at one instant" >"$dir/etc/header_checks"
    echo "$dir"
}

# Writes main.cf (the settings both modes share, then MODE_SETTINGS) and master.cf; the smtp service is chrooted
# when SMTP_CHROOT is y and runs at most SMTP_PROCESSES at once.
write_config() {
    dir=$1
    listen=$2
    smtp_chroot=$3
    smtp_processes=$4
    mode_settings=$5
    cat >"$dir/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = \$myhostname
inet_interfaces = ${listen%:*}
inet_protocols = ipv4
mydestination =
relay_domains =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_tls_security_level = none
in_flow_delay = 0s
header_checks = regexp:\$config_directory/header_checks
transport_maps = texthash:\$config_directory/transport
default_transport = error:5.1.2 outside the benchmark
relay_transport = \$default_transport
local_transport = \$default_transport
smtp_tls_security_level = none
default_destination_concurrency_limit = 5
initial_destination_concurrency = 5
smtp_connection_cache_on_demand = yes
smtp_connection_cache_time_limit = 10s
connection_cache_ttl_limit = 10s
smtp_connection_reuse_count_limit = 99
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 1s
$mode_settings
CONF

    cat >"$dir/etc/master.cf" <<CONF
$listen inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - $smtp_chroot - $smtp_processes smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF

    /usr/sbin/postfix -c "$dir/etc" check >&2
    /usr/sbin/postfix -c "$dir/etc" start >&2
}

start_instance() {
    [ $# -ge 3 ] || usage
    listen=$2
    dir=$(prepare_instance "$1") || exit $?
    shift 2

    : >"$dir/etc/transport"
    destinations=""
    for route in "$@"; do
        domain=${route%%=*}
        mx=${route#*=}
        mx_address=${mx%:*}
        mx_port=${mx##*:}
        [ -n "$domain" ] && [ -n "$mx_address" ] && [ "$mx_address" != "$mx" ] || usage
        echo "$domain smtp:[$mx_address]:$mx_port" >>"$dir/etc/transport"
        case " $destinations " in
            *" $mx_address "*) ;;
            *) destinations="$destinations $mx_address" ;;
        esac
    done
    write_config "$dir" "$listen" n - "smtp_dns_support_level = disabled
smtp_connection_cache_destinations =$destinations"
}

start_dns_instance() {
    [ $# -eq 5 ] || usage
    listen=$2
    name_server=$3
    domains_file=$4
    smtp_processes=$5
    case "$name_server" in
        127.*) ;;
        *) echo "the name server must be a loopback address, got $name_server" >&2; exit 2 ;;
    esac
    [ -r "$domains_file" ] || { echo "cannot read $domains_file" >&2; exit 2; }
    dir=$(prepare_instance "$1") || exit $?

    # the nexthop of every subdomain of bench.test is its recipient domain: MX lookup, then A lookups
    echo ".bench.test smtp:" >"$dir/etc/transport"
    cp "$domains_file" "$dir/etc/cache_destinations"
    # the chrooted smtp client's resolver configuration: the fake name server alone ("postfix check" warns that it
    # differs from /etc/resolv.conf, which is the point)
    mkdir -p "$dir/queue/etc"
    printf 'nameserver %s\n' "$name_server" >"$dir/queue/etc/resolv.conf"
    chmod 644 "$dir/queue/etc/resolv.conf"
    write_config "$dir" "$listen" y "$smtp_processes" "smtp_dns_support_level = enabled
smtp_host_lookup = dns
smtp_tcp_port = 25
smtp_connection_cache_destinations = \$config_directory/cache_destinations"
}

stop_instance() {
    [ $# -eq 1 ] || usage
    [ -f "$1/etc/main.cf" ] || return 0
    config=$(cd "$1/etc" && pwd)
    /usr/sbin/postfix -c "$config" status >/dev/null 2>&1 || return 0
    master=$(tr -d ' ' <"$1/queue/pid/master.pid")
    /usr/sbin/postfix -c "$config" stop >&2
    # postfix stop only signals the master; wait until it is gone so that the next instance finds its port free
    waited=0
    while kill -0 "$master" 2>/dev/null; do
        if [ "$waited" -ge 100 ]; then
            /usr/sbin/postfix -c "$config" abort >&2 || true
        fi
        if [ "$waited" -ge 150 ]; then
            echo "the Postfix master $master did not stop" >&2
            exit 4
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
    install) [ $# -eq 0 ] || usage; install_postfix ;;
    start) start_instance "$@" ;;
    start-dns) start_dns_instance "$@" ;;
    stop) stop_instance "$@" ;;
    *) usage ;;
esac
