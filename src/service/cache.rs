//! Cache administration (admins only): invalidating by tag or everything, and the stats.

use sea_orm::DatabaseConnection;

use super::audit::Audit;
use crate::{
    auth::Caller,
    cache::{Cache, CacheStats, Tag},
    error::{AppError, AppResult},
};

/// Most tags one call may name.
pub const MAX_TAGS: usize = 1_000;

/// What to invalidate: named tags, or (`all`) everything.
#[derive(Clone, Debug, Default)]
pub struct Invalidation {
    pub tags: Vec<String>,
    pub all: bool,
}

/// Parses the tags (all of them, before anything is dropped): one bad tag fails the call.
fn parse_tags(texts: &[String]) -> AppResult<Vec<Tag>> {
    if texts.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags per call"),
        ));
    }
    texts
        .iter()
        .map(|t| {
            Tag::parse(t.trim()).ok_or_else(|| {
                AppError::invalid(
                    "tags",
                    format!(
                        "unknown cache tag `{}`: expected equipment:ID, line:ID, sensor:ID, \
                         line:ID:equipment, workshop:ID:lines, equipment:ID:sensors or workshops",
                        t.chars().take(80).collect::<String>()
                    ),
                )
            })
        })
        .collect()
}

/// `invalidateCache` (admin): drops the named tags, or everything with `all`, on every
/// instance; returns how many tags were dropped (0 with `all`).
pub async fn invalidate(
    db: &DatabaseConnection,
    cache: &Cache,
    caller: &Caller,
    audit: &Audit,
    what: Invalidation,
) -> AppResult<usize> {
    caller.require(entity::enums::Role::Admin)?;
    match (what.all, what.tags.is_empty()) {
        (true, true) => {
            audit.write(db, "all").await?;
            cache.invalidate_all().await;
            Ok(0)
        }
        (false, false) => {
            let tags = parse_tags(&what.tags)?;
            audit.write(db, format!("{} tags", tags.len())).await?;
            cache.invalidate(&tags).await;
            Ok(tags.len())
        }
        (true, false) => Err(AppError::invalid(
            "all",
            "give either `tags` or `all: true`, not both",
        )),
        (false, true) => Err(AppError::invalid(
            "tags",
            "give the tags to invalidate, or `all: true`",
        )),
    }
}

/// `cacheStats` (admin).
pub fn stats(cache: &Cache, caller: &Caller) -> AppResult<CacheStats> {
    caller.require(entity::enums::Role::Admin)?;
    Ok(cache.stats())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_before_anything_is_dropped() {
        assert!(parse_tags(&["equipment:1".into(), "line:2:equipment".into()]).is_ok());
        assert!(parse_tags(&["equipment:1".into(), "bogus".into()]).is_err());
        assert!(parse_tags(&vec!["line:1".to_owned(); MAX_TAGS + 1]).is_err());
    }
}
