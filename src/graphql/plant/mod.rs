//! Plant structure: sites, workshops, lines, equipment and sensors.

pub mod mutation;
pub mod query;
pub mod status;
pub mod subscription;
pub mod types;
