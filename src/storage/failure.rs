//! What kind of failure a storage error is. The database may be out of reach, read-only, full
//! or busy: conditions of the database, not of the request, which a retry may get past (the
//! service answers 503). Or a statement failed that should not have: our bug (500). Each
//! backend words these conditions its own way, and that wording is known here only.

use diesel::result::{DatabaseErrorKind, Error};

use super::StorageError;

/// The kinds of storage failure, as the service answers and counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The database cannot be reached or its storage failed: no connection within the pool's
    /// wait, a connection refused, closed or terminated by the server (a restart, a failover,
    /// `pg_terminate_backend`), a broken pipe, a disk I/O error.
    Unavailable,
    /// The database refuses writes: a read-only file, or a read-only PostgreSQL (a standby).
    ReadOnly,
    /// The disk holding the database is full.
    Full,
    /// SQLite's write lock stayed taken beyond the busy timeout, or PostgreSQL ended the
    /// transaction to break a deadlock or a serialization conflict (it rolled back whole).
    Busy,
    /// Anything else: a statement the database rejected, a failed migration, a bad URL.
    Query,
}

impl FailureKind {
    pub const ALL: [FailureKind; 5] =
        [FailureKind::Unavailable, FailureKind::ReadOnly, FailureKind::Full, FailureKind::Busy, FailureKind::Query];

    /// Whether the failure is the database's condition rather than the request's, so the same
    /// request may succeed later.
    pub fn is_transient(self) -> bool {
        !matches!(self, FailureKind::Query)
    }

    /// The kind's name in metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Unavailable => "unavailable",
            FailureKind::ReadOnly => "read_only",
            FailureKind::Full => "full",
            FailureKind::Busy => "busy",
            FailureKind::Query => "query",
        }
    }
}

impl StorageError {
    pub fn kind(&self) -> FailureKind {
        match self {
            // r2d2 answers only "timed out waiting for connection": either no connection could
            // be opened or every one stayed lent for the whole wait. To the request, both mean
            // the database is not available to it now.
            StorageError::Pool(_) | StorageError::Connection(_) => FailureKind::Unavailable,
            StorageError::Query(e) => kind_of(e),
            StorageError::Url(_) | StorageError::Migration(_) => FailureKind::Query,
        }
    }
}

/// The kind of a diesel error, from its kind where diesel knows it, else from the message.
pub fn kind_of(e: &Error) -> FailureKind {
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
            FailureKind::Unavailable
        }
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => FailureKind::ReadOnly,
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => FailureKind::Busy,
        Error::DatabaseError(_, info) => kind_of_message(info.message()),
        // A transaction whose connection broke under it (diesel then refuses to go on with it).
        Error::BrokenTransactionManager => FailureKind::Unavailable,
        Error::RollbackErrorOnCommit { rollback_error, commit_error } => match kind_of(commit_error) {
            FailureKind::Query => kind_of(rollback_error),
            kind => kind,
        },
        _ => FailureKind::Query,
    }
}

/// The wording of SQLite's result codes (`sqlite3_errstr`) and of libpq's and PostgreSQL's
/// connection-class messages.
fn kind_of_message(message: &str) -> FailureKind {
    const BUSY: [&str; 4] = ["database is locked", "database is busy", "database table is locked", "deadlock detected"];
    const READ_ONLY: [&str; 2] = ["attempt to write a readonly database", "read-only transaction"];
    const FULL: [&str; 3] = ["database or disk is full", "no space left on device", "disk quota exceeded"];
    const UNAVAILABLE: [&str; 17] = [
        // SQLite: the file or its disk failed (SQLITE_IOERR, SQLITE_CANTOPEN).
        "disk i/o error",
        "unable to open database file",
        // PostgreSQL: the server ended the session (57P01 admin shutdown, 57P02, 57P03, 57P05).
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        // libpq: the connection is gone or could not be made.
        "server closed the connection unexpectedly",
        "no connection to the server",
        "could not send data to server",
        "could not receive data from server",
        "connection refused",
        "connection reset by peer",
        "broken pipe",
        "ssl syscall error",
        "too many clients already",
        "remaining connection slots are reserved",
    ];
    let message = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| message.contains(n));
    if any(&BUSY) {
        FailureKind::Busy
    } else if any(&READ_ONLY) {
        FailureKind::ReadOnly
    } else if any(&FULL) {
        FailureKind::Full
    } else if any(&UNAVAILABLE) {
        FailureKind::Unavailable
    } else {
        FailureKind::Query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn connection_class_failures_are_unavailable_and_query_bugs_are_not() {
        let unknown = DatabaseErrorKind::Unknown;
        for (error, kind) in [
            (db_error(DatabaseErrorKind::ClosedConnection, "anything"), FailureKind::Unavailable),
            (db_error(DatabaseErrorKind::UnableToSendCommand, "anything"), FailureKind::Unavailable),
            (db_error(unknown, "terminating connection due to administrator command"), FailureKind::Unavailable),
            (db_error(unknown, "server closed the connection unexpectedly"), FailureKind::Unavailable),
            (db_error(unknown, "could not send data to server: Broken pipe"), FailureKind::Unavailable),
            (db_error(unknown, "disk I/O error"), FailureKind::Unavailable),
            (db_error(unknown, "attempt to write a readonly database"), FailureKind::ReadOnly),
            (db_error(DatabaseErrorKind::ReadOnlyTransaction, "x"), FailureKind::ReadOnly),
            (db_error(unknown, "database or disk is full"), FailureKind::Full),
            (db_error(unknown, "could not extend file \"base/1/2\": No space left on device"), FailureKind::Full),
            (db_error(unknown, "database is locked"), FailureKind::Busy),
            (db_error(unknown, "deadlock detected"), FailureKind::Busy),
            (db_error(DatabaseErrorKind::SerializationFailure, "could not serialize access"), FailureKind::Busy),
            (db_error(unknown, "syntax error at or near \"SELEC\""), FailureKind::Query),
            (db_error(unknown, "no such table: invoices"), FailureKind::Query),
            (db_error(DatabaseErrorKind::UniqueViolation, "duplicate key"), FailureKind::Query),
            (Error::NotFound, FailureKind::Query),
            (Error::BrokenTransactionManager, FailureKind::Unavailable),
            (
                Error::RollbackErrorOnCommit {
                    rollback_error: Box::new(db_error(DatabaseErrorKind::ClosedConnection, "gone")),
                    commit_error: Box::new(db_error(unknown, "oops")),
                },
                FailureKind::Unavailable,
            ),
        ] {
            let text = error.to_string();
            assert_eq!(StorageError::Query(error).kind(), kind, "{text}");
        }
        assert_eq!(StorageError::Connection("refused".into()).kind(), FailureKind::Unavailable);
        assert_eq!(StorageError::Migration("bad".into()).kind(), FailureKind::Query);
        assert!(FailureKind::ALL.iter().filter(|k| !k.is_transient()).eq([&FailureKind::Query]));
    }
}
