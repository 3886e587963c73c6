//! How a store method runs a statement: [`SqlStore`]'s helpers take the SQL once (`$n`
//! placeholders work on both engines) and its parameters as a tuple, run it on a kept
//! connection (`warm`) of whichever engine is open, and report driver errors through the
//! keeper, which retires its connections when one broke.

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Encode, FromRow, Postgres, Sqlite, Type};
use tessera_core::store::StoreError;

use super::engine::{Engine, SqlStore};

/// A driver error, already seen by the connection keeper. It becomes a
/// [`StoreError::Backend`] through `?`, or a conflict through [`conflict`].
pub(super) struct DbError(sqlx::Error);

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError::Backend(e.0.to_string())
    }
}

/// Maps a unique-constraint violation to `Conflict(what)`, anything else to `Backend`.
pub(super) fn conflict(what: &str) -> impl FnOnce(DbError) -> StoreError + '_ {
    move |e| match &e.0 {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => e.into(),
    }
}

/// One parameter: a value both engines encode.
pub(super) trait Param<'q>:
    'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

impl<'q, T> Param<'q> for T where
    T: 'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

/// A statement's parameters, `$1`, `$2`, ... in order, as a tuple (`()` for none).
pub(super) trait Params<'q>: Send {
    fn sqlite(self) -> Result<SqliteArguments<'q>, BoxDynError>;
    fn postgres(self) -> Result<PgArguments, BoxDynError>;
}

macro_rules! params {
    ($($p:ident)*) => {
        impl<'q, $($p: Param<'q>),*> Params<'q> for ($($p,)*) {
            #[allow(non_snake_case, unused_mut)]
            fn sqlite(self) -> Result<SqliteArguments<'q>, BoxDynError> {
                let ($($p,)*) = self;
                let mut args = SqliteArguments::default();
                $(args.add($p)?;)*
                Ok(args)
            }

            #[allow(non_snake_case, unused_mut)]
            fn postgres(self) -> Result<PgArguments, BoxDynError> {
                let ($($p,)*) = self;
                let mut args = PgArguments::default();
                $(args.add($p)?;)*
                Ok(args)
            }
        }
    };
}

params!();
params!(A);
params!(A B);
params!(A B C);
params!(A B C D);
params!(A B C D E);
params!(A B C D E F);
params!(A B C D E F G);
params!(A B C D E F G H);
params!(A B C D E F G H I);
params!(A B C D E F G H I J);
params!(A B C D E F G H I J K);
params!(A B C D E F G H I J K L);
params!(A B C D E F G H I J K L M);
params!(A B C D E F G H I J K L M N);
params!(A B C D E F G H I J K L M N O);
params!(A B C D E F G H I J K L M N O P);
params!(A B C D E F G H I J K L M N O P Q);
params!(A B C D E F G H I J K L M N O P Q R);
params!(A B C D E F G H I J K L M N O P Q R S);
params!(A B C D E F G H I J K L M N O P Q R S T);

/// A row type both engines can build (`#[derive(sqlx::FromRow)]`, or a tuple).
pub(super) trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// Runs `$run` with `$args` (the parameters encoded for the open engine) on a kept
/// connection `$conn`: each helper below is written once, and expanded for both engines.
macro_rules! on_engine {
    ($store:expr, $params:expr, |$conn:ident, $args:ident| $run:expr) => {{
        let result: Result<_, sqlx::Error> = match &$store.engine {
            Engine::Sqlite { warm, .. } => match $params.sqlite() {
                Ok($args) => match warm.conn().await {
                    Ok(mut $conn) => $run.await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(sqlx::Error::Encode(e)),
            },
            Engine::Postgres { warm, .. } => match $params.postgres() {
                Ok($args) => match warm.conn().await {
                    Ok(mut $conn) => $run.await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(sqlx::Error::Encode(e)),
            },
        };
        result.map_err(|e| $store.saw(e))
    }};
}

impl SqlStore {
    /// Passes a driver error through the connection keeper (see `warm`).
    pub(super) fn saw(&self, e: sqlx::Error) -> DbError {
        DbError(match &self.engine {
            Engine::Sqlite { warm, .. } => warm.saw(e),
            Engine::Postgres { warm, .. } => warm.saw(e),
        })
    }

    /// Runs a statement; how many rows it changed.
    pub(super) async fn execute<'q>(&self, sql: &'q str, params: impl Params<'q>) -> Result<u64, DbError> {
        on_engine!(self, params, |conn, args| async {
            sqlx::query_with(sql, args)
                .execute(&mut *conn)
                .await
                .map(|done| done.rows_affected())
        })
    }

    /// The one row the statement returns (an error if none).
    pub(super) async fn one<'q, T: Row>(&self, sql: &'q str, params: impl Params<'q>) -> Result<T, DbError> {
        on_engine!(self, params, |conn, args| sqlx::query_as_with(sql, args)
            .fetch_one(&mut *conn))
    }

    /// The first row the statement returns, if any.
    pub(super) async fn optional<'q, T: Row>(
        &self,
        sql: &'q str,
        params: impl Params<'q>,
    ) -> Result<Option<T>, DbError> {
        on_engine!(self, params, |conn, args| sqlx::query_as_with(sql, args)
            .fetch_optional(&mut *conn))
    }

    /// Every row the statement returns (on SQLite, of every statement in a `;` list).
    pub(super) async fn all<'q, T: Row>(&self, sql: &'q str, params: impl Params<'q>) -> Result<Vec<T>, DbError> {
        on_engine!(self, params, |conn, args| sqlx::query_as_with(sql, args)
            .fetch_all(&mut *conn))
    }

    /// A transaction on a connection from the pool (not a kept one: it may wait on locks).
    pub(super) async fn begin(&self) -> Result<Tx<'_>, DbError> {
        let open = match &self.engine {
            Engine::Sqlite { pool, .. } => pool.begin().await.map(Open::Sqlite),
            Engine::Postgres { pool, .. } => pool.begin().await.map(Open::Postgres),
        };
        Ok(Tx {
            store: self,
            open: open.map_err(|e| self.saw(e))?,
        })
    }
}

/// A transaction under way; dropped without [`Tx::commit`], it rolls back.
pub(super) struct Tx<'a> {
    store: &'a SqlStore,
    open: Open,
}

enum Open {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx<'_> {
    /// Runs a statement in the transaction; how many rows it changed.
    pub(super) async fn execute<'q>(&mut self, sql: &'q str, params: impl Params<'q>) -> Result<u64, DbError> {
        let done = match &mut self.open {
            Open::Sqlite(tx) => match params.sqlite() {
                Ok(args) => sqlx::query_with(sql, args)
                    .execute(&mut **tx)
                    .await
                    .map(|d| d.rows_affected()),
                Err(e) => Err(sqlx::Error::Encode(e)),
            },
            Open::Postgres(tx) => match params.postgres() {
                Ok(args) => sqlx::query_with(sql, args)
                    .execute(&mut **tx)
                    .await
                    .map(|d| d.rows_affected()),
                Err(e) => Err(sqlx::Error::Encode(e)),
            },
        };
        done.map_err(|e| self.store.saw(e))
    }

    pub(super) async fn commit(self) -> Result<(), DbError> {
        let done = match self.open {
            Open::Sqlite(tx) => tx.commit().await,
            Open::Postgres(tx) => tx.commit().await,
        };
        done.map_err(|e| self.store.saw(e))
    }
}
