//! Look-ahead priming of the loaders: the resolver that produces a list knows every sibling,
//! so it loads each relation the query asks for below it — one batch per level — before the
//! children resolve. Children then find their rows in the loader cache. This makes the
//! statement count of a request depend on the query's shape only, deterministically, instead
//! of on how a loader's dispatch delay happens to group concurrent resolvers.

use std::collections::BTreeSet;

use async_graphql::{Context, Result};
use entity::{
    alarm, equipment, maintenance_order, production_line, production_order, sensor, shift, workshop,
};
use futures::future::BoxFuture;

use super::context::{ContextExt, Selection};

fn distinct<T>(rows: &[T], key: impl Fn(&T) -> i64) -> Vec<i64> {
    rows.iter()
        .map(key)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Primes what `sel` asks for below these workshops.
pub fn workshops<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [workshop::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let loaders = ctx.loaders();
        if sel.field("site").exists() {
            loaders
                .site_by_id
                .load_many(distinct(rows, |w| w.site_id))
                .await?;
        }
        let lines_sel = sel.field("lines");
        if lines_sel.exists() {
            let map = loaders
                .lines_by_workshop
                .load_many(distinct(rows, |w| w.id))
                .await?;
            let all: Vec<_> = map.values().flat_map(|l| l.iter().cloned()).collect();
            lines(ctx, lines_sel, &all).await?;
        }
        Ok(())
    })
}

/// Primes what `sel` asks for below these lines.
pub fn lines<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [production_line::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() {
            return Ok(());
        }
        let loaders = ctx.loaders();
        let workshop_sel = sel.field("workshop");
        if workshop_sel.exists() {
            let map = loaders
                .workshop_by_id
                .load_many(distinct(rows, |l| l.workshop_id))
                .await?;
            let all: Vec<_> = map.into_values().collect();
            workshops(ctx, workshop_sel, &all).await?;
        }
        let equipment_sel = sel.field("equipment");
        if equipment_sel.exists() {
            let map = loaders
                .equipment_by_line
                .load_many(distinct(rows, |l| l.id))
                .await?;
            let all: Vec<_> = map.values().flat_map(|l| l.iter().cloned()).collect();
            equipment(ctx, equipment_sel, &all).await?;
        }
        Ok(())
    })
}

/// Primes what `sel` asks for below these machines.
pub fn equipment<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [equipment::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() {
            return Ok(());
        }
        let loaders = ctx.loaders();
        let line_sel = sel.field("line");
        if line_sel.exists() {
            let map = loaders
                .line_by_id
                .load_many(distinct(rows, |e| e.line_id))
                .await?;
            let all: Vec<_> = map.into_values().collect();
            lines(ctx, line_sel, &all).await?;
        }
        let workshop_sel = sel.field("workshop");
        if workshop_sel.exists() {
            let map = loaders
                .workshop_by_id
                .load_many(distinct(rows, |e| e.workshop_id))
                .await?;
            let all: Vec<_> = map.into_values().collect();
            workshops(ctx, workshop_sel, &all).await?;
        }
        let sensors_sel = sel.field("sensors");
        if sensors_sel.exists() {
            let ids = distinct(rows, |e| e.id);
            let with_latest = sensors_sel.field("latest").exists();
            let map = if with_latest {
                loaders
                    .sensors_with_latest_by_equipment
                    .load_many(ids)
                    .await?
            } else {
                loaders.sensors_by_equipment.load_many(ids).await?
            };
            let all: Vec<_> = map
                .values()
                .flat_map(|l| l.iter().map(|(s, _)| s.clone()))
                .collect();
            sensors(ctx, sensors_sel, &all, with_latest).await?;
        }
        let alarms_sel = sel.field("openAlarms");
        if alarms_sel.exists() {
            let map = loaders
                .alarms_open_by_equipment
                .load_many(distinct(rows, |e| e.id))
                .await?;
            let all: Vec<_> = map.values().flat_map(|l| l.iter().cloned()).collect();
            alarms(ctx, alarms_sel, &all).await?;
        }
        Ok(())
    })
}

/// Primes what `sel` asks for below these sensors; `latest_joined` says their latest readings
/// came with them.
pub fn sensors<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [sensor::Model],
    latest_joined: bool,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() {
            return Ok(());
        }
        let loaders = ctx.loaders();
        let equipment_sel = sel.field("equipment");
        if equipment_sel.exists() {
            let map = loaders
                .equipment_by_id
                .load_many(distinct(rows, |s| s.equipment_id))
                .await?;
            let all: Vec<_> = map.into_values().collect();
            equipment(ctx, equipment_sel, &all).await?;
        }
        if !latest_joined && sel.field("latest").exists() {
            loaders
                .latest_reading_by_sensor
                .load_many(distinct(rows, |s| s.id))
                .await?;
        }
        Ok(())
    })
}

/// Primes what `sel` asks for below these alarms.
pub fn alarms<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [alarm::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() {
            return Ok(());
        }
        let loaders = ctx.loaders();
        let equipment_sel = sel.field("equipment");
        if equipment_sel.exists() {
            let map = loaders
                .equipment_by_id
                .load_many(
                    rows.iter()
                        .filter_map(|a| a.equipment_id)
                        .collect::<BTreeSet<_>>(),
                )
                .await?;
            let all: Vec<_> = map.into_values().collect();
            equipment(ctx, equipment_sel, &all).await?;
        }
        let sensor_sel = sel.field("sensor");
        if sensor_sel.exists() {
            let ids: Vec<i64> = rows
                .iter()
                .filter_map(|a| a.sensor_id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !ids.is_empty() {
                let map = loaders.sensor_by_id.load_many(ids).await?;
                let all: Vec<_> = map.into_values().collect();
                sensors(ctx, sensor_sel, &all, false).await?;
            }
        }
        Ok(())
    })
}

/// Primes what `sel` asks for below these production orders.
pub fn production_orders<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [production_order::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if rows.is_empty() {
            return Ok(());
        }
        let loaders = ctx.loaders();
        if sel.field("product").exists() {
            loaders
                .product_by_id
                .load_many(distinct(rows, |o| o.product_id))
                .await?;
        }
        let line_sel = sel.field("line");
        if line_sel.exists() {
            let map = loaders
                .line_by_id
                .load_many(distinct(rows, |o| o.line_id))
                .await?;
            let all: Vec<_> = map.into_values().collect();
            lines(ctx, line_sel, &all).await?;
        }
        Ok(())
    })
}

/// Primes what `sel` asks for below these maintenance orders.
pub fn maintenance_orders<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [maintenance_order::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let equipment_sel = sel.field("equipment");
        if rows.is_empty() || !equipment_sel.exists() {
            return Ok(());
        }
        let map = ctx
            .loaders()
            .equipment_by_id
            .load_many(distinct(rows, |o| o.equipment_id))
            .await?;
        let all: Vec<_> = map.into_values().collect();
        equipment(ctx, equipment_sel, &all).await
    })
}

/// Primes what `sel` asks for below these shifts.
pub fn shifts<'a>(
    ctx: &'a Context<'a>,
    sel: Selection<'a>,
    rows: &'a [shift::Model],
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let workshop_sel = sel.field("workshop");
        if rows.is_empty() || !workshop_sel.exists() {
            return Ok(());
        }
        let map = ctx
            .loaders()
            .workshop_by_id
            .load_many(distinct(rows, |s| s.workshop_id))
            .await?;
        let all: Vec<_> = map.into_values().collect();
        workshops(ctx, workshop_sel, &all).await
    })
}
