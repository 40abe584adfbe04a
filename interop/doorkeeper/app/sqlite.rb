# SQLite under Puma's threads, set up to take concurrent token requests as a server's database
# does: each waits its turn rather than failing. Without this, 25 requests at once can answer
# 500 with `SQLite3::BusyException: database is locked`, for two reasons:
#
# - sqlite3 1.4's `busy_timeout` waits in C while holding Ruby's global VM lock, so the thread
#   holding the write lock cannot run to commit and every waiter fails when the timeout ends.
#   A busy handler written in Ruby sleeps, which releases the VM lock.
# - A deferred transaction reads first (Doorkeeper's uniqueness check) and takes the write lock
#   at its first write; SQLite refuses that upgrade at once, without calling the busy handler,
#   when another transaction is already writing. `BEGIN IMMEDIATE` takes the write lock first.
#
# Rails 7.1 and later do both by default; the Debian package is Rails 6.1.
module InteropSqliteWaits
  # Up to 10,000 waits of a millisecond or more: over 10 s, then the busy error.
  WAITS = 10_000

  def configure_connection
    super
    @connection.busy_handler { |count| count < WAITS && sleep(0.001) }
  end

  def begin_db_transaction
    log("begin immediate transaction", "TRANSACTION") { @connection.transaction(:immediate) }
  end
end

ActiveSupport.on_load(:active_record) do
  require "active_record/connection_adapters/sqlite3_adapter"
  ActiveRecord::ConnectionAdapters::SQLite3Adapter.prepend(InteropSqliteWaits)
end
