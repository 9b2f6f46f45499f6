#!/usr/bin/env bash
# Local test services for contiple-worker, on 127.0.0.1 only, without systemd or docker:
#   Redis 7 (:6390) and a 3-node Redis Cluster (:6391-6393), PostgreSQL 15 (:5433), Dovecot IMAP (:1143) + LMTP (:2424),
#   Postfix SMTP (:2525) delivering @example.test to Dovecot over LMTP.
# Logins: any user name with the password 'secret' (PLAIN/LOGIN), or an OAuth2 access token
# (XOAUTH2/OAUTHBEARER): a JWT signed with $CONTIPLE_OAUTH_SIGNING_KEY, checked by Dovecot itself.
# Postfix's SMTP AUTH goes through Dovecot's SASL, so both kinds work there too.
# Also installs Debian's headless-capable Chromium and ChromeDriver for the dashboard
# browser test (nothing is started; the test launches /usr/bin/chromium itself).
#
# Usage: scripts/services.sh up|down|env|status
#   up      install missing Debian packages, then start whatever is not running; a running
#           Dovecot or Postfix whose configuration this script now writes differently is
#           reloaded, not restarted (idempotent)
#   down    stop everything this script started
#   env     print `export NAME=value` lines:  eval "$(scripts/services.sh env)"
#   status  one line per service; exit 1 if any is down
#
# State (data, queues, logs) lives in $CONTIPLE_SERVICES_DIR, default <repo>/.services.
# Tested on Debian 12 as root. See /work/shared/ENVIRONMENT.md section 2 for the background.
set -euo pipefail

readonly REDIS_PORT=6390 PG_PORT=5433 IMAP_PORT=1143 LMTP_PORT=2424 SMTP_PORT=2525
readonly MAIL_DOMAIN=example.test IMAP_PASSWORD=secret DB_NAME=contiple
readonly PGBIN=/usr/lib/postgresql/15/bin
# A three-master Redis Cluster for the cluster test (no replicas: it tests our keys, not failover).
readonly CLUSTER_PORTS=(6391 6392 6393)
readonly CHROMIUM=/usr/bin/chromium
# chromium + chromium-driver: Debian's own build, never a browser downloaded by a test tool.
readonly PACKAGES=(redis-server postgresql-15 dovecot-imapd dovecot-lmtpd postfix openssl chromium chromium-driver)

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
IS_ROOT=false
[[ $(id -u) -eq 0 ]] && IS_ROOT=true

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- state directory

# can_reach USER DIR: can USER traverse down to DIR (or to its deepest existing ancestor)?
# A single `test -x` as that user fails if any ancestor (e.g. a 0700 home) blocks it.
can_reach() {
  local user=$1 dir=$2
  while [[ ! -e $dir ]]; do dir=$(dirname "$dir"); done
  runuser -u "$user" -- test -x "$dir" 2>/dev/null
}

