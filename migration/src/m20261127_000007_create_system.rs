//! System tables: security events, audit log and metric snapshots.

use sea_orm_migration::prelude::*;

use crate::common::{bigint_null, index, json, json_null, pk_id, ts, varchar, varchar_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    Ts,
    Kind,
    UserId,
    Username,
    Ip,
    UserAgent,
    Details,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    Ts,
    UserId,
    Action,
    Entity,
    EntityId,
    Ip,
    Payload,
}

#[derive(DeriveIden)]
enum MetricSnapshots {
    Table,
    Id,
    InstanceId,
    Ts,
    Data,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(pk_id(SecurityEvents::Id))
                    .col(ts(SecurityEvents::Ts))
                    .col(varchar(SecurityEvents::Kind, 48))
                    .col(bigint_null(SecurityEvents::UserId))
                    .col(varchar_null(SecurityEvents::Username, 64))
                    .col(varchar_null(SecurityEvents::Ip, 64))
                    .col(varchar_null(SecurityEvents::UserAgent, 512))
                    .col(json_null(SecurityEvents::Details))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_security_events_ts",
                SecurityEvents::Table,
                [SecurityEvents::Ts],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_security_events_kind_ts",
                SecurityEvents::Table,
                [SecurityEvents::Kind, SecurityEvents::Ts],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_id(AuditLog::Id))
                    .col(ts(AuditLog::Ts))
                    .col(bigint_null(AuditLog::UserId))
                    .col(varchar(AuditLog::Action, 64))
                    .col(varchar_null(AuditLog::Entity, 64))
                    .col(varchar_null(AuditLog::EntityId, 64))
                    .col(varchar_null(AuditLog::Ip, 64))
                    .col(json_null(AuditLog::Payload))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_audit_log_ts", AuditLog::Table, [AuditLog::Ts]))
            .await?;
        manager
            .create_index(index(
                "idx_audit_log_user_ts",
                AuditLog::Table,
                [AuditLog::UserId, AuditLog::Ts],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MetricSnapshots::Table)
                    .col(pk_id(MetricSnapshots::Id))
                    .col(varchar(MetricSnapshots::InstanceId, 64))
                    .col(ts(MetricSnapshots::Ts))
                    .col(json(MetricSnapshots::Data))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_metric_snapshots_ts",
                MetricSnapshots::Table,
                [MetricSnapshots::Ts],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::common::drop_tables(
            manager,
            &["metric_snapshots", "audit_log", "security_events"],
        )
        .await
    }
}
