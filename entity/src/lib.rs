//! SeaORM entities for the smart-factory schema (see the `migration` crate).

pub mod enums;
pub mod prelude;

pub mod alarm;
pub mod alarm_event;
pub mod api_token;
pub mod audit_log;
pub mod dashboard;
pub mod downtime_reason;
pub mod equipment;
pub mod equipment_status_event;
pub mod maintenance_order;
pub mod metric_snapshot;
pub mod product;
pub mod production_line;
pub mod production_order;
pub mod production_report;
pub mod reading_1h;
pub mod reading_1m;
pub mod rollup_watermark;
pub mod schedule_run;
pub mod security_event;
pub mod sensor;
pub mod sensor_latest;
pub mod sensor_reading;
pub mod session;
pub mod shift;
pub mod site;
pub mod user;
pub mod user_workshop;
pub mod work_order;
pub mod workshop;
