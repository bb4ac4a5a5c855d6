//! Reads of the plant structure.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::types::{Equipment, Line, Sensor, Site, Workshop};
use crate::{
    cache::Tag,
    error::AppError,
    graphql::{
        connection::{Conn, connection},
        context::{ContextExt, Selection, parse_id, parse_opt_id},
        enums::{EquipmentKind, EquipmentStatus, LineStatus, SensorMetric, convert_list},
        page_request, prefetch, search_text,
    },
    service::{
        equipment as equipment_service, line as line_service, sensor as sensor_service,
        workshop as workshop_service,
    },
};

/// Filters of `workshops`.
#[derive(InputObject, Default)]
pub struct WorkshopFilter {
    /// Only workshops of this site.
    pub site_id: Option<ID>,
    /// Case-insensitive text found in code or name (matched literally).
    pub search: Option<String>,
}

/// Filters of `lines`.
#[derive(InputObject, Default)]
pub struct LineFilter {
    /// Only lines of this workshop.
    pub workshop_id: Option<ID>,
    /// Only lines in one of these states.
    pub status: Option<Vec<LineStatus>>,
    /// Case-insensitive text found in code or name (matched literally).
    pub search: Option<String>,
}

/// Filters of `equipment`.
#[derive(InputObject, Default)]
pub struct EquipmentFilter {
    /// Only machines of this workshop.
    pub workshop_id: Option<ID>,
    /// Only machines of this line.
    pub line_id: Option<ID>,
    /// Only machines of this kind.
    pub kind: Option<EquipmentKind>,
    /// Only machines in one of these states.
    pub status: Option<Vec<EquipmentStatus>>,
    /// Case-insensitive text found in code, name or model (matched literally).
    pub search: Option<String>,
}

/// Orderings of `equipment`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum EquipmentOrder {
    /// By code, ascending.
    #[default]
    CodeAsc,
    /// By name, ascending.
    NameAsc,
    /// Longest in their current state last: by `statusSince`, newest first.
    StatusSinceDesc,
}

/// Filters of `sensors`.
#[derive(InputObject, Default)]
pub struct SensorFilter {
    /// Only sensors of this workshop.
    pub workshop_id: Option<ID>,
    /// Only sensors on machines of this line.
    pub line_id: Option<ID>,
    /// Only sensors of this machine.
    pub equipment_id: Option<ID>,
    /// Only sensors measuring this.
    pub metric: Option<SensorMetric>,
    /// Only active (or inactive) sensors.
    pub active: Option<bool>,
    /// Case-insensitive text found in tag or name (matched literally).
    pub search: Option<String>,
}

/// Plant structure queries.
#[derive(Default)]
pub struct PlantQuery;

/// Plant structure queries.
#[Object]
impl PlantQuery {
    /// Every site of the plant.
    async fn sites(&self, ctx: &Context<'_>) -> Result<Vec<Site>> {
        let sites = workshop_service::sites(&ctx.state().db.read).await?;
        Ok(sites.into_iter().map(Site).collect())
    }

