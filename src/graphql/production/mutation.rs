//! Product writes.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::types::Product;
use crate::{
    graphql::{
        context::{ContextExt, parse_id},
        plant::mutation::{DeleteInput, DeletePayload},
    },
    service::product as product_service,
};

/// Input of `createProduct`.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Unique SKU: letters, digits and `_ - . : /`, at most 64.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Unit of quantity (default `pcs`).
    pub unit: Option<String>,
    /// Ideal seconds per unit (0 < t ≤ 86,400).
    pub ideal_cycle_time_s: f64,
}

/// Input of `updateProduct`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product to change.
    pub id: ID,
    /// New SKU.
    pub sku: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New unit.
    pub unit: Option<String>,
    /// New ideal cycle time.
    pub ideal_cycle_time_s: Option<f64>,
}

/// Result of a product write.
#[derive(SimpleObject)]
pub struct ProductPayload {
    /// The product as stored.
    pub product: Product,
}

/// Product mutations.
#[derive(Default)]
pub struct ProductionMutation;

/// Product mutations.
#[Object]
impl ProductionMutation {
    /// Creates a product (manager).
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<ProductPayload> {
        let input = product_service::NewProduct {
            sku: input.sku,
            name: input.name,
            unit: input.unit,
            ideal_cycle_time_s: input.ideal_cycle_time_s,
        };
        let model =
            product_service::create(&ctx.state().db.write, ctx.caller()?, &ctx.audit(), input)
                .await?;
        Ok(ProductPayload {
            product: model.into(),
        })
    }

    /// Changes a product (manager).
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductInput,
    ) -> Result<ProductPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = product_service::ProductPatch {
            sku: input.sku,
            name: input.name,
            unit: input.unit,
            ideal_cycle_time_s: input.ideal_cycle_time_s,
        };
        let model = product_service::update(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            id,
            changes,
        )
        .await?;
        Ok(ProductPayload {
            product: model.into(),
        })
    }

    /// Deletes a product no order refers to (manager).
    async fn delete_product(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let id =
            product_service::delete(&ctx.state().db.write, ctx.caller()?, &ctx.audit(), id).await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }
}
