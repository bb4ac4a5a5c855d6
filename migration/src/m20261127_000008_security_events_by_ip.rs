//! Failed logins are counted per client IP from `security_events`: index them by (ip, kind, ts).

use sea_orm_migration::prelude::*;

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Ip,
    Kind,
    Ts,
}

const NAME: &str = "idx_security_events_ip_kind_ts";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                NAME,
                SecurityEvents::Table,
                [SecurityEvents::Ip, SecurityEvents::Kind, SecurityEvents::Ts],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(SecurityEvents::Table)
                    .to_owned(),
            )
            .await
    }
}