# Sets S (the state dir). Only root runs services as other users (postgres, vmail, and
# dovecot for Dovecot's auth process, which reads the OAuth2 key),
# so only then must the directory be reachable by them.
resolve_state_dir() {
  S=${CONTIPLE_SERVICES_DIR:-$REPO_ROOT/.services}
  [[ $S = /* ]] || S=$PWD/$S
  if $IS_ROOT; then
    local user
    for user in postgres vmail dovecot; do
      id "$user" >/dev/null 2>&1 || continue
      if ! can_reach "$user" "$S"; then
        log "state dir $S is not reachable by user '$user'; using /tmp/contiple-services instead"
        S=/tmp/contiple-services
        break
      fi
    done
  fi
  LOGS=$S/log
}

# ---------------------------------------------------------------- helpers

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port NAME PORT LOGFILE [SECONDS]: fail with the log's tail if the port never opens.
wait_port() {
  local name=$1 port=$2 logfile=$3 secs=${4:-20} i
  for ((i = 0; i < secs * 10; i++)); do
    port_open "$port" && return 0
    sleep 0.1
  done
  log "ERROR: $name did not come up on 127.0.0.1:$port within ${secs}s."
  fail_with_log "$name" "$logfile"
}

# fail_with_log NAME LOGFILE: exit with the tail of the service's log.
fail_with_log() {
  log "ERROR: $1 failed to start. Last lines of $2:"
  tail -n 25 "$2" >&2 2>/dev/null || true
  exit 1
}

# pid_of COMM PIDFILE: print the pid in PIDFILE if that process is alive and named COMM.
# Checking the name copes with stale pid files whose pid was reused after a restart.
pid_of() {
  local comm=$1 pidfile=$2 pid
  [[ -r $pidfile ]] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null | tr -dc '0-9')
  [[ -n $pid ]] && alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 1
  echo "$pid"
}

# refuse_foreign_port NAME PORT: our process is not running, so the port must be free.
# Allow 3 s for children of a just-killed daemon to let go of it.
refuse_foreign_port() {
  local i
  for ((i = 0; i < 30; i++)); do
    port_open "$2" || return 0
    sleep 0.1
  done
  if port_open "$2"; then
    die "$1: 127.0.0.1:$2 is already in use by a process this script did not start: $(ss -ltnpH "sport = :$2" 2>/dev/null | head -n 1)"
  fi
}

# alive PID: the process exists and is not a zombie (PID 1 here may reap exited daemons late).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# kill_wait PID [SECONDS]: SIGTERM, then wait for the process to exit (SIGKILL as a last resort).
kill_wait() {
  local pid=$1 secs=${2:-15} i
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 20; i++)); do
    alive "$pid" || return 0
    sleep 0.05
  done
  log "pid $pid did not exit after SIGTERM; sending SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
}

# as_pg CMD...: initdb/pg_ctl refuse to run as root, so root runs them as 'postgres'.
as_pg() {
  if $IS_ROOT; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- install

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    $IS_ROOT || die "missing packages; run: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # Post-install scripts cannot start the daemons here (no init system); we start them ourselves.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Dovecot needs a non-root mail uid.
  if $IS_ROOT && ! id vmail >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin vmail
  fi
}

prepare_dirs() {
  mkdir -p "$S" "$LOGS" "$S/redis" "$S/pg" "$S/dovecot/mail" "$S/dovecot/run" "$S/dovecot/state" "$S/postfix" "$S/oauth"
  chmod 0755 "$S" "$LOGS"
  if $IS_ROOT; then
    chown postgres:postgres "$S/pg"
    chown vmail:vmail "$S/dovecot/mail"
  fi
}

# ---------------------------------------------------------------- Redis

redis_pidfile() { echo "$S/redis/redis.pid"; }

redis_start() {
  pid_of redis-server "$(redis_pidfile)" >/dev/null && return 0
  refuse_foreign_port redis "$REDIS_PORT"
  # No persistence: test data is throwaway and saving only slows things down.
  # shellcheck disable=SC2094 # both append to the log; nothing reads it here
  if ! redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
    --dir "$S/redis" --pidfile "$(redis_pidfile)" --logfile "$LOGS/redis.log" \
    </dev/null >>"$LOGS/redis.log" 2>&1; then
    fail_with_log redis "$LOGS/redis.log"
  fi
  wait_port redis "$REDIS_PORT" "$LOGS/redis.log" 10
  log "redis started on 127.0.0.1:$REDIS_PORT"
}

redis_stop() {
  local pid
  pid=$(pid_of redis-server "$(redis_pidfile)") || return 0
  kill_wait "$pid"
  rm -f "$(redis_pidfile)"
  log "redis stopped"
}

# ---------------------------------------------------------------- Redis Cluster

cluster_pidfile() { echo "$S/redis-cluster/$1/redis.pid"; }

cluster_start() {
  local port started=false
  for port in "${CLUSTER_PORTS[@]}"; do
    pid_of redis-server "$(cluster_pidfile "$port")" >/dev/null && continue
    refuse_foreign_port redis-cluster "$port"
    # A node that lost its process also lost its (unsaved) slots: start it clean.
    rm -rf "$S/redis-cluster/$port" && mkdir -p "$S/redis-cluster/$port"
    # shellcheck disable=SC2094
    if ! redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --dir "$S/redis-cluster/$port" --pidfile "$(cluster_pidfile "$port")" --logfile "$LOGS/redis-cluster-$port.log" \
      </dev/null >>"$LOGS/redis-cluster-$port.log" 2>&1; then
      fail_with_log redis-cluster "$LOGS/redis-cluster-$port.log"
    fi
    wait_port redis-cluster "$port" "$LOGS/redis-cluster-$port.log" 10
    started=true
  done
  if $started || ! redis-cli -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    # Slots are given out again whenever a node started fresh.
    for port in "${CLUSTER_PORTS[@]}"; do
      redis-cli -p "$port" flushall >/dev/null && redis-cli -p "$port" cluster reset hard >/dev/null
    done
    local nodes=()
    for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes </dev/null >>"$LOGS/redis-cluster.log" 2>&1 ||
      fail_with_log redis-cluster "$LOGS/redis-cluster.log"
    local i
    for i in $(seq 50); do
      redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
      sleep 0.1
    done
  fi
  log "redis cluster up on 127.0.0.1:${CLUSTER_PORTS[*]}"
}

cluster_stop() {
  local port pid
  for port in "${CLUSTER_PORTS[@]}"; do
    pid=$(pid_of redis-server "$(cluster_pidfile "$port")") || continue
    kill_wait "$pid"
    rm -f "$(cluster_pidfile "$port")"
  done
  log "redis cluster stopped"
}

# ---------------------------------------------------------------- PostgreSQL

pg_data() { echo "$S/pg/data"; }

pg_start() {
  local data pgpid sockdir
  data=$(pg_data)
  pid_of postgres "$data/postmaster.pid" >/dev/null && { pg_create_db; return 0; }
  refuse_foreign_port postgresql "$PG_PORT"
  if [[ ! -f $data/PG_VERSION ]]; then
    log "initdb $data"
    as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # Unix socket paths are limited to ~107 bytes; use TCP only if the state dir is too deep.
  sockdir=$S/pg
  ((${#sockdir} > 90)) && sockdir=
  # Settings go into an included file we rewrite on every start, so edits stay idempotent.
  cat >"$data/contiple.conf" <<EOF
# Written by scripts/services.sh; overwritten on every start.
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
max_connections = 200
# Tuned for tests: durability is not needed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  grep -qx "include = 'contiple.conf'" "$data/postgresql.conf" ||
    echo "include = 'contiple.conf'" >>"$data/postgresql.conf"
  # A postmaster.pid left by a crash or reboot may name a pid now used by something else,
  # which makes postgres refuse to start: pid_of said it is not ours, so drop it.
  rm -f "$data/postmaster.pid" "$S/pg/.s.PGSQL.$PG_PORT.lock"
  $IS_ROOT && { touch "$LOGS/postgres.log"; chown postgres:postgres "$LOGS/postgres.log"; }
  if ! as_pg "$PGBIN/pg_ctl" -D "$data" -l "$LOGS/postgres.log" -w -t 60 start </dev/null >/dev/null 2>&1; then
    fail_with_log postgresql "$LOGS/postgres.log"
  fi
  pgpid=$(head -n 1 "$data/postmaster.pid")
  wait_port postgresql "$PG_PORT" "$LOGS/postgres.log" 20
  log "postgresql started on 127.0.0.1:$PG_PORT (pid $pgpid)"
  pg_create_db
}

pg_create_db() {
  local exists
  exists=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -XtAc \
    "select 1 from pg_database where datname = '$DB_NAME'")
  if [[ $exists != 1 ]]; then
    createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres -O postgres "$DB_NAME"
    log "created database $DB_NAME"
  fi
}

pg_stop() {
  local data
  data=$(pg_data)
  pid_of postgres "$data/postmaster.pid" >/dev/null || return 0
  as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 stop </dev/null >/dev/null
  log "postgresql stopped"
}

# ---------------------------------------------------------------- Dovecot (IMAP + LMTP)

dovecot_conf() { echo "$S/dovecot/dovecot.conf"; }

# The OAuth2 signing key: tests' authorization servers sign access tokens (RS256 JWTs) with
# the private half; Dovecot checks them with the public half, locally, without calling out.
# Made once and kept: services and running tests rely on it.
oauth_signing_key() { echo "$S/oauth/signing.pem"; }

oauth_keys() {
  local key pub
  key=$(oauth_signing_key)
  # Dovecot's key dictionary: the key for a token is /<azp:default>/<alg>/<kid:default>.
  pub=$S/dovecot/oauth-keys/default/RS256/default
  if [[ ! -s $key ]]; then
    (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key.tmp" 2>/dev/null)
    mv "$key.tmp" "$key"
    log "made the OAuth2 signing key $key"
  fi
  mkdir -p "$(dirname "$pub")"
  # Dovecot's auth process (user dovecot) reads it, whatever umask this script runs under.
  chmod 0755 "$S/dovecot/oauth-keys" "$S/dovecot/oauth-keys/default" "$(dirname "$pub")"
  openssl pkey -in "$key" -pubout -out "$pub.tmp" 2>/dev/null
  chmod 0644 "$pub.tmp"
  mv "$pub.tmp" "$pub"
}

# write_dovecot_conf [SUFFIX]: dovecot.conf and the OAuth2 passdb's oauth2.conf.ext, each
# written to its name plus SUFFIX (the contents name the files without it).
write_dovecot_conf() {
  local sfx=${1:-} d=$S/dovecot mail_user=vmail mail_group=vmail extra='' sasl_owner=''
  if ! $IS_ROOT; then
    # Best effort for non-root: everything runs as the calling user.
    mail_user=$(id -un) mail_group=$(id -gn)
    extra="default_internal_user = $mail_user
default_internal_group = $mail_group
default_login_user = $mail_user"
  fi
  $IS_ROOT && sasl_owner="user = postfix
    group = postfix"
  cat >"$d/oauth2.conf.ext$sfx" <<EOF
# Written by scripts/services.sh; overwritten on every start.
# Access tokens are JWTs checked here (signature, exp), no introspection call.
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$d/oauth-keys/
# The token names its mailbox in 'email'; compared like the login name (%Ln).
username_attribute = email
username_format = %Ln
EOF
  cat >"$(dovecot_conf)$sfx" <<EOF
# Written by scripts/services.sh; overwritten on every start.
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $LOGS/dovecot.log
$extra

# Plain-text logins without TLS: loopback only, test data only.
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# 'Alice@example.test' and 'alice' are the same mailbox user 'alice'.
auth_username_format = %Ln

# Any user name logs in with the password '$IMAP_PASSWORD', so each test can use a fresh mailbox.
passdb {
  driver = static
  args = password=$IMAP_PASSWORD
  mechanisms = plain login
}
# Or with an OAuth2 access token for that user (XOAUTH2, OAUTHBEARER).
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $d/oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=$mail_user gid=$mail_group home=$d/mail/%n allow_all_users=yes
}

mail_location = maildir:$d/mail/%n
mail_uid = $mail_user
mail_gid = $mail_group
first_valid_uid = 1
mail_fsync = never

namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Junk {
    special_use = \\Junk
  }
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
# No authentication penalty: every test logs in from 127.0.0.1, so the tests that check a
# refused password would otherwise slow every later login by up to 15 s (long enough for
# the OAuth2 tests' two-second tokens to expire on the way). A refusal still waits 2 s.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# Postfix's SMTP AUTH asks Dovecot (smtpd_sasl_type = dovecot).
service auth {
  unix_listener auth-postfix {
    mode = 0660
    $sasl_owner
  }
}
EOF
}

dovecot_start() {
  oauth_keys
  if pid_of dovecot "$S/dovecot/run/master.pid" >/dev/null; then
    dovecot_reload_if_changed
    return 0
  fi
  refuse_foreign_port "dovecot imap" "$IMAP_PORT"
  refuse_foreign_port "dovecot lmtp" "$LMTP_PORT"
  write_dovecot_conf
  # Not ours (pid_of failed): a stale pid file would make dovecot refuse to start if the pid was reused.
  rm -f "$S/dovecot/run/master.pid"
  # Redirect stdio: dovecot keeps stderr open, which would hang `services.sh up | tee ...`.
  if ! dovecot -c "$(dovecot_conf)" </dev/null >>"$LOGS/dovecot.log" 2>&1; then
    fail_with_log dovecot "$LOGS/dovecot.log"
  fi
  wait_port "dovecot imap" "$IMAP_PORT" "$LOGS/dovecot.log" 15
  wait_port "dovecot lmtp" "$LMTP_PORT" "$LOGS/dovecot.log" 15
  log "dovecot started: IMAP 127.0.0.1:$IMAP_PORT, LMTP 127.0.0.1:$LMTP_PORT"
}

# A running Dovecot serves other sessions' tests: a changed configuration is reloaded, and
# an unchanged one leaves it alone.
dovecot_reload_if_changed() {
  local d=$S/dovecot f changed=false
  write_dovecot_conf .new
  for f in "$(dovecot_conf)" "$d/oauth2.conf.ext"; do
    if cmp -s "$f.new" "$f"; then rm -f "$f.new"; else mv "$f.new" "$f" && changed=true; fi
  done
  $changed || return 0
  dovecot -c "$(dovecot_conf)" reload </dev/null >>"$LOGS/dovecot.log" 2>&1 || fail_with_log "dovecot reload" "$LOGS/dovecot.log"
  log "dovecot reloaded with the new configuration"
}

dovecot_stop() {
  local pid
  pid=$(pid_of dovecot "$S/dovecot/run/master.pid") || return 0
  kill_wait "$pid"
  log "dovecot stopped"
}

# ---------------------------------------------------------------- Postfix

# A private Postfix instance (`postfix -c DIR`): its config, queue and log live in the
# state dir, and /etc/postfix (the packaged default instance, never started) is left alone.
pf_conf_dir() { echo "$S/postfix/etc"; }

pf() { postfix -c "$(pf_conf_dir)" "$@"; }

# write_postfix_conf DIR: main.cf and master.cf into DIR.
write_postfix_conf() {
  local c=$1
  mkdir -p "$c" "$S/postfix/queue" "$S/postfix/data"
  chown postfix:postfix "$S/postfix/data" # master.lock etc. are written as mail_owner
  # Regenerated from scratch on every start, so repeated runs cannot pile up edits.
  cat >"$c/main.cf" <<EOF
# Written by scripts/services.sh; overwritten on every start.
compatibility_level = 3.6
queue_directory = $S/postfix/queue
data_directory = $S/postfix/data
meta_directory = /etc/postfix
maillog_file = $LOGS/postfix.log
maillog_file_prefixes = /var, /dev/stdout, $LOGS
myhostname = localhost.localdomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
smtpd_tls_security_level = none

# Only @$MAIL_DOMAIN is delivered (over LMTP to Dovecot, user = local part).
mydestination =
alias_maps =
alias_database =
virtual_mailbox_domains = $MAIL_DOMAIN
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT

# Clients on loopback may relay, but nothing ever leaves this machine: every other
# destination is accepted, then bounced at once (a DSN to the sender) by error(8).
# Without smtpd_reject_unlisted_recipient = no, smtpd would instead reject such a
# RCPT with 550; tests of bounce handling want the DSN.
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_reject_unlisted_recipient = no
default_transport = error:no outside mail here

# discard.$MAIL_DOMAIN is accepted, queued and thrown away by discard(8): benchmarks of
# handing mail to Postfix send there, so they do not also measure Dovecot delivering
# every mail on the same cores (as a relay would, off this machine, in production).
transport_maps = inline:{discard.$MAIL_DOMAIN=discard:benchmark}
relay_transport = error:no outside mail here
local_transport = error:no local mail here

# SMTP AUTH through Dovecot's SASL: the same logins as IMAP (password or OAuth2 token).
# Offered without TLS: loopback and test data only. Relaying stays open to loopback, so
# clients that do not log in keep working.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $S/dovecot/run/auth-postfix
smtpd_sasl_security_options = noanonymous
EOF
  # Start from the packaged master.cf, then: SMTP on 127.0.0.1:2525 instead of :25, and no
  # chroot (the chroot would be the queue dir here, which lacks /etc/hosts and friends).
  cp /etc/postfix/master.cf "$c/master.cf"
  postconf -c "$c" -MX smtp/inet
  postconf -c "$c" -M "127.0.0.1:$SMTP_PORT/inet=127.0.0.1:$SMTP_PORT inet n - n - - smtpd"
  postconf -c "$c" -F '*/*/chroot = n'
}

postfix_running() { pf status >/dev/null 2>&1; }

postfix_start() {
  $IS_ROOT || die "postfix can only be started as root"
  if postfix_running; then
    postfix_reload_if_changed
    return 0
  fi
  refuse_foreign_port postfix "$SMTP_PORT"
  write_postfix_conf "$(pf_conf_dir)"
  # `postfix start` also creates the queue directories with the right owners.
  if ! pf start </dev/null >>"$LOGS/postfix.log" 2>&1; then
    fail_with_log postfix "$LOGS/postfix.log"
  fi
  wait_port postfix "$SMTP_PORT" "$LOGS/postfix.log" 15
  log "postfix started: SMTP 127.0.0.1:$SMTP_PORT"
}

# Like Dovecot: a running Postfix is reloaded when its configuration changed, else left alone.
postfix_reload_if_changed() {
  local c new
  c=$(pf_conf_dir)
  new=$S/postfix/etc.new
  rm -rf "$new"
  write_postfix_conf "$new"
  if cmp -s "$new/main.cf" "$c/main.cf" && cmp -s "$new/master.cf" "$c/master.cf"; then
    rm -rf "$new"
    return 0
  fi
  cp "$new/main.cf" "$new/master.cf" "$c/"
  rm -rf "$new"
  pf reload </dev/null >>"$LOGS/postfix.log" 2>&1 || fail_with_log "postfix reload" "$LOGS/postfix.log"
  log "postfix reloaded with the new configuration"
}

postfix_stop() {
  [[ -f $(pf_conf_dir)/main.cf ]] || return 0
  postfix_running || return 0
  pf stop </dev/null >>"$LOGS/postfix.log" 2>&1
  log "postfix stopped"
}

# ---------------------------------------------------------------- commands

cmd_up() {
  prepare_dirs
  redis_start
  cluster_start
  pg_start
  dovecot_start
  postfix_start
}

cmd_down() {
  [[ -d $S ]] || return 0
  postfix_stop
  dovecot_stop
  pg_stop
  cluster_stop
  redis_stop
}

cmd_env() {
  local kv
  for kv in \
    "CONTIPLE_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME?sslmode=disable" \
    "CONTIPLE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" \
    "CONTIPLE_REDIS_CLUSTER_URL=redis-cluster://127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[1]},127.0.0.1:${CLUSTER_PORTS[2]}" \
    "CONTIPLE_IMAP_ADDR=127.0.0.1:$IMAP_PORT" \
    "CONTIPLE_IMAP_PASSWORD=$IMAP_PASSWORD" \
    "CONTIPLE_LMTP_ADDR=127.0.0.1:$LMTP_PORT" \
    "CONTIPLE_SMTP_ADDR=127.0.0.1:$SMTP_PORT" \
    "CONTIPLE_MAIL_DOMAIN=$MAIL_DOMAIN" \
    "CONTIPLE_SMTP_DISCARD_DOMAIN=discard.$MAIL_DOMAIN" \
    "CONTIPLE_OAUTH_SIGNING_KEY=$(oauth_signing_key)" \
    "CONTIPLE_CHROMIUM=$CHROMIUM" \
    "CONTIPLE_SERVICES_DIR=$S"; do
    # Single quotes: the database URL contains '?', a glob character for eval.
    printf "export %s='%s'\n" "${kv%%=*}" "${kv#*=}"
  done
}

cmd_status() {
  local rc=0 name port
  while read -r name port; do
    if port_open "$port"; then
      printf '%-10s up    127.0.0.1:%s\n' "$name" "$port"
    else
      printf '%-10s DOWN  127.0.0.1:%s\n' "$name" "$port"
      rc=1
    fi
  done <<EOF
redis $REDIS_PORT
redis-cluster ${CLUSTER_PORTS[0]}
postgresql $PG_PORT
imap $IMAP_PORT
lmtp $LMTP_PORT
smtp $SMTP_PORT
EOF
  return "$rc"
}

main() {
  local cmd=${1:-}
  # Install first: the reachability check of the state dir needs the vmail user.
  [[ $cmd == up ]] && install_packages
  resolve_state_dir
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    env) cmd_env ;;
    status) cmd_status ;;
    *)
      echo "usage: $0 up|down|env|status" >&2
      exit 2
      ;;
  esac
}

main "$@"
