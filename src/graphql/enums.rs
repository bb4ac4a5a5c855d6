//! API enums, kept apart from the database enums so that the schema does not move when a
//! table does; each converts both ways.

/// Declares a GraphQL enum mirroring a database enum variant for variant.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident <=> $db:path { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl From<$db> for $name {
            fn from(v: $db) -> Self {
                use $db as Db;
                match v {
                    $(Db::$variant => Self::$variant),*
                }
            }
        }

        impl From<$name> for $db {
            fn from(v: $name) -> Self {
                use $db as Db;
                match v {
                    $($name::$variant => Db::$variant),*
                }
            }
        }
    };
}

api_enum! {
    /// Operating state of a machine (after OPC UA Machinery's MachineryItemState).
    EquipmentStatus <=> entity::enums::EquipmentStatus {
        /// Producing (Executing).
        Running,
        /// Ready but not producing.
        Idle,
        /// Being set up or changed over.
        Setup,
        /// Stopped by a fault: an unplanned stop.
        Down,
        /// In maintenance mode.
        Maintenance,
        /// Not available or out of service.
        Offline,
    }
}

api_enum! {
    /// Kind of machine.
    EquipmentKind <=> entity::enums::EquipmentKind {
        /// CNC machining centre.
        Cnc,
        /// Press.
        Press,
        /// Industrial robot.
        Robot,
        /// Conveyor.
        Conveyor,
        /// Welding station.
        Welder,
        /// Painting station.
        Painter,
        /// Assembly station.
        Assembly,
        /// Inspection or test station.
        Inspection,
        /// Packaging machine.
        Packaging,
        /// Anything else.
        Other,
    }
}

api_enum! {
    /// What a sensor measures.
    SensorMetric <=> entity::enums::SensorMetric {
        /// Temperature.
        Temperature,
        /// Vibration, RMS velocity or acceleration.
        VibrationRms,
        /// Pressure.
        Pressure,
        /// Electric current.
        Current,
        /// Voltage.
        Voltage,
        /// Electric power.
        Power,
        /// Rotational or linear speed.
        Speed,
        /// Flow rate.
        Flow,
        /// Relative humidity.
        Humidity,
        /// Torque.
        Torque,
        /// Fill level.
        Level,
        /// A counter.
        Count,
        /// Anything else.
        Other,
    }
}

api_enum! {
    /// State of a production line.
    LineStatus <=> entity::enums::LineStatus {
        /// Producing.
        Running,
        /// Ready but not producing.
        Idle,
        /// Stopped by a fault.
        Down,
        /// Not in use.
        Offline,
    }
}

api_enum! {
    /// Where a downtime reason's time counts in OEE (factory-domain §5).
    ReasonCategory <=> entity::enums::ReasonCategory {
        /// Breaks, planned maintenance, no demand: leaves planned production time.
        Planned,
        /// Breakdowns and other unplanned stops: cost availability.
        Unplanned,
        /// Setup and changeover: cost availability.
        Setup,
        /// Short stops: show in performance through the counts.
        MinorStop,
        /// Reduced speed: shows in performance through the counts.
        Speed,
        /// Scrap and rework holds: show in quality.
        Quality,
    }
}

api_enum! {
    /// Lifecycle of a production order.
    OrderStatus <=> entity::enums::OrderStatus {
        /// Being planned.
        Draft,
        /// Released to the floor.
        Released,
        /// Being produced.
        InProgress,
        /// Interrupted.
        Paused,
        /// Finished.
        Completed,
        /// Abandoned.
        Cancelled,
    }
}

api_enum! {
    /// Kind of maintenance.
    MaintenanceKind <=> entity::enums::MaintenanceKind {
        /// Repair after a failure.
        Corrective,
        /// Scheduled by calendar or usage.
        Preventive,
        /// Triggered by condition monitoring.
        Predictive,
    }
}

api_enum! {
    /// Lifecycle of a maintenance order.
    MaintenanceStatus <=> entity::enums::MaintenanceStatus {
        /// Asked for.
        Requested,
        /// Planned for a time.
        Scheduled,
        /// Being worked on.
        InProgress,
        /// Waiting (parts, access).
        OnHold,
        /// Finished.
        Done,
        /// Abandoned.
        Cancelled,
    }
}

/// Alarm severity, most severe last.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AlarmSeverity {
    /// Severity not known.
    Indeterminate,
    /// Worth a look.
    Warning,
    /// Needs attention soon.
    Minor,
    /// Needs attention now (a hi/lo threshold).
    Major,
    /// Needs attention immediately (a hi-hi/lo-lo threshold).
    Critical,
}

impl AlarmSeverity {
    /// The stored rank.
    pub fn rank(self) -> i16 {
        use crate::service::alarm::severity::*;
        match self {
            Self::Indeterminate => INDETERMINATE,
            Self::Warning => WARNING,
            Self::Minor => MINOR,
            Self::Major => MAJOR,
            Self::Critical => CRITICAL,
        }
    }

    /// The severity of a stored rank (unknown ranks read as indeterminate).
    pub fn from_rank(rank: i16) -> Self {
        use crate::service::alarm::severity::*;
        match rank {
            WARNING => Self::Warning,
            MINOR => Self::Minor,
            MAJOR => Self::Major,
            CRITICAL => Self::Critical,
            _ => Self::Indeterminate,
        }
    }
}

/// Alarm status, derived from the `acknowledged` and `cleared` flags.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AlarmStatus {
    /// Active and not yet acknowledged.
    ActiveUnack,
    /// Active and acknowledged.
    ActiveAck,
    /// Cleared but never acknowledged.
    ClearedUnack,
    /// Cleared and acknowledged: closed.
    ClearedAck,
}

impl From<crate::service::alarm::AlarmStatus> for AlarmStatus {
    fn from(s: crate::service::alarm::AlarmStatus) -> Self {
        use crate::service::alarm::AlarmStatus as S;
        match s {
            S::ActiveUnack => Self::ActiveUnack,
            S::ActiveAck => Self::ActiveAck,
            S::ClearedUnack => Self::ClearedUnack,
            S::ClearedAck => Self::ClearedAck,
        }
    }
}

impl From<AlarmStatus> for crate::service::alarm::AlarmStatus {
    fn from(s: AlarmStatus) -> Self {
        match s {
            AlarmStatus::ActiveUnack => Self::ActiveUnack,
            AlarmStatus::ActiveAck => Self::ActiveAck,
            AlarmStatus::ClearedUnack => Self::ClearedUnack,
            AlarmStatus::ClearedAck => Self::ClearedAck,
        }
    }
}

/// Converts an optional list of API enums into database enums.
pub fn convert_list<A: Copy, D: From<A>>(list: Option<&[A]>) -> Option<Vec<D>> {
    list.map(|l| l.iter().map(|v| D::from(*v)).collect())
}
