//! Relay connections built from service pages.

use async_graphql::{
    SimpleObject,
    connection::{Connection, Edge},
};

use crate::service::page::Page;

/// Fields every connection adds to `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionTotal {
    /// Number of items matching the filter across all pages.
    pub total_count: i64,
}

/// A Relay connection of `T` with `totalCount`.
pub type Conn<T> = Connection<String, T, ConnectionTotal>;

/// Builds a connection from a page; `totalCount` reads 0 when it was not selected (it is then
/// never sent).
pub fn connection<M, T>(page: Page<M>, node: impl Fn(M) -> T) -> Conn<T>
where
    T: async_graphql::OutputType,
{
    let total = page
        .total
        .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX));
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ConnectionTotal { total_count: total },
    );
    conn.edges = page
        .items
        .into_iter()
        .map(|(cursor, item)| Edge::new(cursor, node(item)))
        .collect();
    conn
}
