//! Keyset pagination shared by every list: opaque cursors, stable order, optional totals.
//!
//! A cursor names its list and ordering and holds the sort value and id of the row it points
//! at, so the next page starts with `WHERE (sort, id) > (value, id)` on an index instead of an
//! `OFFSET` scan, and a cursor from another list is refused instead of silently misread.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ColumnType, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// The value of a row's sort column, as carried in a cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

impl From<SortValue> for Value {
    fn from(v: SortValue) -> Self {
        match v {
            SortValue::Int(i) => i.into(),
            SortValue::Text(s) => s.into(),
            SortValue::Time(t) => t.into(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// `<list>/<ordering>`.
    k: String,
    v: SortValue,
    id: i64,
}

/// How one list may be ordered: a non-null column, then the id as tie-breaker.
pub struct Ordering<E: EntityTrait> {
    /// Name of the ordering, part of every cursor.
    pub key: &'static str,
    pub column: E::Column,
    pub descending: bool,
    /// Reads the sort value from a row.
    pub value: fn(&E::Model) -> SortValue,
    pub id_column: E::Column,
    pub id: fn(&E::Model) -> i64,
}

/// A validated page request.
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// The list's name, checked against cursors.
    pub list: &'static str,
    /// Rows wanted (0 is allowed: only `pageInfo` and `totalCount`).
    pub first: u64,
    after: Option<String>,
    /// Whether the caller asked for `totalCount`.
    pub want_total: bool,
}

impl PageRequest {
    /// Checks `first` against `0..=max` (default `default`) and keeps `after` for decoding.
    pub fn new(
        list: &'static str,
        first: Option<i32>,
        after: Option<String>,
        default: u32,
        max: u32,
    ) -> AppResult<Self> {
        let first = match first {
            None => u64::from(default.min(max)),
            Some(n) if n < 0 => {
                return Err(AppError::invalid("first", "`first` must not be negative"));
            }
            Some(n) if n.unsigned_abs() > max => {
                return Err(AppError::invalid(
                    "first",
                    format!("`first` must be at most {max}"),
                ));
            }
            Some(n) => u64::from(n.unsigned_abs()),
        };
        Ok(Self {
            list,
            first,
            after,
            want_total: false,
        })
    }

    /// Asks for the total count too.
    pub fn with_total(mut self, want: bool) -> Self {
        self.want_total = want;
        self
    }
}

/// One page of rows, each with its cursor.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next: bool,
    pub has_previous: bool,
    /// Rows matching the filter, when asked for.
    pub total: Option<u64>,
}

/// Runs `select` (already filtered and scoped) for one page in `ordering`.
pub async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    ordering: &Ordering<E>,
    request: &PageRequest,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let kind = format!("{}/{}", request.list, ordering.key);
    let total = if request.want_total {
        Some(select.clone().count(db).await?)
    } else {
        None
    };
    let after = request
        .after
        .as_deref()
        .map(|raw| decode(raw, &kind))
        .transpose()?;
    // A cursor is client input: its value must be comparable with the sort column, or the
    // database would refuse the statement (PostgreSQL) or compare nonsense (SQLite).
    if let Some(cursor) = &after
        && !fits(&cursor.v, ordering.column.def().get_column_type())
    {
        return Err(AppError::invalid(
            "after",
            "`after` is not a cursor of this list",
        ));
    }
    let direction = if ordering.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut query = select;
    if let Some(cursor) = &after {
        let value: Value = cursor.v.clone().into();
        let (past, past_id) = if ordering.descending {
            (
                ordering.column.lt(value.clone()),
                ordering.id_column.lt(cursor.id),
            )
        } else {
            (
                ordering.column.gt(value.clone()),
                ordering.id_column.gt(cursor.id),
            )
        };
        query = query.filter(
            Condition::any()
                .add(past)
                .add(Condition::all().add(ordering.column.eq(value)).add(past_id)),
        );
    }
    let rows = query
        .order_by(ordering.column, direction.clone())
        .order_by(ordering.id_column, direction)
        .limit(request.first + 1)
        .all(db)
        .await?;
    let has_next = rows.len() as u64 > request.first;
    let items = rows
        .into_iter()
        .take(usize::try_from(request.first).unwrap_or(usize::MAX))
        .map(|row| {
            let cursor = encode(&Cursor {
                k: kind.clone(),
                v: (ordering.value)(&row),
                id: (ordering.id)(&row),
            });
            (cursor, row)
        })
        .collect();
    Ok(Page {
        items,
        has_next,
        has_previous: after.is_some(),
        total,
    })
}

/// Whether a cursor's sort value has the type of the sort column.
fn fits(value: &SortValue, column: &ColumnType) -> bool {
    match value {
        SortValue::Int(_) => matches!(
            column,
            ColumnType::TinyInteger
                | ColumnType::SmallInteger
                | ColumnType::Integer
                | ColumnType::BigInteger
        ),
        SortValue::Text(s) => {
            !s.contains('\0')
                && matches!(
                    column,
                    ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_)
                )
        }
        SortValue::Time(_) => matches!(
            column,
            ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime
        ),
    }
}

fn encode(cursor: &Cursor) -> String {
    // Serialising a plain struct of strings and numbers cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(raw: &str, kind: &str) -> AppResult<Cursor> {
    let bad = || AppError::invalid("after", "`after` is not a cursor of this list");
    if raw.len() > 512 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.k != kind {
        return Err(bad());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_other_lists() {
        let raw = encode(&Cursor {
            k: "equipment/code".into(),
            v: SortValue::Text("CNC-01".into()),
            id: 7,
        });
        let back = decode(&raw, "equipment/code").expect("own cursor decodes");
        assert_eq!(back.id, 7);
        assert_eq!(back.v, SortValue::Text("CNC-01".into()));
        assert!(decode(&raw, "alarms/start").is_err());
        assert!(decode("not base64!", "equipment/code").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode(b"{}"), "equipment/code").is_err());
    }

    #[test]
    fn first_is_bounded() {
        assert!(PageRequest::new("x", Some(-1), None, 50, 500).is_err());
        assert!(PageRequest::new("x", Some(501), None, 50, 500).is_err());
        assert_eq!(
            PageRequest::new("x", Some(0), None, 50, 500)
                .map(|p| p.first)
                .ok(),
            Some(0)
        );
        assert_eq!(
            PageRequest::new("x", None, None, 50, 500)
                .map(|p| p.first)
                .ok(),
            Some(50)
        );
    }
}
