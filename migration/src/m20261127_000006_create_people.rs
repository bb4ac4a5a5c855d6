//! People: users, workshop membership, sessions, API tokens and personal dashboards.

use sea_orm_migration::prelude::*;

use crate::common::{
    bigint, boolean, fk, index, int, json, pk_id, ts, ts_now, ts_null, varchar, varchar_null,
};
use crate::m20261127_000001_create_plant::Workshops;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    DisplayName,
    PasswordHash,
    Role,
    Active,
    FailedLogins,
    LastFailedAt,
    LockedUntil,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserWorkshops {
    Table,
    UserId,
    WorkshopId,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    IdleExpiresAt,
    Ip,
    UserAgent,
    RefreshHash,
    PreviousRefreshHash,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    WorkshopId,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Dashboards {
    Table,
    Id,
    UserId,
    Name,
    Layout,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_id(Users::Id))
                    .col(varchar(Users::Username, 64).unique_key())
                    .col(varchar_null(Users::Email, 254))
                    .col(varchar_null(Users::DisplayName, 200))
                    .col(varchar(Users::PasswordHash, 255))
                    .col(varchar(Users::Role, 24))
                    .col(boolean(Users::Active, true))
                    .col(int(Users::FailedLogins, Some(0)))
                    .col(ts_null(Users::LastFailedAt))
                    .col(ts_null(Users::LockedUntil))
                    .col(ts_null(Users::PasswordChangedAt))
                    .col(ts_now(manager, Users::CreatedAt))
                    .col(ts_now(manager, Users::UpdatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserWorkshops::Table)
                    .col(bigint(UserWorkshops::UserId))
                    .col(bigint(UserWorkshops::WorkshopId))
                    .primary_key(
                        Index::create()
                            .col(UserWorkshops::UserId)
                            .col(UserWorkshops::WorkshopId),
                    )
                    .foreign_key(&mut fk(
                        "fk_user_workshops_user",
                        UserWorkshops::Table,
                        UserWorkshops::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_user_workshops_workshop",
                        UserWorkshops::Table,
                        UserWorkshops::WorkshopId,
                        Workshops::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_user_workshops_workshop",
                UserWorkshops::Table,
                [UserWorkshops::WorkshopId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(varchar(Sessions::Id, 36).primary_key())
                    .col(bigint(Sessions::UserId))
                    .col(ts_now(manager, Sessions::CreatedAt))
                    .col(ts(Sessions::LastSeenAt))
                    .col(ts(Sessions::ExpiresAt))
                    .col(ts(Sessions::IdleExpiresAt))
                    .col(varchar_null(Sessions::Ip, 64))
                    .col(varchar_null(Sessions::UserAgent, 512))
                    .col(varchar(Sessions::RefreshHash, 128))
                    .col(varchar_null(Sessions::PreviousRefreshHash, 128))
                    .col(ts_null(Sessions::RevokedAt))
                    .col(varchar_null(Sessions::RevokedReason, 64))
                    .foreign_key(&mut fk(
                        "fk_sessions_user",
                        Sessions::Table,
                        Sessions::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sessions_user",
                Sessions::Table,
                [Sessions::UserId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_sessions_expires",
                Sessions::Table,
                [Sessions::ExpiresAt],
            ))
            .await?;
        manager
            .create_index(
                index(
                    "uq_sessions_refresh_hash",
                    Sessions::Table,
                    [Sessions::RefreshHash],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_id(ApiTokens::Id))
                    .col(bigint(ApiTokens::UserId))
                    .col(varchar(ApiTokens::Name, 100))
                    .col(varchar(ApiTokens::TokenHash, 128).unique_key())
                    .col(bigint(ApiTokens::WorkshopId))
                    .col(ts_now(manager, ApiTokens::CreatedAt))
                    .col(ts_null(ApiTokens::LastUsedAt))
                    .col(ts_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_user",
                        ApiTokens::Table,
                        ApiTokens::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_workshop",
                        ApiTokens::Table,
                        ApiTokens::WorkshopId,
                        Workshops::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Dashboards::Table)
                    .col(pk_id(Dashboards::Id))
                    .col(bigint(Dashboards::UserId))
                    .col(varchar(Dashboards::Name, 100))
                    .col(json(Dashboards::Layout))
                    .col(ts_now(manager, Dashboards::CreatedAt))
                    .col(ts_now(manager, Dashboards::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_dashboards_user",
                        Dashboards::Table,
                        Dashboards::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::common::drop_tables(
            manager,
            &[
                "dashboards",
                "api_tokens",
                "sessions",
                "user_workshops",
                "users",
            ],
        )
        .await
    }
}