    /// Workshops the caller may see, by code.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn workshops(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<WorkshopFilter>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<Workshop>> {
        let filter = filter.unwrap_or_default();
        let filter = workshop_service::WorkshopFilter {
            site_id: parse_opt_id("siteId", filter.site_id.as_ref())?,
            search: search_text(filter.search)?,
        };
        let request = page_request(ctx, "workshops", first, after)?;
        let list = workshop_service::list(&ctx.state().db.read, ctx.caller()?, &filter, &request);
        let page = ctx.loaders().touched.tagged([Tag::Workshops], list).await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::workshops(ctx, Selection::connection_nodes(ctx.look_ahead()), &rows).await?;
        Ok(connection(page, Workshop))
    }

    /// One workshop by id.
    async fn workshop_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workshop's id.")] id: ID,
    ) -> Result<Workshop> {
        let id = parse_id("id", &id)?;
        let get = workshop_service::get(&ctx.state().db.read, ctx.caller()?, id);
        let model = ctx.loaders().touched.tagged([Tag::Workshops], get).await?;
        prefetch::workshops(
            ctx,
            Selection::of(ctx.look_ahead()),
            std::slice::from_ref(&model),
        )
        .await?;
        Ok(Workshop(model))
    }

    /// Lines the caller may see, by code.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn lines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<LineFilter>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<Line>> {
        let filter = filter.unwrap_or_default();
        let filter = line_service::LineFilter {
            workshop_id: parse_opt_id("workshopId", filter.workshop_id.as_ref())?,
            status: convert_list(filter.status.as_deref()),
            search: search_text(filter.search)?,
        };
        let request = page_request(ctx, "lines", first, after)?;
        let page =
            line_service::list(&ctx.state().db.read, ctx.caller()?, &filter, &request).await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::lines(ctx, Selection::connection_nodes(ctx.look_ahead()), &rows).await?;
        Ok(connection(page, Line))
    }

    /// One line by id.
    async fn line_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line's id.")] id: ID,
    ) -> Result<Line> {
        let id = parse_id("id", &id)?;
        let get = line_service::get(&ctx.state().db.read, ctx.caller()?, id);
        let model = ctx.loaders().touched.tagged([Tag::Line(id)], get).await?;
        prefetch::lines(
            ctx,
            Selection::of(ctx.look_ahead()),
            std::slice::from_ref(&model),
        )
        .await?;
        Ok(Line(model))
    }

    /// Machines the caller may see.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn equipment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<EquipmentFilter>,
        #[graphql(desc = "Order of the list (default by code).")] order_by: Option<EquipmentOrder>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<Equipment>> {
        let filter = filter.unwrap_or_default();
        let filter = equipment_service::EquipmentFilter {
            workshop_id: parse_opt_id("workshopId", filter.workshop_id.as_ref())?,
            line_id: parse_opt_id("lineId", filter.line_id.as_ref())?,
            kind: filter.kind.map(Into::into),
            status: convert_list(filter.status.as_deref()),
            search: search_text(filter.search)?,
        };
        let ordering = match order_by.unwrap_or_default() {
            EquipmentOrder::CodeAsc => &equipment_service::BY_CODE,
            EquipmentOrder::NameAsc => &equipment_service::BY_NAME,
            EquipmentOrder::StatusSinceDesc => &equipment_service::BY_STATUS_SINCE,
        };
        let request = page_request(ctx, "equipment", first, after)?;
        let page = equipment_service::list(
            &ctx.state().db.read,
            ctx.caller()?,
            &filter,
            ordering,
            &request,
        )
        .await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::equipment(ctx, Selection::connection_nodes(ctx.look_ahead()), &rows).await?;
        Ok(connection(page, Equipment))
    }

    /// One machine by id.
    async fn equipment_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The machine's id.")] id: ID,
    ) -> Result<Equipment> {
        let id = parse_id("id", &id)?;
        // Through the loader, so a repeated lookup is served by the cache.
        let model = ctx
            .loaders()
            .equipment_by_id
            .load_one(id)
            .await?
            .ok_or_else(|| AppError::not_found("equipment", id))?;
        prefetch::equipment(
            ctx,
            Selection::of(ctx.look_ahead()),
            std::slice::from_ref(&model),
        )
        .await?;
        Ok(Equipment(model))
    }

    /// Sensors the caller may see, by tag.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn sensors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<SensorFilter>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<Sensor>> {
        let filter = filter.unwrap_or_default();
        let filter = sensor_service::SensorFilter {
            workshop_id: parse_opt_id("workshopId", filter.workshop_id.as_ref())?,
            line_id: parse_opt_id("lineId", filter.line_id.as_ref())?,
            equipment_id: parse_opt_id("equipmentId", filter.equipment_id.as_ref())?,
            metric: filter.metric.map(Into::into),
            active: filter.active,
            search: search_text(filter.search)?,
        };
        let request = page_request(ctx, "sensors", first, after)?;
        let page =
            sensor_service::list(&ctx.state().db.read, ctx.caller()?, &filter, &request).await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::sensors(
            ctx,
            Selection::connection_nodes(ctx.look_ahead()),
            &rows,
            false,
        )
        .await?;
        Ok(connection(page, Sensor::new))
    }

    /// One sensor by id.
    async fn sensor_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sensor's id.")] id: ID,
    ) -> Result<Sensor> {
        let id = parse_id("id", &id)?;
        let model = ctx
            .loaders()
            .sensor_by_id
            .load_one(id)
            .await?
            .ok_or_else(|| AppError::not_found("sensor", id))?;
        prefetch::sensors(
            ctx,
            Selection::of(ctx.look_ahead()),
            std::slice::from_ref(&model),
            false,
        )
        .await?;
        Ok(Sensor::new(model))
    }
}
