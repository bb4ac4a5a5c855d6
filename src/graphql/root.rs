//! The schema's roots, merged from the domains.

use async_graphql::{MergedObject, MergedSubscription};

use super::{
    alarm::{mutation::AlarmMutation, query::AlarmQuery, subscription::AlarmSubscription},
    auth::{
        mutation::AuthMutation,
        query::AuthQuery,
        users::{UserMutation, UserQuery},
    },
    cache::{mutation::CacheMutation, query::CacheQuery},
    jobs::{mutation::JobsMutation, query::JobsQuery},
    maintenance::{
        mutation::MaintenanceMutation, query::MaintenanceQuery,
        subscription::MaintenanceSubscription,
    },
    oee::{query::OeeQuery, subscription::OeeSubscription},
    plant::{
        mutation::PlantMutation, query::PlantQuery, status::StatusMutation,
        subscription::PlantSubscription,
    },
    production::{
        mutation::ProductionMutation, orders::ProductionOrderMutation, query::ProductionQuery,
        subscription::ProductionSubscription,
    },
    system::{query::SystemQuery, subscription::SystemSubscription},
    telemetry::{
        mutation::TelemetryMutation, query::TelemetryQuery, subscription::TelemetrySubscription,
    },
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
    OeeQuery,
    MaintenanceQuery,
    SystemQuery,
    CacheQuery,
    JobsQuery,
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
    CacheMutation,
    JobsMutation,
);

/// Every subscription field.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    TelemetrySubscription,
    PlantSubscription,
    AlarmSubscription,
    ProductionSubscription,
    OeeSubscription,
    MaintenanceSubscription,
    SystemSubscription,
);
