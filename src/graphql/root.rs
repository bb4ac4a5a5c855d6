//! The schema's roots, merged from the domains.

use async_graphql::MergedObject;

use super::{
    alarm::{mutation::AlarmMutation, query::AlarmQuery},
    auth::{
        mutation::AuthMutation,
        query::AuthQuery,
        users::{UserMutation, UserQuery},
    },
    maintenance::{mutation::MaintenanceMutation, query::MaintenanceQuery},
    plant::{mutation::PlantMutation, query::PlantQuery, status::StatusMutation},
    production::{
        mutation::ProductionMutation, orders::ProductionOrderMutation, query::ProductionQuery,
    },
    telemetry::{mutation::TelemetryMutation, query::TelemetryQuery},
};

/// Every query field.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    AuthQuery,
    UserQuery,
    PlantQuery,
    TelemetryQuery,
    AlarmQuery,
    ProductionQuery,
    MaintenanceQuery,
);

/// Every mutation field.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    AuthMutation,
    UserMutation,
    PlantMutation,
    ProductionMutation,
    TelemetryMutation,
    AlarmMutation,
    StatusMutation,
    ProductionOrderMutation,
    MaintenanceMutation,
);
