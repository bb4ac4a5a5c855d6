//! String-backed enums stored as lowercase `varchar(24)` values.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Operating state of a piece of equipment.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum EquipmentStatus {
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "idle")]
    Idle,
    #[sea_orm(string_value = "setup")]
    Setup,
    #[sea_orm(string_value = "down")]
    Down,
    #[sea_orm(string_value = "maintenance")]
    Maintenance,
    #[sea_orm(string_value = "offline")]
    Offline,
}

impl EquipmentStatus {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Idle => "idle",
            Self::Setup => "setup",
            Self::Down => "down",
            Self::Maintenance => "maintenance",
            Self::Offline => "offline",
        }
    }
}

/// Kind of machine.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum EquipmentKind {
    #[sea_orm(string_value = "cnc")]
    Cnc,
    #[sea_orm(string_value = "press")]
    Press,
    #[sea_orm(string_value = "robot")]
    Robot,
    #[sea_orm(string_value = "conveyor")]
    Conveyor,
    #[sea_orm(string_value = "welder")]
    Welder,
    #[sea_orm(string_value = "painter")]
    Painter,
    #[sea_orm(string_value = "assembly")]
    Assembly,
    #[sea_orm(string_value = "inspection")]
    Inspection,
    #[sea_orm(string_value = "packaging")]
    Packaging,
    #[sea_orm(string_value = "other")]
    Other,
}

impl EquipmentKind {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Cnc => "cnc",
            Self::Press => "press",
            Self::Robot => "robot",
            Self::Conveyor => "conveyor",
            Self::Welder => "welder",
            Self::Painter => "painter",
            Self::Assembly => "assembly",
            Self::Inspection => "inspection",
            Self::Packaging => "packaging",
            Self::Other => "other",
        }
    }
}

/// Physical quantity a sensor measures.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum SensorMetric {
    #[sea_orm(string_value = "temperature")]
    Temperature,
    #[sea_orm(string_value = "vibration_rms")]
    VibrationRms,
    #[sea_orm(string_value = "pressure")]
    Pressure,
    #[sea_orm(string_value = "current")]
    Current,
    #[sea_orm(string_value = "voltage")]
    Voltage,
    #[sea_orm(string_value = "power")]
    Power,
    #[sea_orm(string_value = "speed")]
    Speed,
    #[sea_orm(string_value = "flow")]
    Flow,
    #[sea_orm(string_value = "humidity")]
    Humidity,
    #[sea_orm(string_value = "torque")]
    Torque,
    #[sea_orm(string_value = "level")]
    Level,
    #[sea_orm(string_value = "count")]
    Count,
    #[sea_orm(string_value = "other")]
    Other,
}

impl SensorMetric {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Temperature => "temperature",
            Self::VibrationRms => "vibration_rms",
            Self::Pressure => "pressure",
            Self::Current => "current",
            Self::Voltage => "voltage",
            Self::Power => "power",
            Self::Speed => "speed",
            Self::Flow => "flow",
            Self::Humidity => "humidity",
            Self::Torque => "torque",
            Self::Level => "level",
            Self::Count => "count",
            Self::Other => "other",
        }
    }
}

/// Operating state of a production line.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "idle")]
    Idle,
    #[sea_orm(string_value = "down")]
    Down,
    #[sea_orm(string_value = "offline")]
    Offline,
}

impl LineStatus {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Idle => "idle",
            Self::Down => "down",
            Self::Offline => "offline",
        }
    }
}

/// Loss category of a downtime reason (OEE loss buckets).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum ReasonCategory {
    #[sea_orm(string_value = "planned")]
    Planned,
    #[sea_orm(string_value = "unplanned")]
    Unplanned,
    #[sea_orm(string_value = "setup")]
    Setup,
    #[sea_orm(string_value = "minor_stop")]
    MinorStop,
    #[sea_orm(string_value = "speed")]
    Speed,
    #[sea_orm(string_value = "quality")]
    Quality,
}

impl ReasonCategory {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Unplanned => "unplanned",
            Self::Setup => "setup",
            Self::MinorStop => "minor_stop",
            Self::Speed => "speed",
            Self::Quality => "quality",
        }
    }
}

/// Lifecycle state of a production order.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "released")]
    Released,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "paused")]
    Paused,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl OrderStatus {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Released => "released",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Lifecycle state of a work order (one operation of a production order).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "ready")]
    Ready,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "done")]
    Done,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl WorkOrderStatus {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Kind of maintenance order.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceKind {
    #[sea_orm(string_value = "corrective")]
    Corrective,
    #[sea_orm(string_value = "preventive")]
    Preventive,
    #[sea_orm(string_value = "predictive")]
    Predictive,
}

impl MaintenanceKind {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Corrective => "corrective",
            Self::Preventive => "preventive",
            Self::Predictive => "predictive",
        }
    }
}

/// Lifecycle state of a maintenance order.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceStatus {
    #[sea_orm(string_value = "requested")]
    Requested,
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "on_hold")]
    OnHold,
    #[sea_orm(string_value = "done")]
    Done,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl MaintenanceStatus {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }
}

/// User role, in increasing order of privilege (`gateway` is a machine identity).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[sea_orm(string_value = "viewer")]
    Viewer,
    #[sea_orm(string_value = "operator")]
    Operator,
    #[sea_orm(string_value = "engineer")]
    Engineer,
    #[sea_orm(string_value = "manager")]
    Manager,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "gateway")]
    Gateway,
}

impl Role {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Engineer => "engineer",
            Self::Manager => "manager",
            Self::Admin => "admin",
            Self::Gateway => "gateway",
        }
    }
}

/// Who or what reported an equipment status change.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    #[sea_orm(string_value = "manual")]
    Manual,
    #[sea_orm(string_value = "gateway")]
    Gateway,
    #[sea_orm(string_value = "simulator")]
    Simulator,
    #[sea_orm(string_value = "system")]
    System,
}

impl StatusSource {
    /// The value stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Gateway => "gateway",
            Self::Simulator => "simulator",
            Self::System => "system",
        }
    }
}
