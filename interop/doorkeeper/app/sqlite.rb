# SQLite under Puma's threads, set up to take concurrent token requests as a server's database
# does: each waits its turn rather than failing. Without this, 25 requests at once can answer
# 500 with `SQLite3::BusyException: database is locked`, for two reasons:
#
# - Before sqlite3 2.0, the gem's `busy_timeout` waits in C while holding Ruby's global VM lock,
#   so the thread holding the write lock cannot run to commit: the waiter fails when its timeout
#   ends, and the whole process stalls until then. A busy handler written in Ruby sleeps, which
#   releases the VM lock.
# - A deferred transaction reads first (Doorkeeper's uniqueness check on the token) and takes the
#   write lock at its first write; SQLite refuses that upgrade at once, without calling the busy
#   handler, when another transaction is already writing. `BEGIN IMMEDIATE` takes it first.
#
# Rails 8.0 does both by default; Debian 12 packages Rails 6.1 and sqlite3 1.4.
module InteropSqliteWaits
  # Up to 10,000 waits of a millisecond or more: over 10 s, then the busy error.
  WAITS = 10_000

  def begin_db_transaction
    log("begin immediate transaction", "TRANSACTION") { @connection.transaction(:immediate) }
  end

  private

  # Called for each new connection; replaces the `busy_timeout` that `super` sets.
  def configure_connection
    super
    @connection.busy_handler { |count| count < WAITS && sleep(0.001) }
  end
end

ActiveSupport.on_load(:active_record_sqlite3adapter) { prepend InteropSqliteWaits }
